#pragma once
// Small value types used by the generated messages.
#include "base/bytes.h"
#include "model/uuid.h"

#include <array>
#include <cstdint>
#include <string>

namespace chronik::protocol {

template<class... T>
struct type_list {};

// Kafka's UUID (topic ids) is model vocabulary; the codecs name it here.
using model::uuid;

inline uuid sample_uuid(uint32_t seed) {
    uuid u;
    for (size_t i = 0; i < u.bytes.size(); ++i) {
        u.bytes[i] = uint8_t(seed * 13u + i * 7u + 1u);
    }
    return u;
}

// A tagged field we do not know (a newer schema's), kept so it can be re-encoded.
struct unknown_tagged_field {
    uint32_t tag = 0;
    byte_slice data;
    bool operator==(const unknown_tagged_field&) const = default;
};

inline byte_slice sample_bytes(uint32_t seed) {
    bytes b(1 + seed % 17u);
    for (size_t i = 0; i < b.size(); ++i) {
        b[i] = uint8_t(seed + i);
    }
    return byte_slice::from(std::move(b));
}

} // namespace chronik::protocol
