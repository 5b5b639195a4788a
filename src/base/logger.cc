#include "base/logger.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <unistd.h>

namespace chronik {

namespace {
std::atomic<int> g_level{ int(log_level::info) };
constexpr std::string_view level_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF" };
} // namespace

void set_log_level(log_level l) noexcept {
    g_level.store(int(l), std::memory_order_relaxed);
}
log_level get_log_level() noexcept {
    return log_level(g_level.load(std::memory_order_relaxed));
}

bool parse_log_level(std::string_view s, log_level& out) noexcept {
    constexpr std::string_view lower[] = { "trace", "debug", "info", "warn", "error", "off" };
    for (int i = 0; i < 6; ++i) {
        if (s == lower[i]) {
            out = log_level(i);
            return true;
        }
    }
    return false;
}

void logger::write(log_level l, std::string_view msg) const noexcept {
    try {
        auto now = std::chrono::system_clock::now();
        auto secs = std::chrono::system_clock::to_time_t(now);
        auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        ::gmtime_r(&secs, &tm);
        auto line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {:5} [{}] {}\n",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, ms, level_names[int(l)], _name, msg);
        // One write(2) per line so lines from different shards never interleave.
        [[maybe_unused]] auto r = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
    }
}

} // namespace chronik
