#pragma once
// A value of type T that cannot be silently swapped with another strong type over
// the same T (an offset is not a term is not a node id).
#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>

namespace chronik {

template<class T, class Tag>
class strong_type {
public:
    using value_type = T;
    constexpr strong_type() = default;
    constexpr explicit strong_type(T v) noexcept : _v(v) {}
    constexpr T operator()() const noexcept { return _v; }
    constexpr T value() const noexcept { return _v; }
    constexpr auto operator<=>(const strong_type&) const = default;
    constexpr strong_type& operator++() noexcept {
        ++_v;
        return *this;
    }
    constexpr strong_type operator+(T d) const noexcept { return strong_type(_v + d); }
    constexpr strong_type operator-(T d) const noexcept { return strong_type(_v - d); }
    constexpr strong_type& operator+=(T d) noexcept {
        _v += d;
        return *this;
    }
    static constexpr strong_type min() { return strong_type(std::numeric_limits<T>::min()); }
    static constexpr strong_type max() { return strong_type(std::numeric_limits<T>::max()); }
    friend std::ostream& operator<<(std::ostream& o, const strong_type& s) { return o << s._v; }

private:
    T _v{};
};

} // namespace chronik

template<class T, class Tag>
struct std::hash<chronik::strong_type<T, Tag>> {
    size_t operator()(const chronik::strong_type<T, Tag>& s) const noexcept { return std::hash<T>{}(s()); }
};
