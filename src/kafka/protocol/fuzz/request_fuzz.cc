// libFuzzer target: any bytes as a request frame (header + body). Decoding must
// never crash, over-read or allocate beyond the input; whatever decodes must
// re-encode into bytes that decode to the same value (decode_any aborts otherwise).
#include "fuzz/decode_any.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto frame = chronik::byte_slice::copy_of(std::span<const uint8_t>(data, size));
    (void)chronik::protocol::decode_any_request(frame);
    return 0;
}
