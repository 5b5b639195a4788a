#include "cluster/config_catalog.h"

#include <gtest/gtest.h>

namespace chronik::cluster {

TEST(config_catalog, every_default_passes_its_own_validator) {
    for (const auto& d : topic_config_defs()) {
        EXPECT_FALSE(d.validate(d.default_value)) << d.name;
        if (!d.broker_key.empty()) {
            const auto* b = find_broker_config(d.broker_key);
            if (b != nullptr) {
                EXPECT_EQ(b->default_value, d.default_value) << d.name << " vs " << d.broker_key;
            }
        }
    }
    for (const auto& d : broker_config_defs()) {
        EXPECT_FALSE(d.validate(d.default_value)) << d.name;
    }
}

TEST(config_catalog, validation_names_the_bad_key) {
    EXPECT_FALSE(
      validate_topic_configs({ { "retention.ms", "1000" }, { "cleanup.policy", "compact,delete" } }));
    auto bad = validate_topic_configs({ { "retention.ms", "soon" } });
    ASSERT_TRUE(bad);
    EXPECT_NE(bad->find("retention.ms"), std::string::npos);
    EXPECT_TRUE(validate_topic_configs({ { "no.such.config", "1" } }));
    EXPECT_TRUE(validate_topic_configs({ { "cleanup.policy", "delete,delete" } }));
    EXPECT_TRUE(validate_topic_configs({ { "segment.bytes", "13" } }));
    EXPECT_TRUE(validate_topic_configs({ { "min.cleanable.dirty.ratio", "1.5" } }));
    EXPECT_TRUE(validate_topic_configs({ { "message.timestamp.type", "Whenever" } }));
}

TEST(config_catalog, alter_replaces_and_incremental_edits) {
    using op = config_change::op;
    std::map<std::string, std::string> o{ { "retention.ms", "1000" }, { "segment.ms", "5000" } };
    // AlterConfigs replaces the whole set.
    ASSERT_FALSE(apply_config_changes(o, { { "retention.bytes", op::set, "10" } }, true, true));
    EXPECT_EQ(o, (std::map<std::string, std::string>{ { "retention.bytes", "10" } }));
    // Incremental: set, delete, append to and subtract from a list.
    ASSERT_FALSE(apply_config_changes(o,
                                      { { "retention.ms", op::set, "7" },
                                        { "retention.bytes", op::remove, std::nullopt },
                                        { "cleanup.policy", op::append, "compact" } },
                                      false, true));
    EXPECT_EQ(o.at("retention.ms"), "7");
    EXPECT_FALSE(o.contains("retention.bytes"));
    EXPECT_EQ(o.at("cleanup.policy"), "delete,compact");
    ASSERT_FALSE(apply_config_changes(o, { { "cleanup.policy", op::subtract, "delete" } }, false, true));
    EXPECT_EQ(o.at("cleanup.policy"), "compact");
    // Refusals leave the overrides alone.
    auto before = o;
    auto r = apply_config_changes(
      o, { { "retention.ms", op::set, "9" }, { "retention.ms", op::set, "soon" } }, false, true);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->malformed); // named twice
    r = apply_config_changes(o, { { "retention.ms", op::append, "1" } }, false, true);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->malformed);
    r = apply_config_changes(o, { { "retention.ms", op::set, "soon" } }, false, true);
    ASSERT_TRUE(r);
    EXPECT_NE(r->message.find("retention.ms"), std::string::npos);
    EXPECT_TRUE(apply_config_changes(o, { { "no.such", op::set, "1" } }, false, true));
    EXPECT_TRUE(apply_config_changes(o, { { "retention.ms", op(9), "1" } }, false, true));
    EXPECT_EQ(o, before);
    // Brokers: only the dynamic defaults of topic configs.
    std::map<std::string, std::string> b;
    EXPECT_FALSE(apply_config_changes(b, { { "log.retention.ms", op::set, "60000" } }, false, false));
    EXPECT_EQ(b.at("log.retention.ms"), "60000");
    EXPECT_TRUE(apply_config_changes(b, { { "num.partitions", op::set, "3" } }, false, false));
    EXPECT_TRUE(apply_config_changes(b, { { "retention.ms", op::set, "3" } }, false, false));
}

TEST(config_catalog, topic_override_beats_broker_setting_beats_default) {
    std::map<std::string, std::string> broker{ { "log.retention.ms", "5000" },
                                               { "log.cleanup.policy", "compact" } };
    auto p = make_topic_properties({ { "retention.ms", "7" } }, broker);
    EXPECT_EQ(p.retention_ms, 7);
    EXPECT_TRUE(p.cleanup_compact);
    EXPECT_FALSE(p.cleanup_delete);
    EXPECT_EQ(p.segment_bytes, 1073741824);
    auto r = resolve_topic_config(*find_topic_config("retention.ms"), {}, broker);
    EXPECT_EQ(r.value, "5000");
    EXPECT_EQ(r.source, config_source::static_broker);
    r = resolve_topic_config(*find_topic_config("segment.ms"), {}, broker);
    EXPECT_EQ(r.source, config_source::default_config);
}

} // namespace chronik::cluster

#include "cluster/topic_table.h"

namespace chronik::cluster {

TEST(topic_table, serializes_and_parses_and_refuses_torn_files) {
    topic_table empty;
    auto t = empty.with(topic_info{ "orders", random_topic_id(), 3, { { "retention.ms", "1000" } } })
               ->with(topic_info{ "a.b-c_d", random_topic_id(), 1, {} });
    auto text = t->serialize();
    auto back = topic_table::parse(text);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->all().size(), 2u);
    EXPECT_EQ(back->find("orders")->partitions, 3);
    EXPECT_EQ(back->find("orders")->configs.at("retention.ms"), "1000");
    EXPECT_EQ(back->find("orders")->id, t->find("orders")->id);
    EXPECT_EQ(back->find(t->find("a.b-c_d")->id)->name, "a.b-c_d");
    EXPECT_FALSE(topic_table::parse(text.substr(0, text.size() - 4)));
    EXPECT_FALSE(topic_table::parse("garbage"));
    EXPECT_EQ(t->without("orders")->all().size(), 1u);
}

TEST(topic_table, dynamic_broker_settings_round_trip) {
    topic_table empty;
    auto t = empty.with_broker_overrides(topic_table::cluster_default, { { "log.retention.ms", "5000" } })
               ->with_broker_overrides(1, { { "message.max.bytes", "2000" } })
               ->with(topic_info{ "t", random_topic_id(), 1, {} });
    auto back = topic_table::parse(t->serialize());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->broker_overrides(topic_table::cluster_default).at("log.retention.ms"), "5000");
    EXPECT_EQ(back->broker_overrides(1).at("message.max.bytes"), "2000");
    EXPECT_TRUE(back->broker_overrides(2).empty());
    EXPECT_EQ(back->all().size(), 1u);
    EXPECT_TRUE(t->with_broker_overrides(1, {})->broker_overrides(1).empty());
    EXPECT_FALSE(topic_table::parse("chronik-topics 1\nbroker x\tk\tv\nend\n"));
    EXPECT_FALSE(topic_table::parse("chronik-topics 1\nbroker 1\tk\nend\n"));
}

TEST(topic_table, kafka_topic_name_rules) {
    EXPECT_FALSE(invalid_topic_name("valid.name_with-dashes123"));
    EXPECT_TRUE(invalid_topic_name(""));
    EXPECT_TRUE(invalid_topic_name("."));
    EXPECT_TRUE(invalid_topic_name(".."));
    EXPECT_TRUE(invalid_topic_name("has space"));
    EXPECT_TRUE(invalid_topic_name("slash/name"));
    EXPECT_TRUE(invalid_topic_name(std::string(250, 'a')));
    EXPECT_FALSE(invalid_topic_name(std::string(249, 'a')));
}

} // namespace chronik::cluster
