#pragma once
// `<base>.index`: what a recovery scan of a sealed segment would learn, stored once
// the segment is sealed and synced, so a restart reads one small file instead of
// every batch header of the segment. It holds the sparse offset and time indexes,
// the segment's end offset and largest timestamp, and the last batches of each
// idempotent producer in the segment (replaying those summaries in segment order
// gives the same producer state as replaying every batch, since only the last five
// per producer are kept).
//
// The file names the segment size it describes and ends with a CRC; a missing,
// damaged or stale file (the segment was compacted, cut or is still growing) is
// ignored and the segment is scanned as before, then summarised again. Written to
// a temporary name, synced, and renamed, so a crash leaves the old file or the new.
#include "base/bytes.h"
#include "base/result.h"
#include "storage/file_ops.h"
#include "storage/producer_state.h"
#include "storage/segment.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chronik::storage {

struct segment_summary {
    struct producer_entry {
        int64_t producer_id = -1;
        int16_t epoch = -1;
        producer_batch batch{};
    };

    uint64_t segment_size = 0;
    int64_t base_offset = 0;
    int64_t next_offset = 0;
    int64_t max_timestamp = -1;
    int64_t max_timestamp_offset = -1;
    uint64_t bytes_since_index = 0;
    std::vector<index_entry> offsets;
    std::vector<time_entry> times;
    std::vector<producer_entry> producers; // in log order

    bytes encode() const;
    static std::optional<segment_summary> decode(std::span<const uint8_t> in);
};

std::string index_path_for(const std::string& segment_path);

// Blocking (I/O worker): scans a sealed segment's batch headers into a summary.
result<segment_summary> summarize_segment(file_ops& ops, const std::string& path, int64_t base_offset);
// Blocking: writes the summary next to its segment.
result<void> store_summary(file_ops& ops, const std::string& segment_path, const segment_summary& s);
// Blocking: the stored summary if it is whole and describes a file of
// `segment_size` bytes, else nullopt.
std::optional<segment_summary> load_summary(file_ops& ops, const std::string& segment_path,
                                            uint64_t segment_size);

} // namespace chronik::storage
