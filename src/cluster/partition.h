#pragma once
// One replica of a partition, as the Kafka handlers use it: a Raft group whose log
// is the partition log itself (raft/README.md). An entry is one RecordBatch; its
// Raft index is the offset after the batch's last record, so the Raft log's last
// index is the log end offset and its commit index is the high watermark; its term
// is the batch's partition leader epoch. No entry is copied and no table maps one
// index space to the other.
//
// On a single node every partition is a group with one voter, this node: it leads
// a new term each time it opens (a restart raises the leader epoch), commits what
// the group commit made durable, and moves the high watermark. That is the code
// path a cluster runs; more voters add followers to the same group.
//
// replicate() is the dispatched stage: the idempotence check, offsets, the leader
// epoch and timestamps are set and the batch is appended locally and proposed, in
// one synchronous step. wait_committed() is the committed stage (acks=all).
//
// Owned by one shard (the partition's owner); touched only there.
#include "base/result.h"
#include "cluster/topic_table.h"
#include "model/model.h"
#include "raft/node.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/owner.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/vote_file.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chronik::cluster {

// The control records a leader writes into the log for its Raft group: each is a
// control batch of one record whose key is (version 0, type), so every Kafka client
// skips it as it skips transaction markers. The types follow KRaft's meanings.
inline constexpr int16_t control_leader_change = 2; // a new leader's no-op (KRaft LeaderChangeMessage)
inline constexpr int16_t control_voters = 6;        // a configuration entry (KRaft VotersRecord's place)

// A control batch at `offset` in `epoch`, carrying `value` (the no-op's
// LeaderChangeMessage, or an encoded raft::configuration).
bytes make_control_batch(int64_t offset, int32_t epoch, int16_t type, std::span<const uint8_t> value,
                         int64_t now_ms);

// Where a group's messages go on this node: the shard's outbox (raft_service),
// which sends each peer one frame per turn of the event loop. Sending never blocks
// and may drop (Raft tolerates loss); the transport bounds what it queues.
class raft_transport {
public:
    virtual ~raft_transport() = default;
    virtual void send(replica_placement to, int64_t group, raft::message m) = 0;
};

// A partition's Raft group as placed by the controller.
struct group_spec {
    int64_t group = 0;                       // the id every replica's node knows it by
    std::vector<replica_placement> replicas; // the voters; empty, or only this node: a sole voter
    raft_transport* transport = nullptr;     // needed with peers
    int election_ticks = 10;
    int heartbeat_ticks = 2;
    // replica.lag.time.max.ms in ticks: a follower whose durable log has not reached
    // where the leader's ended a tick earlier for this long leaves the ISR.
    int lag_ticks = 600;
    // auto.leader.rebalance.enable: a leader that is not the preferred replica (the
    // first) hands the lead to it once it has been in sync and caught up for this
    // many ticks (leader.imbalance.check.interval.seconds); 0: never.
    int rebalance_ticks = 0;
    // The log is the group's state (a Kafka partition): followers follow the
    // leader's log start, the Raft snapshot point is the first segment's start, and
    // a replica behind a leader's first segment starts its log empty there. False
    // for the controller, whose state is the table applied from its log: each node
    // drops the log below its own table snapshot, and a replica behind a leader's
    // log start stops (a table snapshot cannot be sent yet).
    bool log_is_state = true;
    bool has_peers(model::node_id self) const noexcept {
        return std::any_of(replicas.begin(), replicas.end(),
                           [self](const replica_placement& r) { return r.node != self; });
    }
};

class partition : public std::enable_shared_from_this<partition> {
public:
    // `vote`: the group's stored vote (storage/vote_file.h), for a group with peers.
    partition(std::shared_ptr<storage::partition_log> log, storage::log_manager& logs, model::node_id self,
              group_spec spec = {}, storage::raft_vote vote = {});
    ~partition();
    // Once shared: a sole voter takes the lead, the preferred replica campaigns.
    void start();
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    // The dispatched stage: appended locally and proposed (offsets in the outcome);
    // cluster::errc::not_leader on a replica that does not lead (or whose log is not
    // yet where its Raft log is), replication_backlog when too much is uncommitted,
    // or the log's error.
    // `min_insync` (acks=all: the topic's min.insync.replicas): not_enough_replicas,
    // and nothing appended, while fewer replicas are in sync.
    result<storage::append_outcome> replicate(std::span<uint8_t> batch, int64_t now_ms,
                                              int32_t min_insync = 0);
    // The committed stage: resolves once `last_offset` is below the high watermark
    // and at least `min_insync` replicas hold it durably; not_leader when this
    // replica stops leading first (the batch may or may not commit: the producer
    // retries, and idempotence drops a duplicate); not_enough_replicas_after_append
    // when the ISR shrinks below `min_insync` first.
    [[nodiscard]] awaitable<std::error_code> wait_committed(int64_t last_offset, int32_t min_insync = 1);

    // A group with peers: one tick of its election and heartbeat timers, and a
    // message from a peer.
    void tick();
    void step(raft::message m);

    bool is_leader() const noexcept { return _node->role() == raft::role::leader; }
    // Leads, and (with peers) has committed an entry of its own term, so its high
    // watermark covers everything committed before it took the lead.
    bool leader_ready() const noexcept {
        return is_leader() && (!_peers || _node->log().term_at(_node->commit()) == _node->term());
    }
    model::node_id leader() const noexcept { return _node->leader(); }
    // The leader epoch: the group's current term.
    int32_t leader_epoch() const noexcept { return int32_t(_node->term()()); }
    int64_t high_watermark() const noexcept { return _log->high_watermark(); }
    // OffsetForLeaderEpoch: the largest epoch <= `epoch` and the offset after its
    // last batch (storage::epoch_end).
    storage::epoch_end last_offset_of_epoch(int32_t epoch) const noexcept {
        return _log->epochs().end_offset_for(epoch, _log->log_end_offset());
    }
    storage::partition_log& log() noexcept { return *_log; }
    const std::shared_ptr<storage::partition_log>& log_ptr() const noexcept { return _log; }
    const raft::node& raft() const noexcept { return *_node; }
    const group_spec& spec() const noexcept { return _spec; }
    // The in-sync replicas as the leader sees them (Kafka's ISR): itself, and each
    // follower that, within the last lag_ticks, answered lately and had its durable
    // log reach where the leader's ended one tick before. Empty on a replica that
    // does not lead.
    const std::vector<model::node_id>& in_sync() const noexcept { return _isr; }
    // The leader's count of replicas holding everything below `end` durably.
    size_t durable_replicas(int64_t end) const;
    // Called (on the owner shard, inside the step that caused it) when the high
    // watermark rises (committed), or the role, term, known leader or ISR changes
    // (leadership); it must not call back into this partition.
    enum class change : uint8_t { committed, leadership };
    void set_listener(std::function<void(change)> on_change) { _on_change = std::move(on_change); }
    bool has_listener() const noexcept { return bool(_on_change); }
    bool has_peers() const noexcept { return _peers; }

private:
    class reader;
    // What messages_after_persist wait for: the log durable through `index` (in
    // `term`), and the vote stored by `vote_seq`.
    struct deferred {
        raft::log_index index;
        raft::term_id term;
        uint64_t vote_seq;
        std::vector<raft::message> messages;
    };
    // The group commit made everything below `end` durable.
    void persisted(int64_t end);
    // Carries out what the Raft node asks (types.h `ready`), in order; stops at a
    // suffix truncation and resumes when it is done.
    void drain();
    void process(raft::ready r);
    bool write_entry(const raft::entry& e);
    void halt(std::error_code why);
    void send(std::vector<raft::message> ms);
    void release_deferred();
    void store_hard_state(const raft::hard_state& hs);
    awaitable<void> store_votes(std::shared_ptr<partition> self);
    // Cuts the log's suffix from `offset` (a new leader's entries replace it), or
    // with `reset_epoch` starts it empty at `offset` (the leader's snapshot), then
    // carries on with the stalled ready.
    awaitable<void> rewrite_and_resume(std::shared_ptr<partition> self, int64_t offset,
                                       std::optional<int32_t> reset_epoch);
    void notify(change c);
    // Follower: raises the log start to the leader's (DeleteRecords, retention)
    // once this replica has committed that far, and stores it.
    void follow_log_start();
    awaitable<void> store_log_start(std::shared_ptr<partition> self);
    // Leader: the ISR after a tick (or from scratch on taking the lead).
    void update_isr(bool fresh);
    // Leader: hands the lead back to the preferred replica when it is time.
    void rebalance();

    std::shared_ptr<storage::partition_log> _log;
    storage::log_manager& _logs;
    model::node_id _self;
    group_spec _spec;
    bool _peers = false;
    std::map<model::node_id, replica_placement> _placement;
    std::unique_ptr<reader> _reader;
    std::unique_ptr<raft::node> _node;
    // A ready whose entries wait for a suffix truncation or a reset (the rest of it after them).
    std::optional<raft::ready> _stalled;
    bool _halted = false;
    std::deque<deferred> _deferred;
    storage::raft_vote _vote_stored;
    storage::raft_vote _vote_wanted;
    uint64_t _vote_seq = 0;  // hard states handed to store
    uint64_t _vote_done = 0; // ... and stored
    bool _vote_storing = false;
    // Woken when the high watermark rises, the role or term changes, or the log fails.
    runtime::event _changed;
    std::function<void(change)> _on_change;
    raft::role _seen_role = raft::role::follower;
    raft::term_id _seen_term{ 0 };
    model::node_id _seen_leader = raft::no_node;
    std::vector<model::node_id> _isr;
    std::map<model::node_id, uint64_t> _caught_up; // the tick a follower last caught up
    uint64_t _ticks = 0;
    uint64_t _preferred_since = 0;     // the tick since which the preferred replica could lead
    raft::log_index _end_at_tick{ 0 }; // the leader's log end at the previous tick
    runtime::event _acks;              // a leader's peer answered (durable counts may rise)
    int64_t _leader_log_start = 0;     // the newest log start a leader sent
    bool _storing_start = false;
    runtime::shard_owned _owner;
};

class raft_service;

// The partitions one shard owns, over that shard's log manager. Groups with peers
// send through, and are ticked by, the shard's raft_service.
class partition_manager {
public:
    partition_manager(storage::log_manager& logs, model::node_id self, raft_service* raft = nullptr)
      : _logs(logs), _self(self), _raft(raft) {}

    // The partition, opening its log if needed; null if that failed (or the group
    // has peers and this shard has no raft_service).
    awaitable<std::shared_ptr<partition>> get(std::string topic, model::uuid topic_id, int32_t p,
                                              storage::log_config cfg, group_spec spec = {});
    // The partition if it is open already.
    std::shared_ptr<partition> find(std::string_view topic, int32_t p);
    // fn(topic, partition number, replica) for every partition open here.
    template<class F>
    void for_each(F&& fn) {
        for (const auto& [k, p] : _partitions) {
            fn(k.first, k.second, *p);
        }
    }
    // Drops partitions whose log the log manager no longer has open (of `topic`
    // only, when given).
    void forget_closed(std::optional<std::string_view> topic = std::nullopt);

private:
    using key = std::pair<std::string, int32_t>;
    storage::log_manager& _logs;
    model::node_id _self;
    raft_service* _raft;
    std::map<key, std::shared_ptr<partition>, std::less<>> _partitions;
    runtime::shard_owned _owner;
};

} // namespace chronik::cluster
