#pragma once
// Kafka's leader-epoch cache of one partition: for every leader epoch (Raft term)
// that wrote to the log, the first offset it wrote. OffsetForLeaderEpoch answers
// from it, and a replica that changes leader uses it to find where its log
// diverges. Stored as `<dir>/leader-epoch-checkpoint` in Kafka's own text format
//
//     0            version
//     2            number of entries
//     0 0          epoch start-offset, in increasing order of both
//     3 1500
//
// written whole to a temporary file, fdatasynced and renamed over the old one (the
// caller syncs the directory), so a crash leaves the old file or the new one.
#include "base/result.h"
#include "storage/file_ops.h"

#include <cstdint>
#include <string>
#include <vector>

namespace chronik::storage {

struct epoch_entry {
    int32_t epoch;
    int64_t start_offset;
    bool operator==(const epoch_entry&) const = default;
};

// What OffsetForLeaderEpoch answers: the largest epoch <= the one asked for, and
// the offset after its last batch (the next epoch's start, or the log end).
// {-1, -1} when the epoch asked for is newer than any this log has seen.
struct epoch_end {
    int32_t epoch = -1;
    int64_t end_offset = -1;
    bool operator==(const epoch_end&) const = default;
};

class epoch_cache {
public:
    static constexpr const char* file_name = "leader-epoch-checkpoint";

    epoch_cache() = default;
    explicit epoch_cache(std::vector<epoch_entry> entries) : _entries(std::move(entries)) {}

    // Reads `<dir>/leader-epoch-checkpoint`; an absent file is an empty cache, a
    // malformed one is errc::corrupt_checkpoint.
    static result<epoch_cache> load(file_ops& ops, const std::string& dir);
    // Writes the checkpoint (blocking: the I/O worker, or start-up). The caller
    // makes the rename durable with sync_dir.
    result<void> store(file_ops& ops, const std::string& dir) const;

    // A batch of `epoch` was appended at `base`. A new epoch must be newer than the
    // latest and start after it (asserted: the caller sets epochs and offsets).
    void assign(int32_t epoch, int64_t base);
    // The log lost every offset >= `offset` (suffix truncation): so do the epochs.
    void truncate_from(int64_t offset);
    // The log's first segment now starts at `offset` (retention): epochs that
    // ended before offset - 1 go. Unlike Kafka's truncateFromStart, the one holding
    // offset - 1 stays with its own start: a replica must know the epoch of the
    // batch ending where its log starts (its Raft snapshot's term).
    void truncate_to_start(int64_t offset);

    epoch_end end_offset_for(int32_t epoch, int64_t log_end) const noexcept;
    // The epoch whose batches hold `offset` (the last starting at or before it), -1
    // if none does.
    int32_t epoch_at(int64_t offset) const noexcept;
    // The latest epoch, -1 if the log never had one.
    int32_t latest_epoch() const noexcept { return _entries.empty() ? -1 : _entries.back().epoch; }
    const std::vector<epoch_entry>& entries() const noexcept { return _entries; }

    // Changed since the last store (the group commit stores it with the data).
    bool dirty() const noexcept { return _dirty; }
    void mark_stored() noexcept { _dirty = false; }
    void mark_dirty() noexcept { _dirty = true; }

private:
    std::vector<epoch_entry> _entries;
    bool _dirty = false;
};

} // namespace chronik::storage
