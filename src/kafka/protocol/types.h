#pragma once
// Small value types used by the generated messages.
#include "base/bytes.h"

#include <array>
#include <cstdint>
#include <string>

namespace chronik::protocol {

template<class... T>
struct type_list {};

// A Kafka UUID (topic ids): 16 raw bytes on the wire. All zeroes is Kafka's ZERO_UUID.
struct uuid {
    std::array<uint8_t, 16> bytes{};
    bool operator==(const uuid&) const = default;
    bool is_zero() const noexcept { return *this == uuid{}; }
    static uuid sample(uint32_t seed) {
        uuid u;
        for (size_t i = 0; i < u.bytes.size(); ++i) {
            u.bytes[i] = uint8_t(seed * 13u + i * 7u + 1u);
        }
        return u;
    }
    std::string to_string() const; // Kafka's base64url form, as tools print it
};

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
