#pragma once
// Bounds-checked big-endian reader over one request frame. Every read checks the
// remaining bytes first; lengths read from the wire are checked against what is
// left before anything is allocated, so no allocation is ever sized by a peer's
// claim. bytes/records fields come back as zero-copy slices of the frame.
#include "base/bytes.h"
#include "base/endian.h"
#include "base/result.h"
#include "base/varint.h"
#include "kafka/protocol/errc.h"
#include "kafka/protocol/types.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace chronik::protocol {

class reader {
public:
    reader() = default;
    explicit reader(byte_slice buf) noexcept : _buf(std::move(buf)) {}

    size_t remaining() const noexcept { return _buf.size() - _pos; }
    size_t position() const noexcept { return _pos; }

    result<int8_t> i8() noexcept { return fixed<int8_t>(); }
    result<int16_t> i16() noexcept { return fixed<int16_t>(); }
    result<uint16_t> u16() noexcept { return fixed<uint16_t>(); }
    result<int32_t> i32() noexcept { return fixed<int32_t>(); }
    result<uint32_t> u32() noexcept { return fixed<uint32_t>(); }
    result<int64_t> i64() noexcept { return fixed<int64_t>(); }
    result<double> f64() noexcept {
        auto r = fixed<uint64_t>();
        if (!r) {
            return r.error();
        }
        return std::bit_cast<double>(r.value());
    }
    result<bool> boolean() noexcept {
        auto r = fixed<int8_t>();
        if (!r) {
            return r.error();
        }
        return r.value() != 0;
    }
    result<protocol::uuid> uuid() noexcept {
        if (remaining() < 16) {
            return make_error(errc::truncated);
        }
        protocol::uuid u;
        std::memcpy(u.bytes.data(), _buf.data() + _pos, 16);
        _pos += 16;
        return u;
    }
    result<uint32_t> uvarint() noexcept {
        auto d = varint::decode_unsigned32(std::span<const uint8_t>(_buf.data() + _pos, remaining()));
        if (!d) {
            return make_error(errc::bad_varint);
        }
        _pos += d->len;
        return d->value;
    }

    // A string; `nullable_now` says whether this version allows null.
    result<std::optional<std::string>> nullable_string(bool flexible, bool nullable_now) {
        auto len = length(flexible, /*is_bytes=*/false);
        if (!len) {
            return len.error();
        }
        if (len.value() < 0) {
            if (!nullable_now) {
                return make_error(errc::null_not_allowed);
            }
            return std::optional<std::string>();
        }
        auto s = take(size_t(len.value()));
        return std::optional<std::string>(std::string(reinterpret_cast<const char*>(s.data()), s.size()));
    }
    result<std::string> string(bool flexible) {
        auto s = nullable_string(flexible, false);
        if (!s) {
            return s.error();
        }
        return std::move(*s.value());
    }
    result<std::optional<byte_slice>> nullable_bytes(bool flexible, bool nullable_now) {
        auto len = length(flexible, /*is_bytes=*/true);
        if (!len) {
            return len.error();
        }
        if (len.value() < 0) {
            if (!nullable_now) {
                return make_error(errc::null_not_allowed);
            }
            return std::optional<byte_slice>();
        }
        return std::optional<byte_slice>(_buf.sub(take_pos(size_t(len.value())), size_t(len.value())));
    }
    result<byte_slice> bytes(bool flexible) {
        auto b = nullable_bytes(flexible, false);
        if (!b) {
            return b.error();
        }
        return std::move(*b.value());
    }
    // An array's element count (-1 for null). Every element takes at least one
    // byte on the wire, so a count beyond the remaining bytes is refused here,
    // before the caller reserves room for it.
    result<int32_t> array_length(bool flexible) noexcept {
        int32_t n;
        if (flexible) {
            auto u = uvarint();
            if (!u) {
                return u.error();
            }
            n = int32_t(u.value()) - 1;
            if (u.value() > uint32_t(INT32_MAX)) {
                return make_error(errc::bad_length);
            }
        } else {
            auto r = i32();
            if (!r) {
                return r.error();
            }
            n = r.value();
        }
        if (n < -1 || (n > 0 && size_t(n) > remaining())) {
            return make_error(errc::bad_length);
        }
        return n;
    }
    // The next n bytes, as a slice of the frame.
    result<byte_slice> raw(size_t n) noexcept {
        if (n > remaining()) {
            return make_error(errc::truncated);
        }
        return _buf.sub(take_pos(n), n);
    }
    // A reader over the next n bytes; this reader moves past them.
    result<reader> sub(size_t n) noexcept {
        if (n > remaining()) {
            return make_error(errc::truncated);
        }
        return reader(_buf.sub(take_pos(n), n));
    }
    result<void> skip(size_t n) noexcept {
        if (n > remaining()) {
            return make_error(errc::truncated);
        }
        _pos += n;
        return outcome::success();
    }

private:
    template<class T>
    result<T> fixed() noexcept {
        if (remaining() < sizeof(T)) {
            return make_error(errc::truncated);
        }
        std::make_unsigned_t<T> u;
        std::memcpy(&u, _buf.data() + _pos, sizeof(T));
        _pos += sizeof(T);
        if constexpr (sizeof(T) > 1) {
            u = chronik::byteswap(u);
        }
        return T(u);
    }
    // A string/bytes length: -1 means null; otherwise checked against what is left.
    result<int32_t> length(bool flexible, bool is_bytes) noexcept {
        int64_t n;
        if (flexible) {
            auto u = uvarint();
            if (!u) {
                return u.error();
            }
            n = int64_t(u.value()) - 1;
        } else if (is_bytes) {
            auto r = i32();
            if (!r) {
                return r.error();
            }
            n = r.value();
        } else {
            auto r = i16();
            if (!r) {
                return r.error();
            }
            n = r.value();
        }
        if (n < -1) {
            return make_error(errc::bad_length);
        }
        if (n > int64_t(remaining())) {
            return make_error(errc::truncated);
        }
        return int32_t(n);
    }
    std::span<const uint8_t> take(size_t n) noexcept {
        auto s = std::span<const uint8_t>(_buf.data() + _pos, n);
        _pos += n;
        return s;
    }
    size_t take_pos(size_t n) noexcept {
        size_t p = _pos;
        _pos += n;
        return p;
    }

    byte_slice _buf;
    size_t _pos = 0;
};

} // namespace chronik::protocol
