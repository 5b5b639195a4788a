#include "base/assert.h"

#include "base/backtrace.h"

#include <cstdio>
#include <cstdlib>

namespace chronik::detail {

void assert_failed(std::string_view expr, std::string_view msg, const char* file, unsigned line,
                   const char* function) noexcept {
    std::fprintf(stderr, "CHRONIK_ASSERT failed: %.*s (%.*s) at %s:%u in %s\n%s", int(expr.size()),
                 expr.data(), int(msg.size()), msg.data(), file, line, function,
                 current_backtrace(2).c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace chronik::detail
