#include "storage/partition_log.h"

#include "base/assert.h"
#include "base/logger.h"
#include "record/errc.h"
#include "storage/compactor.h"
#include "storage/errc.h"
#include "storage/segment_index.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

namespace chronik::storage {

namespace {

logger log{ "storage" };

// Decompressing one stored batch to find a record by timestamp is bounded by this.
constexpr size_t max_decompressed_batch = 128u << 20;

bool is_device_failure(std::error_code ec) {
    return ec.category() == std::system_category() && ec.value() != ENOSPC && ec.value() != EDQUOT;
}

std::error_code from_errno(int rc) {
    return { -rc, std::system_category() };
}

bool is_idempotent(const record::batch_header& h) {
    return h.producer_id >= 0 && h.base_sequence >= 0 && !h.control();
}

void note_producer(producer_state& producers, const record::batch_header& h) {
    if (is_idempotent(h)) {
        producers.record(h.producer_id, h.producer_epoch,
                         { h.base_sequence, producer_state::last_sequence(h.base_sequence, h.record_count),
                           h.base_offset, h.last_offset(), h.max_timestamp });
    }
}

// The cut a crash left pending (partition_log::truncation_marker), if any.
result<std::optional<int64_t>> read_truncation_marker(file_ops& ops, const std::string& dir) {
    std::string text;
    int rc = read_small_file(ops, dir + "/" + partition_log::truncation_marker, 64, text);
    if (rc == -ENOENT) {
        return std::optional<int64_t>();
    }
    if (rc < 0 && rc != -EFBIG) {
        return from_errno(rc);
    }
    int64_t offset = -1;
    auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), offset);
    if (rc < 0 || err != std::errc() || offset < 0 || p == text.data() + text.size() || *p != '\n') {
        // Written whole and renamed into place: anything else is not ours. Opening
        // without completing the cut could serve a suffix that was being removed.
        return errc::corrupt_checkpoint;
    }
    return std::optional<int64_t>(offset);
}

} // namespace

partition_log::partition_log(file_ops& ops, std::string dir, log_config cfg)
  : _ops(ops), _dir(std::move(dir)), _cfg(cfg) {}

result<std::shared_ptr<partition_log>> partition_log::open(file_ops& ops, const std::string& dir,
                                                           log_config cfg, int64_t log_start_checkpoint,
                                                           int32_t leader_epoch) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return ec;
    }
    std::vector<int64_t> bases;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (name.ends_with(cleaned_suffix) || name.ends_with(".index.tmp") ||
            name == std::string(epoch_cache::file_name) + ".tmp" ||
            name == std::string(truncation_marker) + ".tmp" || name == std::string(reset_marker) + ".tmp") {
            // A compaction pass or a summary write died before its rename: the
            // original is intact.
            ops.unlink(e.path().string());
            continue;
        }
        if (name.size() != 24 || !name.ends_with(".log")) {
            continue;
        }
        int64_t base = -1;
        auto [p, err] = std::from_chars(name.data(), name.data() + 20, base);
        if (err == std::errc() && p == name.data() + 20 && base >= 0) {
            bases.push_back(base);
        }
    }
    if (ec) {
        return ec;
    }
    std::sort(bases.begin(), bases.end());
    // A reset that a crash interrupted is completed: every segment goes and the log
    // starts empty at the reset's offset.
    CHRONIK_TRY(auto pending_reset, partition_log::pending_reset(ops, dir));
    if (pending_reset) {
        log.warn("{}: completing a reset to offset {}", dir, pending_reset->offset);
        CHRONIK_TRY(complete_pending_reset(ops, *pending_reset, bases));
        log_start_checkpoint = pending_reset->offset;
    }
    // A suffix truncation that a crash interrupted is completed: the segments wholly
    // above the cut go, and the segment holding it is cut by its recovery scan.
    CHRONIK_TRY(auto pending_cut, read_truncation_marker(ops, dir));
    if (pending_cut) {
        log.warn("{}: completing a suffix truncation to offset {}", dir, *pending_cut);
        while (bases.size() > 1 && bases.back() > *pending_cut) {
            const std::string path = dir + "/" + segment::file_name(bases.back());
            ops.unlink(index_path_for(path));
            if (int rc = ops.unlink(path); rc < 0 && rc != -ENOENT) {
                return std::error_code(-rc, std::system_category());
            }
            bases.pop_back();
        }
    }
    // Summaries whose segment is gone (retention or a compaction rename raced them).
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (name.size() == 26 && name.ends_with(".index")) {
            int64_t base = -1;
            std::from_chars(name.data(), name.data() + 20, base);
            if (!std::binary_search(bases.begin(), bases.end(), base)) {
                ops.unlink(e.path().string());
            }
        }
    }

    auto log_ptr = std::make_shared<partition_log>(ops, dir, cfg);
    partition_log& pl = *log_ptr;
    // The leader-epoch checkpoint. Without one (a log older than it, or a damaged
    // file) the epochs are rebuilt from the batches: every segment is scanned once.
    bool rebuild_epochs = true;
    if (auto loaded = epoch_cache::load(ops, dir); loaded) {
        pl._epochs = std::move(loaded.value());
        rebuild_epochs = pl._epochs.entries().empty() && !bases.empty();
    } else {
        log.warn("{}: leader-epoch checkpoint unreadable ({}); rebuilding it from the log", dir,
                 loaded.error().message());
    }
    int64_t next = 0;
    for (size_t i = 0; i < bases.size(); ++i) {
        // A segment starts at its name or where the one before it ends (segment.h).
        const int64_t base = std::max(bases[i], next);
        CHRONIK_TRY(auto seg, segment::open(ops, dir + "/" + segment::file_name(bases[i]), base));
        bool last = i + 1 == bases.size();
        if (i > 0 && last && seg->size() == 0 && bases[i] > next) {
            // A spare opened ahead that a truncation left above the log end: it
            // holds nothing, and adopting it would leave a gap in the offsets.
            seg.reset();
            if (int rc = ops.unlink(dir + "/" + segment::file_name(bases[i])); rc < 0 && rc != -ENOENT) {
                return std::error_code(-rc, std::system_category());
            }
            break;
        }
        if (!last && !rebuild_epochs && !pending_cut) {
            // A sealed segment with a current summary is not scanned (segment_index.h).
            auto s = load_summary(ops, seg->path(), seg->size());
            if (s && s->base_offset == base && (s->offsets.empty() || s->offsets.front().offset >= next)) {
                seg->adopt(*s);
                for (const auto& e : s->producers) {
                    pl._producers.record(e.producer_id, e.epoch, e.batch);
                }
                next = seg->next_offset();
                pl._segments.push_back(std::move(seg));
                continue;
            }
        }
        // A truncation to complete may cut a sealed segment too: the segment after
        // it may be named at or below the cut (segment.h) yet hold only what is above.
        const int64_t end_limit = pending_cut ? *pending_cut : INT64_MAX;
        auto on_batch = [&](const record::batch_header& h) {
            // Epochs a crash kept out of the checkpoint (it is stored with the group
            // commit, the data may have reached the page cache first).
            if (h.partition_leader_epoch > pl._epochs.latest_epoch()) {
                pl._epochs.assign(h.partition_leader_epoch, h.base_offset);
            }
            note_producer(pl._producers, h);
        };
        CHRONIK_TRY(auto cut, seg->recover(last, next, on_batch, end_limit));
        // Zeros ahead that a crash left on a sealed segment are its end only if the
        // next segment starts where its data does; otherwise batches were lost there.
        if (!last && seg->zero_tail_cut() && !seg->suffix_cut()) {
            CHRONIK_TRY(auto later,
                        segment::open(ops, dir + "/" + segment::file_name(bases[i + 1]), bases[i + 1]));
            CHRONIK_TRY(auto first, segment::first_offset(ops, later->fd()));
            if (first ? *first != seg->next_offset() : bases[i + 1] > seg->next_offset()) {
                cut = 1;
            }
        }
        if (!last && seg->suffix_cut()) {
            log.warn("{}: the suffix truncation cut segment {}; dropping the segments after it", dir,
                     bases[i]);
        } else if (cut > 0 && !last) {
            // A damaged sealed segment: what follows it cannot keep dense offsets.
            log.error("{}: sealed segment {} was damaged; dropping the segments after it", dir, bases[i]);
        }
        if ((cut > 0 || seg->suffix_cut()) && !last) {
            for (size_t j = i + 1; j < bases.size(); ++j) {
                fs::remove(dir + "/" + segment::file_name(bases[j]), ec);
            }
            bases.resize(i + 1);
            last = true;
        }
        if (last && (cut > 0 || seg->size() > 0)) {
            // What a killed process left in the page cache is made durable before it
            // is served as committed.
            if (int rc = ops.fdatasync(seg->fd()); rc < 0) {
                return std::error_code(-rc, std::system_category());
            }
        }
        next = seg->next_offset();
        pl._segments.push_back(std::move(seg));
    }
    if (pl._segments.empty()) {
        CHRONIK_TRY(auto seg, segment::create(ops, dir, std::max<int64_t>(log_start_checkpoint, 0), true));
        next = seg->next_offset();
        pl._segments.push_back(std::move(seg));
    }
    pl._next_offset = next;
    pl._high_watermark = next;
    pl._log_start = std::clamp(log_start_checkpoint, pl._segments.front()->base_offset(), next);
    pl._producers.trim(pl._log_start);
    // Epochs of batches a crash cut off, or that retention removed, go too; the
    // newest epoch known still bounds the one this replica writes in.
    const int32_t newest_known = pl._epochs.latest_epoch();
    pl._epochs.truncate_from(next);
    pl._epochs.truncate_to_start(pl._segments.front()->base_offset());
    // The epoch this replica leads in starts at the log end, data or not (as a Kafka
    // leader records its epoch when elected), so OffsetForLeaderEpoch knows it.
    // A checkpoint may know a newer epoch than the caller (written by a newer
    // version, or planted): the log never writes below the newest it holds.
    pl._leader_epoch = std::max({ leader_epoch, newest_known, 0 });
    pl._epochs.assign(pl._leader_epoch, next);
    if (pl._epochs.dirty()) {
        CHRONIK_TRY(pl._epochs.store(ops, dir));
        if (int rc = sync_dir(dir); rc < 0) {
            return std::error_code(-rc, std::system_category());
        }
        pl._epochs.mark_stored();
    }
    if (pending_reset) {
        if (int rc = ops.unlink(dir + "/" + reset_marker); rc < 0) {
            return std::error_code(-rc, std::system_category());
        }
        if (int rc = sync_dir(dir); rc < 0) {
            return std::error_code(-rc, std::system_category());
        }
    }
    if (pending_cut) {
        // Everything the truncation changed is durable now (the cut segment and the
        // epochs above, the removals with this directory sync).
        if (int rc = ops.unlink(dir + "/" + truncation_marker); rc < 0) {
            return std::error_code(-rc, std::system_category());
        }
        if (int rc = sync_dir(dir); rc < 0) {
            return std::error_code(-rc, std::system_category());
        }
    }
    return log_ptr;
}

result<void> partition_log::roll(int64_t now_ms) {
    std::shared_ptr<segment> seg = std::exchange(_spare, nullptr);
    if (seg) {
        CHRONIK_ASSERT(seg->base_offset() > active().base_offset() && seg->base_offset() <= _next_offset,
                       "a spare's name lies within the active segment");
        seg->rebase(_next_offset); // its name is durable already (log_manager::prepare_spare)
    } else {
        CHRONIK_TRY(seg, segment::create(_ops, _dir, _next_offset, false));
        _dir_dirty = true;
    }
    // The sealed segment's zeros ahead are cut by the group commit that syncs it.
    if (auto& old = _segments.back(); old->physical_size() > old->size() &&
                                      std::find(_unsynced.begin(), _unsynced.end(), old) == _unsynced.end()) {
        _unsynced.push_back(old);
    }
    CHRONIK_ASSERT(seg->base_offset() >= _segments.back()->next_offset(), "segments in offset order");
    seg->set_first_append_ms(now_ms);
    _segments.push_back(std::move(seg));
    return outcome::success();
}

std::optional<int64_t> partition_log::spare_wanted(int64_t now_ms) const {
    if (_spare || _spare_pending || _failed || _truncating) {
        return std::nullopt;
    }
    const segment& act = *_segments.back();
    if (act.size() == 0) {
        return std::nullopt;
    }
    const bool half_full = act.size() >= _cfg.segment_bytes / 2;
    const bool half_old = act.first_append_ms() >= 0 && now_ms - act.first_append_ms() >= _cfg.segment_ms / 2;
    const bool expired = expiry_roll_due(now_ms);
    if (!half_full && !half_old && !expired) {
        return std::nullopt;
    }
    return _next_offset;
}

bool partition_log::offer_spare(std::shared_ptr<segment> s) {
    _owner.check_owner("partition_log");
    _spare_pending = false;
    if (_spare || _failed || _truncating || s->base_offset() > _next_offset ||
        s->base_offset() <= active().base_offset()) {
        return false;
    }
    _spare = std::move(s);
    return true;
}

bool partition_log::expiry_roll_due(int64_t now_ms) const {
    const segment& act = *_segments.back();
    return _cfg.delete_old && _cfg.retention_ms >= 0 && act.size() > 0 &&
           act.retention_timestamp() < now_ms - _cfg.retention_ms;
}

result<void> partition_log::writable() const {
    _owner.check_owner("partition_log");
    if (_failed) {
        return errc::storage_error;
    }
    if (_truncating) {
        return errc::busy;
    }
    return outcome::success();
}

result<append_outcome> partition_log::append(std::span<uint8_t> batch, int64_t now_ms) {
    CHRONIK_TRY(writable());
    CHRONIK_TRY(auto h, record::read_header(batch));
    if (is_idempotent(h)) {
        auto v = _producers.check(h.producer_id, h.producer_epoch, h.base_sequence,
                                  producer_state::last_sequence(h.base_sequence, h.record_count));
        switch (v.check) {
            case sequence_check::accept:
                break;
            case sequence_check::duplicate:
                return append_outcome{ v.original.base_offset, v.original.last_offset, -1, true };
            case sequence_check::out_of_order:
                return errc::out_of_order_sequence;
            case sequence_check::fenced:
                return errc::producer_fenced;
        }
    }
    record::set_base_offset_and_epoch(batch.data(), _next_offset, _leader_epoch);
    h.base_offset = _next_offset;
    h.partition_leader_epoch = _leader_epoch;
    int64_t append_time = -1;
    if (_cfg.log_append_time) {
        record::set_log_append_time(batch, now_ms);
        h.max_timestamp = now_ms;
        append_time = now_ms;
    }
    CHRONIK_TRY(auto out, write(batch, h, now_ms));
    out.log_append_time = append_time;
    return out;
}

result<append_outcome> partition_log::append_exact(std::span<const uint8_t> batch, int64_t now_ms) {
    CHRONIK_TRY(writable());
    CHRONIK_TRY(auto h, record::read_header(batch));
    CHRONIK_ASSERT(h.base_offset == _next_offset, "base == next on append");
    CHRONIK_ASSERT(h.partition_leader_epoch >= _epochs.latest_epoch(), "leader epochs only move forward");
    return write(batch, h, now_ms);
}

void partition_log::set_leader_epoch(int32_t epoch) {
    _owner.check_owner("partition_log");
    CHRONIK_ASSERT(epoch >= _leader_epoch && epoch >= _epochs.latest_epoch(),
                   "leader epochs only move forward");
    _leader_epoch = epoch;
    // A Kafka leader records its epoch when elected, data or not.
    _epochs.assign(epoch, _next_offset);
}

result<append_outcome> partition_log::write(std::span<const uint8_t> batch, const record::batch_header& h,
                                            int64_t now_ms) {
    segment* act = &active();
    bool full = act->size() > 0 && act->size() + batch.size() > _cfg.segment_bytes;
    bool old =
      act->size() > 0 && act->first_append_ms() >= 0 && now_ms - act->first_append_ms() >= _cfg.segment_ms;
    if (full || old) {
        if (auto r = roll(now_ms); !r) {
            log.warn("{}: cannot roll segment: {}", _dir, r.error().message());
            return errc::storage_error;
        }
        act = &active();
    }
    const int64_t base = h.base_offset;
    CHRONIK_ASSERT(base == _next_offset, "base == next on append");
    CHRONIK_ASSERT(act->next_offset() <= base, "the active segment ends at or below the log end");
    append_outcome out{ base, record::wrapping_add(base, h.last_offset_delta), -1, false };
    if (auto r = act->append(batch, h, _cfg.relaxed_flush ? 0 : _cfg.segment_bytes); !r) {
        log.warn("{}: append failed: {}", _dir, r.error().message());
        if (is_device_failure(r.error())) {
            fail(r.error());
        }
        return errc::storage_error;
    }
    act->note_append(now_ms);
    _epochs.assign(h.partition_leader_epoch, base);
    CHRONIK_ASSERT(out.last_offset >= base && out.last_offset + 1 > _next_offset,
                   "next offset moves forward");
    _next_offset = out.last_offset + 1;
    _unsynced_records += h.record_count;
    if (_unsynced.empty() || _unsynced.back().get() != act) {
        _unsynced.push_back(_segments.back());
    }
    note_producer(_producers, h);
    return out;
}

result<truncation> partition_log::begin_truncate(model::offset offset) {
    _owner.check_owner("partition_log");
    if (_failed) {
        return errc::storage_error;
    }
    if (_truncating || _compacting) {
        return errc::busy;
    }
    const int64_t o = offset();
    if (o < _high_watermark || o > _next_offset) {
        return errc::offset_out_of_range;
    }
    // The segment holding the cut: the last one starting at or below it.
    auto it =
      std::upper_bound(_segments.begin(), _segments.end(), o,
                       [](int64_t v, const std::shared_ptr<segment>& s) { return v < s->base_offset(); });
    CHRONIK_ASSERT(it != _segments.begin(), "the log starts at or below its high watermark");
    --it;
    auto pos = (*it)->position_of(o);
    if (!pos) {
        return errc::storage_error;
    }
    if (!pos.value()) {
        return errc::offset_out_of_range; // not a batch boundary
    }
    truncation t;
    t.offset = offset;
    t.dir = _dir;
    t.cut = *it;
    t.cut_position = *pos.value();
    if (_spare && _spare->base_offset() > o) {
        t.spare = _spare->path(); // its name would lie above the new log end
    }
    for (auto r = _segments.end(); r != it + 1;) {
        --r;
        t.removed.push_back(*r);
    }
    for (auto k = _segments.begin(); k != it + 1; ++k) {
        t.kept.push_back({ (*k)->path(), (*k)->base_offset(), k == it ? t.cut_position : (*k)->size() });
    }
    t.epochs = _epochs;
    t.epochs.truncate_from(o);
    _truncating = true;
    return t;
}

void partition_log::run_truncation(file_ops& ops, truncation& t) {
    auto failed = [&t](int rc) {
        t.ec = from_errno(rc);
        return rc < 0;
    };
    // 1. The marker: from here on, an open completes the cut.
    const std::string marker = t.dir + "/" + truncation_marker;
    const std::string text = std::to_string(t.offset()) + "\n";
    if (failed(replace_file(ops, marker, text.data(), text.size())) || failed(sync_dir(t.dir))) {
        return;
    }
    // 2. Whole segments above the cut, newest first (so a crash leaves a prefix).
    if (int rc = t.spare.empty() ? 0 : ops.unlink(t.spare); rc < 0 && rc != -ENOENT && failed(rc)) {
        return;
    }
    for (const auto& s : t.removed) {
        if (int rc = ops.unlink(index_path_for(s->path())); rc < 0 && rc != -ENOENT && failed(rc)) {
            return;
        }
        if (int rc = ops.unlink(s->path()); rc < 0 && rc != -ENOENT && failed(rc)) {
            return;
        }
    }
    // 3. The segment holding the cut (its summary first: it would describe the old size).
    if (int rc = ops.unlink(index_path_for(t.cut->path())); rc < 0 && rc != -ENOENT && failed(rc)) {
        return;
    }
    if (failed(ops.ftruncate(t.cut->fd(), off_t(t.cut_position))) || failed(ops.fdatasync(t.cut->fd()))) {
        return;
    }
    // 4. The epochs, and every removal made durable.
    if (auto stored = t.epochs.store(ops, t.dir); !stored) {
        t.ec = stored.error();
        return;
    }
    if (failed(sync_dir(t.dir)) || failed(ops.unlink(marker)) || failed(sync_dir(t.dir))) {
        return;
    }
    // 5. Producer state at the cut: each kept segment's summary where one is
    // current, else its batch headers (the cut segment always), in log order.
    for (const auto& k : t.kept) {
        auto summary =
          k.path == t.cut->path() ? std::optional<segment_summary>() : load_summary(ops, k.path, k.size);
        if (!summary) {
            auto scanned = summarize_segment(ops, k.path, k.base_offset);
            if (!scanned) {
                t.ec = scanned.error();
                return;
            }
            summary = std::move(scanned).value();
        }
        for (const auto& e : summary->producers) {
            t.producers.record(e.producer_id, e.epoch, e.batch);
        }
    }
}

void partition_log::finish_truncate(truncation t) {
    _owner.check_owner("partition_log");
    CHRONIK_ASSERT(_truncating, "finish_truncate after begin_truncate");
    _truncating = false;
    if (t.ec) {
        // The files are somewhere between the two sides; the next open completes the cut.
        fail(t.ec);
        return;
    }
    const int64_t o = t.offset();
    auto it = std::find(_segments.begin(), _segments.end(), t.cut);
    CHRONIK_ASSERT(it != _segments.end(), "the cut segment is still the log's");
    _segments.erase(it + 1, _segments.end());
    std::erase_if(_unsynced, [&t](const std::shared_ptr<segment>& s) {
        return std::find(t.removed.begin(), t.removed.end(), s) != t.removed.end();
    });
    t.cut->forget_from(o, t.cut_position);
    if (!t.spare.empty()) {
        _spare.reset();
    }
    _next_offset = o;
    _cleaned_upto = std::min(_cleaned_upto, o);
    _epochs.truncate_from(o);
    if (_epochs.entries() == t.epochs.entries()) {
        _epochs.mark_stored();
    }
    _producers = std::move(t.producers);
    _producers.trim(_log_start);
    CHRONIK_ASSERT(_high_watermark <= _next_offset, "high watermark above the log end");
}

void partition_log::cancel_truncate() {
    _owner.check_owner("partition_log");
    _truncating = false;
}

result<read_result> partition_log::read(int64_t offset, size_t max_bytes, bool min_one, bool zero_copy,
                                        std::optional<int64_t> upto) {
    _owner.check_owner("partition_log");
    if (_failed) {
        return errc::storage_error;
    }
    if (offset < (upto ? physical_start_offset() : _log_start) || offset > _next_offset) {
        return errc::offset_out_of_range;
    }
    const int64_t bound = upto ? std::min(*upto, _next_offset) : _high_watermark;
    read_result empty;
    empty.next_offset = offset;
    if (offset >= bound) {
        return empty;
    }
    auto it =
      std::upper_bound(_segments.begin(), _segments.end(), offset,
                       [](int64_t o, const std::shared_ptr<segment>& s) { return o < s->base_offset(); });
    if (it != _segments.begin()) {
        --it;
    }
    for (; it != _segments.end(); ++it) {
        // Consumers (no bound given) are not sent the Raft group's control batches.
        auto r = (*it)->read(offset, bound, max_bytes, min_one,
                             zero_copy ? std::shared_ptr<const void>(*it) : nullptr, !upto.has_value());
        if (!r) {
            if (is_device_failure(r.error())) {
                fail(r.error());
            }
            return errc::storage_error;
        }
        // Empty: nothing at or after `offset` below the high watermark in this
        // segment (compaction may leave gaps, even empty segments); try the next.
        if (!r.value().data.empty()) {
            return r;
        }
    }
    return empty;
}

result<std::optional<timestamp_offset>> partition_log::record_at_or_after(segment& s, int64_t batch_offset,
                                                                          int64_t ts, bool want_max) {
    auto r = s.read_batch_at(batch_offset);
    if (!r) {
        return errc::storage_error;
    }
    if (r.value().data.empty()) {
        return std::optional<timestamp_offset>();
    }
    auto span = r.value().data.span();
    CHRONIK_TRY(auto h, record::read_header(span));
    std::optional<timestamp_offset> found;
    auto ok = record::for_each_record(span.first(h.size_bytes()), max_decompressed_batch,
                                      [&](const record::record_view& rv) {
                                          int64_t t = h.timestamp_of(rv);
                                          int64_t off = h.offset_of(rv);
                                          bool match = want_max ? t == ts : t >= ts;
                                          if (!found && match && off >= _log_start && off < _high_watermark) {
                                              found = timestamp_offset{ off, t };
                                          }
                                      });
    if (!ok) {
        return errc::corrupt_log;
    }
    return found;
}

result<std::optional<timestamp_offset>> partition_log::offset_for_timestamp(int64_t ts) {
    _owner.check_owner("partition_log");
    for (auto& seg : _segments) {
        if (seg->max_timestamp() < ts) {
            continue;
        }
        auto batch = seg->offset_for_timestamp(ts);
        if (!batch) {
            continue;
        }
        CHRONIK_TRY(auto found, record_at_or_after(*seg, std::max(*batch, _log_start), ts, false));
        if (found) {
            return found;
        }
    }
    return std::optional<timestamp_offset>();
}

result<std::optional<timestamp_offset>> partition_log::max_timestamp() {
    _owner.check_owner("partition_log");
    segment* best = nullptr;
    for (auto& seg : _segments) {
        if (seg->max_timestamp() >= 0 && (best == nullptr || seg->max_timestamp() > best->max_timestamp())) {
            best = seg.get();
        }
    }
    if (best == nullptr) {
        return std::optional<timestamp_offset>();
    }
    return record_at_or_after(*best, best->max_timestamp_offset(), best->max_timestamp(), true);
}

std::vector<std::shared_ptr<segment>> partition_log::start_compaction(int64_t now_ms) {
    _owner.check_owner("partition_log");
    std::vector<std::shared_ptr<segment>> out;
    if (!_cfg.compact || _compacting || _truncating || _failed || _segments.size() < 2) {
        return out;
    }
    // Sealed and synced segments old enough for min.compaction.lag.ms.
    uint64_t total = 0, dirty = 0;
    bool overdue = false;
    for (size_t i = 0; i + 1 < _segments.size(); ++i) {
        const auto& seg = _segments[i];
        if (seg->next_offset() > _high_watermark ||
            (seg->max_timestamp() >= 0 && seg->max_timestamp() > now_ms - _cfg.min_compaction_lag_ms)) {
            break;
        }
        out.push_back(seg);
        total += seg->size();
        if (seg->next_offset() > _cleaned_upto) {
            dirty += seg->size();
            overdue = overdue || (_cfg.max_compaction_lag_ms < now_ms && seg->max_timestamp() >= 0 &&
                                  seg->max_timestamp() < now_ms - _cfg.max_compaction_lag_ms);
        }
    }
    bool due = dirty > 0 && (overdue || double(dirty) >= _cfg.min_cleanable_dirty_ratio * double(total));
    if (!due) {
        out.clear();
        return out;
    }
    _compacting = true;
    return out;
}

void partition_log::finish_compaction(const std::vector<std::shared_ptr<segment>>& original,
                                      const std::vector<std::shared_ptr<segment>>& replacement) {
    _owner.check_owner("partition_log");
    _compacting = false;
    for (size_t i = 0; i < original.size() && i < replacement.size(); ++i) {
        auto it = std::find(_segments.begin(), _segments.end(), original[i]);
        if (it != _segments.end() && replacement[i]) {
            *it = replacement[i];
        }
        _cleaned_upto = std::max(_cleaned_upto, original[i]->next_offset());
    }
}

std::vector<std::shared_ptr<segment>> partition_log::collect_garbage(int64_t now_ms) {
    _owner.check_owner("partition_log");
    std::vector<std::shared_ptr<segment>> removed;
    if (_compacting || _truncating) {
        return removed; // segments are being rewritten or cut; the next check removes them
    }
    auto drop_front = [&] {
        removed.push_back(_segments.front());
        _segments.erase(_segments.begin());
        _log_start = std::max(_log_start, _segments.front()->base_offset());
    };
    // Fully synced data only: a segment is never deleted with writes still unsynced.
    bool synced = _high_watermark == _next_offset;
    if (synced && expiry_roll_due(now_ms)) {
        // Everything has expired: start an empty segment so the old one can go.
        if (!roll(now_ms)) {
            return removed;
        }
    }
    while (_segments.size() > 1 && _segments[1]->base_offset() <= _log_start) {
        drop_front();
    }
    if (_cfg.delete_old && _cfg.retention_ms >= 0) {
        while (_segments.size() > 1 &&
               _segments.front()->retention_timestamp() < now_ms - _cfg.retention_ms &&
               _segments.front()->next_offset() <= _high_watermark) {
            drop_front();
        }
    }
    if (_cfg.delete_old && _cfg.retention_bytes >= 0) {
        uint64_t total = size_bytes();
        while (_segments.size() > 1 && total - _segments.front()->size() >= uint64_t(_cfg.retention_bytes) &&
               _segments.front()->next_offset() <= _high_watermark) {
            total -= _segments.front()->size();
            drop_front();
        }
    }
    if (!removed.empty()) {
        _producers.trim(_log_start);
        _epochs.truncate_to_start(_segments.front()->base_offset());
    }
    return removed;
}

result<int64_t> partition_log::delete_records_before(int64_t offset) {
    _owner.check_owner("partition_log");
    if (offset == -1) {
        offset = _high_watermark;
    }
    if (offset < 0 || offset > _high_watermark) {
        return errc::offset_out_of_range;
    }
    _log_start = std::max(_log_start, offset); // the epochs go with the segments
    return _log_start;
}

std::vector<std::shared_ptr<segment>> partition_log::take_unsynced(int64_t& durable_end, bool& sync_dir) {
    _owner.check_owner("partition_log");
    durable_end = _next_offset;
    _unsynced_records = 0;
    sync_dir = std::exchange(_dir_dirty, false);
    return std::exchange(_unsynced, {});
}

void partition_log::return_unsynced(std::vector<std::shared_ptr<segment>> segs, bool sync_dir, bool epochs) {
    _owner.check_owner("partition_log");
    for (auto& s : _unsynced) {
        if (std::find(segs.begin(), segs.end(), s) == segs.end()) {
            segs.push_back(std::move(s));
        }
    }
    _unsynced = std::move(segs);
    _dir_dirty = _dir_dirty || sync_dir;
    if (epochs) {
        _epochs.mark_dirty();
    }
}

std::optional<epoch_cache> partition_log::take_epoch_checkpoint() {
    _owner.check_owner("partition_log");
    if (!_epochs.dirty()) {
        return std::nullopt;
    }
    _epochs.mark_stored();
    return _epochs;
}

void partition_log::persisted(int64_t end) {
    _owner.check_owner("partition_log");
    if (_on_persisted) {
        _on_persisted(end);
    } else {
        set_high_watermark(end);
    }
}

void partition_log::set_high_watermark(int64_t hw) noexcept {
    _owner.check_owner("partition_log");
    CHRONIK_ASSERT(hw <= _next_offset, "high watermark above the log end");
    _high_watermark = std::max(_high_watermark, hw);
}

void partition_log::fail(std::error_code ec) {
    _owner.check_owner("partition_log");
    if (!_failed) {
        log.error("{}: partition taken offline after an I/O error: {}", _dir, ec.message());
        _failed = ec;
    }
}

uint64_t partition_log::size_bytes() const noexcept {
    uint64_t n = 0;
    for (const auto& s : _segments) {
        n += s->size();
    }
    return n;
}

} // namespace chronik::storage
