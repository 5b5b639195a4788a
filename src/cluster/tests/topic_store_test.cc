#include "cluster/topic_store.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
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
        out.push_back({ prefix + std::to_string(i), random_topic_id(), 1, {}, nullptr });
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
    topic_store store{ dir, model::node_id{ 0 }, io, shards,
                       [this](unsigned s, std::shared_ptr<const topic_table> t) {
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
            co_return s.queue_auto_create(std::move(ts), 1);
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
    // Another store over `path` (a copy of the directory), loaded; stop() it.
    std::unique_ptr<topic_store> load(const std::string& path) {
        auto other = std::make_unique<topic_store>(path, model::node_id{ 0 }, io, shards,
                                                   [](unsigned, std::shared_ptr<const topic_table>) {});
        std::string error;
        EXPECT_TRUE(other->load_blocking(error)) << error;
        return other;
    }
    void stop(topic_store& other) { run_on(shards, other.stop()); }
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

    // The batches were stored: a new store on (a copy of) the directory finds them all.
    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    EXPECT_EQ(reread->current()->all().size(), cap);
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
}

TEST_F(store_test, stop_ends_auto_creation_after_the_batch_being_stored) {
    auto stopped = run_on(shards, [](topic_store& s) -> awaitable<size_t> {
        size_t queued = s.queue_auto_create(named("b-", 5000), 1);
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

// Runs one change on shard 0 (a plain coroutine function: its arguments live in its frame).
awaitable<bool> apply_changes(topic_store& s) {
    // Every argument a named local: GCC 12 miscompiles braced temporaries in a co_await.
    const auto ok = std::error_code();
    topic_info a{ "a", random_topic_id(), 2, {}, nullptr };
    a.configs["cleanup.policy"] = "compact";
    topic_info b{ "b", random_topic_id(), 1, {}, nullptr };
    topic_info c{ "c", random_topic_id(), 3, {}, nullptr };
    std::vector<config_change> topic_change(1), broker_change(1);
    topic_change[0].name = "retention.ms";
    topic_change[0].value = "1000";
    broker_change[0].name = "log.retention.ms";
    broker_change[0].value = "5000";
    bool all = true;
    auto step1 = s.create(a, 1, false);
    all = all && co_await std::move(step1) == ok;
    auto step2 = s.create(b, 1, false);
    all = all && co_await std::move(step2) == ok;
    auto step3 = s.add_partitions("a", 5, false);
    all = all && co_await std::move(step3) == ok;
    auto step4 = s.alter_topic_configs("b", topic_change, false, false);
    all = all && (co_await std::move(step4)).error == ok;
    auto step5 = s.alter_broker_configs(topic_table::cluster_default, broker_change, false, false);
    all = all && (co_await std::move(step5)).error == ok;
    auto step6 = s.remove("b");
    all = all && co_await std::move(step6) == ok;
    auto step7 = s.create(c, 1, false);
    all = all && co_await std::move(step7) == ok;
    co_return all;
}

// Every kind of change is a command in the controller log, and a restart replays
// them onto the snapshot (here: none yet) into the same table.
TEST_F(store_test, every_change_survives_a_restart_through_the_controller_log) {
    ASSERT_TRUE(run_on(shards, apply_changes(store)));
    auto before = table();
    EXPECT_EQ(store.snapshot_offset(), 0);
    EXPECT_EQ(
      run_on(shards, [](topic_store& s) -> awaitable<int64_t> { co_return s.log_end_offset(); }(store)), 7);

    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    auto after = reread->current();
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
    ASSERT_EQ(after->size(), 2u);
    ASSERT_NE(after->find("a"), nullptr);
    EXPECT_EQ(after->find("a")->id, before->find("a")->id);
    EXPECT_EQ(after->find("a")->partitions, 5);
    EXPECT_EQ(after->find("a")->configs, before->find("a")->configs);
    EXPECT_EQ(after->find("b"), nullptr);
    EXPECT_EQ(after->find("c")->partitions, 3);
    EXPECT_EQ(after->broker_overrides(topic_table::cluster_default).at("log.retention.ms"), "5000");
}

awaitable<bool> create_many(topic_store& s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        topic_info t{ "t" + std::to_string(i), random_topic_id(), 1, {}, nullptr };
        auto created = s.create(std::move(t), 1, false);
        if (co_await std::move(created)) {
            co_return false;
        }
    }
    co_return true;
}

// Every snapshot_every commands the table is written whole, off the shard; a
// restart reads it and replays only what followed.
TEST_F(store_test, a_snapshot_bounds_what_a_restart_replays) {
    const size_t n = size_t(topic_store::snapshot_every) + 20;
    ASSERT_TRUE(run_on(shards, create_many(store, n)));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (run_on(shards,
                  [](topic_store& s) -> awaitable<int64_t> { co_return s.snapshot_offset(); }(store)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const int64_t covered =
      run_on(shards, [](topic_store& s) -> awaitable<int64_t> { co_return s.snapshot_offset(); }(store));
    EXPECT_GE(covered, topic_store::snapshot_every);
    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    // Without the log the snapshot alone holds what it covers, and no more.
    std::filesystem::remove_all(dir + "-copy/logs");
    {
        auto alone = load(dir + "-copy");
        EXPECT_EQ(alone->current()->size(), size_t(covered));
        stop(*alone);
    }
    std::filesystem::remove_all(dir + "-copy");
    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    EXPECT_EQ(reread->current()->size(), n);
    EXPECT_EQ(reread->snapshot_offset(), covered);
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
}

// How many partitions of `t` the placement puts on each shard of node 0.
std::map<uint32_t, int> per_shard(const topic_info& t) {
    std::map<uint32_t, int> out;
    for (int32_t p = 0; p < t.partitions; ++p) {
        if (auto s = t.shard_on(model::node_id{ 0 }, p)) {
            ++out[(*s)()];
        }
    }
    return out;
}

awaitable<std::error_code> create_one(topic_store& s, std::string name, int32_t partitions, int16_t rf) {
    topic_info t{ std::move(name), random_topic_id(), partitions, {}, nullptr };
    auto created = s.create(std::move(t), rf, false);
    co_return co_await std::move(created);
}

awaitable<std::error_code> grow(topic_store& s, std::string name, int32_t count) {
    auto grown = s.add_partitions(std::move(name), count, false);
    co_return co_await std::move(grown);
}

// The controller places every partition on the least loaded shard, across topics
// and as a topic grows; a placement's revision is the offset of the command that
// made it, and a restart reads the same placements back.
TEST_F(store_test, partitions_are_placed_on_the_least_loaded_shard) {
    ASSERT_FALSE(run_on(shards, create_one(store, "four", 4, 1)));
    auto first = table(); // keeps `four` alive
    const auto* four = first->find("four");
    ASSERT_NE(four->placement, nullptr);
    ASSERT_EQ(four->placement->size(), 4u);
    EXPECT_EQ(per_shard(*four), (std::map<uint32_t, int>{ { 0, 2 }, { 1, 2 } }));
    EXPECT_EQ((*four->placement)[0].revision, 0);
    // One partition more in all makes shard load uneven; the next goes to the lighter shard.
    ASSERT_FALSE(run_on(shards, create_one(store, "one", 1, 1)));
    ASSERT_FALSE(run_on(shards, create_one(store, "two", 1, 1)));
    auto one = per_shard(*table()->find("one"));
    auto two = per_shard(*table()->find("two"));
    ASSERT_EQ(one.size(), 1u);
    ASSERT_EQ(two.size(), 1u);
    EXPECT_NE(one.begin()->first, two.begin()->first);
    EXPECT_EQ((*table()->find("two")->placement)[0].revision, 2);
    // New partitions are placed; the old ones keep theirs.
    ASSERT_FALSE(run_on(shards, grow(store, "four", 8)));
    auto later = table();
    const auto* grown = later->find("four");
    ASSERT_EQ(grown->placement->size(), 8u);
    for (size_t p = 0; p < 4; ++p) {
        EXPECT_EQ((*grown->placement)[p], (*four->placement)[p]);
    }
    EXPECT_EQ((*grown->placement)[4].revision, 3);
    EXPECT_EQ(per_shard(*grown), (std::map<uint32_t, int>{ { 0, 4 }, { 1, 4 } }));
    // More replicas than registered brokers (none yet: this node alone) is refused.
    EXPECT_EQ(run_on(shards, create_one(store, "three", 1, 3)), errc::invalid_replication_factor);
    EXPECT_EQ(table()->find("three"), nullptr);

    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    const auto before = table(); // held: all() points into it
    for (const auto* t : before->all()) {
        const auto* back = reread->current()->find(t->name);
        ASSERT_NE(back, nullptr);
        ASSERT_NE(back->placement, nullptr);
        EXPECT_EQ(*back->placement, *t->placement);
    }
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
}

awaitable<std::vector<int64_t>> producer_ids(topic_store& s, int n) {
    std::vector<int64_t> out;
    for (int i = 0; i < n; ++i) {
        auto next = s.allocate_producer_id();
        out.push_back(co_await std::move(next));
    }
    co_return out;
}

// A block of producer ids is a controller command committed before its first id
// is used: after a restart, ids continue past every block handed out.
TEST_F(store_test, producer_ids_are_never_handed_out_twice_across_restarts) {
    auto first = run_on(shards, producer_ids(store, 3));
    EXPECT_EQ(first, (std::vector<int64_t>{ 0, 1, 2 }));
    EXPECT_EQ(table()->producer_id_end(), topic_store::producer_id_block);
    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    auto after = run_on(shards, producer_ids(*reread, int(topic_store::producer_id_block) + 1));
    EXPECT_EQ(after.front(), topic_store::producer_id_block);
    EXPECT_EQ(after.back(), 2 * topic_store::producer_id_block);
    EXPECT_EQ(reread->current()->producer_id_end(), 3 * topic_store::producer_id_block);
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
}

// Every start registers the node with a new incarnation; the registration is a
// command, so a restart reads it back, and the placement uses its shard count.
TEST_F(store_test, a_start_registers_the_broker) {
    std::string error;
    ASSERT_TRUE(store.register_blocking("127.0.0.1", 9092, "rack-1", error)) << error;
    auto t = table();
    ASSERT_EQ(t->brokers().size(), 1u);
    const auto& r = t->brokers().at(0);
    EXPECT_EQ(r.host, "127.0.0.1");
    EXPECT_EQ(r.port, 9092);
    EXPECT_EQ(r.rack, "rack-1");
    EXPECT_EQ(r.shards, 2u);
    EXPECT_EQ(on_shard1()->brokers().at(0), r);
    ASSERT_TRUE(store.register_blocking("127.0.0.1", 9092, "rack-1", error)) << error;
    EXPECT_NE(table()->brokers().at(0).incarnation, r.incarnation);
    EXPECT_FALSE(store.register_blocking("a host", 9092, std::nullopt, error));
    EXPECT_FALSE(store.register_blocking("h", 9092, "-", error));

    std::filesystem::copy(dir, dir + "-copy", std::filesystem::copy_options::recursive);
    auto reread = load(dir + "-copy");
    EXPECT_EQ(reread->current()->brokers(), table()->brokers());
    stop(*reread);
    std::filesystem::remove_all(dir + "-copy");
}

// Placements name their node: a directory made by one node is refused by another.
TEST_F(store_test, another_node_cannot_take_over_the_directory) {
    topic_store other{ dir, model::node_id{ 1 }, io, shards,
                       [](unsigned, std::shared_ptr<const topic_table>) {} };
    std::string error;
    EXPECT_FALSE(other.load_blocking(error));
    EXPECT_NE(error.find("belongs to node 0"), std::string::npos) << error;
}

awaitable<std::error_code> create_on(topic_store& s, std::string name, topic_store::replica_nodes nodes) {
    topic_info t{ std::move(name), random_topic_id(), int32_t(nodes.size()), {}, nullptr };
    auto rf = int16_t(nodes.empty() ? 1 : nodes.front().size());
    auto created = s.create(std::move(t), rf, false, std::move(nodes));
    co_return co_await std::move(created);
}

// Replicas named by the client: known nodes, each once per partition, one list
// per partition; the controller still picks each node's shard.
TEST_F(store_test, explicit_replicas_must_name_known_nodes_once) {
    const model::node_id self{ 0 }, stranger{ 4 };
    using nodes = topic_store::replica_nodes;
    EXPECT_FALSE(run_on(shards, create_on(store, "mine", nodes{ { self }, { self } })));
    EXPECT_EQ(per_shard(*table()->find("mine")), (std::map<uint32_t, int>{ { 0, 1 }, { 1, 1 } }));
    EXPECT_EQ(run_on(shards, create_on(store, "stranger", nodes{ { stranger } })),
              errc::invalid_replica_assignment);
    EXPECT_EQ(run_on(shards, create_on(store, "twice", nodes{ { self, self } })),
              errc::invalid_replica_assignment);
    EXPECT_EQ(table()->find("stranger"), nullptr);
    EXPECT_EQ(table()->find("twice"), nullptr);
}

awaitable<std::error_code> register_one(topic_store& s, int32_t node, std::string rack, uint32_t shards) {
    broker_registration r{
        model::node_id{ node }, "10.0.0." + std::to_string(node), 9092, std::move(rack), shards,
        random_topic_id()
    };
    auto registered = s.register_broker(std::move(r));
    co_return co_await std::move(registered);
}

// With several brokers, replicas go round robin over them with racks interleaved:
// a partition's replicas are in different racks, leaders spread over every node,
// and each node's replicas over its own shards.
TEST_F(store_test, replicas_spread_over_nodes_and_racks) {
    ASSERT_FALSE(run_on(shards, register_one(store, 0, "a", 2)));
    ASSERT_FALSE(run_on(shards, register_one(store, 1, "a", 2)));
    ASSERT_FALSE(run_on(shards, register_one(store, 2, "b", 1)));
    ASSERT_FALSE(run_on(shards, register_one(store, 3, "b", 1)));
    ASSERT_FALSE(run_on(shards, create_one(store, "racked", 8, 2)));
    auto t = table();
    const auto* info = t->find("racked");
    ASSERT_NE(info->placement, nullptr);
    std::map<int32_t, int> leaders, replicas;
    std::map<std::pair<int32_t, uint32_t>, int> per_node_shard;
    for (const auto& a : *info->placement) {
        ASSERT_EQ(a.replicas.size(), 2u);
        const auto& r0 = t->brokers().at(a.replicas[0].node());
        const auto& r1 = t->brokers().at(a.replicas[1].node());
        EXPECT_NE(r0.rack, r1.rack);
        ++leaders[r0.node()];
        for (const auto& r : a.replicas) {
            ++replicas[r.node()];
            ++per_node_shard[{ r.node(), r.shard() }];
            EXPECT_LT(r.shard(), t->brokers().at(r.node()).shards);
        }
    }
    EXPECT_EQ(leaders, (std::map<int32_t, int>{ { 0, 2 }, { 1, 2 }, { 2, 2 }, { 3, 2 } }));
    EXPECT_EQ(replicas, (std::map<int32_t, int>{ { 0, 4 }, { 1, 4 }, { 2, 4 }, { 3, 4 } }));
    EXPECT_EQ(per_node_shard[std::make_pair(0, 0u)], 2);
    EXPECT_EQ(per_node_shard[std::make_pair(0, 1u)], 2);
    EXPECT_EQ(per_node_shard[std::make_pair(2, 0u)], 4);
    // Five replicas of four brokers cannot be placed.
    EXPECT_EQ(run_on(shards, create_one(store, "too-wide", 1, 5)), errc::invalid_replication_factor);
}

// The whole-table file of earlier versions is read as a snapshot of an empty log.
TEST_F(store_test, the_old_whole_table_file_is_still_read) {
    std::string legacy = dir + "-legacy";
    std::filesystem::create_directories(legacy);
    auto t = topic_table().with(topic_info{ "old", random_topic_id(), 4, {}, nullptr });
    { std::ofstream(legacy + "/topics") << t->serialize(); }
    auto old = load(legacy);
    ASSERT_NE(old->current()->find("old"), nullptr);
    EXPECT_EQ(old->current()->find("old")->partitions, 4);
    // Its topics had no placements; the load placed them, spread over the shards.
    EXPECT_EQ(per_shard(*old->current()->find("old")), (std::map<uint32_t, int>{ { 0, 2 }, { 1, 2 } }));
    EXPECT_EQ(old->log_end_offset(), 1);
    stop(*old);
    std::filesystem::remove_all(legacy);
}

} // namespace
} // namespace chronik::cluster
