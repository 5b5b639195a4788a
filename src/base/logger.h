#pragma once
// One logger per module (`static chronik::logger log{"storage"};`). Hot paths log
// at trace, and an idle broker logs nothing. Lines go to stderr, one write each.
#include <atomic>
#include <string_view>

#include <fmt/core.h>

namespace chronik {

enum class log_level : int { trace = 0, debug, info, warn, error, off };

// Process-wide level; set once from config at start-up.
void set_log_level(log_level l) noexcept;
log_level get_log_level() noexcept;
bool parse_log_level(std::string_view s, log_level& out) noexcept;

class logger {
public:
    explicit constexpr logger(std::string_view name) : _name(name) {}

    template<class... A>
    void trace(fmt::format_string<A...> f, A&&... a) const {
        log(log_level::trace, f, std::forward<A>(a)...);
    }
    template<class... A>
    void debug(fmt::format_string<A...> f, A&&... a) const {
        log(log_level::debug, f, std::forward<A>(a)...);
    }
    template<class... A>
    void info(fmt::format_string<A...> f, A&&... a) const {
        log(log_level::info, f, std::forward<A>(a)...);
    }
    template<class... A>
    void warn(fmt::format_string<A...> f, A&&... a) const {
        log(log_level::warn, f, std::forward<A>(a)...);
    }
    template<class... A>
    void error(fmt::format_string<A...> f, A&&... a) const {
        log(log_level::error, f, std::forward<A>(a)...);
    }

    bool enabled(log_level l) const noexcept { return l >= get_log_level(); }

    template<class... A>
    void log(log_level l, fmt::format_string<A...> f, A&&... a) const {
        if (enabled(l)) {
            write(l, fmt::vformat(f, fmt::make_format_args(a...)));
        }
    }

private:
    void write(log_level l, std::string_view msg) const noexcept;
    std::string_view _name;
};

} // namespace chronik
