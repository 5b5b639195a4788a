#pragma once
// The legacy message sets (magic 0 and 1) that old clients produce and consume:
//
//   offset int64 | message_size int32 | crc uint32 (CRC32 IEEE over magic..end)
//   | magic int8 | attributes int8 | [timestamp int64, magic 1] | key bytes | value bytes
//
// A compressed wrapper message's value is an inner message set; with magic 1 the
// inner offsets are relative and the wrapper carries the last absolute one (KIP-31).
#include "base/bytes.h"
#include "base/result.h"

#include <cstdint>
#include <span>

namespace chronik::record {

// The magic byte of the first entry of a records blob (2 for v2 batches), or -1.
int8_t detect_magic(std::span<const uint8_t> blob) noexcept;

// Produce from an old client: the message set becomes one v2 batch (offsets from 0,
// keys, values and timestamps kept; magic 0 has no timestamp: -1), compressed with
// the codec the client used. Fails on any malformed or bad-CRC message.
result<bytes> convert_legacy_to_v2(std::span<const uint8_t> message_set, size_t max_decompressed);

// Fetch by an old consumer: v2 batches become a message set of `magic` (0 or 1)
// with absolute offsets, uncompressed (down-converted data is sent plain; headers,
// which the old formats cannot carry, are dropped, as Kafka does). Control batches
// are skipped. A trailing partial batch is ignored, as consumers expect.
result<bytes> convert_v2_to_legacy(std::span<const uint8_t> batches, int8_t magic, size_t max_decompressed);

} // namespace chronik::record
