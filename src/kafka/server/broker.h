#pragma once
// The broker's services on one shard. Every shard has its own instance; state that
// belongs to one shard (a partition, a group) is reached from another shard only
// through shards().invoke_on. The topic store lives on shard 0.
#include "cluster/config_catalog.h"
#include "cluster/leadership_notice.h"
#include "cluster/partition.h"
#include "cluster/raft_service.h"
#include "cluster/topic_store.h"
#include "cluster/topic_table.h"
#include "kafka/server/fetch_sessions.h"
#include "kafka/server/groups/group_manager.h"
#include "runtime/config.h"
#include "runtime/event.h"
#include "runtime/gate.h"
#include "runtime/owner.h"
#include "runtime/shard.h"
#include "storage/log_manager.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace chronik::kafka {

struct advertised_address {
    std::string host;
    int32_t port = 0;
};

class broker {
public:
    // `raft`: this shard's Raft transport on a cluster, for partitions with replicas
    // on other nodes (null on a single node).
    broker(const runtime::config& cfg, runtime::shard_group& shards, unsigned shard,
           cluster::topic_store& store, std::unique_ptr<storage::log_manager> logs,
           cluster::raft_service* raft = nullptr);
    ~broker();
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    const runtime::config& config() const noexcept { return _cfg; }
    runtime::shard_group& shards() noexcept { return _shards; }
    unsigned shard() const noexcept { return _shard; }
    int32_t node_id() const noexcept { return _cfg.node_id; }

    // This shard's snapshot of the topics; replaced by the topic store on changes.
    const std::shared_ptr<const cluster::topic_table>& topics() const noexcept {
        _owner.check_owner("broker topic table");
        return _topics;
    }
    // Installs a new snapshot: partitions of deleted topics are closed and removed,
    // and the partitions the table places on this shard are opened (created) in the
    // background. A snapshot made by one change from the one held costs what that
    // change touched; any other is reconciled whole.
    void set_topics(std::shared_ptr<const cluster::topic_table> t);
    // Ends the background opening of partitions (shutdown, before the logs close).
    awaitable<void> stop_reconciling();
    // Notified whenever a new snapshot is installed (Metadata waits on it briefly
    // for the topics it asked to be auto-created).
    runtime::event& topics_changed() noexcept { return _topics_changed; }
    // The cluster id, fixed at the first start (readable from every shard).
    const std::string& cluster_id() const noexcept { return _store.cluster_id(); }
    // The store itself: touch it only on shard 0 (invoke_on(0, ...)).
    cluster::topic_store& topic_store_on_shard0() noexcept { return _store; }
    // This shard's connections to the other nodes (null on a single node).
    rpc::connection_pool* rpc_pool() const noexcept { return _raft != nullptr ? _raft->pool() : nullptr; }

    const advertised_address& advertised() const noexcept { return _advertised; }
    // The brokers clients are told of (Metadata, DescribeCluster): those registered
    // with the controller, by node id, and this one as it listens now until its
    // registration is in the table.
    std::vector<cluster::broker_registration> known_brokers() const;
    void set_advertised(advertised_address a) { _advertised = std::move(a); }
    // The address the Kafka listener is bound to (the port actually bound).
    const advertised_address& listener() const noexcept { return _listener; }
    void set_listener(advertised_address a) { _listener = std::move(a); }

    // The broker settings in effect, Kafka names: the configuration file overlaid by
    // the dynamic cluster-wide defaults and then this node's dynamic settings
    // (AlterConfigs), rebuilt with every topic-table snapshot.
    const std::map<std::string, std::string>& settings() const noexcept { return _settings; }
    // Where settings()[name] comes from (default_config if it is not set anywhere).
    cluster::config_source setting_source(std::string_view name) const;
    // A topic config as DescribeConfigs and CreateTopics report it: the topic's
    // override, else the broker setting (naming its dynamic level), else Kafka's default.
    cluster::effective_config topic_config(const cluster::config_def& def,
                                           const std::map<std::string, std::string>& overrides) const;
    // A broker setting by its Kafka name, or the catalogue default (empty if none).
    std::string broker_setting(std::string_view name) const;
    // The same as a number; `fallback` if it is not one.
    int64_t numeric_setting(std::string_view name, int64_t fallback) const;
    int32_t default_partitions() const;
    // default.replication.factor: the replicas of an auto-created topic, and of one
    // created with replication factor -1; unset, min(3, registered brokers).
    int16_t default_replication_factor() const;
    // fetch.max.bytes: the most one Fetch response carries, whatever it asks for.
    size_t fetch_max_bytes() const noexcept { return _fetch_max_bytes; }
    bool auto_create_topics() const;

    // The broker services of another shard: use only through shards().invoke_on.
    broker& peer(unsigned shard) noexcept { return *(*_peers)[shard]; }
    void set_peers(const std::vector<std::unique_ptr<broker>>* peers) noexcept { _peers = peers; }

    // This shard's partitions and group commit.
    storage::log_manager& logs() noexcept {
        _owner.check_owner("broker log manager");
        return *_logs;
    }
    // The shard that holds this node's replica of a partition: the shard the
    // controller placed it on (the shard_table), folded onto the shards this node
    // runs now if it ran more when the partition was placed. A node holds a replica
    // of every partition until the cluster places them across nodes; one that has
    // none here would be answered by shard 0.
    unsigned owner_of(const cluster::topic_info& t, int32_t partition) const noexcept {
        auto s = t.shard_on(model::node_id{ _cfg.node_id }, partition);
        return s ? unsigned((*s)() % _shards.size()) : 0;
    }
    // The storage settings of a topic, from its overrides and the broker's settings;
    // computed once per topic-table snapshot (Produce asks on every request). The
    // reference is valid until the next call.
    const storage::log_config& log_config_for(const cluster::topic_info& t);
    // This node's replica of a partition, on this shard (which must own it), opened
    // on first use; null if it cannot be opened or the node holds no replica. Every
    // partition is a Raft group (cluster/partition.h) over the replicas the
    // controller placed.
    awaitable<std::shared_ptr<cluster::partition>> partition(const cluster::topic_info& t, int32_t p);
    // The replica if it leads; else null and `why`: NOT_LEADER_OR_FOLLOWER (no
    // replica here, or one that follows), or KAFKA_STORAGE_ERROR (it cannot open).
    awaitable<std::shared_ptr<cluster::partition>> leader_replica(const cluster::topic_info& t, int32_t p,
                                                                  protocol::error_code& why);
    // Whether the controller placed a replica of partition p on this node.
    bool holds_replica(const cluster::topic_info& t, int32_t p) const noexcept {
        return t.placement == nullptr || t.shard_on(model::node_id{ node_id() }, p).has_value();
    }

    // What this node knows of a partition's leadership, on every shard, so Metadata
    // answers without asking the owner: the owner shard of this node's replica
    // publishes it whenever the replica's role, term or ISR changes.
    struct leadership {
        int32_t leader = -1;      // -1: not known (an election, or not opened yet)
        int32_t epoch = -1;       // the leader epoch (Raft term); -1 not known
        std::vector<int32_t> isr; // as the leader reports it; empty: not known here
    };
    // Null if nothing is known of the partition.
    const leadership* leadership_of(const model::uuid& topic, int32_t partition) const;
    int32_t leader_epoch_of(const model::uuid& topic, int32_t partition) const {
        const auto* l = leadership_of(topic, partition);
        return l != nullptr ? l->epoch : -1;
    }
    void note_leadership(const model::uuid& topic, int32_t partition, leadership l);

    // The consumer groups this shard coordinates (see groups/group_manager.h).
    groups::group_manager& groups() noexcept {
        _owner.check_owner("broker group manager");
        return _groups;
    }

    // This shard's incremental fetch sessions (KIP-227).
    fetch_session_cache& fetch_sessions() noexcept {
        _owner.check_owner("broker fetch sessions");
        return _fetch_sessions;
    }

    // A Fetch long-poll on this shard. It waits under a key (its connection's), the
    // key the partitions it reads record (storage::watcher); a partition whose high
    // watermark rises wakes only the waiters of the keys it recorded, not every
    // fetch on the shard. Key 0 wakes them all.
    class fetch_waiter {
    public:
        fetch_waiter(broker& b, uint64_t key);
        ~fetch_waiter();
        fetch_waiter(const fetch_waiter&) = delete;
        fetch_waiter& operator=(const fetch_waiter&) = delete;
        uint64_t key() const noexcept { return _key; }
        // Bumped by every wake-up: a read that started before one looks again.
        uint64_t generation() const noexcept { return _generation; }
        awaitable<bool> wait_for(std::chrono::steady_clock::duration d) { return _event.wait_for(d); }

    private:
        friend class broker;
        broker* _b; // null once the broker is gone
        uint64_t _key;
        uint64_t _generation = 0;
        runtime::event _event;
    };
    // A key no other waiter on this shard has (a connection's, or one request's).
    uint64_t new_waiter_key() noexcept { return ++_waiter_keys; }
    void wake_fetchers(const std::vector<uint64_t>& keys);

private:
    // Parses the settings read on request paths, once per settings change.
    void cache_settings();
    // Publishes a replica's leadership to every shard (on open, and as it changes),
    // and a leader's to the nodes that hold no replica of the partition.
    void publish_leadership(const model::uuid& topic, int32_t p, const cluster::partition& replica);
    // Queues a notice for the nodes of the cluster not among the partition's
    // replicas (`only`: that node alone); one frame per node leaves per turn.
    void tell_other_nodes(const cluster::topic_info& t, cluster::leadership_notice n,
                          std::optional<int32_t> only = std::nullopt);
    awaitable<void> send_notices(runtime::gate::holder);
    // Queues topics whose partitions on this shard are to be opened, and the
    // background fiber that opens them, one at a time.
    void reconcile(std::vector<std::string> topics);
    awaitable<void> reconcile_loop(runtime::gate::holder);

    const runtime::config& _cfg;
    runtime::shard_group& _shards;
    unsigned _shard;
    cluster::topic_store& _store;
    std::shared_ptr<const cluster::topic_table> _topics = std::make_shared<cluster::topic_table>();
    std::map<std::string, std::string> _settings;
    size_t _fetch_max_bytes = 0; // fetch.max.bytes, from _settings
    std::map<std::string, storage::log_config, std::less<>> _log_configs;
    storage::log_config _uncached;
    advertised_address _advertised;
    advertised_address _listener;
    std::unique_ptr<storage::log_manager> _logs;
    cluster::raft_service* _raft;
    cluster::partition_manager _partitions;
    std::map<std::array<uint8_t, 16>, std::vector<leadership>> _leadership; // by topic id
    const std::vector<std::unique_ptr<broker>>* _peers = nullptr;
    fetch_session_cache _fetch_sessions;
    groups::group_manager _groups;
    uint64_t _waiter_keys = 0;
    std::unordered_map<uint64_t, std::vector<fetch_waiter*>> _fetch_waiters;
    runtime::event _topics_changed;
    std::map<int32_t, std::vector<cluster::leadership_notice>> _notices; // by node
    bool _notices_posted = false;
    std::deque<std::string> _to_open;
    bool _reconciling = false;
    runtime::gate _backend;
    runtime::shard_owned _owner;
};

} // namespace chronik::kafka
