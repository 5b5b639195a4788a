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
#include "model/model.h"
#include "raft/node.h"
#include "runtime/asio.h"
#include "runtime/owner.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"

#include <cstdint>
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

class partition {
public:
    partition(std::shared_ptr<storage::partition_log> log, storage::log_manager& logs, model::node_id self);
    ~partition();
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    // The dispatched stage: appended locally and proposed (offsets in the outcome);
    // cluster::errc::not_leader on a replica that does not lead, or the log's error.
    result<storage::append_outcome> replicate(std::span<uint8_t> batch, int64_t now_ms);
    // The committed stage: resolves once `last_offset` is below the high watermark.
    [[nodiscard]] awaitable<std::error_code> wait_committed(int64_t last_offset);

    bool is_leader() const noexcept { return _node->role() == raft::role::leader; }
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

private:
    class reader;
    // The group commit made everything below `end` durable.
    void persisted(int64_t end);
    // Carries out what the Raft node asks (types.h `ready`).
    void drain();
    void write_entry(const raft::entry& e);

    std::shared_ptr<storage::partition_log> _log;
    storage::log_manager& _logs;
    std::unique_ptr<reader> _reader;
    std::unique_ptr<raft::node> _node;
    runtime::shard_owned _owner;
};

// The partitions one shard owns, over that shard's log manager.
class partition_manager {
public:
    partition_manager(storage::log_manager& logs, model::node_id self) : _logs(logs), _self(self) {}

    // The partition, opening its log if needed; null if that failed.
    awaitable<std::shared_ptr<partition>> get(std::string topic, model::uuid topic_id, int32_t p,
                                              storage::log_config cfg);
    // The partition if it is open already.
    std::shared_ptr<partition> find(std::string_view topic, int32_t p);
    // Drops partitions whose log the log manager no longer has open (of `topic`
    // only, when given).
    void forget_closed(std::optional<std::string_view> topic = std::nullopt);

private:
    using key = std::pair<std::string, int32_t>;
    storage::log_manager& _logs;
    model::node_id _self;
    std::map<key, std::shared_ptr<partition>, std::less<>> _partitions;
    runtime::shard_owned _owner;
};

} // namespace chronik::cluster
