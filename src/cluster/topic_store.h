#pragma once
// The authoritative topic table, owned by shard 0. A change is applied to the
// in-memory table in one synchronous step (so two creates of one name cannot both
// succeed), appended as a typed command to the controller log (a storage log in
// `<dir>/controller`, synced through the I/O worker), and then published to every
// shard as a new snapshot. A change costs what its command holds, never a rewrite
// of every topic: every snapshot_every commands the table is written whole, off
// the shard, as `<dir>/snapshot` (the offset it covers, then the table), and the
// log segments below it are dropped. Start-up reads the snapshot and replays the
// log after it. The log is Raft group 0 (cluster::partition, one voter on a single
// node): a command is replicated and answered once committed, the group commit
// syncing it as it does a partition's batches.
//
// The controller also places partitions: each new partition gets its replicas
// (registered brokers, round robin) and, on each replica's node, the least loaded
// shard; its revision is the offset of the command that placed it. Every change
// returns a cluster::errc (or success); the Kafka layer maps them to error codes.
#include "base/result.h"
#include "cluster/config_catalog.h"
#include "cluster/errc.h"
#include "cluster/partition.h"
#include "cluster/topic_table.h"
#include "rpc/client.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/gate.h"
#include "runtime/io_worker.h"
#include "runtime/owner.h"
#include "runtime/shard.h"
#include "storage/log_manager.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace chronik::cluster {

class raft_service;

// The controller's Raft group on the voters (group 0, shard 0 of each): empty, or
// this node alone, is a single node.
struct controller_options {
    std::vector<model::node_id> voters;
    raft_service* raft = nullptr;         // shard 0's
    rpc::connection_pool* pool = nullptr; // shard 0's: forwarding to the controller's leader
    // default.replication.factor as configured; 0: unset, min(3, registered brokers).
    // A creation asking for replication factor -1 gets it, resolved where the
    // topic is placed (the controller's leader, which knows every registration).
    int16_t default_replication_factor = 0;
};

class topic_store {
public:
    // publish(shard, snapshot) installs a snapshot on that shard; it runs there.
    using publish_fn = std::function<void(unsigned shard, std::shared_ptr<const topic_table>)>;

    topic_store(std::string dir, model::node_id self, runtime::io_worker& io, runtime::shard_group& shards,
                publish_fn publish, controller_options ctl = {});

    // The rpc method on which the controller's leader takes a broker's registration
    // from another node (the payload: a table holding it), answering once committed.
    static constexpr uint16_t method_register_broker = 0x10;
    awaitable<result<iobuf>> serve_register_broker(byte_slice payload);
    // The rpc method on which the controller's leader hands another node a block of
    // producer ids (the answer: the block's end, big-endian int64).
    static constexpr uint16_t method_producer_ids = 0x11;
    awaitable<result<iobuf>> serve_producer_ids(byte_slice payload);
    // The rpc method on which the controller's leader creates topics for another
    // node (auto-creation, __consumer_offsets, CreateTopics sent to a non-leader).
    // The payload: the replication factor (big-endian int16) and a table holding the
    // topics, unplaced; the answer: each topic's cluster::errc (0: created), int32s.
    static constexpr uint16_t method_create_topics = 0x12;
    awaitable<result<iobuf>> serve_create_topics(byte_slice payload);
    // The controller's leader as far as this node knows (-1: none known); safe to
    // read from every shard.
    int32_t controller_leader() const noexcept { return _leader.load(std::memory_order_relaxed); }
    bool has_peers() const noexcept { return _peers; }

    // Reads the stored table; blocking, for start-up before any shard serves. A
    // directory made by another node id is refused. Topics stored before placements
    // existed are placed now (one command).
    result<void> load_blocking(std::string& error);
    // Registers this node (its address, rack and shard count, with a new
    // incarnation) unless the table holds the same already; blocking, at start-up.
    // With peers it returns at once: the registration reaches the controller's
    // leader (forwarded over rpc) once a majority of voters is up, retried until then.
    result<void> register_blocking(std::string host, int32_t port, std::optional<std::string> rack,
                                   std::string& error);
    // Records a broker's registration (its own at start-up; other nodes' once they
    // reach the controller). Runs on shard 0.
    awaitable<std::error_code> register_broker(broker_registration r);
    const std::shared_ptr<const topic_table>& current() const { return _table; }
    // Set by load_blocking and never changed after: safe to read from every shard.
    const std::string& cluster_id() const noexcept { return _cluster_id; }

    // The nodes to hold each new partition, as CreateTopics and CreatePartitions may
    // name them (one list per partition, the first node the preferred leader); empty:
    // the controller chooses.
    using replica_nodes = std::vector<std::vector<model::node_id>>;

    // Creates a topic with `replication_factor` replicas of each partition, placing
    // them, on `explicit_nodes` if given (validate_only: checks only). Runs on shard 0.
    awaitable<std::error_code> create(topic_info t, int16_t replication_factor, bool validate_only,
                                      replica_nodes explicit_nodes = {});

    // Auto-creation (Metadata with allow_auto_topic_creation): the topics are queued
    // and created in the background, up to auto_create_batch per table change and
    // durable write, so the request that asked is answered without waiting for them
    // (and a request naming thousands costs a few table rewrites, not thousands).
    // Names already queued or existing are skipped; at most max_auto_create_queue
    // wait at once, so many such requests cannot pile up unbounded work: the rest
    // are not queued (the client's retry asks again). Returns how many of `topics`
    // are on their way: queued now, queued before, or existing. Runs on shard 0.
    static constexpr size_t max_auto_create_queue = 10'000;
    static constexpr size_t auto_create_batch = 1'000;
    // Each gets `replication_factor` replicas per partition; a topic that cannot be
    // placed so when its batch is stored (too few brokers) is not created.
    size_t queue_auto_create(std::vector<topic_info> topics, int16_t replication_factor);
    // Ends background work for shutdown: no auto-creation starts, the batch being
    // stored finishes, and what is still queued is dropped; then the change being
    // stored ends, later ones are refused, and the controller log is closed. Runs
    // on shard 0; a store that was loaded must be stopped before it is destroyed.
    awaitable<void> stop();

    // Deletes a topic by name; every shard drops its partitions when the new table
    // arrives, and their files are removed in the background. Runs on shard 0.
    awaitable<std::error_code> remove(std::string name);
    // Raises a topic's partition count to `count`, placing the new ones, on
    // `explicit_nodes` if given (validate_only: checks only).
    awaitable<std::error_code> add_partitions(std::string name, int32_t count, bool validate_only,
                                              replica_nodes explicit_nodes = {});

    // AlterConfigs / IncrementalAlterConfigs on a topic, or on the dynamic broker
    // settings of `node` (topic_table::cluster_default: the cluster-wide level).
    // Applied on shard 0 to the current table, so concurrent alters never lose one
    // another's changes. Runs on shard 0.
    struct alter_outcome {
        std::error_code error;
        std::string message;
    };
    awaitable<alter_outcome> alter_topic_configs(std::string name, std::vector<config_change> changes,
                                                 bool replace_all, bool validate_only);
    awaitable<alter_outcome> alter_broker_configs(int32_t node, std::vector<config_change> changes,
                                                  bool replace_all, bool validate_only);

    // A new producer id for an idempotent producer, or -1 if none can be stored.
    // Ids are handed out from blocks of producer_id_block; a block is a controller
    // command, committed before any id in it is used, so no id is used twice.
    static constexpr int64_t producer_id_block = 1000;
    awaitable<int64_t> allocate_producer_id();

    // The controller log's commands (a record's key: the type, big-endian int16;
    // its value: the text form of a small topic_table, see topic_table::serialize).
    enum class command : int16_t {
        put_topics = 1,       // create, or replace (partitions, configs), every topic in the value
        remove_topic = 2,     // the value is the topic's name
        broker_overrides = 3, // "<node>\n" then a table holding that node's settings (none: cleared)
        producer_ids = 4,     // the new end of the producer-id blocks handed out, in decimal
        register_broker = 5,  // a table holding the broker's registration
    };
    static constexpr int64_t snapshot_every = 1000; // commands between snapshots
    // The log offset the stored snapshot covers (tests).
    int64_t snapshot_offset() const noexcept { return _snapshot_offset; }
    int64_t log_end_offset() const noexcept { return _group ? _group->log().log_end_offset() : 0; }

private:
    // Table changes run one at a time: each is checked against, and built on, the
    // table the one before it left, and a failed store rolls back only itself. (Run
    // concurrently, a change that failed after a later one was stored would roll
    // that one back in memory but not on disk or on the shards.)
    class [[nodiscard]] change_turn {
    public:
        explicit change_turn(topic_store& s) : _s(&s) {}
        change_turn(change_turn&& o) noexcept : _s(std::exchange(o._s, nullptr)) {}
        change_turn(const change_turn&) = delete;
        change_turn& operator=(const change_turn&) = delete;
        change_turn& operator=(change_turn&&) = delete;
        ~change_turn() {
            if (_s != nullptr) {
                _s->_changing = false;
                _s->_change_done->notify_all();
            }
        }

    private:
        topic_store* _s;
    };
    awaitable<change_turn> take_turn();
    // Placements for partitions [from, from + count) of a topic, replication_factor
    // replicas each, from the registered brokers (or on `explicit_nodes`, one list
    // per partition) and each node's shard loads.
    result<assignments> place(int32_t from, int32_t count, int16_t replication_factor,
                              const replica_nodes& explicit_nodes = {}) const;
    // Keeps _shard_load current: +1 (or -1) for every replica `t` places.
    void count_load(const topic_info& t, int sign);
    // The revision a command appended next gets: the offset it will take.
    int64_t next_revision() const;
    // The group-id prefixes (topic_table.h partition_group) of the table's topics;
    // a new topic whose id shares one of `taken` gets a new id, and takes its own.
    std::set<uint64_t> taken_group_prefixes() const;
    static void take_group_prefix(topic_info& t, std::set<uint64_t>& taken);
    // Places the topics that have no placement (tables stored before placements existed).
    awaitable<std::string> place_unplaced();
    // Appends command `c` and, once it is committed, applies the log up to it and
    // publishes the table to every shard. False if it could not be committed (a
    // failed sync takes the log offline: the command may be in it, and a restart
    // replays it); not_controller on a replica that does not lead the controller.
    awaitable<std::error_code> install(command c, std::string value);
    // Appends the command and waits until it is committed: the offset after it.
    awaitable<std::optional<int64_t>> append_command(command c, std::string value);
    // Applies the committed commands after _applied to the table, in log order, and
    // publishes the result; the only writer of _table after start-up.
    awaitable<void> catch_up();
    // Starts catch_up on a later turn of the loop unless one runs (from the
    // group's listener).
    void schedule_catch_up();
    awaitable<void> register_until_done(broker_registration r, runtime::gate::holder);
    // A new producer-id block committed by this node as the controller's leader: its end.
    awaitable<std::optional<int64_t>> allocate_block();
    // create() on the node that leads the controller (not_controller elsewhere).
    awaitable<std::error_code> create_here(topic_info t, int16_t replication_factor, bool validate_only,
                                           replica_nodes explicit_nodes);
    // Creation on a node that does not lead the controller: sent to the leader.
    awaitable<std::vector<std::error_code>> forward_create(std::vector<topic_info> topics,
                                                           int16_t replication_factor);
    // Keeps _shard_load current across one applied command.
    void count_changed(const topic_table& before, const topic_table& after);
    // Writes a snapshot in the background once snapshot_every commands followed the last.
    void maybe_snapshot();
    awaitable<void> write_snapshot(std::shared_ptr<const topic_table> table, int64_t upto,
                                   runtime::gate::holder);
    // The background fiber that empties _auto_queue, one batch at a time.
    awaitable<void> auto_create(runtime::gate::holder);

    std::string _dir;
    model::node_id _self;
    controller_options _ctl;
    bool _peers = false;
    std::atomic<int32_t> _leader{ -1 };
    runtime::io_worker& _io;
    runtime::shard_group& _shards;
    publish_fn _publish;
    std::shared_ptr<const topic_table> _table = std::make_shared<topic_table>();
    // The controller log: Raft group 0 (one voter on a single node) over a log of
    // the store's own log manager, opened by load_blocking.
    std::unique_ptr<storage::log_manager> _logs;
    std::shared_ptr<partition> _group;
    bool _closed = false; // stop(): no more changes
    int64_t _snapshot_offset = 0;
    int64_t _applied = 0;   // the controller log offset _table reflects the commands below
    int64_t _published = 0; // ... and every shard holds that table
    bool _catching_up = false;
    bool _catch_up_scheduled = false;
    std::optional<runtime::event> _caught_up;
    bool _snapshotting = false;
    std::string _cluster_id;
    int64_t _next_pid = 0;
    int64_t _pid_block_end = 0;
    // Replicas placed on each shard of each node, by node id: what place() balances.
    std::map<int32_t, std::vector<int64_t>> _shard_load;
    bool _changing = false; // a change_turn is held
    std::optional<runtime::event> _change_done;
    bool _pid_allocating = false;
    std::optional<runtime::event> _pid_ready;
    struct auto_request {
        topic_info topic;
        int16_t replication_factor = 1;
    };
    std::deque<auto_request> _auto_queue;
    std::set<std::string, std::less<>> _auto_queued; // the names in _auto_queue
    bool _auto_creating = false;
    runtime::gate _background;   // the auto-creation fiber
    runtime::shard_owned _owner; // shard 0 in the broker
};

} // namespace chronik::cluster
