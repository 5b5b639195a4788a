#include "storage/segment_index.h"

#include "base/be_buffer.h"
#include "record/crc.h"

#include <algorithm>
#include <deque>
#include <map>

#include <fcntl.h>

namespace chronik::storage {

namespace {

constexpr uint32_t magic = 0x43485849; // "CHXI"
constexpr uint32_t version = 1;
constexpr size_t fixed_bytes = 4 + 4 + 8 * 6 + 4 * 3;
constexpr size_t index_bytes = 16, time_bytes = 16, producer_bytes = 8 + 2 + 4 + 4 + 8 + 8 + 8;
// A summary larger than this is refused on load (a segment of 2 GiB with an entry
// every 4 KiB needs about 8 MiB).
constexpr size_t max_summary_bytes = 64u << 20;

std::error_code from_errno(long rc) {
    return { int(-rc), std::system_category() };
}

} // namespace

std::string index_path_for(const std::string& segment_path) {
    auto dot = segment_path.rfind(".log");
    return (dot == std::string::npos ? segment_path : segment_path.substr(0, dot)) + ".index";
}

bytes segment_summary::encode() const {
    be_writer o;
    o.put<uint32_t>(magic);
    o.put<uint32_t>(version);
    o.put<uint64_t>(segment_size);
    o.put<int64_t>(base_offset);
    o.put<int64_t>(next_offset);
    o.put<int64_t>(max_timestamp);
    o.put<int64_t>(max_timestamp_offset);
    o.put<uint64_t>(bytes_since_index);
    o.put<uint32_t>(uint32_t(offsets.size()));
    o.put<uint32_t>(uint32_t(times.size()));
    o.put<uint32_t>(uint32_t(producers.size()));
    for (const auto& e : offsets) {
        o.put<int64_t>(e.offset);
        o.put<uint64_t>(e.position);
    }
    for (const auto& e : times) {
        o.put<int64_t>(e.timestamp);
        o.put<int64_t>(e.offset);
    }
    for (const auto& p : producers) {
        o.put<int64_t>(p.producer_id);
        o.put<int16_t>(p.epoch);
        o.put<int32_t>(p.batch.first_seq);
        o.put<int32_t>(p.batch.last_seq);
        o.put<int64_t>(p.batch.base_offset);
        o.put<int64_t>(p.batch.last_offset);
        o.put<int64_t>(p.batch.max_timestamp);
    }
    o.put<uint32_t>(record::crc32c(o.data()));
    return o.take();
}

std::optional<segment_summary> segment_summary::decode(std::span<const uint8_t> in) {
    if (in.size() < fixed_bytes + 4 || in.size() > max_summary_bytes) {
        return std::nullopt;
    }
    auto body = in.first(in.size() - 4);
    if (record::crc32c(body) != load_be<uint32_t>(in.data() + body.size())) {
        return std::nullopt;
    }
    be_reader r(body); // the length check below makes every field present
    if (r.get<uint32_t>() != magic || r.get<uint32_t>() != version) {
        return std::nullopt;
    }
    segment_summary s;
    s.segment_size = *r.get<uint64_t>();
    s.base_offset = *r.get<int64_t>();
    s.next_offset = *r.get<int64_t>();
    s.max_timestamp = *r.get<int64_t>();
    s.max_timestamp_offset = *r.get<int64_t>();
    s.bytes_since_index = *r.get<uint64_t>();
    uint64_t n_off = *r.get<uint32_t>(), n_time = *r.get<uint32_t>(), n_prod = *r.get<uint32_t>();
    // The counts must account for the bytes exactly: no allocation is sized by a
    // count the bytes cannot back.
    if (fixed_bytes + n_off * index_bytes + n_time * time_bytes + n_prod * producer_bytes != body.size()) {
        return std::nullopt;
    }
    s.offsets.resize(n_off);
    for (auto& e : s.offsets) {
        e.offset = *r.get<int64_t>();
        e.position = *r.get<uint64_t>();
    }
    s.times.resize(n_time);
    for (auto& e : s.times) {
        e.timestamp = *r.get<int64_t>();
        e.offset = *r.get<int64_t>();
    }
    s.producers.resize(n_prod);
    for (auto& p : s.producers) {
        p.producer_id = *r.get<int64_t>();
        p.epoch = *r.get<int16_t>();
        p.batch.first_seq = *r.get<int32_t>();
        p.batch.last_seq = *r.get<int32_t>();
        p.batch.base_offset = *r.get<int64_t>();
        p.batch.last_offset = *r.get<int64_t>();
        p.batch.max_timestamp = *r.get<int64_t>();
    }
    bool sane =
      s.next_offset >= s.base_offset &&
      std::all_of(s.offsets.begin(), s.offsets.end(), [&](const index_entry& e) {
          return e.offset >= s.base_offset && e.offset < s.next_offset && e.position < s.segment_size;
      });
    if (!sane) {
        return std::nullopt;
    }
    return s;
}

result<segment_summary> summarize_segment(file_ops& ops, const std::string& path, int64_t base_offset) {
    CHRONIK_TRY(auto seg, segment::open(ops, path, base_offset));
    // Per producer, its last batches in this segment (an epoch change starts over).
    std::map<int64_t, std::deque<segment_summary::producer_entry>> last;
    CHRONIK_TRY(auto cut, seg->recover(false, base_offset, [&](const record::batch_header& h) {
        if (h.producer_id < 0 || h.base_sequence < 0 || h.control()) {
            return;
        }
        auto& q = last[h.producer_id];
        if (!q.empty() && q.back().epoch != h.producer_epoch) {
            q.clear();
        }
        q.push_back({ h.producer_id,
                      h.producer_epoch,
                      { h.base_sequence, producer_state::last_sequence(h.base_sequence, h.record_count),
                        h.base_offset, h.last_offset(), h.max_timestamp } });
        if (q.size() > producer_state::batches_kept) {
            q.pop_front();
        }
    }));
    if (cut > 0) {
        return make_error_code(std::errc::illegal_byte_sequence); // a sealed segment must read whole
    }
    segment_summary s;
    s.segment_size = seg->size();
    s.base_offset = base_offset;
    s.next_offset = seg->next_offset();
    s.max_timestamp = seg->max_timestamp();
    s.max_timestamp_offset = seg->max_timestamp_offset();
    s.bytes_since_index = seg->bytes_since_index();
    s.offsets = seg->offset_index();
    s.times = seg->time_index();
    for (auto& [_, q] : last) {
        s.producers.insert(s.producers.end(), q.begin(), q.end());
    }
    std::sort(s.producers.begin(), s.producers.end(),
              [](const auto& a, const auto& b) { return a.batch.base_offset < b.batch.base_offset; });
    return s;
}

result<void> store_summary(file_ops& ops, const std::string& segment_path, const segment_summary& s) {
    bytes data = s.encode();
    if (int rc = replace_file(ops, index_path_for(segment_path), data.data(), data.size()); rc < 0) {
        return from_errno(rc);
    }
    return outcome::success();
}

std::optional<segment_summary> load_summary(file_ops& ops, const std::string& segment_path,
                                            uint64_t segment_size) {
    int fd = ops.open(index_path_for(segment_path), O_RDONLY);
    if (fd < 0) {
        return std::nullopt;
    }
    int64_t size = ops.file_size(fd);
    std::optional<segment_summary> out;
    if (size > 0 && uint64_t(size) <= max_summary_bytes) {
        bytes data(size_t(size), 0);
        if (ops.pread_full(fd, data.data(), data.size(), 0) == size) {
            out = segment_summary::decode(data);
        }
    }
    ops.close(fd);
    if (out && out->segment_size != segment_size) {
        out.reset(); // stale: the segment changed after the summary was written
    }
    return out;
}

void segment::adopt(const segment_summary& s) {
    _index = s.offsets;
    _time_index = s.times;
    _next_offset = s.next_offset;
    _max_timestamp = s.max_timestamp;
    _max_timestamp_offset = s.max_timestamp_offset;
    _bytes_since_index = s.bytes_since_index;
    _index_stored = true;
}

} // namespace chronik::storage
