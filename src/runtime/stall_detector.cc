#include "runtime/stall_detector.h"

#include "base/logger.h"
#include "runtime/handler_tracking.h"

#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>

#include <execinfo.h>
#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace chronik::runtime {

namespace {

logger log{ "stall" };

int64_t coarse_now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int max_frames = 64;
int stall_signal() {
    return SIGRTMIN + 3;
}

} // namespace

struct stall_detector::shard_slot {
    // 0 while the shard is outside any handler; otherwise when the current one began.
    std::atomic<int64_t> busy_since_ns{ 0 };
    // Bumped at each handler start, so one long handler is reported once.
    std::atomic<uint64_t> handler_seq{ 0 };
    uint64_t reported_seq = ~uint64_t(0); // watchdog-only
    std::atomic<uint64_t> stalls{ 0 };
    pthread_t thread{};
    pid_t tid = 0;
    clockid_t cpu_clock{};
    bool has_cpu_clock = false;
    // Watchdog-only: when it first saw the current handler, and the thread's CPU time then.
    uint64_t seen_seq = ~uint64_t(0);
    int64_t seen_wall_ns = 0;
    int64_t seen_cpu_ns = 0;
    // Filled by the signal handler on the stalled thread, read by the watchdog.
    void* frames[max_frames];
    std::atomic<int> frame_count{ -1 };
};

namespace {

// The one detector of the process (a shard thread belongs to at most one) and the
// calling thread's slot; both null on threads that are not shards.
std::atomic<stall_detector*> g_detector{ nullptr };
std::atomic<bool> g_watchdog_sleeping{ false };
thread_local stall_detector::shard_slot* t_slot = nullptr;

void on_stall_signal(int) {
    auto* slot = t_slot;
    if (slot == nullptr) {
        return;
    }
    // backtrace() is not formally async-signal-safe, but is once libgcc is loaded,
    // which the constructor ensures by calling it once up front.
    int n = ::backtrace(slot->frames, max_frames);
    slot->frame_count.store(n, std::memory_order_release);
}

int64_t thread_cpu_ns(const stall_detector::shard_slot& slot) noexcept;

// "R", or "S in ep_poll", "D in balance_dirty_pages": the thread's scheduler state
// and, when sleeping, the kernel function it sleeps in.
std::string kernel_state(pid_t tid) {
    std::string state = "?";
    std::ifstream stat(fmt::format("/proc/self/task/{}/stat", tid));
    std::string line;
    if (std::getline(stat, line)) {
        auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size()) {
            state = line.substr(close + 2, 1);
        }
    }
    std::ifstream wchan(fmt::format("/proc/self/task/{}/wchan", tid));
    std::string where;
    if (std::getline(wchan, where) && !where.empty() && where != "0") {
        state += " in " + where;
    }
    return state;
}

} // namespace

void detail::handler_scope::begin() noexcept {
    auto* slot = t_slot;
    if (slot == nullptr) {
        return;
    }
    slot->handler_seq.fetch_add(1, std::memory_order_relaxed);
    slot->busy_since_ns.store(coarse_now_ns(), std::memory_order_seq_cst);
    if (g_watchdog_sleeping.load(std::memory_order_seq_cst) && g_watchdog_sleeping.exchange(false)) {
        g_watchdog_sleeping.notify_one();
    }
}

void detail::handler_scope::end() noexcept {
    if (auto* slot = t_slot) {
        slot->busy_since_ns.store(0, std::memory_order_release);
    }
}

namespace {
int64_t thread_cpu_ns(const stall_detector::shard_slot& slot) noexcept {
    timespec ts{};
    if (!slot.has_cpu_clock || ::clock_gettime(slot.cpu_clock, &ts) != 0) {
        return 0;
    }
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
} // namespace

stall_detector::stall_detector(std::chrono::milliseconds threshold, report_fn on_report)
  : _threshold(threshold), _on_report(std::move(on_report)), _slots(new shard_slot[max_shards]) {
    if (!_on_report) {
        _on_report = [](const stall_report& r) {
            log.warn(
              "shard {} stalled: one task has run for {} ms without yielding (on CPU {} of the last {} ms; "
              "thread {})\n{}",
              r.shard, r.blocked_for.count(), r.on_cpu.count(), r.watched.count(), r.kernel_state,
              r.backtrace);
        };
    }
    void* warm[4];
    (void)::backtrace(warm, 4); // loads libgcc's unwinder outside any signal handler
    struct sigaction sa {};
    sa.sa_handler = on_stall_signal;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(stall_signal(), &sa, nullptr);
    stall_detector* expected = nullptr;
    g_detector.compare_exchange_strong(expected, this);
    _watchdog = std::thread([this] { run(); });
}

stall_detector::~stall_detector() {
    _stop.store(true);
    g_watchdog_sleeping.store(false);
    g_watchdog_sleeping.notify_all();
    _watchdog.join();
    stall_detector* self = this;
    g_detector.compare_exchange_strong(self, nullptr);
}

void stall_detector::register_current_thread(unsigned shard) {
    if (shard >= max_shards) {
        return;
    }
    auto& slot = _slots[shard];
    slot.thread = ::pthread_self();
    slot.tid = pid_t(::syscall(SYS_gettid));
    slot.has_cpu_clock = ::pthread_getcpuclockid(slot.thread, &slot.cpu_clock) == 0;
    t_slot = &slot;
    unsigned n = _registered.load();
    while (n < shard + 1 && !_registered.compare_exchange_weak(n, shard + 1)) {
    }
}

uint64_t stall_detector::stalls(unsigned shard) const noexcept {
    return shard < max_shards ? _slots[shard].stalls.load(std::memory_order_relaxed) : 0;
}

uint64_t stall_detector::total_stalls() const noexcept {
    uint64_t sum = 0;
    for (unsigned i = 0; i < max_shards; ++i) {
        sum += _slots[i].stalls.load(std::memory_order_relaxed);
    }
    return sum;
}

void stall_detector::check(int64_t now_ns, bool& any_busy) {
    const int64_t threshold_ns = int64_t(_threshold.count()) * 1'000'000;
    unsigned n = _registered.load();
    for (unsigned i = 0; i < n; ++i) {
        auto& slot = _slots[i];
        int64_t since = slot.busy_since_ns.load(std::memory_order_acquire);
        if (since == 0) {
            continue;
        }
        any_busy = true;
        uint64_t seq = slot.handler_seq.load(std::memory_order_relaxed);
        if (slot.seen_seq != seq) {
            slot.seen_seq = seq;
            slot.seen_wall_ns = now_ns;
            slot.seen_cpu_ns = thread_cpu_ns(slot);
        }
        if (now_ns - since < threshold_ns || slot.reported_seq == seq) {
            continue;
        }
        slot.reported_seq = seq;
        // Before the backtrace signal: it may pull the thread out of where it sleeps.
        std::string where = kernel_state(slot.tid);
        int64_t on_cpu_ns = thread_cpu_ns(slot) - slot.seen_cpu_ns;
        slot.stalls.fetch_add(1, std::memory_order_relaxed);
        slot.frame_count.store(-1, std::memory_order_relaxed);
        ::pthread_kill(slot.thread, stall_signal());
        for (int spin = 0; spin < 200 && slot.frame_count.load(std::memory_order_acquire) < 0; ++spin) {
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        std::string trace;
        int frames = slot.frame_count.load(std::memory_order_acquire);
        if (frames > 0) {
            char** symbols = ::backtrace_symbols(slot.frames, frames);
            for (int f = 0; f < frames; ++f) {
                trace += fmt::format("  #{} {}\n", f, symbols ? symbols[f] : "?");
            }
            std::free(symbols);
        } else {
            trace = "  (thread did not answer the backtrace signal)\n";
        }
        stall_report r;
        r.shard = i;
        r.blocked_for = std::chrono::milliseconds((now_ns - since) / 1'000'000);
        r.backtrace = std::move(trace);
        r.watched = std::chrono::milliseconds((now_ns - slot.seen_wall_ns) / 1'000'000);
        r.on_cpu = std::chrono::milliseconds(std::max<int64_t>(0, on_cpu_ns) / 1'000'000);
        r.kernel_state = std::move(where);
        _on_report(r);
    }
}

void stall_detector::run() {
    int idle_checks = 0;
    while (!_stop.load()) {
        bool any_busy = false;
        check(coarse_now_ns(), any_busy);
        if (any_busy) {
            idle_checks = 0;
        } else if (++idle_checks >= 2) {
            // Nothing running anywhere: sleep until a shard starts a handler.
            g_watchdog_sleeping.store(true, std::memory_order_seq_cst);
            bool busy_now = false;
            unsigned n = _registered.load();
            for (unsigned i = 0; i < n; ++i) {
                busy_now |= _slots[i].busy_since_ns.load(std::memory_order_seq_cst) != 0;
            }
            if (!busy_now && !_stop.load()) {
                g_watchdog_sleeping.wait(true);
            }
            g_watchdog_sleeping.store(false);
            idle_checks = 0;
            continue;
        }
        std::this_thread::sleep_for(_threshold / 4);
    }
}

} // namespace chronik::runtime
