#include "cluster/config_catalog.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace chronik::cluster {

namespace {

template<class T>
std::optional<T> parse_number(std::string_view v) {
    T x{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc{} || p != v.data() + v.size()) {
        return std::nullopt;
    }
    return x;
}

std::optional<double> parse_double(std::string_view v) {
    std::string s(v);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
        return std::nullopt;
    }
    return d;
}

template<int64_t Min, int64_t Max = INT64_MAX>
std::optional<std::string> long_in_range(std::string_view v) {
    auto x = parse_number<int64_t>(v);
    if (!x) {
        return fmt::format("'{}' is not a valid long", v);
    }
    if (*x < Min || *x > Max) {
        return fmt::format("{} is outside [{}, {}]", *x, Min, Max);
    }
    return std::nullopt;
}

template<int64_t Min, int64_t Max = INT32_MAX>
std::optional<std::string> int_in_range(std::string_view v) {
    auto x = parse_number<int64_t>(v);
    if (!x || *x < INT32_MIN || *x > INT32_MAX) {
        return fmt::format("'{}' is not a valid int", v);
    }
    if (*x < Min || *x > Max) {
        return fmt::format("{} is outside [{}, {}]", *x, Min, Max);
    }
    return std::nullopt;
}

std::optional<std::string> boolean(std::string_view v) {
    if (v == "true" || v == "false") {
        return std::nullopt;
    }
    return fmt::format("'{}' is not true or false", v);
}

std::optional<std::string> ratio(std::string_view v) {
    auto d = parse_double(v);
    if (!d || *d < 0.0 || *d > 1.0) {
        return fmt::format("'{}' is not a number in [0, 1]", v);
    }
    return std::nullopt;
}

std::optional<std::string> any_string(std::string_view) {
    return std::nullopt;
}

template<size_t N>
std::optional<std::string> one_of(std::string_view v, const std::array<std::string_view, N>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) {
        return std::nullopt;
    }
    return fmt::format("'{}' is not one of the accepted values", v);
}

std::optional<std::string> cleanup_policy(std::string_view v) {
    // A comma-separated list of delete and compact (either order, no duplicates).
    bool del = false, compact = false;
    size_t pos = 0;
    while (pos <= v.size()) {
        auto comma = v.find(',', pos);
        auto item = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (item == "delete" && !del) {
            del = true;
        } else if (item == "compact" && !compact) {
            compact = true;
        } else {
            return fmt::format("'{}' is not a list of delete and compact", v);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
    return std::nullopt;
}

std::optional<std::string> compression_type(std::string_view v) {
    static constexpr std::array<std::string_view, 6> allowed{ "uncompressed", "zstd", "lz4",
                                                              "snappy",       "gzip", "producer" };
    return one_of(v, allowed);
}

std::optional<std::string> timestamp_type(std::string_view v) {
    static constexpr std::array<std::string_view, 2> allowed{ "CreateTime", "LogAppendTime" };
    return one_of(v, allowed);
}

constexpr std::string_view long_max = "9223372036854775807";

// Kafka's topic-level configs (TopicConfig / LogConfig), with the broker settings
// that supply their defaults.
const config_def topic_defs[] = {
    { "cleanup.policy", config_type::list, "delete", "log.cleanup.policy", cleanup_policy },
    { "compression.type", config_type::string, "producer", "compression.type", compression_type },
    { "delete.retention.ms", config_type::int64, "86400000", "log.cleaner.delete.retention.ms",
      long_in_range<0> },
    { "file.delete.delay.ms", config_type::int64, "60000", "log.segment.delete.delay.ms", long_in_range<0> },
    { "flush.messages", config_type::int64, long_max, "log.flush.interval.messages", long_in_range<1> },
    { "flush.ms", config_type::int64, long_max, "log.flush.interval.ms", long_in_range<0> },
    { "follower.replication.throttled.replicas", config_type::list, "", "", any_string },
    { "index.interval.bytes", config_type::int32, "4096", "log.index.interval.bytes", int_in_range<0> },
    { "leader.replication.throttled.replicas", config_type::list, "", "", any_string },
    { "local.retention.bytes", config_type::int64, "-2", "log.local.retention.bytes", long_in_range<-2> },
    { "local.retention.ms", config_type::int64, "-2", "log.local.retention.ms", long_in_range<-2> },
    { "max.compaction.lag.ms", config_type::int64, long_max, "log.cleaner.max.compaction.lag.ms",
      long_in_range<1> },
    { "max.message.bytes", config_type::int32, "1048588", "message.max.bytes", int_in_range<0> },
    { "message.downconversion.enable", config_type::boolean, "true", "log.message.downconversion.enable",
      boolean },
    { "message.timestamp.after.max.ms", config_type::int64, long_max, "log.message.timestamp.after.max.ms",
      long_in_range<0> },
    { "message.timestamp.before.max.ms", config_type::int64, long_max, "log.message.timestamp.before.max.ms",
      long_in_range<0> },
    { "message.timestamp.difference.max.ms", config_type::int64, long_max,
      "log.message.timestamp.difference.max.ms", long_in_range<0> },
    { "message.timestamp.type", config_type::string, "CreateTime", "log.message.timestamp.type",
      timestamp_type },
    { "min.cleanable.dirty.ratio", config_type::float64, "0.5", "log.cleaner.min.cleanable.ratio", ratio },
    { "min.compaction.lag.ms", config_type::int64, "0", "log.cleaner.min.compaction.lag.ms",
      long_in_range<0> },
    { "min.insync.replicas", config_type::int32, "1", "min.insync.replicas", int_in_range<1> },
    { "preallocate", config_type::boolean, "false", "log.preallocate", boolean },
    { "remote.storage.enable", config_type::boolean, "false", "", boolean },
    { "retention.bytes", config_type::int64, "-1", "log.retention.bytes", long_in_range<INT64_MIN> },
    { "retention.ms", config_type::int64, "604800000", "log.retention.ms", long_in_range<-1> },
    // Kafka's lower bound is the size of the smallest legacy record (14 bytes).
    { "segment.bytes", config_type::int32, "1073741824", "log.segment.bytes", int_in_range<14> },
    { "segment.index.bytes", config_type::int32, "10485760", "log.index.size.max.bytes", int_in_range<4> },
    { "segment.jitter.ms", config_type::int64, "0", "log.roll.jitter.ms", long_in_range<0> },
    { "segment.ms", config_type::int64, "604800000", "log.roll.ms", long_in_range<1> },
    { "unclean.leader.election.enable", config_type::boolean, "false", "unclean.leader.election.enable",
      boolean },
};

// Broker settings this broker honours (static: set at start-up with --set or [kafka]).
const config_def broker_defs[] = {
    { "auto.create.topics.enable", config_type::boolean, "true", "", boolean, true },
    { "broker.id", config_type::int32, "0", "", int_in_range<0>, true },
    { "compression.type", config_type::string, "producer", "", compression_type, true },
    { "default.replication.factor", config_type::int32, "1", "", int_in_range<1, 32767>, true },
    { "delete.topic.enable", config_type::boolean, "true", "", boolean, true },
    { "group.consumer.heartbeat.interval.ms", config_type::int32, "5000", "", int_in_range<1>, true },
    { "group.consumer.session.timeout.ms", config_type::int32, "45000", "", int_in_range<1>, true },
    { "group.initial.rebalance.delay.ms", config_type::int32, "3000", "", int_in_range<0>, true },
    { "group.max.session.timeout.ms", config_type::int32, "1800000", "", int_in_range<0>, true },
    { "group.min.session.timeout.ms", config_type::int32, "6000", "", int_in_range<0>, true },
    { "log.cleaner.delete.retention.ms", config_type::int64, "86400000", "", long_in_range<0>, true },
    { "log.cleaner.max.compaction.lag.ms", config_type::int64, long_max, "", long_in_range<1>, true },
    { "log.cleaner.min.cleanable.ratio", config_type::float64, "0.5", "", ratio, true },
    { "log.cleaner.min.compaction.lag.ms", config_type::int64, "0", "", long_in_range<0>, true },
    { "log.cleanup.policy", config_type::list, "delete", "", cleanup_policy, true },
    { "log.flush.interval.messages", config_type::int64, long_max, "", long_in_range<1>, true },
    { "log.flush.interval.ms", config_type::int64, long_max, "", long_in_range<0>, true },
    { "log.index.interval.bytes", config_type::int32, "4096", "", int_in_range<0>, true },
    { "log.index.size.max.bytes", config_type::int32, "10485760", "", int_in_range<4>, true },
    { "log.message.downconversion.enable", config_type::boolean, "true", "", boolean, true },
    { "log.message.timestamp.after.max.ms", config_type::int64, long_max, "", long_in_range<0>, true },
    { "log.message.timestamp.before.max.ms", config_type::int64, long_max, "", long_in_range<0>, true },
    { "log.message.timestamp.difference.max.ms", config_type::int64, long_max, "", long_in_range<0>, true },
    { "log.message.timestamp.type", config_type::string, "CreateTime", "", timestamp_type, true },
    { "log.preallocate", config_type::boolean, "false", "", boolean, true },
    { "log.retention.bytes", config_type::int64, "-1", "", long_in_range<INT64_MIN>, true },
    { "log.retention.check.interval.ms", config_type::int64, "300000", "", long_in_range<1>, true },
    { "log.retention.ms", config_type::int64, "604800000", "", long_in_range<-1>, true },
    { "log.roll.jitter.ms", config_type::int64, "0", "", long_in_range<0>, true },
    { "log.roll.ms", config_type::int64, "604800000", "", long_in_range<1>, true },
    { "log.segment.bytes", config_type::int32, "1073741824", "", int_in_range<14>, true },
    { "log.segment.delete.delay.ms", config_type::int64, "60000", "", long_in_range<0>, true },
    { "max.incremental.fetch.session.cache.slots", config_type::int32, "1000", "", int_in_range<0>, true },
    { "message.max.bytes", config_type::int32, "1048588", "", int_in_range<0>, true },
    { "min.insync.replicas", config_type::int32, "1", "", int_in_range<1>, true },
    { "num.partitions", config_type::int32, "1", "", int_in_range<1>, true },
    { "offsets.retention.check.interval.ms", config_type::int64, "600000", "", long_in_range<1>, true },
    { "offsets.retention.minutes", config_type::int32, "10080", "", int_in_range<1>, true },
    { "offsets.topic.num.partitions", config_type::int32, "50", "", int_in_range<1>, true },
    { "offsets.topic.replication.factor", config_type::int16, "3", "", int_in_range<1, 32767>, true },
    { "transaction.max.timeout.ms", config_type::int32, "900000", "", int_in_range<1>, true },
    { "transactional.id.expiration.ms", config_type::int32, "604800000", "", int_in_range<1>, true },
    { "unclean.leader.election.enable", config_type::boolean, "false", "", boolean, true },
};

template<size_t N>
const config_def* find_in(const config_def (&defs)[N], std::string_view name) {
    auto it =
      std::find_if(std::begin(defs), std::end(defs), [&](const config_def& d) { return d.name == name; });
    return it == std::end(defs) ? nullptr : &*it;
}

int64_t as_long(const std::string& v, int64_t fallback) {
    return parse_number<int64_t>(v).value_or(fallback);
}

} // namespace

std::span<const config_def> topic_config_defs() {
    return topic_defs;
}
std::span<const config_def> broker_config_defs() {
    return broker_defs;
}
const config_def* find_topic_config(std::string_view name) {
    return find_in(topic_defs, name);
}
const config_def* find_broker_config(std::string_view name) {
    return find_in(broker_defs, name);
}

std::optional<std::string> validate_topic_configs(const std::map<std::string, std::string>& overrides) {
    for (const auto& [k, v] : overrides) {
        const config_def* d = find_topic_config(k);
        if (d == nullptr) {
            return fmt::format("{}: unknown topic config", k);
        }
        if (auto why = d->validate(v)) {
            return fmt::format("{}: {}", k, *why);
        }
    }
    return std::nullopt;
}

bool dynamic_broker_config(std::string_view name) {
    return std::any_of(std::begin(topic_defs), std::end(topic_defs),
                       [&](const config_def& d) { return !d.broker_key.empty() && d.broker_key == name; });
}

std::optional<std::string> validate_broker_update(const std::map<std::string, std::string>& updates) {
    for (const auto& [k, v] : updates) {
        const config_def* d = find_broker_config(k);
        if (d == nullptr) {
            return fmt::format("{}: unknown broker config", k);
        }
        if (!dynamic_broker_config(k)) {
            return fmt::format("{}: cannot be updated dynamically; set it in the configuration file", k);
        }
        if (auto why = d->validate(v)) {
            return fmt::format("{}: {}", k, *why);
        }
    }
    return std::nullopt;
}

namespace {

std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        auto comma = v.find(',');
        auto item = v.substr(0, comma);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            out.emplace_back(item);
        }
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
    return out;
}

std::string join_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += out.empty() ? i : "," + i;
    }
    return out;
}

} // namespace

std::optional<config_refusal> apply_config_changes(std::map<std::string, std::string>& overrides,
                                                   const std::vector<config_change>& changes,
                                                   bool replace_all, bool topic) {
    using op = config_change::op;
    std::map<std::string, std::string> next = replace_all ? std::map<std::string, std::string>() : overrides;
    std::map<std::string, bool> seen;
    for (const auto& c : changes) {
        if (!seen.emplace(c.name, true).second) {
            return config_refusal{ true, fmt::format("{}: named more than once", c.name) };
        }
        const config_def* d = topic ? find_topic_config(c.name) : find_broker_config(c.name);
        if (d == nullptr) {
            return config_refusal{ false,
                                   fmt::format("{}: unknown {} config", c.name, topic ? "topic" : "broker") };
        }
        if (!topic && !dynamic_broker_config(c.name)) {
            return config_refusal{
                false,
                fmt::format("{}: cannot be updated dynamically; set it in the configuration file", c.name)
            };
        }
        bool list = d->type == config_type::list;
        switch (c.operation) {
            case op::set:
                if (!c.value) {
                    if (!replace_all) {
                        return config_refusal{ true, fmt::format("{}: a value is required", c.name) };
                    }
                    next.erase(c.name);
                    continue;
                }
                next[c.name] = *c.value;
                break;
            case op::remove:
                next.erase(c.name);
                continue;
            case op::append:
            case op::subtract: {
                if (!list) {
                    return config_refusal{
                        false, fmt::format("{}: append and subtract apply only to list configs", c.name)
                    };
                }
                auto it = next.find(c.name);
                auto items = split_list(it != next.end() ? std::string_view(it->second) : d->default_value);
                for (auto& v : split_list(c.value.value_or(""))) {
                    auto at = std::find(items.begin(), items.end(), v);
                    if (c.operation == op::append && at == items.end()) {
                        items.push_back(v);
                    } else if (c.operation == op::subtract && at != items.end()) {
                        items.erase(at);
                    }
                }
                next[c.name] = join_list(items);
                break;
            }
            default:
                return config_refusal{ true,
                                       fmt::format("{}: unknown operation {}", c.name, int(c.operation)) };
        }
        if (auto why = d->validate(next[c.name])) {
            return config_refusal{ false, fmt::format("{}: {}", c.name, *why) };
        }
    }
    overrides = std::move(next);
    return std::nullopt;
}

effective_config resolve_topic_config(const config_def& def, const std::map<std::string, std::string>& topic,
                                      const std::map<std::string, std::string>& broker) {
    if (auto it = topic.find(std::string(def.name)); it != topic.end()) {
        return { it->second, config_source::dynamic_topic };
    }
    if (!def.broker_key.empty()) {
        if (auto it = broker.find(std::string(def.broker_key)); it != broker.end()) {
            return { it->second, config_source::static_broker };
        }
    }
    return { std::string(def.default_value), config_source::default_config };
}

topic_properties make_topic_properties(const std::map<std::string, std::string>& topic,
                                       const std::map<std::string, std::string>& broker) {
    auto get = [&](std::string_view name) {
        return resolve_topic_config(*find_topic_config(name), topic, broker).value;
    };
    topic_properties p;
    auto policy = get("cleanup.policy");
    p.cleanup_delete = policy.find("delete") != std::string::npos;
    p.cleanup_compact = policy.find("compact") != std::string::npos;
    p.retention_ms = as_long(get("retention.ms"), p.retention_ms);
    p.retention_bytes = as_long(get("retention.bytes"), p.retention_bytes);
    p.segment_bytes = as_long(get("segment.bytes"), p.segment_bytes);
    p.segment_ms = as_long(get("segment.ms"), p.segment_ms);
    p.segment_index_bytes = as_long(get("segment.index.bytes"), p.segment_index_bytes);
    p.index_interval_bytes = as_long(get("index.interval.bytes"), p.index_interval_bytes);
    p.delete_retention_ms = as_long(get("delete.retention.ms"), p.delete_retention_ms);
    p.min_compaction_lag_ms = as_long(get("min.compaction.lag.ms"), p.min_compaction_lag_ms);
    p.max_compaction_lag_ms = as_long(get("max.compaction.lag.ms"), p.max_compaction_lag_ms);
    p.min_cleanable_dirty_ratio = parse_double(get("min.cleanable.dirty.ratio")).value_or(0.5);
    p.file_delete_delay_ms = as_long(get("file.delete.delay.ms"), p.file_delete_delay_ms);
    p.flush_messages = as_long(get("flush.messages"), p.flush_messages);
    p.flush_ms = as_long(get("flush.ms"), p.flush_ms);
    p.max_message_bytes = int32_t(as_long(get("max.message.bytes"), p.max_message_bytes));
    p.log_append_time = get("message.timestamp.type") == "LogAppendTime";
    p.timestamp_before_max_ms = as_long(get("message.timestamp.before.max.ms"), p.timestamp_before_max_ms);
    p.timestamp_after_max_ms = as_long(get("message.timestamp.after.max.ms"), p.timestamp_after_max_ms);
    p.min_insync_replicas = int32_t(as_long(get("min.insync.replicas"), p.min_insync_replicas));
    p.compression_type = get("compression.type");
    p.downconversion_enable = get("message.downconversion.enable") == "true";
    return p;
}

} // namespace chronik::cluster
