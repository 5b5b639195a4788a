#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: values (nanoseconds)
// fall in buckets whose width is 1/64 of their power of two, so every percentile is
// within about 1.6% of the true value, in a fixed 4,096-slot array with no
// allocation per sample. Histograms of several threads merge by adding slots.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace chronik::bench {

class histogram {
public:
    static constexpr int sub_bits = 6; // 64 sub-buckets per power of two

    void record(uint64_t v) noexcept {
        ++_slots[index(v)];
        ++_count;
        _max = std::max(_max, v);
        _sum += v;
    }
    void merge(const histogram& o) noexcept {
        for (size_t i = 0; i < _slots.size(); ++i) {
            _slots[i] += o._slots[i];
        }
        _count += o._count;
        _max = std::max(_max, o._max);
        _sum += o._sum;
    }
    uint64_t count() const noexcept { return _count; }
    uint64_t max() const noexcept { return _max; }
    double mean() const noexcept { return _count == 0 ? 0 : double(_sum) / double(_count); }

    // The smallest value v such that at least q of the samples are <= v (the upper
    // edge of its bucket, capped at the largest sample).
    uint64_t percentile(double q) const noexcept {
        if (_count == 0) {
            return 0;
        }
        auto want = uint64_t(q * double(_count) + 0.5);
        want = std::clamp<uint64_t>(want, 1, _count);
        uint64_t seen = 0;
        for (size_t i = 0; i < _slots.size(); ++i) {
            seen += _slots[i];
            if (seen >= want) {
                return std::min(upper(i), _max);
            }
        }
        return _max;
    }

private:
    static constexpr size_t slots = 64 * 64;

    static size_t index(uint64_t v) noexcept {
        if (v < (1u << sub_bits)) {
            return size_t(v);
        }
        int exp = std::bit_width(v) - 1; // >= sub_bits
        uint64_t sub = (v >> (exp - sub_bits)) & ((1u << sub_bits) - 1);
        size_t i = size_t(exp - sub_bits + 1) * (1u << sub_bits) + size_t(sub);
        return std::min(i, slots - 1);
    }
    static uint64_t upper(size_t i) noexcept {
        if (i < (1u << sub_bits)) {
            return i;
        }
        size_t exp = i / (1u << sub_bits) + sub_bits - 1;
        uint64_t sub = i % (1u << sub_bits);
        uint64_t base = (uint64_t(1) << exp) | (sub << (exp - sub_bits));
        return base + (uint64_t(1) << (exp - sub_bits)) - 1;
    }

    std::array<uint64_t, slots> _slots{};
    uint64_t _count = 0;
    uint64_t _max = 0;
    uint64_t _sum = 0;
};

} // namespace chronik::bench
