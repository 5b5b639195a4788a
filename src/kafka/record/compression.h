#pragma once
// The four codecs of Kafka's record formats, both directions, through the system
// libraries. Decompression is bounded by the caller's limit, so a small payload that
// inflates without end fails with errc::too_large instead of exhausting memory.
#include "base/bytes.h"
#include "base/result.h"

#include <cstdint>
#include <span>

namespace chronik::record {

enum class codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

result<bytes> compress(codec c, std::span<const uint8_t> in);
result<bytes> decompress(codec c, std::span<const uint8_t> in, size_t max_out);

} // namespace chronik::record
