#include "record/batch.h"

#include "base/endian.h"
#include "base/varint.h"
#include "record/crc.h"
#include "record/errc.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace chronik::record {

namespace {

std::error_code corrupt() {
    return make_error_code(errc::corrupt_message);
}
std::error_code invalid() {
    return make_error_code(errc::invalid_record);
}

constexpr size_t attributes_offset = 21;
constexpr size_t crc_offset = 17;
constexpr size_t max_timestamp_offset = 35;

// A cursor over a record's varint fields.
class cursor {
public:
    explicit cursor(std::span<const uint8_t> s) : _s(s) {}
    size_t remaining() const { return _s.size() - _pos; }
    bool varlong(int64_t& out) {
        auto d = varint::decode_unsigned64(_s.subspan(_pos));
        if (!d) {
            return false;
        }
        _pos += d->len;
        out = varint::unzigzag64(d->value);
        return true;
    }
    bool varint32(int32_t& out) {
        int64_t v = 0;
        if (!varlong(v) || v < std::numeric_limits<int32_t>::min() ||
            v > std::numeric_limits<int32_t>::max()) {
            return false;
        }
        out = int32_t(v);
        return true;
    }
    bool i8(int8_t& out) {
        if (remaining() < 1) {
            return false;
        }
        out = int8_t(_s[_pos++]);
        return true;
    }
    // A varint length then that many bytes; -1 is null.
    bool nullable_bytes(std::optional<std::span<const uint8_t>>& out) {
        int32_t len = 0;
        if (!varint32(len) || len < -1) {
            return false;
        }
        if (len == -1) {
            out.reset();
            return true;
        }
        if (size_t(len) > remaining()) {
            return false;
        }
        out = _s.subspan(_pos, size_t(len));
        _pos += size_t(len);
        return true;
    }
    bool skip(size_t n) {
        if (n > remaining()) {
            return false;
        }
        _pos += n;
        return true;
    }
    size_t pos() const { return _pos; }

private:
    std::span<const uint8_t> _s;
    size_t _pos = 0;
};

// Parses one record's fields (the bytes after its length prefix) into rv; headers
// are collected only when `headers` is set.
bool parse_record(std::span<const uint8_t> rec, record_view& rv, bool headers) {
    cursor rc(rec);
    rv.headers.clear();
    int32_t header_count = 0;
    if (!rc.i8(rv.attributes) || !rc.varlong(rv.timestamp_delta) || !rc.varint32(rv.offset_delta) ||
        !rc.nullable_bytes(rv.key) || !rc.nullable_bytes(rv.value) || !rc.varint32(header_count) ||
        header_count < 0 || size_t(header_count) > rc.remaining()) {
        return false;
    }
    for (int32_t h = 0; h < header_count; ++h) {
        std::optional<std::span<const uint8_t>> k, v;
        if (!rc.nullable_bytes(k) || !k || !rc.nullable_bytes(v)) {
            return false;
        }
        if (headers) {
            header_view hv{ { reinterpret_cast<const char*>(k->data()), k->size() }, std::nullopt };
            if (v) {
                hv.value = std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
            }
            rv.headers.push_back(hv);
        }
    }
    return rc.remaining() == 0; // a record longer than its fields is damaged
}

// Parses the records region; calls f (if given) for each.
result<void> parse_records(std::span<const uint8_t> region, int32_t count,
                           const std::function<void(const record_view&)>* f) {
    cursor c(region);
    record_view rv;
    for (int32_t i = 0; i < count; ++i) {
        int32_t length = 0;
        if (!c.varint32(length) || length < 0 || size_t(length) > c.remaining()) {
            return invalid();
        }
        auto rec = region.subspan(c.pos(), size_t(length));
        c.skip(size_t(length));
        if (!parse_record(rec, rv, f != nullptr)) {
            return invalid();
        }
        if (f != nullptr) {
            (*f)(rv);
        }
    }
    if (c.remaining() != 0) {
        return invalid(); // more bytes than record_count records
    }
    return outcome::success();
}

// Compressed records, decoded a piece at a time: the window holds the record being
// parsed and what the decoder gave after it, so memory is bounded by the largest
// record (at most limits.record), not by what the batch inflates to.
result<void> parse_compressed_records(codec c, std::span<const uint8_t> region, int32_t count,
                                      const decode_limits& limits,
                                      const std::function<void(const record_view&)>& f) {
    constexpr size_t chunk = 64 * 1024;
    CHRONIK_TRY(auto d, make_decompressor(c, region, std::min(limits.total, limits.record + chunk)));
    bytes window(chunk);
    size_t start = 0, end = 0, total = 0;
    bool eof = false;
    // Until the window holds `need` bytes from `start`, or the stream ends.
    auto fill = [&](size_t need) -> result<void> {
        while (end - start < need && !eof) {
            if (window.size() - start < need) {
                std::memmove(window.data(), window.data() + start, end - start);
                end -= start;
                start = 0;
                if (window.size() < need) {
                    window.resize((need + chunk - 1) / chunk * chunk);
                }
            }
            CHRONIK_TRY(auto n, d->read({ window.data() + end, window.size() - end }));
            eof = n == 0;
            end += n;
            total += n;
            if (total > limits.total) {
                return make_error_code(errc::too_large);
            }
        }
        return outcome::success();
    };
    record_view rv;
    for (int32_t i = 0; i < count; ++i) {
        CHRONIK_TRY(fill(varint::max_len32));
        cursor lc(std::span<const uint8_t>(window.data() + start, end - start));
        int32_t length = 0;
        if (!lc.varint32(length) || length < 0) {
            return invalid();
        }
        if (size_t(length) > limits.record) {
            return make_error_code(errc::too_large);
        }
        size_t whole = lc.pos() + size_t(length);
        CHRONIK_TRY(fill(whole));
        if (end - start < whole) {
            return invalid(); // the stream ended inside a record
        }
        if (!parse_record({ window.data() + start + lc.pos(), size_t(length) }, rv, true)) {
            return invalid();
        }
        f(rv);
        start += whole;
    }
    CHRONIK_TRY(fill(1));
    if (end > start) {
        return invalid(); // more bytes than record_count records
    }
    return outcome::success();
}

void put_varlong(bytes& out, int64_t v) {
    uint8_t buf[varint::max_len64];
    size_t n = varint::encode_signed64(v, buf);
    out.insert(out.end(), buf, buf + n);
}

void put_nullable(bytes& out, const std::optional<bytes>& b) {
    if (!b) {
        put_varlong(out, -1);
        return;
    }
    put_varlong(out, int64_t(b->size()));
    out.insert(out.end(), b->begin(), b->end());
}

} // namespace

result<batch_header> read_header(std::span<const uint8_t> in) noexcept {
    if (in.size() < batch_header_size) {
        return corrupt();
    }
    const uint8_t* p = in.data();
    batch_header h;
    h.base_offset = load_be<int64_t>(p);
    h.batch_length = load_be<int32_t>(p + 8);
    h.partition_leader_epoch = load_be<int32_t>(p + 12);
    h.magic = int8_t(p[16]);
    h.crc = load_be<uint32_t>(p + 17);
    h.attributes = load_be<int16_t>(p + 21);
    h.last_offset_delta = load_be<int32_t>(p + 23);
    h.base_timestamp = load_be<int64_t>(p + 27);
    h.max_timestamp = load_be<int64_t>(p + 35);
    h.producer_id = load_be<int64_t>(p + 43);
    h.producer_epoch = load_be<int16_t>(p + 51);
    h.base_sequence = load_be<int32_t>(p + 53);
    h.record_count = load_be<int32_t>(p + 57);
    if (h.magic != 2) {
        return make_error_code(errc::unsupported_magic);
    }
    return h;
}

void write_header(const batch_header& h, uint8_t* p) noexcept {
    store_be<int64_t>(p, h.base_offset);
    store_be<int32_t>(p + 8, h.batch_length);
    store_be<int32_t>(p + 12, h.partition_leader_epoch);
    p[16] = uint8_t(h.magic);
    store_be<uint32_t>(p + 17, h.crc);
    store_be<int16_t>(p + 21, h.attributes);
    store_be<int32_t>(p + 23, h.last_offset_delta);
    store_be<int64_t>(p + 27, h.base_timestamp);
    store_be<int64_t>(p + 35, h.max_timestamp);
    store_be<int64_t>(p + 43, h.producer_id);
    store_be<int16_t>(p + 51, h.producer_epoch);
    store_be<int32_t>(p + 53, h.base_sequence);
    store_be<int32_t>(p + 57, h.record_count);
}

result<batch_header> validate_batch(std::span<const uint8_t> in) noexcept {
    auto hr = read_header(in);
    if (!hr) {
        return hr.error();
    }
    const auto& h = hr.value();
    if (h.batch_length < int32_t(batch_header_size - log_overhead) || h.size_bytes() != in.size()) {
        return corrupt();
    }
    if (crc32c(in.subspan(attributes_offset)) != h.crc) {
        return corrupt();
    }
    if (int(h.compression()) > 4) {
        return make_error_code(errc::unsupported_compression);
    }
    if (h.record_count < 0 || h.last_offset_delta < 0 ||
        (h.record_count > 0 && h.last_offset_delta < h.record_count - 1)) {
        return invalid();
    }
    if (h.compression() == codec::none) {
        // Every record takes at least 7 bytes, so a count beyond that is refused first.
        auto region = in.subspan(batch_header_size);
        if (size_t(h.record_count) > region.size()) {
            return invalid();
        }
        auto parsed = parse_records(region, h.record_count, nullptr);
        if (!parsed) {
            return parsed.error();
        }
    }
    return h;
}

result<void> for_each_batch(const byte_slice& blob,
                            const std::function<result<void>(const batch_header&, const byte_slice&)>& f) {
    size_t pos = 0;
    if (blob.empty()) {
        return corrupt();
    }
    while (pos < blob.size()) {
        if (blob.size() - pos < batch_header_size) {
            return corrupt();
        }
        int32_t len = load_be<int32_t>(blob.data() + pos + 8);
        if (len < int32_t(batch_header_size - log_overhead) ||
            size_t(len) > blob.size() - pos - log_overhead) {
            return corrupt();
        }
        size_t total = log_overhead + size_t(len);
        auto slice = blob.sub(pos, total);
        auto h = validate_batch(slice.span());
        if (!h) {
            return h.error();
        }
        auto r = f(h.value(), slice);
        if (!r) {
            return r.error();
        }
        pos += total;
    }
    return outcome::success();
}

result<void> for_each_record(std::span<const uint8_t> batch, const decode_limits& limits,
                             const std::function<void(const record_view&)>& f) {
    auto hr = read_header(batch);
    if (!hr) {
        return hr.error();
    }
    const auto& h = hr.value();
    if (h.size_bytes() > batch.size() || h.record_count < 0) {
        return corrupt();
    }
    auto region = batch.subspan(batch_header_size, h.size_bytes() - batch_header_size);
    if (h.compression() == codec::none) {
        return parse_records(region, h.record_count, &f);
    }
    return parse_compressed_records(h.compression(), region, h.record_count, limits, f);
}

void set_base_offset_and_epoch(uint8_t* batch, int64_t base_offset, int32_t leader_epoch) noexcept {
    store_be<int64_t>(batch, base_offset);
    store_be<int32_t>(batch + 12, leader_epoch);
}

void set_log_append_time(std::span<uint8_t> batch, int64_t now_ms) noexcept {
    int16_t attrs = load_be<int16_t>(batch.data() + attributes_offset);
    store_be<int16_t>(batch.data() + attributes_offset, int16_t(attrs | 0x8));
    store_be<int64_t>(batch.data() + max_timestamp_offset, now_ms);
    store_be<uint32_t>(batch.data() + crc_offset, crc32c(batch.subspan(attributes_offset)));
}

int64_t max_record_timestamp(std::span<const uint8_t> batch) noexcept {
    const int64_t base = load_be<int64_t>(batch.data() + 27);
    int32_t count = load_be<int32_t>(batch.data() + 57);
    cursor c(batch.subspan(batch_header_size));
    int64_t max_ts = -1;
    for (int32_t i = 0; i < count; ++i) {
        int32_t length = 0;
        int8_t attributes = 0;
        int64_t delta = 0;
        if (!c.varint32(length) || length < 0 || size_t(length) > c.remaining()) {
            break; // validate_batch refused this already
        }
        cursor rc(batch.subspan(batch_header_size + c.pos(), size_t(length)));
        c.skip(size_t(length));
        if (rc.i8(attributes) && rc.varlong(delta)) {
            max_ts = std::max(max_ts, wrapping_add(base, delta));
        }
    }
    return max_ts;
}

void set_max_timestamp(std::span<uint8_t> batch, int64_t ts) noexcept {
    if (load_be<int64_t>(batch.data() + max_timestamp_offset) == ts) {
        return;
    }
    store_be<int64_t>(batch.data() + max_timestamp_offset, ts);
    store_be<uint32_t>(batch.data() + crc_offset, crc32c(batch.subspan(attributes_offset)));
}

result<bytes> build_batch(const std::vector<record_input>& records, const batch_options& opts) {
    bytes body;
    int64_t base_ts = records.empty() ? 0 : records.front().timestamp;
    int64_t max_ts = base_ts;
    int32_t last_delta = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        bytes rec;
        rec.push_back(0); // attributes
        put_varlong(rec, r.timestamp - base_ts);
        int32_t delta = r.offset_delta >= 0 ? r.offset_delta : int32_t(i);
        last_delta = std::max(last_delta, delta);
        put_varlong(rec, delta);
        put_nullable(rec, r.key);
        put_nullable(rec, r.value);
        put_varlong(rec, int64_t(r.headers.size()));
        for (const auto& [k, v] : r.headers) {
            put_varlong(rec, int64_t(k.size()));
            rec.insert(rec.end(), k.begin(), k.end());
            put_nullable(rec, v);
        }
        put_varlong(body, int64_t(rec.size()));
        body.insert(body.end(), rec.begin(), rec.end());
        max_ts = std::max(max_ts, r.timestamp);
    }
    auto payload = compress(opts.compression, body);
    if (!payload) {
        return payload.error();
    }
    batch_header h;
    h.base_offset = opts.base_offset;
    h.partition_leader_epoch = opts.partition_leader_epoch;
    h.attributes = int16_t(int(opts.compression) | (opts.log_append_time ? 0x8 : 0) |
                           (opts.transactional ? 0x10 : 0) | (opts.control ? 0x20 : 0));
    h.last_offset_delta = std::max(last_delta, opts.last_offset_delta);
    h.base_timestamp = base_ts;
    h.max_timestamp = max_ts;
    h.producer_id = opts.producer_id;
    h.producer_epoch = opts.producer_epoch;
    h.base_sequence = opts.base_sequence;
    h.record_count = int32_t(records.size());
    h.batch_length = int32_t(batch_header_size - log_overhead + payload.value().size());
    bytes out(batch_header_size + payload.value().size());
    write_header(h, out.data());
    std::memcpy(out.data() + batch_header_size, payload.value().data(), payload.value().size());
    store_be<uint32_t>(out.data() + crc_offset,
                       crc32c(std::span<const uint8_t>(out).subspan(attributes_offset)));
    return out;
}

} // namespace chronik::record
