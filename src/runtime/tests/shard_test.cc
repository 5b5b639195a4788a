#include "runtime/gate.h"
#include "runtime/shard.h"

#include <future>
#include <stdexcept>

#include <gtest/gtest.h>

namespace chronik::runtime {
namespace {

// Runs a coroutine on shard 0 of `g` and blocks the test thread until it finishes.
template<class T>
T run_on(shard_group& g, awaitable<T> aw) {
    std::promise<T> p;
    auto fut = p.get_future();
    asio::co_spawn(g.at(0).executor(), std::move(aw), [&p](std::exception_ptr e, auto... v) {
        if (e) {
            p.set_exception(e);
        } else {
            p.set_value(v...);
        }
    });
    return fut.get();
}

awaitable<unsigned> where_am_i() {
    co_return this_shard_id();
}

awaitable<std::vector<unsigned>> hop_everywhere(shard_group& g) {
    std::vector<unsigned> seen;
    for (unsigned s = 0; s < g.size(); ++s) {
        seen.push_back(co_await g.invoke_on(s, [] { return this_shard_id(); }));
        seen.push_back(co_await g.invoke_on(s, [] { return where_am_i(); }));
        // The caller resumes on its own shard.
        seen.push_back(this_shard_id());
    }
    co_return seen;
}

TEST(shard_group, invoke_on_runs_on_the_target_and_resumes_on_the_caller) {
    shard_group g(3);
    auto seen = run_on(g, hop_everywhere(g));
    EXPECT_EQ(seen, (std::vector<unsigned>{ 0, 0, 0, 1, 1, 0, 2, 2, 0 }));
}

awaitable<int> throws_remote(shard_group& g) {
    co_return co_await g.invoke_on(1, []() -> int { throw std::runtime_error("boom"); });
}

TEST(shard_group, exceptions_cross_back_to_the_caller) {
    shard_group g(2);
    EXPECT_THROW(run_on(g, throws_remote(g)), std::runtime_error);
}

awaitable<void> hold_for([[maybe_unused]] gate::holder h, std::chrono::milliseconds d, int& done) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_awaitable);
    ++done;
}

awaitable<int> close_waits_for_holders() {
    gate gt;
    int done = 0;
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(ex, hold_for(*gt.try_enter(), std::chrono::milliseconds(5 * (i + 1)), done),
                       asio::detached);
    }
    co_await gt.close();
    EXPECT_FALSE(gt.try_enter().has_value());
    co_return done;
}

TEST(gate, close_completes_after_the_last_holder) {
    shard_group g(1);
    EXPECT_EQ(run_on(g, close_waits_for_holders()), 3);
}

} // namespace
} // namespace chronik::runtime

#include "runtime/io_worker.h"

namespace chronik::runtime {
namespace {

awaitable<std::pair<int, bool>> use_worker(io_worker& w) {
    unsigned before = this_shard_id();
    int v = co_await w.run([] { return this_shard_id() == ~0u ? 41 : -1; }); // runs off-shard
    co_return std::pair{ v + 1, this_shard_id() == before };
}

TEST(io_worker, runs_off_shard_and_resumes_on_the_caller) {
    // The shards outlive the worker (as in main): a worker still posting a result
    // must not find the shard's io_context gone (TSan saw exactly that race).
    shard_group g(1);
    io_worker w;
    auto [v, same] = run_on(g, use_worker(w));
    EXPECT_EQ(v, 42);
    EXPECT_TRUE(same);
}

} // namespace
} // namespace chronik::runtime

namespace chronik::runtime {
namespace {

awaitable<size_t> length_after_a_hop(const std::string& s) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
    co_await t.async_wait(use_awaitable);
    co_return s.size();
}

awaitable<size_t> capture_then_suspend(shard_group& g, unsigned target) {
    std::string payload(1000, 'x'); // on the heap, so a dangling copy shows under ASan
    auto fn = [p = std::move(payload)]() { return length_after_a_hop(p); };
    co_return co_await g.invoke_on(target, std::move(fn));
}

// A capturing lambda that returns a coroutine referring to its captures must keep
// them alive until that coroutine finishes, on this shard and on another.
TEST(shard_group, invoke_on_keeps_lambda_captures_alive_across_suspension) {
    shard_group g(2);
    EXPECT_EQ(run_on(g, capture_then_suspend(g, 0)), 1000u);
    EXPECT_EQ(run_on(g, capture_then_suspend(g, 1)), 1000u);
}

} // namespace
} // namespace chronik::runtime

namespace chronik::runtime {
namespace {

// The pattern the broker uses: a lazily-started coroutine copies its parameter into
// a local and captures the local (capturing the parameter itself reads a dead stack
// slot under GCC 12).
awaitable<size_t> param_to_local_then_capture(shard_group& g, std::string param) {
    std::string local = std::move(param);
    auto fn = [&local] { return length_after_a_hop(local); };
    co_return co_await g.invoke_on(1, std::move(fn));
}

TEST(shard_group, coroutine_parameters_reach_other_shards_through_locals) {
    shard_group g(2);
    EXPECT_EQ(run_on(g, param_to_local_then_capture(g, std::string(500, 'y'))), 500u);
}

} // namespace
} // namespace chronik::runtime
