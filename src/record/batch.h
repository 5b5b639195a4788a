#pragma once
// RecordBatch v2 (magic 2), the unit the broker stores and serves.
//
//   base_offset int64 | batch_length int32 | partition_leader_epoch int32 | magic int8
//   | crc uint32 (CRC32C of everything from attributes to the end)
//   | attributes int16 | last_offset_delta int32 | base_timestamp int64 | max_timestamp int64
//   | producer_id int64 | producer_epoch int16 | base_sequence int32 | record_count int32
//   | records...
//
// base_offset and partition_leader_epoch are outside the CRC, so the broker assigns
// them by patching the bytes in place without recomputing it.
#include "base/bytes.h"
#include "base/result.h"
#include "record/compression.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace chronik::record {

inline constexpr size_t batch_header_size = 61;
inline constexpr size_t log_overhead = 12; // base_offset + batch_length
inline constexpr size_t magic_offset = 16;

struct header_view {
    std::string_view key;
    std::optional<std::string_view> value;
};

// One record of a batch. Spans point into the batch (or its decompressed copy).
struct record_view {
    int8_t attributes = 0;
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<std::span<const uint8_t>> key;
    std::optional<std::span<const uint8_t>> value;
    std::vector<header_view> headers;
};

// Offsets and timestamps are a header field plus a record's delta, both off the wire:
// the sum wraps (two's complement) rather than overflowing, so a hostile batch yields
// a wrong value that validation rejects, never undefined behaviour.
constexpr int64_t wrapping_add(int64_t a, int64_t b) noexcept {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

struct batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0; // bytes after this field
    int32_t partition_leader_epoch = -1;
    int8_t magic = 2;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = 0;
    int64_t max_timestamp = 0;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t record_count = 0;

    record::codec compression() const noexcept { return record::codec(attributes & 0x7); }
    bool log_append_time() const noexcept { return (attributes & 0x8) != 0; }
    bool transactional() const noexcept { return (attributes & 0x10) != 0; }
    bool control() const noexcept { return (attributes & 0x20) != 0; }
    size_t size_bytes() const noexcept { return log_overhead + size_t(batch_length); }
    int64_t last_offset() const noexcept { return wrapping_add(base_offset, last_offset_delta); }
    int64_t offset_of(const record_view& r) const noexcept {
        return wrapping_add(base_offset, r.offset_delta);
    }
    // The record's timestamp as a reader sees it: the batch's max_timestamp under
    // LogAppendTime, else base_timestamp + the record's delta.
    int64_t timestamp_of(const record_view& r) const noexcept {
        return log_append_time() ? max_timestamp : wrapping_add(base_timestamp, r.timestamp_delta);
    }
};

// Reads the fixed header; fails if fewer than 61 bytes or the magic is not 2.
result<batch_header> read_header(std::span<const uint8_t> in) noexcept;
void write_header(const batch_header& h, uint8_t* out) noexcept; // 61 bytes, crc as given

// Checks one v2 batch (exactly `in`, which must hold the whole batch): sizes, magic,
// CRC, codec, counts. For uncompressed batches every record is parsed too.
result<batch_header> validate_batch(std::span<const uint8_t> in) noexcept;

// Splits a produce payload into batches and validates each. Calls f(header, slice)
// per batch; stops at the first invalid batch with its error. Trailing bytes that
// are not a whole batch are an error (Kafka: CORRUPT_MESSAGE).
result<void> for_each_batch(const byte_slice& blob,
                            const std::function<result<void>(const batch_header&, const byte_slice&)>& f);

// Bounds on decoding a compressed batch: all its records together may decompress to
// at most `total` bytes, and each one to at most `record`. Decoding streams, so
// memory is bounded by `record` (plus the codec's state), not by `total`.
struct decode_limits {
    size_t total;
    size_t record;
    // One bound for both (callers decoding what the broker already accepted).
    decode_limits(size_t max_bytes) : total(max_bytes), record(max_bytes) {} // NOLINT: implicit on purpose
    decode_limits(size_t total_bytes, size_t record_bytes) : total(total_bytes), record(record_bytes) {}
};

// Calls f for each record, in order, decompressing as it goes (within `limits`);
// fails if the records do not parse or their count differs from the header. The
// spans in a record_view are valid only during its call.
result<void> for_each_record(std::span<const uint8_t> batch, const decode_limits& limits,
                             const std::function<void(const record_view&)>& f);

// In-place offset assignment: base offset and leader epoch (outside the CRC).
void set_base_offset_and_epoch(uint8_t* batch, int64_t base_offset, int32_t leader_epoch) noexcept;
// For message.timestamp.type=LogAppendTime: sets the timestamp type bit and
// max_timestamp, and recomputes the CRC.
void set_log_append_time(std::span<uint8_t> batch, int64_t now_ms) noexcept;

// The largest CreateTime timestamp among an uncompressed, validated batch's records
// (base_timestamp + the largest delta), or -1 (Kafka's NO_TIMESTAMP) for none. The
// header's own max_timestamp is the producer's claim and is not trusted (sarama
// sends -1): the broker derives it, as Kafka does.
int64_t max_record_timestamp(std::span<const uint8_t> batch) noexcept;
// Writes `ts` as the batch's max_timestamp (recomputing the CRC) if it differs.
void set_max_timestamp(std::span<uint8_t> batch, int64_t ts) noexcept;

// Builds a v2 batch.
struct record_input {
    std::optional<bytes> key;
    std::optional<bytes> value;
    std::vector<std::pair<std::string, std::optional<bytes>>> headers;
    int64_t timestamp = 0;
    int32_t offset_delta = -1; // -1: the record's index
};

struct batch_options {
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = -1;
    record::codec compression = record::codec::none;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    bool transactional = false;
    bool control = false;
    bool log_append_time = false;
    // Kept from an original batch whose last records were removed (compaction), so
    // its producer's last sequence stays what it was; -1: the largest record delta.
    int32_t last_offset_delta = -1;
};

result<bytes> build_batch(const std::vector<record_input>& records, const batch_options& opts);

} // namespace chronik::record
