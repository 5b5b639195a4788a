#pragma once
// The partitions one shard owns, and that shard's group commit.
//
// Group commit: every append marks its partition dirty and makes sure a flush
// round is running. A round takes every dirty partition's unsynced segments, runs
// one fdatasync per segment through the shard's io_uring or on the I/O worker (the
// shard keeps serving either way), then raises each partition's high watermark to
// the end it had when the round began and wakes the producers (acks=-1) and
// fetchers waiting on it. Appends that arrive
// during a round go into the next one, so under load one sync covers many batches.
//
// Partitions are opened lazily on first use (recovery runs on the I/O worker);
// concurrent users of a partition that is still opening wait for the same open.
#include "base/result.h"
#include "model/uuid.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/gate.h"
#include "runtime/io_worker.h"
#include "runtime/owner.h"
#include "runtime/uring.h"
#include "storage/file_ops.h"
#include "storage/partition_log.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chronik::storage {

class log_manager {
public:
    // wake(shard) tells a shard that a partition it watches has new committed data.
    // Wakes fetches waiting for a partition whose high watermark rose.
    using wake_fn = std::function<void(std::vector<watcher>)>;

    log_manager(std::string data_dir, runtime::io_worker& io, file_ops& ops, asio::any_io_executor ex,
                wake_fn wake, std::chrono::milliseconds retention_check = std::chrono::minutes(5));
    ~log_manager();

    static std::string partition_dir(const std::string& data_dir, std::string_view topic,
                                     const model::uuid& topic_id, int32_t partition);

    // The open partition, opening or creating it if needed; null if that failed
    // (the reason is logged) or the topic was replaced.
    awaitable<std::shared_ptr<partition_log>> get(std::string topic, model::uuid topic_id, int32_t partition,
                                                  log_config cfg);
    // The partition if it is open already.
    std::shared_ptr<partition_log> find(std::string_view topic, int32_t partition) const;

    // After an append: makes sure a group-commit round will cover it.
    void appended(const std::shared_ptr<partition_log>& p);
    // Waits until `last_offset` is below the high watermark (durable and, through
    // the partition's Raft group, committed); the error if the partition failed first.
    [[nodiscard]] awaitable<std::error_code> wait_durable(std::shared_ptr<partition_log> p,
                                                          int64_t last_offset);
    // Cuts p's log to the offsets below `offset` (partition_log::begin_truncate),
    // crash-safely, with the file work on the I/O worker. A group-commit round
    // that holds p's segments finishes first, and no round takes them until done.
    [[nodiscard]] awaitable<std::error_code> truncate(std::shared_ptr<partition_log> p, model::offset offset);
    // Drops p's whole log and starts it empty at `offset`, the batch ending there
    // being of `epoch` (partition_log::begin_reset: a replica behind its leader's
    // log start), crash-safely and with the same exclusion as truncate.
    [[nodiscard]] awaitable<std::error_code> reset(std::shared_ptr<partition_log> p, int64_t offset,
                                                   int32_t epoch);
    // p's high watermark rose outside a group-commit round (its Raft group
    // committed): wakes its fetchers and durability waiters.
    void committed(partition_log& p);
    // `w` is woken (once) when p's high watermark next rises.
    void watch(const partition_log& p, watcher w);

    // Closes partitions whose topic no longer exists (or has another id) and
    // removes their directories in the background. Given `topic`, looks only at
    // that topic's partitions (a change to one topic costs its partitions).
    void retain_only(const std::function<bool(std::string_view topic, const model::uuid& id)>& alive,
                     std::optional<std::string_view> topic = std::nullopt);
    // Visits every open partition, or those of `topic` (to push new settings to them).
    void for_each_open(const std::function<void(std::string_view topic, partition_log&)>& visit,
                       std::optional<std::string_view> topic = std::nullopt);
    // Runs retention once now (tests, DeleteRecords); also runs on its own timer.
    awaitable<void> enforce_retention();
    // Persists a partition's log start offset (DeleteRecords) and drops whole
    // segments below it.
    [[nodiscard]] awaitable<std::error_code> checkpoint_log_start(std::shared_ptr<partition_log> p);

    // Final group commit and stop of background work; on this shard, at shutdown.
    awaitable<void> close();

    size_t open_partitions() const noexcept { return _partitions.size(); }
    // Group-commit rounds that are only fdatasyncs (nearly all) go through `ring`,
    // this shard's io_uring, instead of the I/O worker; the rest stay on the worker.
    void use_ring(runtime::uring* ring) noexcept { _ring = ring; }

    const std::string& data_dir() const noexcept { return _data_dir; }
    runtime::io_worker& io() noexcept { return _io; }
    file_ops& ops() noexcept { return _ops; }
    const asio::any_io_executor& executor() const noexcept { return _ex; }

    // Group-commit rounds that may run at once (see start_rounds); the I/O worker
    // needs as many threads for them to overlap.
    static constexpr size_t max_rounds = 2;

private:
    struct slot {
        std::shared_ptr<partition_log> log;
        model::uuid topic_id;
    };
    using key = std::pair<std::string, int32_t>;

    // Group commit. A round takes every queued partition's unsynced segments (and
    // its epoch checkpoint and directory sync, if due) and syncs them, through the
    // shard's ring or on the I/O worker. Up to max_rounds run at once, so an append
    // that arrives while one round syncs starts its own at once rather than waiting
    // for that one to end (with a client's requests in flight one after another,
    // that wait is most of an acks=all request's time). They take effect in the
    // order they were taken.
    struct round {
        struct item {
            std::shared_ptr<partition_log> p;
            int64_t end;
            size_t first_seg, seg_count;
            bool has_checkpoint, has_dir;
            bool voided; // an earlier round handed p's work back: hand this back too
        };
        struct checkpoint {
            epoch_cache epochs;
            std::string dir;
        };
        uint64_t seq = 0;
        std::vector<item> items;
        std::vector<std::shared_ptr<segment>> segs;
        // Per segment: the size a sealed one's zeros ahead are cut back to, or -1.
        std::vector<int64_t> trims;
        std::vector<checkpoint> checkpoints;
        std::vector<std::string> dirs;
    };
    // Starts rounds while fewer than max_rounds run and something can be taken.
    void start_rounds();
    // The next round, or null when every queued partition must wait for its
    // running round first.
    std::shared_ptr<round> take_round();
    awaitable<void> run_round(std::shared_ptr<round> r, runtime::gate::holder);
    void void_later_rounds(const round& r, const partition_log* p);
    void wake_watchers(partition_log& p);
    awaitable<void> retention_loop(runtime::gate::holder);
    awaitable<void> compact_due(int64_t now);
    awaitable<void> store_summaries();
    // Puts a partition into the next group-commit round, starting one if needed.
    void queue_flush(const std::shared_ptr<partition_log>& p);
    // flush.ms: one timer per partition with unsynced relaxed appends.
    void arm_flush_timer(const std::shared_ptr<partition_log>& p);
    void arm_retention();
    // Opens the file of p's next segment ahead, on the I/O worker (partition_log's
    // spare segments), and offers it to p.
    void start_spare(const std::shared_ptr<partition_log>& p, int64_t name);
    awaitable<void> prepare_spare(std::shared_ptr<partition_log> p, int64_t name, runtime::gate::holder);
    void delete_files(std::vector<std::shared_ptr<segment>> segs);
    // truncate and reset: plan on the shard, run on the I/O worker, finish here.
    template<class Plan, class Run, class Finish>
    awaitable<std::error_code> rewrite(std::shared_ptr<partition_log> p, Plan plan, Run run, Finish finish);

    std::string _data_dir;
    runtime::io_worker& _io;
    runtime::uring* _ring = nullptr;
    file_ops& _ops;
    asio::any_io_executor _ex;
    wake_fn _wake;
    std::chrono::milliseconds _retention_check;
    std::unordered_set<const partition_log*> _queued;
    std::unordered_map<const partition_log*, unsigned> _in_round; // running rounds holding each
    std::unordered_set<const partition_log*> _flush_timers;
    std::map<key, slot, std::less<>> _partitions;
    // The partitions of `topic` in _partitions, or all of them.
    std::pair<std::map<key, slot, std::less<>>::iterator, std::map<key, slot, std::less<>>::iterator>
    range_of(std::optional<std::string_view> topic);
    std::map<key, std::shared_ptr<runtime::event>> _opening;
    std::vector<std::shared_ptr<partition_log>> _dirty;
    std::deque<std::shared_ptr<round>> _rounds; // running, oldest first
    uint64_t _next_round = 0;
    bool _retention_armed = false;
    bool _closed = false;
    runtime::event _flushed;
    runtime::event _stop;
    runtime::gate _gate;
    runtime::shard_owned _owner;
};

} // namespace chronik::storage
