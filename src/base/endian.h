#pragma once
// Big-endian (network order) conversion for the wire formats.
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace chronik {

template<class T>
constexpr T byteswap(T v) noexcept {
    static_assert(std::is_integral_v<T>);
    using U = std::make_unsigned_t<T>;
    if constexpr (sizeof(T) == 1) {
        return v;
    } else if constexpr (sizeof(T) == 2) {
        return T(__builtin_bswap16(U(v)));
    } else if constexpr (sizeof(T) == 4) {
        return T(__builtin_bswap32(U(v)));
    } else {
        return T(__builtin_bswap64(U(v)));
    }
}

template<class T>
inline T load_be(const uint8_t* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return byteswap(v);
}

template<class T>
inline void store_be(uint8_t* p, T v) noexcept {
    v = byteswap(v);
    std::memcpy(p, &v, sizeof(T));
}

} // namespace chronik
