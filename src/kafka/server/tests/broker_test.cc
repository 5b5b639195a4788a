#include "cluster/topic_store.h"
#include "kafka/server/broker.h"
#include "runtime/io_worker.h"
#include "runtime/shard.h"
#include "storage/file_ops.h"
#include "storage/log_manager.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace chronik::kafka {
namespace {

// One shard's broker over a temporary directory.
struct one_shard_broker {
    one_shard_broker() {
        char tmpl[] = "/tmp/chronik-broker-test-XXXXXX";
        dir = ::mkdtemp(tmpl);
        cfg.data_dir = dir;
        store = std::make_unique<cluster::topic_store>(dir + "/cluster", model::node_id{ 0 }, io, shards,
                                                       [](unsigned, auto) {});
        auto logs = std::make_unique<storage::log_manager>(
          dir, io, storage::file_ops::real(), shards.at(0).executor(), [](std::vector<storage::watcher>) {});
        peers.push_back(std::make_unique<broker>(cfg, shards, 0, *store, std::move(logs)));
        b = peers.front().get();
        b->set_peers(&peers);
    }
    ~one_shard_broker() {
        stop_background();
        shards.stop();
        // The I/O worker may still be removing a deleted topic's files.
        std::error_code ec;
        for (int i = 0; i < 100 && std::filesystem::exists(dir); ++i) {
            std::filesystem::remove_all(dir, ec);
        }
    }
    // Runs fn on the shard and returns what it returns.
    template<class F>
    auto on_shard(F fn) {
        std::promise<decltype(fn())> done;
        asio::post(shards.at(0).executor(), [&] { done.set_value(fn()); });
        return done.get_future().get();
    }

    // Ends the broker's background work as the server's stop does: the reconciler,
    // then the log manager (its retention timer and group commit), before the
    // shard's executor goes away with the broker gone.
    void stop_background() {
        if (stopped) {
            return;
        }
        stopped = true;
        std::promise<void> done;
        asio::co_spawn(shards.at(0).executor(), close_all(*b), [&](std::exception_ptr) { done.set_value(); });
        done.get_future().get();
    }
    static awaitable<void> close_all(broker& b) {
        auto reconciling = b.stop_reconciling();
        co_await std::move(reconciling);
        auto closing = b.logs().close();
        co_await std::move(closing);
    }
    bool stopped = false;

    std::string dir;
    runtime::config cfg;
    runtime::shard_group shards{ 1 };
    runtime::io_worker io;
    std::unique_ptr<cluster::topic_store> store;
    std::vector<std::unique_ptr<broker>> peers; // this shard's broker alone
    broker* b = nullptr;
};

// Concurrent topic changes publish their snapshots shard by shard; an older one
// can reach a shard after a newer one. Every shard's table must only move forward,
// or connections on that shard lose topics others see (issue 11, item B).
TEST(broker, a_shard_never_installs_an_older_topic_table) {
    one_shard_broker t;
    auto v0 = std::make_shared<const cluster::topic_table>();
    auto v1 = v0->with(cluster::topic_info{ "first", cluster::random_topic_id(), 1, {}, nullptr });
    auto v2 = v1->with(cluster::topic_info{ "second", cluster::random_topic_id(), 1, {}, nullptr });
    auto [version, has_second] = t.on_shard([&] {
        t.b->set_topics(v2);
        t.b->set_topics(v1); // late: dropped
        return std::pair{ t.b->topics()->version(), t.b->topics()->find("second") != nullptr };
    });
    EXPECT_EQ(version, v2->version());
    EXPECT_TRUE(has_second);
}

// A partition's new data wakes the fetches waiting under the keys it recorded, not
// every fetch on the shard; key 0 (a partition with too many watchers) wakes all.
TEST(broker, fetch_wakeups_reach_only_the_keys_named) {
    one_shard_broker t;
    auto generations = t.on_shard([&] {
        broker& b = *t.b;
        const uint64_t k1 = b.new_waiter_key(), k2 = b.new_waiter_key();
        broker::fetch_waiter a(b, k1), also_a(b, k1), other(b, k2);
        std::vector<uint64_t> seen;
        b.wake_fetchers({ k1 });
        seen.insert(seen.end(), { a.generation(), also_a.generation(), other.generation() });
        b.wake_fetchers({ 0 });
        seen.insert(seen.end(), { a.generation(), also_a.generation(), other.generation() });
        b.wake_fetchers({ b.new_waiter_key() }); // nobody waits under it
        seen.insert(seen.end(), { a.generation(), also_a.generation(), other.generation() });
        return seen;
    });
    EXPECT_EQ(generations, (std::vector<uint64_t>{ 1, 1, 0, 2, 2, 1, 2, 2, 1 }));
}

cluster::topic_info placed_here(std::string name, int32_t partitions) {
    auto a = std::make_shared<cluster::assignments>();
    for (int32_t p = 0; p < partitions; ++p) {
        a->push_back({ { { model::node_id{ 0 }, model::shard_id{ 0 } } }, 0 });
    }
    return { std::move(name), cluster::random_topic_id(), partitions, {}, std::move(a) };
}

// The partitions a table places on the shard are opened in the background, before
// any request names them; a change's table (made from the one held) is applied as
// a delta, any other table whole, and either closes the partitions of topics gone.
TEST(broker, a_shard_opens_the_partitions_placed_on_it_and_closes_the_deleted) {
    one_shard_broker t;
    auto open_count = [&](std::optional<std::string> topic) {
        return t.on_shard([&] {
            size_t n = 0;
            t.b->logs().for_each_open([&](std::string_view, storage::partition_log&) { ++n; }, topic);
            return n;
        });
    };
    auto wait_open = [&](std::optional<std::string> topic, size_t n) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (open_count(topic) != n && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return open_count(topic);
    };
    auto v0 = t.on_shard([&] { return t.b->topics(); });
    auto v1 = v0->with(placed_here("a", 3));
    t.on_shard([&] { return (t.b->set_topics(v1), 0); }); // a delta: made from the one held
    EXPECT_EQ(wait_open("a", 3), 3u);
    // A table from elsewhere (as after a restart of the controller) is applied whole.
    auto parsed = std::make_shared<const cluster::topic_table>(
      *cluster::topic_table::parse(v1->with(placed_here("b", 2))->with_producer_id_end(1000)->serialize()));
    t.on_shard([&] { return (t.b->set_topics(parsed->with(placed_here("c", 1))->without("a")), 0); });
    EXPECT_EQ(wait_open(std::nullopt, 3), 3u); // b's two and c's one
    EXPECT_EQ(open_count("a"), 0u);
    // A delta deleting a topic closes its partitions.
    auto now = t.on_shard([&] { return t.b->topics(); });
    t.on_shard([&] { return (t.b->set_topics(now->without("b")), 0); });
    EXPECT_EQ(open_count("b"), 0u);
    EXPECT_EQ(open_count("c"), 1u);
    t.stop_background();
}

} // namespace
} // namespace chronik::kafka
