#include "storage/segment.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/logger.h"
#include "record/crc.h"
#include "record/errc.h"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <fmt/format.h>

namespace chronik::storage {

namespace {

logger log{ "storage" };

std::error_code from_errno(long rc) {
    return { int(-rc), std::system_category() };
}

// The fields of a batch's fixed header that locate it: base offset, length,
// attributes and last offset delta (bytes 0..27).
constexpr size_t locate_bytes = 27;

struct located {
    int64_t base_offset;
    uint64_t size; // whole batch, log overhead included
    int64_t last_offset;
    int16_t attributes;
    // A control batch that is not a transaction marker: a Raft leader's no-op or
    // configuration, which consumers are not sent.
    bool raft_control() const noexcept { return (attributes & 0x30) == 0x20; }
};

located locate(const uint8_t* p) {
    int64_t base = load_be<int64_t>(p);
    int32_t len = load_be<int32_t>(p + 8);
    int16_t attributes = load_be<int16_t>(p + 21);
    int32_t delta = load_be<int32_t>(p + 23);
    return { base, record::log_overhead + uint64_t(std::max(len, 0)), base + delta, attributes };
}

// Reads batch headers one after another through a window, so walking many small
// batches costs a few reads rather than one per batch.
class header_walker {
public:
    header_walker(file_ops& ops, int fd, uint64_t file_size) : _ops(ops), _fd(fd), _file_size(file_size) {}

    // The header at pos, or nullopt at end of file / a short tail.
    result<std::optional<located>> at(uint64_t pos) {
        if (pos + locate_bytes > _file_size) {
            return std::optional<located>();
        }
        if (pos < _win_pos || pos + locate_bytes > _win_pos + _win.size()) {
            size_t want = size_t(std::min<uint64_t>(window, _file_size - pos));
            _win.resize(want);
            auto n = _ops.pread_full(_fd, _win.data(), want, off_t(pos));
            if (n < 0) {
                return from_errno(n);
            }
            _win.resize(size_t(n));
            _win_pos = pos;
            if (size_t(n) < locate_bytes) {
                return std::optional<located>();
            }
        }
        return std::optional<located>(locate(_win.data() + (pos - _win_pos)));
    }

private:
    static constexpr size_t window = 16 * 1024;
    file_ops& _ops;
    int _fd;
    uint64_t _file_size;
    bytes _win;
    uint64_t _win_pos = 0;
};

} // namespace

segment::segment(file_ops& ops, std::string path, int fd, int64_t base_offset, uint64_t size)
  : _ops(ops), _path(std::move(path)), _fd(fd), _base_offset(base_offset), _next_offset(base_offset),
    _size(size), _physical(size) {}

segment::~segment() {
    if (_fd >= 0) {
        _ops.close(_fd);
    }
}

std::string segment::file_name(int64_t base_offset) {
    return fmt::format("{:020d}.log", base_offset);
}

result<std::shared_ptr<segment>> segment::create(file_ops& ops, const std::string& dir, int64_t base_offset,
                                                 bool sync_directory) {
    std::string path = dir + "/" + file_name(base_offset);
    int fd = ops.open(path, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0) {
        return from_errno(fd);
    }
    // The new name must survive a crash before anything is acknowledged from it.
    if (int rc = sync_directory ? sync_dir(dir) : 0; rc < 0) {
        ops.close(fd);
        return from_errno(rc);
    }
    return std::make_shared<segment>(ops, std::move(path), fd, base_offset, 0);
}

result<std::shared_ptr<segment>> segment::open(file_ops& ops, const std::string& path, int64_t base_offset) {
    int fd = ops.open(path, O_RDWR);
    if (fd < 0) {
        return from_errno(fd);
    }
    int64_t size = ops.file_size(fd);
    if (size < 0) {
        ops.close(fd);
        return from_errno(size);
    }
    auto seg = std::make_shared<segment>(ops, path, fd, base_offset, uint64_t(size));
    // A segment without timestamps ages from its last write (retention_timestamp).
    seg->_last_write_ms = std::max<int64_t>(ops.modified_ms(fd), 0);
    return seg;
}

result<std::optional<int64_t>> segment::first_offset(file_ops& ops, int fd) {
    uint8_t head[record::batch_header_size];
    auto n = ops.pread_full(fd, head, sizeof head, 0);
    if (n < 0) {
        return from_errno(n);
    }
    if (size_t(n) < sizeof head ||
        std::all_of(std::begin(head), std::end(head), [](uint8_t b) { return b == 0; })) {
        return std::optional<int64_t>();
    }
    auto parsed = record::read_header(std::span<const uint8_t>(head, sizeof head));
    return parsed ? std::optional<int64_t>(parsed.value().base_offset) : std::nullopt;
}

void segment::rebase(int64_t base) noexcept {
    CHRONIK_ASSERT(_size == 0 && base >= _base_offset, "only an empty segment moves its base up");
    _base_offset = base;
    _next_offset = base;
}

void segment::note_batch(const record::batch_header& h, uint64_t position) {
    if (_index.empty() || _bytes_since_index >= index_interval) {
        _index.push_back({ h.base_offset, position });
        _bytes_since_index = 0;
    }
    _bytes_since_index += h.size_bytes();
    if (h.max_timestamp > _max_timestamp) {
        _max_timestamp = h.max_timestamp;
        _max_timestamp_offset = h.base_offset;
        _time_index.push_back({ h.max_timestamp, h.base_offset });
    }
    _next_offset = h.last_offset() + 1;
}

result<uint64_t> segment::recover(bool verify_crc, int64_t min_offset,
                                  const std::function<void(const record::batch_header&)>& on_batch,
                                  int64_t end_limit) {
    _index.clear();
    _time_index.clear();
    _bytes_since_index = 0;
    _base_offset = std::max(_base_offset, min_offset); // a name below where it starts
    _next_offset = _base_offset;
    _zero_tail_cut = false;
    _suffix_cut = false;
    uint64_t pos = 0;
    bytes buf;
    std::string why;
    while (pos < _size) {
        if (_size - pos < record::batch_header_size) {
            why = "partial batch header";
            break;
        }
        uint8_t head[record::batch_header_size];
        auto n = _ops.pread_full(_fd, head, sizeof head, off_t(pos));
        if (n < 0) {
            return from_errno(n);
        }
        if (std::all_of(std::begin(head), std::end(head), [](uint8_t b) { return b == 0; })) {
            _zero_tail_cut = true; // the zeros append() writes ahead: the end of the data
            break;
        }
        auto parsed = record::read_header(std::span<const uint8_t>(head, sizeof head));
        if (!parsed) {
            why = "bad batch header";
            break;
        }
        const record::batch_header* h = &parsed.value();
        if (h->batch_length < int32_t(record::batch_header_size - record::log_overhead) ||
            h->size_bytes() > _size - pos) {
            why = "torn batch";
            break;
        }
        if (h->base_offset < _next_offset || h->last_offset_delta < 0) {
            why = "batch out of order";
            break;
        }
        if (h->last_offset() >= end_limit) {
            why = "suffix truncation to complete";
            _suffix_cut = true;
            break;
        }
        if (verify_crc) {
            buf.resize(h->size_bytes());
            n = _ops.pread_full(_fd, buf.data(), buf.size(), off_t(pos));
            if (n < 0) {
                return from_errno(n);
            }
            if (size_t(n) != buf.size() ||
                record::crc32c(std::span<const uint8_t>(buf).subspan(21)) != h->crc) {
                why = "CRC mismatch";
                break;
            }
        }
        note_batch(*h, pos);
        if (on_batch) {
            on_batch(*h);
        }
        pos += h->size_bytes();
    }
    uint64_t cut = _size - pos;
    if (cut > 0) {
        if (!_zero_tail_cut) {
            log.warn("{}: {} at position {}; truncating {} bytes", _path, why, pos, cut);
        }
        if (int rc = _ops.ftruncate(_fd, off_t(pos)); rc < 0) {
            return from_errno(rc);
        }
        if (int rc = _ops.fdatasync(_fd); rc < 0) {
            return from_errno(rc);
        }
        _size = pos;
        _physical = pos;
    }
    return _zero_tail_cut ? 0 : cut;
}

result<void> segment::append(std::span<const uint8_t> batch, const record::batch_header& h,
                             uint64_t preallocate_limit) {
    CHRONIK_ASSERT(h.base_offset >= _next_offset, "a segment's batches in offset order");
    CHRONIK_ASSERT(_physical >= _size, "a segment's zeros ahead start at its end");
    const uint64_t end = _size + batch.size();
    if (preallocate_limit > 0 && !_preallocate_failed && _size >= preallocate_min && end > _physical) {
        static const std::vector<uint8_t> zeros(preallocate_max, 0);
        // As much again as the segment holds, at most preallocate_max, within the
        // segment's limit; never short of the batch itself.
        const uint64_t target =
          std::max(end, std::min(_size + std::min(_size, preallocate_max), preallocate_limit));
        for (uint64_t at = _physical; at < target;) {
            const size_t n = size_t(std::min<uint64_t>(zeros.size(), target - at));
            if (_ops.pwrite_all(_fd, zeros.data(), n, off_t(at)) < 0) {
                _ops.ftruncate(_fd, off_t(_physical)); // back to what was zeroed before
                _preallocate_failed = true;
                break;
            }
            at += n;
        }
        if (!_preallocate_failed) {
            _physical = target;
        }
    }
    auto n = _ops.pwrite_all(_fd, batch.data(), batch.size(), off_t(_size));
    if (n < 0) {
        // Cut back whatever part of the batch reached the file; the next append then
        // starts at a batch boundary. If even that fails, recovery cuts it at start-up.
        _ops.ftruncate(_fd, off_t(_size));
        _physical = _size;
        return from_errno(n);
    }
    _physical = std::max(_physical, end);
    note_batch(h, _size);
    _size += batch.size();
    return outcome::success();
}

uint64_t segment::index_position_for(int64_t offset) const {
    auto it = std::upper_bound(_index.begin(), _index.end(), offset,
                               [](int64_t o, const index_entry& e) { return o < e.offset; });
    return it == _index.begin() ? 0 : std::prev(it)->position;
}

result<read_result> segment::read(int64_t offset, int64_t upto, size_t max_bytes, bool min_one,
                                  std::shared_ptr<const void> keep_alive, bool hide_control) {
    read_result out;
    out.next_offset = offset;
    if (offset >= _next_offset || offset >= upto) {
        return out;
    }
    // Find the first batch that holds `offset` (past any hidden control batches).
    header_walker walker(_ops, _fd, _size);
    uint64_t start = index_position_for(offset);
    for (;;) {
        CHRONIK_TRY(auto h, walker.at(start));
        if (!h) {
            return out;
        }
        if (h->last_offset >= offset) {
            if (h->base_offset >= upto) {
                return out;
            }
            if (!(hide_control && h->raft_control())) {
                break;
            }
            out.next_offset = h->last_offset + 1;
        }
        start += h->size;
    }
    // Whole batches from there, within max_bytes and below `upto`; a hidden control
    // batch ends the run (the next read starts past it).
    uint64_t end = start;
    int64_t next = offset;
    for (;;) {
        CHRONIK_TRY(auto h, walker.at(end));
        if (!h || h->base_offset >= upto || end + h->size > _size || (hide_control && h->raft_control())) {
            break;
        }
        if (end - start + h->size > max_bytes && !(min_one && end == start)) {
            break;
        }
        end += h->size;
        next = h->last_offset + 1;
    }
    if (end == start) {
        return out;
    }
    if (keep_alive) {
        out.data = byte_slice::in_file(std::move(keep_alive), _fd, start, size_t(end - start));
        out.next_offset = next;
        return out;
    }
    bytes data(end - start);
    auto n = _ops.pread_full(_fd, data.data(), data.size(), off_t(start));
    if (n < 0) {
        return from_errno(n);
    }
    if (size_t(n) != data.size()) {
        return make_error_code(record::errc::corrupt_message);
    }
    out.data = byte_slice::from(std::move(data));
    out.next_offset = next;
    return out;
}

std::optional<int64_t> segment::offset_for_timestamp(int64_t ts) const {
    auto it = std::lower_bound(_time_index.begin(), _time_index.end(), ts,
                               [](const time_entry& e, int64_t t) { return e.timestamp < t; });
    if (it == _time_index.end()) {
        return std::nullopt;
    }
    // Entries are added only when the running maximum grows, so the first entry at
    // or above ts is the first batch holding a record that new.
    return it->offset;
}

result<read_result> segment::read_batch_at(int64_t offset) {
    return read(offset, _next_offset, 1, true);
}

result<std::optional<uint64_t>> segment::position_of(int64_t offset) {
    if (offset == _next_offset) {
        return std::optional<uint64_t>(_size);
    }
    if (offset < _base_offset || offset > _next_offset) {
        return std::optional<uint64_t>();
    }
    header_walker walker(_ops, _fd, _size);
    for (uint64_t pos = index_position_for(offset);;) {
        CHRONIK_TRY(auto h, walker.at(pos));
        if (!h || h->base_offset > offset) {
            return std::optional<uint64_t>();
        }
        if (h->base_offset == offset) {
            return std::optional<uint64_t>(pos);
        }
        pos += h->size;
    }
}

void segment::forget_from(int64_t offset, uint64_t position) {
    CHRONIK_ASSERT(offset >= _base_offset && offset <= _next_offset && position <= _size,
                   "a segment is cut inside itself");
    auto at_or_after = [offset](const auto& e) { return e.offset >= offset; };
    _index.erase(std::find_if(_index.begin(), _index.end(), at_or_after), _index.end());
    _time_index.erase(std::find_if(_time_index.begin(), _time_index.end(), at_or_after), _time_index.end());
    _max_timestamp = _time_index.empty() ? -1 : _time_index.back().timestamp;
    _max_timestamp_offset = _time_index.empty() ? -1 : _time_index.back().offset;
    _bytes_since_index = _index.empty() ? 0 : position - _index.back().position;
    _next_offset = offset;
    _size = position;
    _physical = position;
    _index_stored = false;
}

} // namespace chronik::storage
