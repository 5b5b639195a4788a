#include "record/crc.h"

#include <array>
#include <cstring>

#include <nmmintrin.h>
#include <zlib.h>

namespace chronik::record {

namespace {

constexpr uint32_t poly = 0x82f63b78; // CRC32C, reflected

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
constexpr auto make_tables() {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t c = b;
        for (int i = 0; i < 8; ++i) {
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        }
        t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b) {
        for (int k = 1; k < 8; ++k) {
            t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
        }
    }
    return t;
}
constexpr auto tables = make_tables();

bool detect_hardware() noexcept {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
const bool has_hardware = detect_hardware();

} // namespace

uint32_t crc32c_table(std::span<const uint8_t> data, uint32_t crc) noexcept {
    crc = ~crc;
    const uint8_t* p = data.data();
    size_t n = data.size();
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        w ^= crc;
        crc = tables[7][w & 0xff] ^ tables[6][(w >> 8) & 0xff] ^ tables[5][(w >> 16) & 0xff] ^
              tables[4][(w >> 24) & 0xff] ^ tables[3][(w >> 32) & 0xff] ^ tables[2][(w >> 40) & 0xff] ^
              tables[1][(w >> 48) & 0xff] ^ tables[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        crc = (crc >> 8) ^ tables[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_hardware(std::span<const uint8_t> data,
                                                           uint32_t crc) noexcept {
    uint64_t c = ~crc;
    const uint8_t* p = data.data();
    size_t n = data.size();
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = uint32_t(c);
    while (n-- > 0) {
        c32 = _mm_crc32_u8(c32, *p++);
    }
    return ~c32;
}

bool crc32c_hardware_available() noexcept {
    return has_hardware;
}

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) noexcept {
    return has_hardware ? crc32c_hardware(data, crc) : crc32c_table(data, crc);
}

uint32_t crc32_ieee(std::span<const uint8_t> data) noexcept {
    return uint32_t(::crc32(0, data.data(), uInt(data.size())));
}

} // namespace chronik::record
