#include "cluster/topic_table.h"

#include <map>
#include <random>
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

} // namespace
} // namespace chronik::cluster
