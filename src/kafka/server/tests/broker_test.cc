#include "cluster/topic_store.h"
#include "kafka/server/broker.h"
#include "runtime/io_worker.h"
#include "runtime/shard.h"
#include "storage/file_ops.h"
#include "storage/log_manager.h"

#include <cstdlib>
#include <filesystem>
#include <future>

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
        b = std::make_unique<broker>(cfg, shards, 0, *store, std::move(logs));
    }
    ~one_shard_broker() {
        shards.stop();
        std::filesystem::remove_all(dir);
    }
    // Runs fn on the shard and returns what it returns.
    template<class F>
    auto on_shard(F fn) {
        std::promise<decltype(fn())> done;
        asio::post(shards.at(0).executor(), [&] { done.set_value(fn()); });
        return done.get_future().get();
    }

    std::string dir;
    runtime::config cfg;
    runtime::shard_group shards{ 1 };
    runtime::io_worker io;
    std::unique_ptr<cluster::topic_store> store;
    std::unique_ptr<broker> b;
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

} // namespace
} // namespace chronik::kafka
