#include "cluster/config_catalog.h"

#include <gtest/gtest.h>

namespace chronik::cluster {

TEST(config_catalog, every_default_passes_its_own_validator) {
    for (auto defs : { topic_config_defs(), broker_config_defs() }) {
        for (size_t i = 0; i < defs.size(); ++i) {
            const auto& d = defs[i];
            if (i > 0) {
                EXPECT_LT(defs[i - 1].name, d.name); // sorted: found by binary search
            }
            if (d.default_value) {
                EXPECT_FALSE(invalid_value(d, *d.default_value)) << d.name;
            }
        }
    }
    for (const auto& d : topic_config_defs()) {
        EXPECT_EQ(d.mode, update_mode::per_topic);
        if (!d.broker_key.empty()) {
            const auto* b = find_broker_config(d.broker_key);
            ASSERT_NE(b, nullptr) << d.broker_key;
            // A broker key without a default is backed by a coarser one (log.retention.hours).
            if (b->default_value) {
                EXPECT_EQ(*b->default_value, *d.default_value) << d.name << " vs " << d.broker_key;
            }
        }
    }
}

TEST(config_catalog, values_are_checked_as_kafka_documents_them) {
    auto bad = [](std::string_view name, std::string_view v) {
        const auto* d = find_broker_config(name);
        return d == nullptr || invalid_value(*d, v).has_value();
    };
    EXPECT_FALSE(bad("log.cleaner.threads", "0")); // int [0,...]
    EXPECT_TRUE(bad("log.cleaner.threads", "-1"));
    EXPECT_TRUE(bad("log.cleaner.threads", "2147483648"));
    EXPECT_TRUE(bad("offsets.topic.replication.factor", "40000")); // short
    EXPECT_FALSE(bad("log.cleaner.io.max.bytes.per.second", "1.5e6"));
    EXPECT_TRUE(bad("log.cleaner.min.cleanable.ratio", "1.01")); // double [0,...,1]
    EXPECT_FALSE(bad("group.share.delivery.count.limit", "10")); // [2,...,10]
    EXPECT_TRUE(bad("group.share.delivery.count.limit", "11"));
    EXPECT_FALSE(bad("compression.gzip.level", "-1")); // [1,...,9] or -1
    EXPECT_TRUE(bad("compression.gzip.level", "0"));
    EXPECT_FALSE(bad("group.consumer.migration.policy", "Upgrade")); // case insensitive
    EXPECT_TRUE(bad("group.consumer.migration.policy", "sideways"));
    EXPECT_FALSE(bad("group.coordinator.rebalance.protocols", "classic, consumer")); // a list of them
    EXPECT_TRUE(bad("group.coordinator.rebalance.protocols", "classic,classic"));
    EXPECT_TRUE(bad("controller.quorum.voters", "1@h:9093,,2@h:9093")); // non-empty list (items)
    EXPECT_TRUE(bad("auto.create.topics.enable", "yes"));
    EXPECT_FALSE(bad("inter.broker.protocol.version", "2.8"));
    EXPECT_FALSE(bad("log.message.format.version", "0.10.2-IV0"));
    EXPECT_TRUE(bad("log.message.format.version", "4.0"));
    EXPECT_FALSE(bad("sasl.jaas.config", "anything")); // password
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
    using enum config_scope;
    std::map<std::string, std::string> o{ { "retention.ms", "1000" }, { "segment.ms", "5000" } };
    // AlterConfigs replaces the whole set.
    ASSERT_FALSE(apply_config_changes(o, { { "retention.bytes", op::set, "10" } }, true, topic));
    EXPECT_EQ(o, (std::map<std::string, std::string>{ { "retention.bytes", "10" } }));
    // Incremental: set, delete, append to and subtract from a list.
    ASSERT_FALSE(apply_config_changes(o,
                                      { { "retention.ms", op::set, "7" },
                                        { "retention.bytes", op::remove, std::nullopt },
                                        { "cleanup.policy", op::append, "compact" } },
                                      false, topic));
    EXPECT_EQ(o.at("retention.ms"), "7");
    EXPECT_FALSE(o.contains("retention.bytes"));
    EXPECT_EQ(o.at("cleanup.policy"), "delete,compact");
    ASSERT_FALSE(apply_config_changes(o, { { "cleanup.policy", op::subtract, "delete" } }, false, topic));
    EXPECT_EQ(o.at("cleanup.policy"), "compact");
    // Refusals leave the overrides alone.
    auto before = o;
    auto r = apply_config_changes(
      o, { { "retention.ms", op::set, "9" }, { "retention.ms", op::set, "soon" } }, false, topic);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->malformed); // named twice
    r = apply_config_changes(o, { { "retention.ms", op::append, "1" } }, false, topic);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->malformed);
    r = apply_config_changes(o, { { "retention.ms", op::set, "soon" } }, false, topic);
    ASSERT_TRUE(r);
    EXPECT_NE(r->message.find("retention.ms"), std::string::npos);
    EXPECT_TRUE(apply_config_changes(o, { { "no.such", op::set, "1" } }, false, topic));
    EXPECT_TRUE(apply_config_changes(o, { { "retention.ms", op(9), "1" } }, false, topic));
    EXPECT_EQ(o, before);
    // Brokers: dynamic configs only; read-only ones (num.partitions) and topic names are refused.
    std::map<std::string, std::string> b;
    EXPECT_FALSE(apply_config_changes(b, { { "log.retention.ms", op::set, "60000" } }, false, broker));
    EXPECT_EQ(b.at("log.retention.ms"), "60000");
    EXPECT_TRUE(apply_config_changes(b, { { "num.partitions", op::set, "3" } }, false, broker));
    EXPECT_TRUE(apply_config_changes(b, { { "retention.ms", op::set, "3" } }, false, broker));
}

TEST(config_catalog, every_kafka_config_name_is_known) {
    // Kafka 4.0 broker and topic configs, and Kafka 3.x ones 4.0 removed.
    for (auto name : { "log.cleaner.threads", "advertised.listeners", "listeners", "num.io.threads",
                       "ssl.keystore.password", "log.retention.hours", "zookeeper.connect",
                       "log.message.format.version" }) {
        EXPECT_NE(find_broker_config(name), nullptr) << name;
    }
    EXPECT_FALSE(validate_topic_configs({ { "message.format.version", "3.0-IV1" },
                                          { "compression.zstd.level", "-5" },
                                          { "remote.log.copy.disable", "true" },
                                          { "leader.replication.throttled.replicas", "0:1,1:2" } }));
    EXPECT_TRUE(validate_topic_configs({ { "message.format.version", "banana" } }));
    EXPECT_TRUE(validate_topic_configs({ { "compression.gzip.level", "10" } }));
    EXPECT_FALSE(validate_topic_configs({ { "compression.gzip.level", "-1" } }));
    EXPECT_TRUE(validate_topic_configs({ { "leader.replication.throttled.replicas", "0-1" } }));
    EXPECT_FALSE(validate_topic_configs({ { "follower.replication.throttled.replicas", "*" } }));
}

TEST(config_catalog, dynamic_broker_configs_follow_kafkas_update_modes) {
    using op = config_change::op;
    using enum config_scope;
    std::map<std::string, std::string> b;
    EXPECT_FALSE(apply_config_changes(b, { { "log.cleaner.threads", op::set, "2" } }, false, broker));
    EXPECT_EQ(b.at("log.cleaner.threads"), "2");
    EXPECT_TRUE(apply_config_changes(b, { { "log.cleaner.threads", op::set, "-1" } }, false, broker));
    EXPECT_TRUE(apply_config_changes(b, { { "queued.max.requests", op::set, "9" } }, false, broker));
    EXPECT_TRUE(
      apply_config_changes(b, { { "advertised.listeners", op::set, "PLAINTEXT://h:1" } }, false, broker));
    EXPECT_TRUE(apply_config_changes(b, { { "listeners", op::set, "PLAINTEXT://:1" } }, false, broker));
    // Per-broker configs only for one broker; cluster-wide ones at either level.
    EXPECT_FALSE(apply_config_changes(b, { { "ssl.client.auth", op::set, "required" } }, false, broker));
    auto r = apply_config_changes(b, { { "ssl.client.auth", op::set, "required" } }, false, cluster_default);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->malformed);
    EXPECT_FALSE(
      apply_config_changes(b, { { "log.cleaner.threads", op::set, "3" } }, false, cluster_default));
    EXPECT_EQ(b.at("log.cleaner.threads"), "3");
    EXPECT_EQ(b.at("ssl.client.auth"), "required");
}

TEST(config_catalog, what_chronik_applies_and_what_it_supplies) {
    auto applies = [](std::string_view name) { return chronik_applies(*find_broker_config(name)); };
    EXPECT_TRUE(applies("log.retention.ms"));    // the default of an applied topic config
    EXPECT_TRUE(applies("log.retention.hours")); // ... in coarser units
    EXPECT_TRUE(applies("num.partitions"));
    EXPECT_TRUE(applies("connections.max.idle.ms")); // closes idle connections
    EXPECT_FALSE(applies("log.cleaner.threads"));
    EXPECT_FALSE(applies("compression.type"));
    EXPECT_TRUE(chronik_applies(*find_topic_config("segment.ms")));
    EXPECT_FALSE(chronik_applies(*find_topic_config("message.format.version")));
    EXPECT_EQ(chronik_setting(*find_broker_config("advertised.listeners")), "advertised_listener");
    EXPECT_EQ(chronik_setting(*find_broker_config("broker.id")), "node_id");
    EXPECT_TRUE(chronik_setting(*find_broker_config("num.io.threads")).empty());
    EXPECT_TRUE(dynamic_broker_config(*find_broker_config("num.io.threads")));
    EXPECT_FALSE(dynamic_broker_config(*find_broker_config("listeners"))); // Chronik's --listen
    EXPECT_FALSE(dynamic_broker_config(*find_broker_config("num.partitions")));
    EXPECT_FALSE(validate_static_broker_setting("log.cleaner.threads", "4"));
    EXPECT_TRUE(validate_static_broker_setting("log.cleaner.threads", "four"));
    EXPECT_TRUE(validate_static_broker_setting("listeners", "PLAINTEXT://:9092"));
    EXPECT_TRUE(validate_static_broker_setting("no.such.config", "1"));
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
    // Kafka's coarser broker settings, when the millisecond one is not set.
    r = resolve_topic_config(*find_topic_config("retention.ms"), {},
                             { { "log.retention.hours", "2" }, { "log.retention.minutes", "3" } });
    EXPECT_EQ(r.value, "180000");
    EXPECT_EQ(r.broker_key, "log.retention.minutes");
    EXPECT_EQ(make_topic_properties({}, { { "log.roll.hours", "1" } }).segment_ms, 3'600'000);
    EXPECT_EQ(make_topic_properties({}, { { "log.retention.hours", "-1" } }).retention_ms, -1);
    EXPECT_EQ(make_topic_properties({}, {}).timestamp_after_max_ms, 3'600'000); // Kafka 4.0's default
}

} // namespace chronik::cluster

#include "cluster/topic_table.h"

namespace chronik::cluster {

TEST(topic_table, serializes_and_parses_and_refuses_torn_files) {
    topic_table empty;
    auto t =
      empty.with(topic_info{ "orders", random_topic_id(), 3, { { "retention.ms", "1000" } }, nullptr })
        ->with(topic_info{ "a.b-c_d", random_topic_id(), 1, {}, nullptr });
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
               ->with(topic_info{ "t", random_topic_id(), 1, {}, nullptr });
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
