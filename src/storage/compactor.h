#pragma once
// Log compaction (cleanup.policy=compact): keeps the latest record of every key.
//
// One pass reads the sealed, fully synced segments it is given (oldest first) and
// builds a map from each key (by a 128-bit hash) to the offset of its latest record,
// then rewrites each segment without the records a later record of the same key
// supersedes, without records that have no key, and without tombstones older than
// delete.retention.ms. A batch that loses records is rebuilt with its base offset,
// last offset and producer fields kept, so offsets never move and a producer's
// last sequence survives; a batch that loses all of them is dropped.
//
// Crash safety: each rewritten segment is written to `<name>.cleaned`, synced, and
// renamed over the original, so after a crash every segment is either the old or
// the new file, never a mix. Segments are replaced oldest first: a tombstone is
// removed only after every older value of its key is already gone from disk, so a
// crash never brings a deleted key back. Leftover `.cleaned` files are removed by
// recovery.
//
// Blocking: runs on the I/O worker. The segments are sealed, so the shard neither
// writes them nor changes their in-memory indexes while the pass reads them.
#include "base/result.h"
#include "storage/file_ops.h"
#include "storage/segment.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronik::storage {

struct compaction_params {
    int64_t now_ms = 0;
    int64_t delete_retention_ms = 86'400'000; // tombstones older than this go
    size_t max_keys = 1u << 20;               // bound on the key map (≈48 MiB)
};

struct compaction_result {
    // replaced[i] is the new segment for original[i], or null if it was unchanged.
    std::vector<std::shared_ptr<segment>> original;
    std::vector<std::shared_ptr<segment>> replaced;
    int64_t records_removed = 0;
    uint64_t bytes_before = 0;
    uint64_t bytes_after = 0;
};

result<compaction_result> compact_segments(file_ops& ops, const std::string& dir,
                                           std::vector<std::shared_ptr<segment>> segments,
                                           const compaction_params& params);

// The suffix of a segment's replacement while it is written.
inline constexpr std::string_view cleaned_suffix = ".cleaned";

} // namespace chronik::storage
