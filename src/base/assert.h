#pragma once
// Always-on invariant checks for storage and Raft. Never use on network input:
// bad bytes get an error code or a closed connection, not an abort.
#include <string_view>

namespace chronik::detail {
[[noreturn]] void assert_failed(std::string_view expr, std::string_view msg, const char* file, unsigned line,
                                const char* function) noexcept;
} // namespace chronik::detail

#define CHRONIK_ASSERT(cond, ...)                                                                            \
    do {                                                                                                     \
        if (!(cond)) [[unlikely]] {                                                                          \
            ::chronik::detail::assert_failed(#cond, "" __VA_ARGS__, __FILE__, __LINE__, __func__);           \
        }                                                                                                    \
    } while (0)
