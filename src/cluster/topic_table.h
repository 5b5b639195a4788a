#pragma once
// The topics of the cluster. Shard 0 owns the authoritative copy (topic_store);
// every shard holds an immutable snapshot (topic_table) that shard 0 replaces
// after each change, so a Metadata request is answered on its own shard without
// reaching across. (The controller Raft group takes shard 0's place in a cluster.)
//
// A change copies only what it touches: topics sit in bucket_count buckets by
// name (and again by id), each an immutable map shared between snapshots, so a new
// snapshot copies the bucket array and the one bucket a topic falls in, not every
// topic. Creating a topic among 10,000 costs a bucket of ~40, not 10,000.
#include "model/uuid.h"

#include <array>
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
    // A copy shares every bucket with `o` (and owns none of them) until it changes one.
    topic_table(const topic_table& o)
      : _by_name(o._by_name), _by_id(o._by_id), _size(o._size), _broker(o._broker), _version(o._version) {}
    topic_table(topic_table&&) = default;
    topic_table& operator=(const topic_table&) = delete;
    topic_table& operator=(topic_table&&) = default;

    const topic_info* find(std::string_view name) const;
    const topic_info* find(const model::uuid& id) const;
    // Every topic, by name; the pointers live as long as this snapshot.
    std::vector<const topic_info*> all() const;
    size_t size() const noexcept { return _size; }
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

    static constexpr size_t bucket_count = 256;

private:
    using name_bucket = std::map<std::string, std::shared_ptr<const topic_info>, std::less<>>;
    using id_bucket = std::map<std::array<uint8_t, 16>, std::shared_ptr<const topic_info>>;
    static size_t bucket_of(std::string_view name) noexcept;
    static size_t bucket_of(const model::uuid& id) noexcept;
    // Copies of the buckets `name` and `id` fall in, made private to this table.
    name_bucket& own_name_bucket(size_t i);
    id_bucket& own_id_bucket(size_t i);
    void put(topic_info t);
    void erase(std::string_view name);

    // Null buckets are empty. A bucket is shared with older snapshots until a
    // change to this table copies it (own_*_bucket).
    std::array<std::shared_ptr<const name_bucket>, bucket_count> _by_name;
    std::array<std::shared_ptr<const id_bucket>, bucket_count> _by_id;
    std::array<bool, bucket_count> _name_owned{}, _id_owned{};
    size_t _size = 0;
    std::map<int32_t, settings> _broker;
    uint64_t _version = 0;
};

// Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// Returns why a name is refused, or nothing.
std::optional<std::string> invalid_topic_name(std::string_view name);

// A random topic id (never the all-zero id Kafka reserves).
model::uuid random_topic_id();

} // namespace chronik::cluster
