#include "record/legacy.h"

#include "base/endian.h"
#include "record/batch.h"
#include "record/crc.h"
#include "record/errc.h"

#include <cstring>

namespace chronik::record {

namespace {

std::error_code corrupt() {
    return make_error_code(errc::corrupt_message);
}

struct legacy_message {
    int64_t offset;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp;
    std::optional<std::span<const uint8_t>> key;
    std::optional<std::span<const uint8_t>> value;
};

bool read_bytes(std::span<const uint8_t> m, size_t& pos, std::optional<std::span<const uint8_t>>& out) {
    if (m.size() - pos < 4) {
        return false;
    }
    int32_t len = load_be<int32_t>(m.data() + pos);
    pos += 4;
    if (len == -1) {
        out.reset();
        return true;
    }
    if (len < 0 || size_t(len) > m.size() - pos) {
        return false;
    }
    out = m.subspan(pos, size_t(len));
    pos += size_t(len);
    return true;
}

// Calls f for each message of a (possibly nested) set; depth bounds recursion.
result<void> walk(std::span<const uint8_t> set, size_t max_decompressed, int depth,
                  std::vector<record_input>& out, int64_t& wrapper_ts, codec& seen_codec) {
    size_t pos = 0;
    while (pos < set.size()) {
        if (set.size() - pos < 12) {
            return corrupt();
        }
        int32_t size = load_be<int32_t>(set.data() + pos + 8);
        if (size < 14 || size_t(size) > set.size() - pos - 12) {
            return corrupt();
        }
        auto m = set.subspan(pos + 12, size_t(size));
        pos += 12 + size_t(size);
        uint32_t crc = load_be<uint32_t>(m.data());
        if (crc32_ieee(m.subspan(4)) != crc) {
            return corrupt();
        }
        legacy_message lm{};
        lm.magic = int8_t(m[4]);
        lm.attributes = int8_t(m[5]);
        size_t p = 6;
        if (lm.magic == 1) {
            if (m.size() < 22) {
                return corrupt();
            }
            lm.timestamp = load_be<int64_t>(m.data() + 6);
            p = 14;
        } else if (lm.magic == 0) {
            lm.timestamp = -1;
        } else {
            return make_error_code(errc::unsupported_magic);
        }
        if (!read_bytes(m, p, lm.key) || !read_bytes(m, p, lm.value) || p != m.size()) {
            return corrupt();
        }
        auto c = codec(lm.attributes & 0x7);
        if (c != codec::none) {
            if (depth > 0 || !lm.value || int(c) > 3) {
                return make_error_code(errc::unsupported_compression);
            }
            auto inner = decompress(c, *lm.value, max_decompressed);
            if (!inner) {
                return inner.error();
            }
            seen_codec = c;
            wrapper_ts = lm.timestamp;
            auto r = walk(inner.value(), max_decompressed, depth + 1, out, wrapper_ts, seen_codec);
            if (!r) {
                return r.error();
            }
            continue;
        }
        record_input ri;
        if (lm.key) {
            ri.key = bytes(lm.key->begin(), lm.key->end());
        }
        if (lm.value) {
            ri.value = bytes(lm.value->begin(), lm.value->end());
        }
        ri.timestamp = lm.timestamp;
        out.push_back(std::move(ri));
        if (out.size() > max_decompressed) {
            return make_error_code(errc::too_large);
        }
    }
    return outcome::success();
}

void put_legacy(bytes& out, int64_t offset, int8_t magic, int64_t timestamp,
                const std::optional<std::span<const uint8_t>>& key,
                const std::optional<std::span<const uint8_t>>& value) {
    size_t start = out.size();
    size_t size =
      4 + 1 + 1 + (magic == 1 ? 8 : 0) + 4 + (key ? key->size() : 0) + 4 + (value ? value->size() : 0);
    out.resize(start + 12 + size);
    uint8_t* p = out.data() + start;
    store_be<int64_t>(p, offset);
    store_be<int32_t>(p + 8, int32_t(size));
    uint8_t* m = p + 12;
    m[4] = uint8_t(magic);
    m[5] = 0;
    size_t q = 6;
    if (magic == 1) {
        store_be<int64_t>(m + 6, timestamp);
        q = 14;
    }
    for (const auto* b : { &key, &value }) {
        if (!*b) {
            store_be<int32_t>(m + q, -1);
            q += 4;
        } else {
            store_be<int32_t>(m + q, int32_t((*b)->size()));
            std::memcpy(m + q + 4, (*b)->data(), (*b)->size());
            q += 4 + (*b)->size();
        }
    }
    store_be<uint32_t>(m, crc32_ieee(std::span<const uint8_t>(m + 4, size - 4)));
}

} // namespace

int8_t detect_magic(std::span<const uint8_t> blob) noexcept {
    return blob.size() > magic_offset ? int8_t(blob[magic_offset]) : int8_t(-1);
}

result<bytes> convert_legacy_to_v2(std::span<const uint8_t> message_set, size_t max_decompressed) {
    std::vector<record_input> records;
    int64_t wrapper_ts = -1;
    codec c = codec::none;
    auto r = walk(message_set, max_decompressed, 0, records, wrapper_ts, c);
    if (!r) {
        return r.error();
    }
    if (records.empty()) {
        return corrupt();
    }
    batch_options opts;
    opts.compression = c;
    return build_batch(records, opts);
}

result<bytes> convert_v2_to_legacy(std::span<const uint8_t> batches, int8_t magic, size_t max_decompressed) {
    bytes out;
    size_t pos = 0;
    while (batches.size() - pos >= batch_header_size) {
        auto h = read_header(batches.subspan(pos));
        if (!h) {
            return h.error();
        }
        size_t total = h.value().size_bytes();
        if (total > batches.size() - pos) {
            break; // a partial batch at the end of a fetch
        }
        auto batch = batches.subspan(pos, total);
        pos += total;
        if (h.value().control()) {
            continue;
        }
        const auto& hd = h.value();
        auto r = for_each_record(batch, max_decompressed, [&](const record_view& rv) {
            int64_t ts = hd.timestamp_of(rv);
            put_legacy(out, hd.offset_of(rv), magic, ts, rv.key, rv.value);
        });
        if (!r) {
            return r.error();
        }
    }
    return out;
}

} // namespace chronik::record
