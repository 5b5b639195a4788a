#include "cluster/topic_store.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

namespace chronik::cluster {
namespace {

// Runs a coroutine on a shard and blocks the test thread until it finishes.
template<class T>
T run_on(runtime::shard_group& g, awaitable<T> aw, unsigned shard = 0) {
    std::promise<T> p;
    auto fut = p.get_future();
    asio::co_spawn(g.at(shard).executor(), std::move(aw), [&p](std::exception_ptr e, auto... v) {
        if (e) {
            p.set_exception(e);
        } else {
            p.set_value(v...);
        }
    });
    return fut.get();
}

std::vector<topic_info> named(const std::string& prefix, size_t n) {
    std::vector<topic_info> out;
    for (size_t i = 0; i < n; ++i) {
        out.push_back({ prefix + std::to_string(i), random_topic_id(), 1, {} });
    }
    return out;
}

struct store_test : ::testing::Test {
    std::string dir = (std::filesystem::temp_directory_path() /
                       ("chronik-topic-store-" + std::to_string(::getpid()) + "-" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                        .string();
    runtime::shard_group shards{ 2 };
    runtime::io_worker io;
    std::vector<std::shared_ptr<const topic_table>> published{ 2 };
    topic_store store{ dir, io, shards, [this](unsigned s, std::shared_ptr<const topic_table> t) {
                          published[s] = std::move(t);
                      } };

    void SetUp() override {
        std::string error;
        ASSERT_TRUE(store.load_blocking(error)) << error;
    }
    void TearDown() override {
        run_on(shards, store.stop());
        shards.stop();
        std::filesystem::remove_all(dir);
    }
    size_t queue(std::vector<topic_info> ts) {
        return run_on(shards, [](topic_store& s, std::vector<topic_info> ts) -> awaitable<size_t> {
            co_return s.queue_auto_create(std::move(ts));
        }(store, std::move(ts)));
    }
    std::shared_ptr<const topic_table> table() {
        return run_on(shards, [](topic_store& s) -> awaitable<std::shared_ptr<const topic_table>> {
            co_return s.current();
        }(store));
    }
    // The table shard 1 has (the last one published to), read there.
    std::shared_ptr<const topic_table> on_shard1() {
        return run_on(
          shards,
          [](std::shared_ptr<const topic_table>& t) -> awaitable<std::shared_ptr<const topic_table>> {
              co_return t;
          }(published[1]),
          1);
    }
    // The table once every shard has one of n topics (or after 30 s).
    std::shared_ptr<const topic_table> wait_for(size_t n) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        auto t = on_shard1();
        while (t->all().size() < n && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            t = on_shard1();
        }
        return t;
    }
};

TEST_F(store_test, auto_creation_is_bounded_and_batched) {
    constexpr size_t cap = topic_store::max_auto_create_queue;
    // More than the queue holds: the excess is not queued.
    EXPECT_EQ(queue(named("a-", cap + 5000)), cap);
    // Names already queued count as on their way; nothing is queued twice.
    EXPECT_EQ(queue(named("a-", 3)), 3u);
    auto t = wait_for(cap);
    EXPECT_EQ(t->all().size(), cap);
    EXPECT_EQ(t->find("a-" + std::to_string(cap)), nullptr);
    // One table change (and one durable write) per batch, not per topic.
    EXPECT_EQ(t->version(), cap / topic_store::auto_create_batch);
    // The store's table is the one every shard got.
    EXPECT_EQ(table(), t);
    // Existing names are on their way too, and are not created again.
    EXPECT_EQ(queue(named("a-", 2)), 2u);
    EXPECT_EQ(table()->version(), t->version());

    // The batches were stored: a new store on the directory finds them all.
    topic_store reread(dir, io, shards, [](unsigned, std::shared_ptr<const topic_table>) {});
    std::string error;
    ASSERT_TRUE(reread.load_blocking(error)) << error;
    EXPECT_EQ(reread.current()->all().size(), cap);
}

TEST_F(store_test, stop_ends_auto_creation_after_the_batch_being_stored) {
    auto stopped = run_on(shards, [](topic_store& s) -> awaitable<size_t> {
        size_t queued = s.queue_auto_create(named("b-", 5000));
        co_await s.stop();
        co_return queued;
    }(store));
    EXPECT_EQ(stopped, 5000u);
    // The fiber started at once and its first batch was being stored: stop() waited
    // for that one batch and dropped the rest.
    EXPECT_EQ(table()->all().size(), topic_store::auto_create_batch);
    // Nothing is queued once stopped.
    EXPECT_EQ(queue(named("c-", 10)), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(table()->all().size(), topic_store::auto_create_batch);
}

} // namespace
} // namespace chronik::cluster
