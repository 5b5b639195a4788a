#pragma once
// The log of one partition: a directory of segments, owned by one shard. Appends
// assign offsets and go to the active segment (a buffered write into the page
// cache); durability comes from the shard's group commit (log_manager), which
// fdatasyncs every segment written since its last round and then advances the
// high watermark. Consumers read only below the high watermark, so an offset a
// consumer has seen is never reused after a crash.
#include "base/bytes.h"
#include "base/result.h"
#include "model/model.h"
#include "record/batch.h"
#include "runtime/owner.h"
#include "storage/epoch_cache.h"
#include "storage/file_ops.h"
#include "storage/producer_state.h"
#include "storage/segment.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace chronik::storage {

struct log_config {
    uint64_t segment_bytes = 1073741824;
    int64_t segment_ms = 604800000;
    int64_t retention_ms = 604800000; // -1: forever
    int64_t retention_bytes = -1;     // -1: unbounded
    int32_t max_message_bytes = 1048588;
    bool log_append_time = false;
    // CreateTime records may be at most this far before / after the broker's clock.
    int64_t timestamp_before_max_ms = INT64_MAX;
    int64_t timestamp_after_max_ms = INT64_MAX;
    bool compact = false;
    bool delete_old = true;
    // flush.messages / flush.ms, when a topic or the broker sets them: Kafka's
    // page-cache durability. Appends are acknowledged (and readable) at once; the
    // fdatasync runs once this many records are unsynced or the oldest unsynced one
    // is this old, and at shutdown. Otherwise every append joins the group commit.
    bool relaxed_flush = false;
    int64_t flush_messages = INT64_MAX;
    int64_t flush_ms = INT64_MAX;
    // Compaction (cleanup.policy=compact): see storage/compactor.h.
    double min_cleanable_dirty_ratio = 0.5;
    int64_t min_compaction_lag_ms = 0;
    int64_t max_compaction_lag_ms = INT64_MAX;
    int64_t delete_retention_ms = 86'400'000;
    // min.insync.replicas: not storage's own, but kept with the topic's other
    // settings for the replication layer (acks=all).
    int32_t min_insync_replicas = 1;
};

struct append_outcome {
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t log_append_time = -1;
    bool duplicate = false;
};

struct timestamp_offset {
    int64_t offset;
    int64_t timestamp;
};

// A suffix truncation, planned on the shard and carried out on the I/O worker
// (partition_log::begin_truncate, run_truncation, finish_truncate). Crash-safe: a
// durable `truncate.pending` naming the cut is written before any file is touched
// and removed after the last change is durable; an open that finds it completes
// the truncation, so a kill -9 at any point recovers to the whole log or to the
// truncated one, never to anything between.
struct truncation {
    model::offset offset; // the log keeps the offsets below this
    std::string dir;
    std::vector<std::shared_ptr<segment>> removed; // wholly at or above the cut, newest first
    std::string spare;            // the spare segment's path when its name lies above the cut
    std::shared_ptr<segment> cut; // the segment holding the cut
    uint64_t cut_position = 0;    // its size after the cut
    struct kept_segment {
        std::string path;
        int64_t base_offset;
        uint64_t size;
    };
    std::vector<kept_segment> kept; // what stays, in order (the cut one last)
    epoch_cache epochs;             // the checkpoint after the cut
    producer_state producers;       // rebuilt at the cut by run_truncation
    std::error_code ec;             // run_truncation's outcome
};

// A reset, planned on the shard and carried out on the I/O worker
// (partition_log::begin_reset, run_reset, finish_reset): a replica whose log ends
// before its leader's starts (retention removed what it lacks) drops every segment
// and starts empty at `offset`, where the leader's Raft snapshot point is; `epoch`
// is that of the batch ending there. Crash-safe as a truncation is: a durable
// `reset.pending` naming both is written before any file is touched, and an open
// that finds it completes the reset.
struct reset_plan {
    int64_t offset = 0;
    int32_t epoch = 0;
    std::string dir;
    std::vector<std::shared_ptr<segment>> removed;
    std::string spare;              // the spare segment's path, if one is open
    std::shared_ptr<segment> fresh; // the empty segment at `offset`, made by run_reset
    epoch_cache epochs;             // the checkpoint after it: `epoch` holds offset - 1
    std::error_code ec;             // run_reset's outcome
};

// A fetch long-poll waiting for a partition: the shard it waits on and its key
// there (a connection's; 0: every waiter on the shard).
struct watcher {
    unsigned shard = 0;
    uint64_t key = 0;
    bool operator==(const watcher&) const = default;
};

class partition_log {
public:
    partition_log(file_ops& ops, std::string dir, log_config cfg);
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    // Opens (creating if absent) and recovers the partition in `dir`: every segment
    // is scanned, the last one with CRC checks, and a torn tail is cut. The replica
    // leads `leader_epoch` from the log end on (a single node's only epoch is 0
    // until its Raft group sets the term). Blocking: run it on the I/O worker or at
    // start-up.
    static result<std::shared_ptr<partition_log>> open(file_ops& ops, const std::string& dir, log_config cfg,
                                                       int64_t log_start_checkpoint,
                                                       int32_t leader_epoch = 0);

    // Appends one validated v2 batch (mutable: offsets are patched into it): the
    // idempotence check, then offsets from the log end and this replica's epoch.
    result<append_outcome> append(std::span<uint8_t> batch, int64_t now_ms);
    // Appends a batch whose offsets and leader epoch the caller set (a replica
    // copying its leader's log). Its base offset must be the log end and its epoch
    // no older than the log's latest (both asserted: the caller checks them).
    result<append_outcome> append_exact(std::span<const uint8_t> batch, int64_t now_ms);
    // Appends as leader of `epoch` from now on (a Raft term; never goes back).
    void set_leader_epoch(int32_t epoch);

    // Whole batches from `offset` below `upto` (the high watermark unless given; a
    // leader reads up to the log end to feed followers, from its first segment's
    // start even below a DeleteRecords log start), see segment::read.
    // zero_copy: the batches come back as a file extent to send with sendfile.
    // A consumer read (no `upto`) leaves out the Raft group's control batches (its
    // leaders' no-ops and configurations): not every client skips control batches
    // that are not transaction markers (kafka-python 2.0.2 hands them out as
    // records), so they never leave the broker; offsets skip over them.
    result<read_result> read(int64_t offset, size_t max_bytes, bool min_one, bool zero_copy = false,
                             std::optional<int64_t> upto = std::nullopt);

    // Suffix truncation (see `truncation`): the log will keep the offsets below
    // `offset`, which must be a batch boundary at or above the high watermark
    // (committed data is never cut). Appends, compaction and retention wait (busy)
    // until finish_truncate; the caller (log_manager::truncate) keeps group commits
    // of this log out of the way meanwhile.
    result<truncation> begin_truncate(model::offset offset);
    // Blocking (I/O worker): the file changes, in crash-safe order, and the producer
    // state rebuilt at the cut; the outcome is in t.ec.
    static void run_truncation(file_ops& ops, truncation& t);
    // Applies the cut in memory. A failed run leaves the files to the next open
    // (which completes it) and takes the partition offline.
    void finish_truncate(truncation t);
    // A planned truncation or reset that never ran (the I/O worker refused it).
    void cancel_truncate();
    // A reset to an empty log at `offset` (see reset_plan); appends, compaction and
    // retention wait as for a truncation. `offset` must lie above the high watermark
    // (what a replica has committed is the leader's too, and the leader keeps it).
    result<reset_plan> begin_reset(int64_t offset, int32_t epoch);
    static void run_reset(file_ops& ops, reset_plan& r);
    void finish_reset(reset_plan r);
    bool truncating() const noexcept { return _truncating; }

    // ListOffsets by timestamp: the first record with timestamp >= ts.
    result<std::optional<timestamp_offset>> offset_for_timestamp(int64_t ts);
    // The record with the largest timestamp (ListOffsets MAX_TIMESTAMP).
    result<std::optional<timestamp_offset>> max_timestamp();

    // Removes segments that retention (time or size) or a raised log start offset
    // has made obsolete; returns them so the caller deletes their files off-shard.
    std::vector<std::shared_ptr<segment>> collect_garbage(int64_t now_ms);
    // Compaction: the sealed, synced segments a pass should clean now (empty if
    // none is due: not compacted, a pass already running, too little dirty data).
    // A non-empty answer marks the pass as running until finish_compaction.
    std::vector<std::shared_ptr<segment>> start_compaction(int64_t now_ms);
    // Installs the rewritten segments (replacement[i] for original[i], null: kept).
    void finish_compaction(const std::vector<std::shared_ptr<segment>>& original,
                           const std::vector<std::shared_ptr<segment>>& replacement);
    bool compacting() const noexcept { return _compacting; }
    // DeleteRecords: raises the log start offset (never beyond the high watermark).
    result<int64_t> delete_records_before(int64_t offset);

    // Group commit: the segments written since the last call, and the offset the
    // sync will make durable.
    std::vector<std::shared_ptr<segment>> take_unsynced(int64_t& durable_end, bool& sync_dir);
    // Group commit: the leader-epoch checkpoint to store with this round's data, if
    // it changed since the last one (the round makes its rename durable).
    std::optional<epoch_cache> take_epoch_checkpoint();
    // A round that could not run gives back what it took (in front of anything
    // appended since), so the next round syncs it.
    void return_unsynced(std::vector<std::shared_ptr<segment>> segs, bool sync_dir, bool epochs);
    // The group commit made everything below `end` durable. Reported to the
    // listener (the partition's Raft group, which decides what is committed and
    // moves the high watermark); without one, `end` is the high watermark, as a
    // group of one voter would make it.
    void persisted(int64_t end);
    void set_persisted_listener(std::function<void(int64_t end)> l) { _on_persisted = std::move(l); }
    void set_high_watermark(int64_t hw) noexcept;
    void fail(std::error_code ec);
    // The topic was deleted: refuse further use, quietly.
    void retire() noexcept { _failed = std::make_error_code(std::errc::no_such_file_or_directory); }

    // Spare segments: a roll makes no syscall on the shard. Once the active segment
    // is half full or half its segment.ms old (or retention is about to roll it),
    // spare_wanted gives the name a file opened ahead would take (the log end now)
    // and the log manager opens it on the I/O worker and offers it. A roll adopts it
    // with nothing renamed: its name is at most its first offset (segment.h). With
    // no spare ready (a batch over half a segment), the roll creates the file itself.
    std::optional<int64_t> spare_wanted(int64_t now_ms) const;
    void spare_requested() noexcept { _spare_pending = true; }
    void spare_failed() noexcept { _spare_pending = false; }
    // False when the log cannot take it (it failed, is truncating, or its end moved
    // below the name); the caller then removes the file.
    bool offer_spare(std::shared_ptr<segment> s);
    bool has_spare() const noexcept { return _spare != nullptr; }
    // Everything in the log has expired: retention rolls so the old segment can go.
    bool expiry_roll_due(int64_t now_ms) const;

    int64_t log_start_offset() const noexcept { return _log_start; }
    // Where the first segment starts: at or below the log start (DeleteRecords
    // moves that within a segment; retention removes whole segments).
    int64_t physical_start_offset() const noexcept { return _segments.front()->base_offset(); }
    int64_t log_end_offset() const noexcept { return _next_offset; }
    int64_t high_watermark() const noexcept { return _high_watermark; }
    uint64_t size_bytes() const noexcept;
    [[nodiscard]] std::error_code failure() const noexcept { return _failed; }
    const std::string& dir() const noexcept { return _dir; }
    const log_config& config() const noexcept { return _cfg; }
    void set_config(const log_config& c) noexcept { _cfg = c; }
    const producer_state& producers() const noexcept { return _producers; }
    // The leader epochs of the log and where each began (OffsetForLeaderEpoch).
    const epoch_cache& epochs() const noexcept { return _epochs; }
    // The epoch this replica's appends are written in.
    int32_t leader_epoch() const noexcept { return _leader_epoch; }
    const std::vector<std::shared_ptr<segment>>& segments() const noexcept { return _segments; }
    bool dirty() const noexcept { return !_unsynced.empty() || _dir_dirty; }
    // The next group-commit round must sync the directory, or store the epochs.
    bool dir_dirty() const noexcept { return _dir_dirty; }
    bool epochs_dirty() const noexcept { return _epochs.dirty(); }
    // Records appended since the last take_unsynced (flush.messages).
    int64_t unsynced_records() const noexcept { return _unsynced_records; }

    // Fetches waiting for this partition's high watermark to rise, by their shard
    // and waiter key. At most max_watchers keys are kept; beyond that a shard's keys
    // collapse into key 0 (every waiter on that shard).
    void add_watcher(watcher w) {
        for (const auto& x : _watchers) {
            if (x.shard == w.shard && (x.key == w.key || x.key == 0)) {
                return;
            }
        }
        if (_watchers.size() >= max_watchers) {
            std::erase_if(_watchers, [&](const watcher& x) { return x.shard == w.shard; });
            w.key = 0;
        }
        _watchers.push_back(w);
    }
    std::vector<watcher> take_watchers() { return std::exchange(_watchers, {}); }
    static constexpr size_t max_watchers = 256;

    // The file that marks a suffix truncation as under way.
    static constexpr const char* truncation_marker = "truncate.pending";
    // ... and a reset (reset_plan).
    static constexpr const char* reset_marker = "reset.pending";

private:
    // The reset a crash left pending (reset_marker), if any; and its completion at
    // open: the segments in `bases` go and the epochs become the plan's.
    static result<std::optional<reset_plan>> pending_reset(file_ops& ops, const std::string& dir);
    static result<void> complete_pending_reset(file_ops& ops, const reset_plan& r,
                                               std::vector<int64_t>& bases);
    // Whether an append may run now (not failed, not truncating).
    result<void> writable() const;
    result<void> roll(int64_t now_ms);
    // Writes an offset-assigned batch (header h) at the log end.
    result<append_outcome> write(std::span<const uint8_t> batch, const record::batch_header& h,
                                 int64_t now_ms);
    segment& active() { return *_segments.back(); }
    result<std::optional<timestamp_offset>> record_at_or_after(segment& s, int64_t batch_offset, int64_t ts,
                                                               bool want_max);

    file_ops& _ops;
    std::string _dir;
    log_config _cfg;
    std::vector<std::shared_ptr<segment>> _segments;
    std::vector<std::shared_ptr<segment>> _unsynced;
    bool _dir_dirty = false;
    int64_t _unsynced_records = 0;
    producer_state _producers;
    epoch_cache _epochs;
    int32_t _leader_epoch = 0;
    int64_t _log_start = 0;
    int64_t _next_offset = 0;
    int64_t _high_watermark = 0;
    std::error_code _failed;
    std::vector<watcher> _watchers;
    std::function<void(int64_t)> _on_persisted;
    bool _compacting = false;
    bool _truncating = false;
    std::shared_ptr<segment> _spare; // empty, named by the log end when opened
    bool _spare_pending = false;
    int64_t _cleaned_upto = 0;   // offsets below this were covered by the last pass
    runtime::shard_owned _owner; // bound by the first shard that uses the log
};

} // namespace chronik::storage
