#include "cluster/config_catalog.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace chronik::cluster {

namespace {

using enum config_type;
using enum update_mode;
constexpr std::optional<std::string_view> no_default;

#include "cluster/kafka_config_table.inc"

// What Chronik acts on: these topic configs (and the broker settings that supply
// their defaults), and these broker settings.
constexpr std::string_view applied_topic_configs[] = {
    "cleanup.policy",
    "delete.retention.ms",
    "flush.messages",
    "flush.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
};
constexpr std::string_view applied_broker_settings[] = {
    "auto.create.topics.enable",
    "connections.max.idle.ms",
    "fetch.max.bytes",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.session.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "group.max.session.timeout.ms",
    "group.min.session.timeout.ms",
    "log.retention.check.interval.ms",
    "max.incremental.fetch.session.cache.slots",
    "num.partitions",
    "offsets.retention.check.interval.ms",
    "offsets.retention.minutes",
    "offsets.topic.num.partitions",
};

// Broker configs whose values come from Chronik's own settings.
struct chronik_owned {
    std::string_view config, setting;
};
constexpr chronik_owned chronik_owned_configs[] = {
    { "advertised.listeners", "advertised_listener" },
    { "broker.id", "node_id" },
    { "listeners", "listen" },
    { "log.dir", "data_dir" },
    { "log.dirs", "data_dir" },
    { "node.id", "node_id" },
};

// Broker settings in coarser units that stand in for a topic config's broker key
// when that is not set, in this order (Kafka: log.retention.ms, .minutes, .hours).
struct coarse_setting {
    std::string_view topic_config, broker_key;
    int64_t ms;
};
constexpr coarse_setting coarse_settings[] = {
    { "retention.ms", "log.retention.minutes", 60'000 },
    { "retention.ms", "log.retention.hours", 3'600'000 },
    { "segment.jitter.ms", "log.roll.jitter.hours", 3'600'000 },
    { "segment.ms", "log.roll.hours", 3'600'000 },
};

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

std::string_view trim(std::string_view v) {
    while (!v.empty() && v.front() == ' ') {
        v.remove_prefix(1);
    }
    while (!v.empty() && v.back() == ' ') {
        v.remove_suffix(1);
    }
    return v;
}

// A comma-separated list, items trimmed, empty ones dropped (as Kafka parses lists).
std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        auto comma = v.find(',');
        if (auto item = trim(v.substr(0, comma)); !item.empty()) {
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

std::optional<std::string> invalid_for_type(config_type type, std::string_view v) {
    auto integer = [&](int64_t min, int64_t max, const char* what) -> std::optional<std::string> {
        auto x = parse_number<int64_t>(v);
        if (!x || *x < min || *x > max) {
            return fmt::format("'{}' is not a valid {}", v, what);
        }
        return std::nullopt;
    };
    switch (type) {
        case boolean:
            if (v == "true" || v == "false") {
                return std::nullopt;
            }
            return fmt::format("'{}' is not true or false", v);
        case int16:
            return integer(INT16_MIN, INT16_MAX, "short");
        case int32:
            return integer(INT32_MIN, INT32_MAX, "int");
        case int64:
            return integer(INT64_MIN, INT64_MAX, "long");
        case float64:
            if (parse_double(v)) {
                return std::nullopt;
            }
            return fmt::format("'{}' is not a valid double", v);
        default:
            return std::nullopt;
    }
}

// "[min,...]" or "[min,...,max]".
bool in_range(config_type type, std::string_view v, std::string_view range) {
    auto inner = range.substr(1, range.size() - 2);
    auto dots = inner.find(",...");
    auto min = inner.substr(0, dots), max = inner.substr(dots + 4);
    max.remove_prefix(max.empty() ? 0 : 1);
    if (type == float64) {
        auto x = parse_double(v).value_or(0);
        return x >= parse_double(min).value_or(x) && x <= parse_double(max).value_or(x);
    }
    auto x = parse_number<int64_t>(v).value_or(0);
    return x >= parse_number<int64_t>(min).value_or(x) && x <= parse_number<int64_t>(max).value_or(x);
}

// Kafka's inter-broker and message format versions: a release ("2.8", "0.10.2"),
// optionally with a patch number ("2.8.1") or an inter-broker version ("3.0-IV1").
bool kafka_version(std::string_view v) {
    static constexpr std::string_view releases[] = {
        "0.8.0", "0.8.1", "0.8.2", "0.9.0", "0.10.0", "0.10.1", "0.10.2", "0.11.0", "1.0", "1.1",
        "2.0",   "2.1",   "2.2",   "2.3",   "2.4",    "2.5",    "2.6",    "2.7",    "2.8", "3.0",
        "3.1",   "3.2",   "3.3",   "3.4",   "3.5",    "3.6",    "3.7",    "3.8",    "3.9",
    };
    auto digits = [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return std::any_of(std::begin(releases), std::end(releases), [&](std::string_view r) {
        if (!v.starts_with(r)) {
            return false;
        }
        auto rest = v.substr(r.size());
        return rest.empty() || (rest.starts_with("-IV") && digits(rest.substr(3))) ||
               (rest.starts_with('.') && digits(rest.substr(1)));
    });
}

// Replication throttles: "*" or "partition:broker" pairs.
bool throttled_replicas(std::string_view v) {
    if (trim(v) == "*") {
        return true;
    }
    auto items = split_list(v);
    return std::all_of(items.begin(), items.end(), [](const std::string& item) {
        auto colon = item.find(':');
        return colon != std::string::npos && parse_number<uint32_t>(item.substr(0, colon)) &&
               parse_number<uint32_t>(std::string_view(item).substr(colon + 1));
    });
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// Whether `v` (already of the right type) is one of `valid`, in the docs' notation.
bool valid_by(config_type type, std::string_view v, std::string_view valid) {
    if (auto alt = valid.rfind(" or "); alt != std::string_view::npos) {
        return v == valid.substr(alt + 4) || valid_by(type, v, valid.substr(0, alt));
    }
    if (valid == "non-empty string") {
        return !trim(v).empty();
    }
    if (valid == "non-empty list") {
        // Kafka's defaults of these are empty: it is the items that may not be.
        return trim(v).empty() || std::count(v.begin(), v.end(), ',') + 1 == ptrdiff_t(split_list(v).size());
    }
    if (valid == "non-null string") {
        return true;
    }
    if (valid.starts_with("a Kafka version")) {
        return kafka_version(v);
    }
    if (valid.starts_with("[partitionId]:[brokerId]")) {
        return throttled_replicas(v);
    }
    bool any_case = valid.starts_with("(case insensitive) ");
    valid.remove_prefix(any_case ? 19 : 0);
    if (valid.size() < 2 || valid.front() != '[' || valid.back() != ']') {
        return false; // a notation this reader does not know
    }
    if (valid.find(",...") != std::string_view::npos) {
        return in_range(type, v, valid);
    }
    // "[a, b, c]": one of them; for a list config, each item once.
    auto choices = split_list(valid.substr(1, valid.size() - 2));
    auto allowed = [&](std::string_view item) {
        return std::any_of(choices.begin(), choices.end(), [&](const std::string& c) {
            return any_case ? equal_ignoring_case(c, item) : c == item;
        });
    };
    if (type != list) {
        return allowed(v);
    }
    auto items = split_list(v);
    for (auto it = items.begin(); it != items.end(); ++it) {
        if (!allowed(*it) || std::find(items.begin(), it, *it) != it) {
            return false;
        }
    }
    return !items.empty();
}

template<size_t N>
const config_def* find_in(const config_def (&defs)[N], std::string_view name) {
    auto it = std::lower_bound(std::begin(defs), std::end(defs), name,
                               [](const config_def& d, std::string_view n) { return d.name < n; });
    return it != std::end(defs) && it->name == name ? &*it : nullptr;
}

template<class Range>
bool contains(const Range& r, std::string_view name) {
    return std::find(std::begin(r), std::end(r), name) != std::end(r);
}

int64_t as_long(const std::string& v, int64_t fallback) {
    return parse_number<int64_t>(v).value_or(fallback);
}

} // namespace

std::span<const config_def> topic_config_defs() {
    return kafka_topic_configs;
}
std::span<const config_def> broker_config_defs() {
    return kafka_broker_configs;
}
const config_def* find_topic_config(std::string_view name) {
    return find_in(kafka_topic_configs, name);
}
const config_def* find_broker_config(std::string_view name) {
    return find_in(kafka_broker_configs, name);
}

std::optional<std::string> invalid_value(const config_def& def, std::string_view value) {
    if (auto why = invalid_for_type(def.type, value)) {
        return why;
    }
    if (def.valid.empty() || valid_by(def.type, value, def.valid)) {
        return std::nullopt;
    }
    return fmt::format("'{}' is not in {}", value, def.valid);
}

bool chronik_applies(const config_def& def) {
    if (def.mode == per_topic) {
        return contains(applied_topic_configs, def.name);
    }
    if (!chronik_setting(def).empty() || contains(applied_broker_settings, def.name)) {
        return true;
    }
    auto supplies = [&](std::string_view topic_config, std::string_view broker_key) {
        return broker_key == def.name && contains(applied_topic_configs, topic_config);
    };
    return std::any_of(std::begin(kafka_topic_configs), std::end(kafka_topic_configs),
                       [&](const config_def& t) { return supplies(t.name, t.broker_key); }) ||
           std::any_of(std::begin(coarse_settings), std::end(coarse_settings),
                       [&](const coarse_setting& c) { return supplies(c.topic_config, c.broker_key); });
}

std::string_view chronik_setting(const config_def& def) {
    for (const auto& o : chronik_owned_configs) {
        if (def.mode != per_topic && o.config == def.name) {
            return o.setting;
        }
    }
    return {};
}

bool dynamic_broker_config(const config_def& def) {
    return (def.mode == per_broker || def.mode == cluster_wide) && chronik_setting(def).empty();
}

std::optional<std::string> validate_topic_configs(const std::map<std::string, std::string>& overrides) {
    for (const auto& [k, v] : overrides) {
        const config_def* d = find_topic_config(k);
        if (d == nullptr) {
            return fmt::format("{}: unknown topic config", k);
        }
        if (auto why = invalid_value(*d, v)) {
            return fmt::format("{}: {}", k, *why);
        }
    }
    return std::nullopt;
}

std::optional<std::string> validate_static_broker_setting(std::string_view name, std::string_view value) {
    const config_def* d = find_broker_config(name);
    if (d == nullptr) {
        return "unknown broker config";
    }
    if (auto own = chronik_setting(*d); !own.empty()) {
        return fmt::format("Chronik's {} setting supplies it; set that instead", own);
    }
    return invalid_value(*d, value);
}

std::optional<config_refusal> apply_config_changes(std::map<std::string, std::string>& overrides,
                                                   const std::vector<config_change>& changes,
                                                   bool replace_all, config_scope scope) {
    using op = config_change::op;
    bool topic = scope == config_scope::topic;
    std::map<std::string, std::string> next = replace_all ? std::map<std::string, std::string>() : overrides;
    std::map<std::string, bool> seen;
    auto refuse = [](std::string_view name, std::string_view why) {
        return config_refusal{ false, fmt::format("{}: {}", name, why) };
    };
    for (const auto& c : changes) {
        if (!seen.emplace(c.name, true).second) {
            return config_refusal{ true, fmt::format("{}: named more than once", c.name) };
        }
        const config_def* d = topic ? find_topic_config(c.name) : find_broker_config(c.name);
        if (d == nullptr) {
            return refuse(c.name, topic ? "unknown topic config" : "unknown broker config");
        }
        if (auto own = chronik_setting(*d); !own.empty()) {
            return refuse(c.name, fmt::format("Chronik's {} setting supplies it at start-up", own));
        }
        if (!topic && !dynamic_broker_config(*d)) {
            return refuse(c.name, "cannot be updated dynamically; set it in the configuration file");
        }
        if (scope == config_scope::cluster_default && d->mode == per_broker) {
            return refuse(c.name, "can be set only for one broker, not as the cluster-wide default");
        }
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
                if (d->type != list) {
                    return refuse(c.name, "append and subtract apply only to list configs");
                }
                auto it = next.find(c.name);
                auto items =
                  split_list(it != next.end() ? std::string_view(it->second) : d->default_value.value_or(""));
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
        if (auto why = invalid_value(*d, next[c.name])) {
            return refuse(c.name, *why);
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
            return { it->second, config_source::static_broker, def.broker_key };
        }
    }
    for (const auto& c : coarse_settings) {
        auto it = c.topic_config == def.name ? broker.find(std::string(c.broker_key)) : broker.end();
        if (auto n = it != broker.end() ? parse_number<int64_t>(it->second) : std::nullopt) {
            return { std::to_string(*n < 0 ? -1 : *n * c.ms), config_source::static_broker, c.broker_key };
        }
    }
    return { std::string(def.default_value.value_or("")), config_source::default_config };
}

topic_properties make_topic_properties(const std::map<std::string, std::string>& topic,
                                       const std::map<std::string, std::string>& broker) {
    auto get = [&](std::string_view name) {
        return resolve_topic_config(*find_topic_config(name), topic, broker).value;
    };
    topic_properties p;
    auto policy = split_list(get("cleanup.policy"));
    p.cleanup_delete = contains(policy, "delete");
    p.cleanup_compact = contains(policy, "compact");
    p.retention_ms = as_long(get("retention.ms"), p.retention_ms);
    p.retention_bytes = as_long(get("retention.bytes"), p.retention_bytes);
    p.segment_bytes = as_long(get("segment.bytes"), p.segment_bytes);
    p.segment_ms = as_long(get("segment.ms"), p.segment_ms);
    p.delete_retention_ms = as_long(get("delete.retention.ms"), p.delete_retention_ms);
    p.min_compaction_lag_ms = as_long(get("min.compaction.lag.ms"), p.min_compaction_lag_ms);
    p.max_compaction_lag_ms = as_long(get("max.compaction.lag.ms"), p.max_compaction_lag_ms);
    p.min_cleanable_dirty_ratio = parse_double(get("min.cleanable.dirty.ratio")).value_or(0.5);
    p.flush_messages = as_long(get("flush.messages"), p.flush_messages);
    p.flush_ms = as_long(get("flush.ms"), p.flush_ms);
    p.max_message_bytes = int32_t(as_long(get("max.message.bytes"), p.max_message_bytes));
    p.log_append_time = get("message.timestamp.type") == "LogAppendTime";
    p.timestamp_before_max_ms = as_long(get("message.timestamp.before.max.ms"), p.timestamp_before_max_ms);
    p.timestamp_after_max_ms = as_long(get("message.timestamp.after.max.ms"), p.timestamp_after_max_ms);
    p.min_insync_replicas =
      int32_t(std::clamp<int64_t>(as_long(get("min.insync.replicas"), 1), 1, INT16_MAX));
    return p;
}

} // namespace chronik::cluster
