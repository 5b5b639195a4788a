#include "cluster/topic_table.h"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace chronik::cluster {
namespace {

// What a snapshot must show: exactly the model's topics, found by name and by id,
// listed in name order.
void expect_matches(const topic_table& t, const std::map<std::string, topic_info>& model) {
    ASSERT_EQ(t.size(), model.size());
    auto all = t.all();
    ASSERT_EQ(all.size(), model.size());
    auto it = model.begin();
    for (const auto* info : all) {
        EXPECT_EQ(info->name, it->first);
        EXPECT_EQ(info->partitions, it->second.partitions);
        EXPECT_EQ(t.find(it->second.id), info);
        EXPECT_EQ(t.find(it->first), info);
        ++it;
    }
}

// Random creates, replacements and deletes against a std::map model. Every snapshot
// kept along the way must still show what it showed when made: the buckets it
// shares with later snapshots are never changed under it.
TEST(topic_table, snapshots_share_buckets_but_never_change) {
    std::mt19937 rng(7);
    std::vector<std::pair<std::shared_ptr<const topic_table>, std::map<std::string, topic_info>>> kept;
    auto t = std::make_shared<const topic_table>();
    std::map<std::string, topic_info> model;
    for (int step = 0; step < 3000; ++step) {
        std::string name = "t" + std::to_string(rng() % 700);
        int op = int(rng() % 4);
        if (op == 0 && model.contains(name)) {
            const model::uuid old_id = model[name].id;
            t = t->without(name);
            model.erase(name);
            EXPECT_EQ(t->find(old_id), nullptr);
        } else if (op == 1) {
            std::vector<topic_info> many;
            for (int k = 0; k < 3; ++k) {
                topic_info info{
                    "m" + std::to_string(rng() % 300), random_topic_id(), int32_t(1 + rng() % 4), {}, nullptr
                };
                model[info.name] = info;
                many.push_back(std::move(info));
            }
            t = t->with_all(std::move(many));
        } else {
            topic_info info{ name, random_topic_id(), int32_t(1 + rng() % 8), {}, nullptr };
            model[name] = info;
            t = t->with(std::move(info));
        }
        if (step % 100 == 0) {
            kept.emplace_back(t, model);
        }
    }
    expect_matches(*t, model);
    for (const auto& [snapshot, then] : kept) {
        expect_matches(*snapshot, then);
    }
}

TEST(topic_table, survives_its_text_form) {
    auto t = std::make_shared<const topic_table>();
    for (int i = 0; i < 50; ++i) {
        t = t->with(topic_info{ "topic-" + std::to_string(i),
                                random_topic_id(),
                                i % 5 + 1,
                                { { "cleanup.policy", "compact" } },
                                nullptr });
    }
    auto back = topic_table::parse(t->serialize());
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(back->size(), 50u);
    for (const auto* info : t->all()) {
        const auto* b = back->find(info->id);
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(b->name, info->name);
        EXPECT_EQ(b->configs, info->configs);
    }
}

topic_info placed_topic(std::string name, int32_t partitions) {
    auto a = std::make_shared<assignments>();
    for (int32_t p = 0; p < partitions; ++p) {
        partition_assignment pa;
        pa.revision = 10 + p;
        pa.replicas.push_back({ model::node_id{ 0 }, model::shard_id{ uint32_t(p % 2) } });
        pa.replicas.push_back({ model::node_id{ 2 }, model::shard_id{ 0 } });
        a->push_back(std::move(pa));
    }
    return topic_info{ std::move(name), random_topic_id(), partitions, {}, std::move(a) };
}

// Placements, registrations and the producer-id end are part of the text form.
TEST(topic_table, placements_and_registrations_round_trip) {
    broker_registration r{ model::node_id{ 2 }, "10.0.0.2", 9093, "rack-a", 4, random_topic_id() };
    broker_registration bare{ model::node_id{ 0 }, "localhost", 9092, std::nullopt, 2, random_topic_id() };
    auto t = topic_table()
               .with(placed_topic("placed", 3))
               ->with(topic_info{ "unplaced", random_topic_id(), 2, {}, nullptr })
               ->with_broker(r)
               ->with_broker(bare)
               ->with_producer_id_end(5000);
    auto back = topic_table::parse(t->serialize());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->producer_id_end(), 5000);
    ASSERT_EQ(back->brokers().size(), 2u);
    EXPECT_EQ(back->brokers().at(2), r);
    EXPECT_EQ(back->brokers().at(0), bare);
    EXPECT_EQ(back->find("unplaced")->placement, nullptr);
    const auto* p = back->find("placed");
    ASSERT_NE(p->placement, nullptr);
    ASSERT_EQ(p->placement->size(), 3u);
    EXPECT_EQ((*p->placement)[2].revision, 12);
    EXPECT_EQ(p->shard_on(model::node_id{ 0 }, 1), model::shard_id{ 1 });
    EXPECT_EQ(p->shard_on(model::node_id{ 2 }, 1), model::shard_id{ 0 });
    EXPECT_EQ(p->shard_on(model::node_id{ 1 }, 1), std::nullopt); // no replica there
    EXPECT_EQ(p->shard_on(model::node_id{ 0 }, 3), std::nullopt); // no such partition
}

// A placement is whole or absent, in partition order, one replica per node.
TEST(topic_table, refuses_malformed_placements) {
    auto text = topic_table().with(placed_topic("t", 2))->serialize();
    ASSERT_TRUE(topic_table::parse(text));
    auto without = [&](std::string_view line) {
        std::string s = text;
        auto at = s.find(line);
        EXPECT_NE(at, std::string::npos) << line;
        s.erase(at, line.size());
        return s;
    };
    auto replaced = [&](std::string_view from, std::string_view to) {
        std::string s = text;
        auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        s.replace(at, from.size(), to);
        return s;
    };
    EXPECT_FALSE(topic_table::parse(without("assign 1 11 0:1,2:0\n")));                // partial
    EXPECT_FALSE(topic_table::parse(without("assign 0 10 0:0,2:0\n")));                // out of order
    EXPECT_FALSE(topic_table::parse(replaced("0:1,2:0", "0:1,0:0")));                  // two on one node
    EXPECT_FALSE(topic_table::parse(replaced("assign 1 11 0:1,2:0", "assign 1 11 "))); // no replica
    EXPECT_FALSE(topic_table::parse(replaced("0:1,2:0", "0:x")));
    EXPECT_FALSE(topic_table::parse(replaced("assign 1 11", "assign 1 -1")));
    std::string extra = replaced("end\n", "");
    EXPECT_FALSE(topic_table::parse(extra + "assign 2 12 0:0\nend\n")); // more than its partitions
    auto reg = topic_table()
                 .with_broker({ model::node_id{ 1 }, "h", 1, std::nullopt, 1, random_topic_id() })
                 ->serialize();
    ASSERT_TRUE(topic_table::parse(reg));
    std::string bad_port = reg;
    bad_port.replace(bad_port.find(" h 1 "), 5, " h 70000 ");
    EXPECT_FALSE(topic_table::parse(bad_port));
    std::string no_shards = reg;
    no_shards.replace(no_shards.find(" h 1 1 "), 7, " h 1 0 ");
    EXPECT_FALSE(topic_table::parse(no_shards));
}

// A table made by a change names what it touched and the table it was made from;
// a copy (a table made some other way) has no base a shard could hold.
TEST(topic_table, a_change_names_its_base_and_what_it_touched) {
    auto t0 = std::make_shared<const topic_table>();
    auto t1 = t0->with(topic_info{ "a", random_topic_id(), 1, {}, nullptr });
    EXPECT_EQ(t1->last_change().base, t0->identity());
    EXPECT_EQ(t1->last_change().topics, std::vector<std::string>{ "a" });
    EXPECT_FALSE(t1->last_change().settings);
    auto t2 = t1->with_all({ topic_info{ "b", random_topic_id(), 1, {}, nullptr },
                             topic_info{ "c", random_topic_id(), 1, {}, nullptr } });
    EXPECT_EQ(t2->last_change().base, t1->identity());
    EXPECT_EQ(t2->last_change().topics.size(), 2u);
    auto t3 = t2->without("a");
    EXPECT_EQ(t3->last_change().topics, std::vector<std::string>{ "a" });
    auto t4 = t3->with_broker_overrides(1, { { "log.retention.ms", "1" } });
    EXPECT_TRUE(t4->last_change().settings);
    EXPECT_TRUE(t4->last_change().topics.empty());
    EXPECT_NE(t4->identity(), t3->identity());
    auto parsed = topic_table::parse(t4->serialize());
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->last_change().base, 0u);
}

// A partition's Raft group id: never the controller's 0, one per partition of a
// topic, the same on every node (it depends only on the topic id).
TEST(topic_table, partition_groups_are_distinct_and_never_the_controllers) {
    std::set<int64_t> seen;
    for (int t = 0; t < 200; ++t) {
        auto id = random_topic_id();
        for (int32_t p : { 0, 1, 2, max_partitions_per_group_id - 1 }) {
            const int64_t g = partition_group(id, p);
            EXPECT_GT(g, 0);
            EXPECT_EQ(g & (max_partitions_per_group_id - 1), p);
            EXPECT_EQ(uint64_t(g) >> 20, group_prefix(id));
            EXPECT_TRUE(seen.insert(g).second);
        }
    }
}

} // namespace
} // namespace chronik::cluster
