#include "kafka/server/groups/offsets_records.h"

#include <random>

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::kafka::groups;

TEST(offsets_records, groups_land_where_kafka_puts_them) {
    // Java: "".hashCode() == 0, "a".hashCode() == 97, "hello".hashCode() == 99162322.
    EXPECT_EQ(java_string_hash(""), 0);
    EXPECT_EQ(java_string_hash("a"), 97);
    EXPECT_EQ(java_string_hash("hello"), 99162322);
    // Overflow wraps as in Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
    EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
    EXPECT_EQ(offsets_partition_for("polygenelubricants", 50), 0);
    // Outside the BMP: one code point, two UTF-16 units (0xD83D 0xDE00 for U+1F600).
    EXPECT_EQ(java_string_hash("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
    EXPECT_EQ(offsets_partition_for("hello", 50), 99162322 % 50);
}

TEST(offsets_records, offset_and_group_records_round_trip) {
    auto k = decode_key(encode_offset_key({ "g", "t", 3 }));
    ASSERT_TRUE(k);
    const auto* ok = std::get_if<offset_key>(&k.value());
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->topic, "t");
    EXPECT_EQ(ok->partition, 3);
    auto v = decode_offset_value(encode_offset_value({ 42, 7, "meta", 1000 }));
    ASSERT_TRUE(v);
    EXPECT_EQ(v.value().offset, 42);
    EXPECT_EQ(v.value().metadata, "meta");

    group_value g;
    g.protocol_type = "consumer";
    g.generation = 5;
    g.protocol = "range";
    g.leader = "m1";
    g.members.push_back({ "m1", std::nullopt, "c1", "/127.0.0.1", 300000, 10000, { 1, 2 }, { 3 } });
    g.members.push_back({ "m2", std::string("static-2"), "c2", "/127.0.0.1", 300000, 10000, {}, {} });
    auto gk = decode_key(encode_group_key({ "g" }));
    ASSERT_TRUE(gk);
    EXPECT_EQ(std::get<group_key>(gk.value()).group, "g");
    auto back = decode_group_value(encode_group_value(g));
    ASSERT_TRUE(back);
    EXPECT_EQ(back.value().generation, 5);
    EXPECT_EQ(back.value().leader, std::optional<std::string>("m1"));
    ASSERT_EQ(back.value().members.size(), 2u);
    EXPECT_EQ(back.value().members[0].subscription, (bytes{ 1, 2 }));
    EXPECT_EQ(back.value().members[1].instance_id, std::optional<std::string>("static-2"));
}

TEST(offsets_records, malformed_records_are_refused_not_trusted) {
    group_value g;
    g.protocol_type = "consumer";
    g.members.push_back({ "m1", std::nullopt, "c1", "/h", 1, 2, { 1 }, { 2 } });
    bytes good = encode_group_value(g);
    bytes offset = encode_offset_value({ 1, 2, "x", 3 });
    std::mt19937 rng(3);
    for (int i = 0; i < 3000; ++i) {
        bytes m = i % 2 ? good : offset;
        m.resize(rng() % m.size());
        EXPECT_FALSE(i % 2 ? bool(decode_group_value(m)) : bool(decode_offset_value(m)));
    }
    // A member count far beyond what the bytes hold is refused before any allocation.
    bytes huge = good;
    size_t count_at = 2 + 2 + 8 + 4 + 2 + 2 + 8;
    huge[count_at] = 0x7f;
    EXPECT_FALSE(decode_group_value(huge));
    EXPECT_FALSE(decode_key(bytes{ 0 }));
    EXPECT_FALSE(decode_key(bytes{ 0, 2, 0, 5, 'a' }));
}

#include "kafka/server/groups/consumer_protocol.h"

TEST(consumer_protocol, range_and_uniform_assignors) {
    std::map<std::string, int32_t> parts{ { "a", 5 }, { "b", 2 } };
    std::vector<assignor_member> members{ { "m1", { "a", "b" }, {} }, { "m2", { "a" }, {} } };
    auto range = assign_range(members, parts);
    EXPECT_EQ(range["m1"]["a"], (std::set<int32_t>{ 0, 1, 2 }));
    EXPECT_EQ(range["m2"]["a"], (std::set<int32_t>{ 3, 4 }));
    EXPECT_EQ(range["m1"]["b"], (std::set<int32_t>{ 0, 1 }));
    auto uniform = assign_uniform(members, parts);
    size_t n1 = uniform["m1"]["a"].size() + uniform["m1"]["b"].size(), n2 = uniform["m2"]["a"].size();
    EXPECT_EQ(n1 + n2, 7u);
    EXPECT_LE(n1 > n2 ? n1 - n2 : n2 - n1, 1u); // balanced
    EXPECT_TRUE(uniform["m2"]["b"].empty());    // only subscribers get a topic
    // Sticky: a third member takes partitions without moving the rest needlessly.
    std::vector<assignor_member> grown{ { "m1", { "a", "b" }, uniform["m1"] },
                                        { "m2", { "a" }, uniform["m2"] },
                                        { "m3", { "a", "b" }, {} } };
    auto after = assign_uniform(grown, parts);
    for (const auto& id : { "m1", "m2" }) {
        for (const auto& [t, ps] : after[id]) {
            for (int32_t p : ps) {
                EXPECT_TRUE(uniform[id][t].contains(p)) << id << " gained " << t << "-" << p;
            }
        }
    }
    EXPECT_EQ(after["m3"]["a"].size() + after["m3"]["b"].size(), 2u);
}
