#include "runtime/shard.h"
#include "runtime/stall_detector.h"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace chronik::runtime {
namespace {

struct collected {
    std::mutex mu; // lock-ok: test-only, guards reports handed over from the watchdog thread
    std::vector<stall_report> reports;
    stall_detector::report_fn sink() {
        return [this](const stall_report& r) {
            std::lock_guard lk(mu); // lock-ok: test-only
            reports.push_back(r);
        };
    }
};

void block_shard_for(shard_group& g, std::chrono::milliseconds d) {
    std::promise<void> done;
    asio::post(g.at(0).executor(), [&] {
        std::this_thread::sleep_for(d); // a blocking call on the shard: the stall
        done.set_value();
    });
    done.get_future().get();
}

TEST(stall_detector, reports_a_blocked_shard_once_with_a_backtrace) {
    collected c;
    stall_detector det(std::chrono::milliseconds(50), c.sink());
    shard_group g(1, &det);
    block_shard_for(g, std::chrono::milliseconds(300));
    g.stop();
    std::lock_guard lk(c.mu); // lock-ok: test-only
    ASSERT_EQ(c.reports.size(), 1u);
    EXPECT_EQ(c.reports[0].shard, 0u);
    EXPECT_GE(c.reports[0].blocked_for.count(), 40);
    EXPECT_NE(c.reports[0].backtrace.find("#1"), std::string::npos) << c.reports[0].backtrace;
    EXPECT_EQ(det.total_stalls(), 1u);
    // Asleep in the kernel, not running: the report says so.
    EXPECT_GT(c.reports[0].watched.count(), 0);
    EXPECT_LE(c.reports[0].on_cpu.count(), 5);
    EXPECT_EQ(c.reports[0].kernel_state.substr(0, 1), "S") << c.reports[0].kernel_state;
}

TEST(stall_detector, a_busy_loop_is_reported_as_on_cpu) {
    collected c;
    stall_detector det(std::chrono::milliseconds(50), c.sink());
    shard_group g(1, &det);
    std::promise<void> done;
    asio::post(g.at(0).executor(), [&] {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
        volatile uint64_t spins = 0;
        while (std::chrono::steady_clock::now() < end) {
            spins = spins + 1; // a CPU loop that never yields
        }
        done.set_value();
    });
    done.get_future().get();
    g.stop();
    std::lock_guard lk(c.mu); // lock-ok: test-only
    ASSERT_EQ(c.reports.size(), 1u);
    // On a shared machine the loop may be descheduled for a while; most of the time
    // it runs.
    EXPECT_GE(c.reports[0].on_cpu.count() * 3, c.reports[0].watched.count()) << c.reports[0].kernel_state;
}

TEST(stall_detector, short_tasks_are_not_stalls) {
    std::atomic<int> reports{ 0 };
    stall_detector det(std::chrono::milliseconds(100), [&](const stall_report&) { ++reports; });
    shard_group g(2, &det);
    for (int i = 0; i < 20; ++i) {
        block_shard_for(g, std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    g.stop();
    EXPECT_EQ(reports.load(), 0);
    EXPECT_EQ(det.total_stalls(), 0u);
}

} // namespace
} // namespace chronik::runtime
