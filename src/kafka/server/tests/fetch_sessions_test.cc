#include "kafka/server/fetch_sessions.h"

#include <set>

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::kafka;

TEST(fetch_sessions, ids_carry_the_shard_and_other_shards_do_not_know_them) {
    fetch_session_cache a(3, 10), b(4, 10);
    auto* s = a.create();
    ASSERT_NE(s, nullptr);
    EXPECT_GT(s->id, 0);
    EXPECT_EQ(unsigned(s->id) % fetch_session_cache::max_shards, 3u);
    EXPECT_EQ(a.find(s->id), s);
    EXPECT_EQ(b.find(s->id), nullptr);
    EXPECT_EQ(a.find(0), nullptr);
    EXPECT_EQ(a.find(-5), nullptr);
}

TEST(fetch_sessions, a_full_cache_evicts_the_least_recently_used) {
    fetch_session_cache c(0, 3);
    int32_t first = c.create()->id;
    int32_t second = c.create()->id;
    int32_t third = c.create()->id;
    ASSERT_NE(c.find(first), nullptr); // first is now the most recent
    int32_t fourth = c.create()->id;
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.find(second), nullptr);
    EXPECT_NE(c.find(first), nullptr);
    EXPECT_NE(c.find(third), nullptr);
    EXPECT_NE(c.find(fourth), nullptr);
    fetch_session_cache none(0, 0);
    EXPECT_EQ(none.create(), nullptr);
}

TEST(fetch_sessions, partitions_are_updated_added_and_forgotten_by_name_or_id) {
    fetch_session s;
    s.upsert({ "a", {}, 0, 10, 100 });
    s.upsert({ "a", {}, 1, 20, 100 });
    s.upsert({ "a", {}, 0, 15, 50 }); // an update, not a new entry
    ASSERT_EQ(s.partitions.size(), 2u);
    EXPECT_EQ(s.partitions[0].fetch_offset, 15);
    EXPECT_EQ(s.partitions[0].max_bytes, 50);
    s.forget("a", {}, 1);
    ASSERT_EQ(s.partitions.size(), 1u);
    auto id = protocol::sample_uuid(7);
    s.upsert({ "b", id, 0, 1, 1 });
    EXPECT_TRUE(s.partitions[1].same("", id, 0)); // v13+: the id decides
    s.forget("", id, 0);
    EXPECT_EQ(s.partitions.size(), 1u);
    s.epoch = INT32_MAX;
    s.advance_epoch();
    EXPECT_EQ(s.epoch, 1);
}
