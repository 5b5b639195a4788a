#pragma once
// Every topic and broker configuration Kafka 3.9/4.0 documents, with Kafka's names,
// types, defaults, valid values and dynamic update modes (generated from Kafka's
// docs: kafka_config_table.inc). CreateTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs all validate and describe through this one table. Chronik
// acts on some of them (chronik_applies); the rest are validated, stored and
// described as Kafka would, and said to be only stored.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::cluster {

// Kafka's DescribeConfigs ConfigType values (KIP-440).
enum class config_type : int8_t {
    unknown = 0,
    boolean = 1,
    string = 2,
    int32 = 3,
    int16 = 4,
    int64 = 5,
    float64 = 6,
    list = 7,
    class_name = 8,
    password = 9,
};

// Kafka's DescribeConfigs ConfigSource values.
enum class config_source : int8_t {
    unknown = 0,
    dynamic_topic = 1,
    dynamic_broker = 2,
    dynamic_default_broker = 3,
    static_broker = 4,
    default_config = 5,
    dynamic_broker_logger = 6,
};

// Kafka's "Update Mode" of a broker config: read-only ones are set only in the
// configuration file; per-broker ones also per broker at run time; cluster-wide
// ones also as the cluster-wide default. Topic configs are per_topic.
enum class update_mode : int8_t { read_only, per_broker, cluster_wide, per_topic };

struct config_def {
    std::string_view name;
    config_type type;
    std::optional<std::string_view> default_value; // none: Kafka's null
    // Kafka's "Valid Values" in its docs' notation: "[1,...]", "[0,...,1]",
    // "[1,...,9] or -1", "[compact, delete]", "non-empty string"; empty: any value of
    // the type.
    std::string_view valid;
    update_mode mode;
    // The broker setting that supplies this topic config's default ("log.retention.ms"
    // for "retention.ms"); empty for broker configs.
    std::string_view broker_key = {};

    bool sensitive() const noexcept { return type == config_type::password; }
};

std::span<const config_def> topic_config_defs();
std::span<const config_def> broker_config_defs();
const config_def* find_topic_config(std::string_view name);
const config_def* find_broker_config(std::string_view name);

// Why `value` is not a valid value of `def` (its type and valid values), if it is not.
std::optional<std::string> invalid_value(const config_def& def, std::string_view value);

// Whether Chronik acts on the config; the others are only stored and described.
bool chronik_applies(const config_def& def);
// The Chronik setting ("listen", "node_id", ...) that fixes this broker config
// ("listeners", "broker.id", ...), or empty. Such configs are described with
// Chronik's values and set only through that setting.
std::string_view chronik_setting(const config_def& def);
// Broker configs AlterConfigs may change: Kafka's dynamic ones.
bool dynamic_broker_config(const config_def& def);

// Checks a set of topic overrides; returns the first problem as "name: why".
std::optional<std::string> validate_topic_configs(const std::map<std::string, std::string>& overrides);
// Checks a broker setting of the configuration file; returns the problem as "why".
std::optional<std::string> validate_static_broker_setting(std::string_view name, std::string_view value);

// One change of AlterConfigs (op `set`, null value: remove) or
// IncrementalAlterConfigs (Kafka's operation codes).
struct config_change {
    enum class op : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };
    std::string name;
    op operation = op::set;
    std::optional<std::string> value;
};

// Why a change was refused: Kafka's INVALID_REQUEST for a malformed change,
// INVALID_CONFIG for a name or value the resource does not accept.
struct config_refusal {
    bool malformed = false;
    std::string message;
};

// What a set of overrides belongs to: a topic, one broker, or the cluster-wide
// broker default (which takes only cluster-wide configs).
enum class config_scope : int8_t { topic, broker, cluster_default };

// Applies `changes` to a resource's overrides. replace_all (AlterConfigs) first
// drops every override the request does not name. On a refusal the overrides are
// left as they were.
std::optional<config_refusal> apply_config_changes(std::map<std::string, std::string>& overrides,
                                                   const std::vector<config_change>& changes,
                                                   bool replace_all, config_scope scope);

// A topic's effective settings that Chronik acts on, parsed once: topic override,
// else broker setting, else Kafka's default.
struct topic_properties {
    bool cleanup_delete = true;
    bool cleanup_compact = false;
    int64_t retention_ms = 604'800'000;
    int64_t retention_bytes = -1;
    int64_t segment_bytes = 1'073'741'824;
    int64_t segment_ms = 604'800'000;
    int64_t delete_retention_ms = 86'400'000;
    int64_t min_compaction_lag_ms = 0;
    int64_t max_compaction_lag_ms = INT64_MAX;
    double min_cleanable_dirty_ratio = 0.5;
    int64_t flush_messages = INT64_MAX;
    int64_t flush_ms = INT64_MAX;
    int32_t max_message_bytes = 1'048'588;
    bool log_append_time = false; // message.timestamp.type=LogAppendTime
    int64_t timestamp_before_max_ms = INT64_MAX;
    int64_t timestamp_after_max_ms = 3'600'000;
    int32_t min_insync_replicas = 1;
};

// The value in effect for a topic config, where it comes from, and the broker
// setting that supplied it (empty unless source is static_broker).
struct effective_config {
    std::string value;
    config_source source;
    std::string_view broker_key = {};
};
// Topic override, else the broker setting (log.retention.ms, else the coarser
// log.retention.minutes or .hours, as Kafka reads them), else Kafka's default.
effective_config resolve_topic_config(const config_def& def, const std::map<std::string, std::string>& topic,
                                      const std::map<std::string, std::string>& broker);

topic_properties make_topic_properties(const std::map<std::string, std::string>& topic,
                                       const std::map<std::string, std::string>& broker);

} // namespace chronik::cluster
