#pragma once
// Kafka's variable-length integers: unsigned LEB128 (uvarint, used for compact
// lengths) and zig-zag signed varint/varlong (used inside records).
// Decoders are bounds-checked and reject over-long encodings.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace chronik::varint {

inline constexpr size_t max_len32 = 5;
inline constexpr size_t max_len64 = 10;

struct decoded32 {
    uint32_t value;
    size_t len;
};
struct decoded64 {
    uint64_t value;
    size_t len;
};

inline std::optional<decoded32> decode_unsigned32(std::span<const uint8_t> in) noexcept {
    uint32_t v = 0;
    for (size_t i = 0; i < max_len32 && i < in.size(); ++i) {
        uint8_t b = in[i];
        if (i == 4 && (b & 0xf0) != 0) {
            return std::nullopt; // more than 32 bits
        }
        v |= uint32_t(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return decoded32{ v, i + 1 };
        }
    }
    return std::nullopt;
}

inline std::optional<decoded64> decode_unsigned64(std::span<const uint8_t> in) noexcept {
    uint64_t v = 0;
    for (size_t i = 0; i < max_len64 && i < in.size(); ++i) {
        uint8_t b = in[i];
        if (i == 9 && (b & 0xfe) != 0) {
            return std::nullopt; // more than 64 bits
        }
        v |= uint64_t(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return decoded64{ v, i + 1 };
        }
    }
    return std::nullopt;
}

constexpr uint32_t zigzag32(int32_t v) noexcept {
    return (uint32_t(v) << 1) ^ uint32_t(v >> 31);
}
constexpr uint64_t zigzag64(int64_t v) noexcept {
    return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
constexpr int32_t unzigzag32(uint32_t v) noexcept {
    return int32_t(v >> 1) ^ -int32_t(v & 1);
}
constexpr int64_t unzigzag64(uint64_t v) noexcept {
    return int64_t(v >> 1) ^ -int64_t(v & 1);
}

// Writes v to out (which must have room for max_len64 bytes); returns bytes written.
inline size_t encode_unsigned(uint64_t v, uint8_t* out) noexcept {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = uint8_t(v) | 0x80;
        v >>= 7;
    }
    out[n++] = uint8_t(v);
    return n;
}

constexpr size_t size_unsigned(uint64_t v) noexcept {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

inline size_t encode_signed32(int32_t v, uint8_t* out) noexcept {
    return encode_unsigned(zigzag32(v), out);
}
inline size_t encode_signed64(int64_t v, uint8_t* out) noexcept {
    return encode_unsigned(zigzag64(v), out);
}
constexpr size_t size_signed64(int64_t v) noexcept {
    return size_unsigned(zigzag64(v));
}

} // namespace chronik::varint
