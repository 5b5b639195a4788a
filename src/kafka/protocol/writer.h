#pragma once
// Big-endian writer appending to an iobuf. bytes/records values at least
// iobuf::link_threshold long are linked into the output, not copied.
#include "base/endian.h"
#include "base/iobuf.h"
#include "base/varint.h"
#include "kafka/protocol/types.h"

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chronik::protocol {

class writer {
public:
    explicit writer(iobuf& out) noexcept : _out(out) {}

    void i8(int8_t v) { _out.append_byte(uint8_t(v)); }
    void boolean(bool v) { i8(v ? 1 : 0); }
    void i16(int16_t v) { fixed(v); }
    void u16(uint16_t v) { fixed(v); }
    void i32(int32_t v) { fixed(v); }
    void u32(uint32_t v) { fixed(v); }
    void i64(int64_t v) { fixed(v); }
    void f64(double v) { fixed(std::bit_cast<uint64_t>(v)); }
    void uuid(const protocol::uuid& u) { _out.append(u.bytes.data(), u.bytes.size()); }
    void uvarint(uint32_t v) {
        uint8_t b[varint::max_len32];
        _out.append(b, varint::encode_unsigned(v, b));
    }

    void string(std::string_view s, bool flexible) {
        length(int64_t(s.size()), flexible, false);
        _out.append(s.data(), s.size());
    }
    void nullable_string(const std::optional<std::string>& s, bool flexible) {
        if (!s) {
            length(-1, flexible, false);
        } else {
            string(*s, flexible);
        }
    }
    void bytes(const byte_slice& b, bool flexible) {
        length(int64_t(b.size()), flexible, true);
        _out.append(b);
    }
    void nullable_bytes(const std::optional<byte_slice>& b, bool flexible) {
        if (!b) {
            length(-1, flexible, true);
        } else {
            bytes(*b, flexible);
        }
    }
    void array_length(int32_t n, bool flexible) {
        if (flexible) {
            uvarint(uint32_t(n + 1));
        } else {
            i32(n);
        }
    }
    void raw(const byte_slice& b) { _out.append(b); }
    void append(const iobuf& other) { _out.append(other); }
    iobuf& buffer() noexcept { return _out; }

private:
    template<class T>
    void fixed(T v) {
        auto u = chronik::byteswap(std::make_unsigned_t<T>(v));
        _out.append(&u, sizeof(u));
    }
    void length(int64_t n, bool flexible, bool is_bytes) {
        if (flexible) {
            uvarint(uint32_t(n + 1));
        } else if (is_bytes) {
            i32(int32_t(n));
        } else {
            i16(int16_t(n));
        }
    }

    iobuf& _out;
};

} // namespace chronik::protocol
