#pragma once
// Big-endian fields in a byte buffer, for the small on-disk records Chronik writes
// itself (segment summaries, __consumer_offsets keys and values). The reader never
// reads past its span: every get returns nullopt once the bytes run out.
#include "base/bytes.h"
#include "base/endian.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chronik {

class be_writer {
public:
    template<class T>
    void put(T v) {
        size_t at = _b.size();
        _b.resize(at + sizeof(T));
        store_be<T>(_b.data() + at, v);
    }
    // An int16 length, then the bytes.
    void str(std::string_view s) {
        put<int16_t>(int16_t(s.size()));
        _b.insert(_b.end(), s.begin(), s.end());
    }
    void nullable_str(const std::optional<std::string>& s) {
        if (!s) {
            put<int16_t>(-1);
        } else {
            str(*s);
        }
    }
    // An int32 length, then the bytes.
    void blob(const bytes& v) {
        put<int32_t>(int32_t(v.size()));
        _b.insert(_b.end(), v.begin(), v.end());
    }
    const bytes& data() const noexcept { return _b; }
    bytes take() { return std::move(_b); }

private:
    bytes _b;
};

class be_reader {
public:
    explicit be_reader(std::span<const uint8_t> s) : _s(s) {}

    template<class T>
    std::optional<T> get() {
        if (_s.size() - _pos < sizeof(T)) {
            return std::nullopt;
        }
        T v = load_be<T>(_s.data() + _pos);
        _pos += sizeof(T);
        return v;
    }
    std::optional<std::string> str() {
        auto n = get<int16_t>();
        if (!n || *n < 0 || _s.size() - _pos < size_t(*n)) {
            return std::nullopt;
        }
        std::string out(reinterpret_cast<const char*>(_s.data() + _pos), size_t(*n));
        _pos += size_t(*n);
        return out;
    }
    // nullopt: malformed; a present optional holding nullopt: a null string.
    std::optional<std::optional<std::string>> nullable_str() {
        auto n = get<int16_t>();
        if (!n || *n < -1) {
            return std::nullopt;
        }
        if (*n == -1) {
            return std::optional<std::string>();
        }
        _pos -= 2;
        auto v = str();
        if (!v) {
            return std::nullopt;
        }
        return std::optional<std::string>(std::move(*v));
    }
    std::optional<bytes> blob() {
        auto n = get<int32_t>();
        if (!n || *n < 0 || _s.size() - _pos < size_t(*n)) {
            return std::nullopt;
        }
        bytes out(_s.begin() + long(_pos), _s.begin() + long(_pos) + *n);
        _pos += size_t(*n);
        return out;
    }
    size_t position() const noexcept { return _pos; }
    size_t remaining() const noexcept { return _s.size() - _pos; }

private:
    std::span<const uint8_t> _s;
    size_t _pos = 0;
};

} // namespace chronik
