#pragma once
// The four codecs of Kafka's record formats, both directions, through the system
// libraries. Decompression is bounded by the caller's limit, so a small payload that
// inflates without end fails with errc::too_large instead of exhausting memory.
#include "base/bytes.h"
#include "base/result.h"

#include <cstdint>
#include <memory>
#include <span>

namespace chronik::record {

enum class codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

result<bytes> compress(codec c, std::span<const uint8_t> in);
// The whole decompressed payload, failing with errc::too_large beyond max_out.
result<bytes> decompress(codec c, std::span<const uint8_t> in, size_t max_out);

// Decompresses a piece at a time into the caller's buffer, so what it costs is that
// buffer plus the codec's own bounded state: gzip's 32 KiB window, an lz4 block
// (at most 4 MiB), a zstd window (at most 8 MiB; frames that need more are
// refused), one snappy block (at most max_block; larger ones fail too_large).
class decompressor {
public:
    virtual ~decompressor() = default;
    // Fills up to out.size() bytes and returns how many; 0 only at the end.
    virtual result<size_t> read(std::span<uint8_t> out) = 0;
};
result<std::unique_ptr<decompressor>> make_decompressor(codec c, std::span<const uint8_t> in,
                                                        size_t max_block);

} // namespace chronik::record
