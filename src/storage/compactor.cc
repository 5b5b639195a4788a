#include "storage/compactor.h"

#include "base/logger.h"
#include "record/batch.h"
#include "storage/segment_index.h"

#include <cstring>
#include <unordered_map>

#include <fcntl.h>

namespace chronik::storage {

namespace {

logger log{ "storage" };

constexpr size_t read_chunk = 1u << 20;
constexpr size_t max_decompressed = 256u << 20;

struct key_hash {
    uint64_t a = 0, b = 0;
    bool operator==(const key_hash&) const = default;
};

struct key_hash_hasher {
    size_t operator()(const key_hash& k) const noexcept { return size_t(k.a); }
};

// Two independent 64-bit hashes of the key: a collision (which would drop a live
// record) needs both to collide.
key_hash hash_key(std::span<const uint8_t> key) {
    uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    for (uint8_t c : key) {
        a = (a ^ c) * 0x100000001b3ull;
        b = (b + c + 1) * 0xff51afd7ed558ccdull;
        b ^= b >> 29;
    }
    return { a, b ^ key.size() };
}

std::error_code from_errno(int64_t rc) {
    return { int(-rc), std::generic_category() };
}

result<void> write_all(file_ops& ops, int fd, std::span<const uint8_t> data, uint64_t& pos) {
    auto n = ops.pwrite_all(fd, data.data(), data.size(), off_t(pos));
    if (n < 0) {
        return from_errno(n);
    }
    pos += data.size();
    return outcome::success();
}

// Calls f(header, batch bytes) for every batch of a segment, in order.
template<class F>
result<void> for_each_stored_batch(segment& seg, F&& f) {
    int64_t offset = seg.base_offset();
    while (offset < seg.next_offset()) {
        CHRONIK_TRY(auto r, seg.read(offset, INT64_MAX, read_chunk, true));
        if (r.data.empty()) {
            break;
        }
        std::span<const uint8_t> rest = r.data.span();
        while (!rest.empty()) {
            CHRONIK_TRY(auto h, record::read_header(rest));
            size_t size = size_t(h.batch_length) + record::log_overhead;
            if (size > rest.size()) {
                return make_error_code(std::errc::illegal_byte_sequence);
            }
            CHRONIK_TRY(f(h, rest.first(size)));
            rest = rest.subspan(size);
        }
        offset = r.next_offset;
    }
    return outcome::success();
}

struct pass_state {
    const compaction_params& params;
    std::unordered_map<key_hash, int64_t, key_hash_hasher> latest;
    bool map_full = false;
};

// Whether the record at `offset` survives: it has a key, no later record of that
// key exists in the mapped range, and it is not an expired tombstone.
bool keep(const pass_state& st, const record::record_view& r, int64_t offset, int64_t batch_max_ts) {
    if (!r.key) {
        return false;
    }
    auto it = st.latest.find(hash_key(*r.key));
    if (it != st.latest.end() && it->second > offset) {
        return false;
    }
    if (!r.value && batch_max_ts < st.params.now_ms - st.params.delete_retention_ms) {
        return false;
    }
    return true;
}

// Writes `seg` without its superseded records to `<path>.cleaned`; returns the
// bytes written and how many records were removed, or nullopt-like (removed == 0)
// when the segment is left as it is.
struct rewrite {
    uint64_t size = 0;
    int64_t removed = 0;
};

result<rewrite> rewrite_segment(file_ops& ops, const pass_state& st, segment& seg, int fd) {
    rewrite out;
    auto ok = for_each_stored_batch(
      seg, [&](const record::batch_header& h, std::span<const uint8_t> batch) -> result<void> {
          if (h.control()) {
              // Control batches carry no keys the map knows; keep them as they are.
              CHRONIK_TRY(write_all(ops, fd, batch, out.size));
              return outcome::success();
          }
          std::vector<record::record_input> kept;
          int32_t total = 0;
          auto parsed = record::for_each_record(batch, max_decompressed, [&](const record::record_view& r) {
              ++total;
              int64_t offset = h.offset_of(r);
              if (!keep(st, r, offset, h.max_timestamp)) {
                  return;
              }
              auto& in = kept.emplace_back();
              if (r.key) {
                  in.key = bytes(r.key->begin(), r.key->end());
              }
              if (r.value) {
                  in.value = bytes(r.value->begin(), r.value->end());
              }
              for (const auto& hd : r.headers) {
                  std::optional<bytes> v;
                  if (hd.value) {
                      v = bytes(hd.value->begin(), hd.value->end());
                  }
                  in.headers.emplace_back(std::string(hd.key), std::move(v));
              }
              in.timestamp = h.timestamp_of(r);
              in.offset_delta = r.offset_delta;
          });
          if (!parsed) {
              return parsed.error();
          }
          out.removed += total - int32_t(kept.size());
          if (int32_t(kept.size()) == total) {
              return write_all(ops, fd, batch, out.size);
          }
          if (kept.empty()) {
              return outcome::success();
          }
          record::batch_options o;
          o.base_offset = h.base_offset;
          o.partition_leader_epoch = h.partition_leader_epoch;
          o.compression = h.compression();
          o.producer_id = h.producer_id;
          o.producer_epoch = h.producer_epoch;
          o.base_sequence = h.base_sequence;
          o.transactional = h.transactional();
          o.log_append_time = h.log_append_time();
          o.last_offset_delta = h.last_offset_delta;
          CHRONIK_TRY(auto rebuilt, record::build_batch(kept, o));
          return write_all(ops, fd, rebuilt, out.size);
      });
    if (!ok) {
        return ok.error();
    }
    return out;
}

} // namespace

result<compaction_result> compact_segments(file_ops& ops, const std::string& dir,
                                           std::vector<std::shared_ptr<segment>> segments,
                                           const compaction_params& params) {
    compaction_result res;
    pass_state st{ params, {}, false };
    // Pass 1: the latest offset of every key. If the map fills up, the pass stops
    // mapping; records of keys mapped so far are still judged correctly (a record
    // is only ever removed for a later record of its key), the rest are kept.
    for (auto& seg : segments) {
        auto mapped = for_each_stored_batch(
          *seg, [&](const record::batch_header& h, std::span<const uint8_t> batch) -> result<void> {
              if (h.control() || st.map_full) {
                  return outcome::success();
              }
              auto r = record::for_each_record(batch, max_decompressed, [&](const record::record_view& rv) {
                  if (rv.key && !st.map_full) {
                      st.latest[hash_key(*rv.key)] = h.offset_of(rv);
                      st.map_full = st.latest.size() >= params.max_keys;
                  }
              });
              return r;
          });
        if (!mapped) {
            return mapped.error();
        }
    }
    // Pass 2: rewrite, oldest segment first (see the header on tombstones).
    for (auto& seg : segments) {
        res.original.push_back(seg);
        res.replaced.emplace_back();
        res.bytes_before += seg->size();
        std::string tmp = seg->path() + std::string(cleaned_suffix);
        int fd = ops.open(tmp, O_RDWR | O_CREAT | O_TRUNC);
        if (fd < 0) {
            return from_errno(fd);
        }
        auto written = rewrite_segment(ops, st, *seg, fd);
        int synced = written && written.value().removed > 0 ? ops.fdatasync(fd) : 0;
        ops.close(fd);
        if (!written || written.value().removed == 0 || synced < 0) {
            ops.unlink(tmp);
            if (!written) {
                return written.error();
            }
            if (synced < 0) {
                return from_errno(synced);
            }
            res.bytes_after += seg->size();
            continue;
        }
        // The new file must read back whole before it replaces the old one.
        {
            CHRONIK_TRY(auto check, segment::open(ops, tmp, seg->base_offset()));
            CHRONIK_TRY(auto cut, check->recover(true, seg->base_offset(), {}));
            if (cut > 0) {
                ops.unlink(tmp);
                log.error("{}: compacted copy of {} does not read back; left as it was", dir, seg->path());
                return make_error_code(std::errc::io_error);
            }
        }
        // The old summary describes the old file: it goes first (a stale one would
        // be refused by its size anyway).
        ops.unlink(index_path_for(seg->path()));
        if (int rc = ops.rename(tmp, seg->path()); rc < 0) {
            ops.unlink(tmp);
            return from_errno(rc);
        }
        CHRONIK_TRY(auto fresh, segment::open(ops, seg->path(), seg->base_offset()));
        CHRONIK_TRY(fresh->recover(false, seg->base_offset(), {}));
        fresh->set_first_append_ms(seg->first_append_ms());
        res.records_removed += written.value().removed;
        res.bytes_after += fresh->size();
        res.replaced.back() = std::move(fresh);
    }
    if (int rc = sync_dir(dir); rc < 0) {
        log.warn("{}: directory sync after compaction failed: {}", dir, std::strerror(-rc));
    }
    return res;
}

} // namespace chronik::storage
