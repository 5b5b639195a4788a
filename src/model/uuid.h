#pragma once
// A Kafka UUID (topic ids): 16 raw bytes on the wire. All zeroes is Kafka's ZERO_UUID.
#include <array>
#include <cstdint>
#include <string>

namespace chronik::model {

struct uuid {
    std::array<uint8_t, 16> bytes{};
    bool operator==(const uuid&) const = default;
    bool is_zero() const noexcept { return *this == uuid{}; }
    std::string to_string() const; // Kafka's base64url form, as tools print it
};

} // namespace chronik::model
