#pragma once
// Every topic and broker configuration the broker knows, with Kafka's names, types,
// defaults and valid ranges. CreateTopics, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs all validate and describe through this one table.
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

struct config_def {
    std::string_view name;
    config_type type;
    std::string_view default_value;
    // The broker setting that supplies this topic config's default ("log.retention.ms"
    // for "retention.ms"); empty for broker configs.
    std::string_view broker_key;
    // Returns an error message for a value this config does not accept.
    std::optional<std::string> (*validate)(std::string_view value);
    bool read_only = false;
    bool sensitive = false;
};

std::span<const config_def> topic_config_defs();
std::span<const config_def> broker_config_defs();
const config_def* find_topic_config(std::string_view name);
const config_def* find_broker_config(std::string_view name);

// Checks a set of topic overrides; returns the first problem as "name: why".
std::optional<std::string> validate_topic_configs(const std::map<std::string, std::string>& overrides);

// Broker configs that AlterConfigs may change at run time: the broker-level
// defaults of topic configs ("log.retention.ms", "message.max.bytes", ...). The
// rest are read from the configuration file at start-up.
bool dynamic_broker_config(std::string_view name);
// Checks dynamic broker updates; returns the first problem as "name: why".
std::optional<std::string> validate_broker_update(const std::map<std::string, std::string>& updates);

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

// Applies `changes` to a resource's overrides. replace_all (AlterConfigs) first
// drops every override the request does not name. Topic resources take topic
// configs; broker resources only dynamic_broker_config() names. On a refusal the
// overrides are left as they were.
std::optional<config_refusal> apply_config_changes(std::map<std::string, std::string>& overrides,
                                                   const std::vector<config_change>& changes,
                                                   bool replace_all, bool topic);

// A topic's effective settings, parsed once: topic override, else broker setting,
// else Kafka's default.
struct topic_properties {
    bool cleanup_delete = true;
    bool cleanup_compact = false;
    int64_t retention_ms = 604'800'000;
    int64_t retention_bytes = -1;
    int64_t segment_bytes = 1'073'741'824;
    int64_t segment_ms = 604'800'000;
    int64_t segment_index_bytes = 10'485'760;
    int64_t index_interval_bytes = 4096;
    int64_t delete_retention_ms = 86'400'000;
    int64_t min_compaction_lag_ms = 0;
    int64_t max_compaction_lag_ms = INT64_MAX;
    double min_cleanable_dirty_ratio = 0.5;
    int64_t file_delete_delay_ms = 60'000;
    int64_t flush_messages = INT64_MAX;
    int64_t flush_ms = INT64_MAX;
    int32_t max_message_bytes = 1'048'588;
    bool log_append_time = false; // message.timestamp.type=LogAppendTime
    int64_t timestamp_before_max_ms = INT64_MAX;
    int64_t timestamp_after_max_ms = INT64_MAX;
    int32_t min_insync_replicas = 1;
    std::string compression_type = "producer";
    bool downconversion_enable = true;
};

// The value in effect for `name` and where it comes from.
struct effective_config {
    std::string value;
    config_source source;
};
effective_config resolve_topic_config(const config_def& def, const std::map<std::string, std::string>& topic,
                                      const std::map<std::string, std::string>& broker);

topic_properties make_topic_properties(const std::map<std::string, std::string>& topic,
                                       const std::map<std::string, std::string>& broker);

} // namespace chronik::cluster
