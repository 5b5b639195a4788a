#pragma once
// Always-on invariant checks for storage and Raft. Never use on network input:
// bad bytes get an error code or a closed connection, not an abort.
#include <source_location>
#include <string_view>

namespace chronik::detail {
[[noreturn]] void assert_failed(std::string_view expr, std::string_view msg,
                                std::source_location where) noexcept;
} // namespace chronik::detail

#define CHRONIK_ASSERT(cond, ...)                                                         \
    do {                                                                                 \
        if (!(cond)) [[unlikely]] {                                                      \
            ::chronik::detail::assert_failed(#cond, "" __VA_ARGS__,                      \
                                             std::source_location::current());           \
        }                                                                                \
    } while (0)
