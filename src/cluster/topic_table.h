#pragma once
// The topics of the cluster. Shard 0 owns the authoritative copy (topic_store);
// every shard holds an immutable snapshot (topic_table) that shard 0 replaces
// after each change, so a Metadata request is answered on its own shard without
// reaching across. (The controller Raft group takes shard 0's place in a cluster.)
#include "model/uuid.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronik::cluster {

struct topic_info {
    std::string name;
    model::uuid id;
    int32_t partitions = 0;
    std::map<std::string, std::string> configs; // overrides only, Kafka names
};

class topic_table {
public:
    topic_table() = default;
    explicit topic_table(std::map<std::string, topic_info> topics);

    const topic_info* find(std::string_view name) const;
    const topic_info* find(const model::uuid& id) const;
    const std::map<std::string, topic_info, std::less<>>& all() const { return _topics; }
    uint64_t version() const { return _version; }

    // Dynamic broker settings (AlterConfigs on a BROKER resource), Kafka names: by
    // node id, and under `cluster_default` the cluster-wide defaults.
    static constexpr int32_t cluster_default = -1;
    using settings = std::map<std::string, std::string>;
    const std::map<int32_t, settings>& broker_overrides() const { return _broker; }
    const settings& broker_overrides(int32_t node) const;

    // A new table with `t` added or replaced / removed.
    std::shared_ptr<const topic_table> with(topic_info t) const;
    std::shared_ptr<const topic_table> without(std::string_view name) const;
    // The same for many topics in one step: one copy of the table, one version.
    std::shared_ptr<const topic_table> with_all(std::vector<topic_info> ts) const;
    // A new table whose dynamic settings for `node` are `s`.
    std::shared_ptr<const topic_table> with_broker_overrides(int32_t node, settings s) const;

    // Text form stored on disk, one topic per line; parse() refuses anything malformed.
    std::string serialize() const;
    static std::optional<topic_table> parse(std::string_view text);

private:
    std::map<std::string, topic_info, std::less<>> _topics;
    std::map<int32_t, settings> _broker;
    uint64_t _version = 0;
};

// Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// Returns why a name is refused, or nothing.
std::optional<std::string> invalid_topic_name(std::string_view name);

// A random topic id (never the all-zero id Kafka reserves).
model::uuid random_topic_id();

} // namespace chronik::cluster
