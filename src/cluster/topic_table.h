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
#include "model/model.h"
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

// Where one replica of a partition lives: a node, and the shard on that node.
struct replica_placement {
    model::node_id node{ 0 };
    model::shard_id shard{ 0 };
    bool operator==(const replica_placement&) const = default;
};

// A partition's replicas (the first is the preferred leader) and its revision: the
// controller log offset of the command that placed it, so a replica made for an
// older placement is told from the current one.
struct partition_assignment {
    std::vector<replica_placement> replicas;
    int64_t revision = 0;
    bool operator==(const partition_assignment&) const = default;
};
using assignments = std::vector<partition_assignment>;

struct topic_info {
    std::string name;
    model::uuid id;
    int32_t partitions = 0;
    std::map<std::string, std::string> configs; // overrides only, Kafka names
    // One per partition once the controller placed them (null: not placed yet, as
    // in tables stored before placements existed). Shared, immutable: copying a
    // topic_info (requests do, per partition) never copies them.
    std::shared_ptr<const assignments> placement;

    // The shard of `node` that holds partition p, or none if it has no replica there.
    std::optional<model::shard_id> shard_on(model::node_id node, int32_t p) const;
};

// A broker as it registered with the controller (at every start).
struct broker_registration {
    model::node_id node{ 0 };
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
    uint32_t shards = 1;
    model::uuid incarnation; // new at every start
    bool operator==(const broker_registration&) const = default;
};

class topic_table {
public:
    topic_table() = default;
    explicit topic_table(std::map<std::string, topic_info> topics);
    // A copy shares every bucket with `o` (and owns none of them) until it changes one.
    topic_table(const topic_table& o)
      : _by_name(o._by_name), _by_id(o._by_id), _size(o._size), _broker(o._broker), _brokers(o._brokers),
        _producer_id_end(o._producer_id_end), _version(o._version), _change{ o._identity, {}, false } {}
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

    // The registered brokers, by node id.
    const std::map<int32_t, broker_registration>& brokers() const { return _brokers; }
    std::shared_ptr<const topic_table> with_broker(broker_registration r) const;

    // The first producer id not yet handed out in a block (ids below it may be in use).
    int64_t producer_id_end() const noexcept { return _producer_id_end; }
    std::shared_ptr<const topic_table> with_producer_id_end(int64_t end) const;

    // What the change that made this table touched, so a shard holding the table
    // it was made from applies only that (a table that was not made by a change
    // from the one a shard holds is installed whole).
    struct change {
        uint64_t base = 0;               // identity() of the table it was made from; 0: none
        std::vector<std::string> topics; // added, changed or removed
        bool settings = false;           // dynamic broker settings changed
    };
    const change& last_change() const noexcept { return _change; }
    // Unique to this table object within the process.
    uint64_t identity() const noexcept { return _identity; }

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
    std::map<int32_t, broker_registration> _brokers;
    int64_t _producer_id_end = 0;
    uint64_t _version = 0;
    change _change;
    uint64_t _identity = next_identity();
    static uint64_t next_identity() noexcept;
};

// Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
// Returns why a name is refused, or nothing.
std::optional<std::string> invalid_topic_name(std::string_view name);

// A random topic id (never the all-zero id Kafka reserves).
model::uuid random_topic_id();

// The Raft group of partition p: 43 bits of the topic id (one of them set, so never
// the controller's group 0) above the partition's 20 (partitions < 2^20). Every
// replica's node computes it alike; the controller gives no two topics the same
// prefix (topic_store re-draws an id that would share one).
inline constexpr int32_t max_partitions_per_group_id = 1 << 20;
uint64_t group_prefix(const model::uuid& topic) noexcept;
int64_t partition_group(const model::uuid& topic, int32_t p) noexcept;

} // namespace chronik::cluster
