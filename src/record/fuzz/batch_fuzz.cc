// libFuzzer target: arbitrary bytes as a produce payload (v2 batches or a legacy
// message set) and as compressed data for each codec. Nothing may crash, over-read
// or allocate past the bound; whatever validates must iterate cleanly.
#include "record/batch.h"
#include "record/compression.h"
#include "record/legacy.h"

#include <cstddef>
#include <cstdint>

using namespace chronik;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr size_t limit = 1 << 20;
    auto blob = byte_slice::copy_of(std::span<const uint8_t>(data, size));
    auto ok =
      record::for_each_batch(blob, [&](const record::batch_header&, const byte_slice& b) -> result<void> {
          size_t n = 0;
          auto r = record::for_each_record(b.span(), limit, [&](const record::record_view&) { ++n; });
          (void)r;
          return outcome::success();
      });
    (void)ok;
    (void)record::convert_legacy_to_v2(blob.span(), limit);
    (void)record::convert_v2_to_legacy(blob.span(), 1, limit);
    if (size > 0) {
        auto c = record::codec(1 + data[0] % 4);
        (void)record::decompress(c, blob.span().subspan(1), 64 * 1024);
    }
    return 0;
}
