#pragma once
// Round-trip check used by the generated tests: for every version, a message with
// every field of that version set encodes, decodes to an equal value, and
// re-encodes to the same bytes; every truncation of the encoding fails cleanly.
#include "base/iobuf.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"

#include <gtest/gtest.h>

namespace chronik::protocol {

template<class M>
bytes encode_to_bytes(const M& m, int16_t v) {
    iobuf out;
    writer w(out);
    m.encode(w, v);
    return out.linearize();
}

template<class M>
void check_all_versions(int16_t lo, int16_t hi) {
    for (int16_t v = lo; v <= hi; ++v) {
        for (uint32_t seed : { 1u, 2u, 5u }) {
            M original;
            original.fill_sample(v, seed);
            auto encoded = encode_to_bytes(original, v);
            reader r(byte_slice::copy_of(encoded));
            M decoded;
            auto ok = decoded.decode(r, v);
            ASSERT_TRUE(ok) << "version " << v << ": " << ok.error().message();
            EXPECT_EQ(r.remaining(), 0u) << "version " << v;
            EXPECT_TRUE(decoded == original) << "version " << v << " seed " << seed;
            EXPECT_EQ(encode_to_bytes(decoded, v), encoded) << "version " << v;
            if (seed == 1) {
                // Every strict prefix must fail to decode (or decode without reading
                // past it), never crash.
                for (size_t cut = 0; cut < encoded.size(); ++cut) {
                    reader tr(byte_slice::copy_of(std::span<const uint8_t>(encoded.data(), cut)));
                    M partial;
                    auto res = partial.decode(tr, v);
                    EXPECT_FALSE(res && tr.remaining() == 0 && partial == original)
                      << "version " << v << " decoded from a prefix of " << cut << " bytes";
                }
            }
        }
    }
}

} // namespace chronik::protocol
