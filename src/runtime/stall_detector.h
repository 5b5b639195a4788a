#pragma once
// Stall detector (DESIGN.md principle 3). A shard is stalled when one handler has
// run for longer than the threshold (a CPU loop that never suspends, or a blocking
// syscall on the shard thread). The watchdog thread then interrupts that thread with
// a signal, captures its backtrace, logs it and counts it.
//
// Idle costs nothing: every shard publishes "inside a handler since T" (set and
// cleared by handler_scope). While no shard is inside a handler the watchdog sleeps
// on an atomic wait, and the first handler to start wakes it; while shards are
// busy it checks every threshold/4.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

namespace chronik::runtime {

struct stall_report {
    unsigned shard = 0;
    std::chrono::milliseconds blocked_for{ 0 };
    std::string backtrace;
    // Of the part of the stall the watchdog watched: how long the thread was on a
    // CPU, and where the kernel had it when the stall was seen ("R" running, or e.g.
    // "D in balance_dirty_pages"). A stall mostly off-CPU is a blocking syscall or
    // an oversubscribed machine, not a loop in our code.
    std::chrono::milliseconds watched{ 0 };
    std::chrono::milliseconds on_cpu{ 0 };
    std::string kernel_state;
};

class stall_detector {
public:
    using report_fn = std::function<void(const stall_report&)>;

    // threshold: how long one handler may run. on_report: called on the watchdog
    // thread for each stall (the default logs it).
    explicit stall_detector(std::chrono::milliseconds threshold, report_fn on_report = {});
    ~stall_detector();
    stall_detector(const stall_detector&) = delete;
    stall_detector& operator=(const stall_detector&) = delete;

    // Called on a shard thread before it runs its loop; shard ids are dense from 0.
    void register_current_thread(unsigned shard);

    uint64_t stalls(unsigned shard) const noexcept;
    uint64_t total_stalls() const noexcept;
    std::chrono::milliseconds threshold() const noexcept { return _threshold; }

    static constexpr unsigned max_shards = 256;

    struct shard_slot; // public so the handler hooks can reach it

private:
    void run();
    void check(int64_t now_ns, bool& any_busy);

    std::chrono::milliseconds _threshold;
    report_fn _on_report;
    std::unique_ptr<shard_slot[]> _slots;
    std::atomic<unsigned> _registered{ 0 };
    std::atomic<bool> _stop{ false };
    std::thread _watchdog;
};

} // namespace chronik::runtime
