// partition_log's reset (reset_plan): a replica behind its leader's log start
// drops every segment and starts empty at the leader's snapshot point.
#include "base/assert.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "storage/segment_index.h"

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace chronik::storage {

namespace {

std::error_code from_errno(int rc) {
    return { -rc, std::system_category() };
}

// Unlinks a file that may already be gone; 0 or -errno.
int remove_file(file_ops& ops, const std::string& path) {
    int rc = ops.unlink(path);
    return rc == -ENOENT ? 0 : rc;
}

} // namespace

result<std::optional<reset_plan>> partition_log::pending_reset(file_ops& ops, const std::string& dir) {
    std::string text;
    int rc = read_small_file(ops, dir + "/" + reset_marker, 64, text);
    if (rc == -ENOENT) {
        return std::optional<reset_plan>();
    }
    if (rc < 0 && rc != -EFBIG) {
        return from_errno(rc);
    }
    // "<offset> <epoch>\n", written whole and renamed into place: anything else is
    // not ours, and opening without completing the reset could serve a log that
    // was being dropped.
    reset_plan r;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    auto a = std::from_chars(p, end, r.offset);
    bool ok = rc >= 0 && a.ec == std::errc() && a.ptr != end && *a.ptr == ' ';
    if (ok) {
        auto b = std::from_chars(a.ptr + 1, end, r.epoch);
        ok = b.ec == std::errc() && b.ptr != end && *b.ptr == '\n' && b.ptr + 1 == end;
    }
    if (!ok || r.offset <= 0 || r.epoch < 0) {
        return errc::corrupt_checkpoint;
    }
    r.dir = dir;
    r.epochs = epoch_cache({ { r.epoch, r.offset - 1 } });
    return std::optional<reset_plan>(std::move(r));
}

result<void> partition_log::complete_pending_reset(file_ops& ops, const reset_plan& r,
                                                   std::vector<int64_t>& bases) {
    // Newest first, so a crash in between leaves a prefix (completed again next time).
    for (auto it = bases.rbegin(); it != bases.rend(); ++it) {
        const std::string path = r.dir + "/" + segment::file_name(*it);
        if (int rc = remove_file(ops, index_path_for(path)); rc < 0) {
            return from_errno(rc);
        }
        if (int rc = remove_file(ops, path); rc < 0) {
            return from_errno(rc);
        }
    }
    bases.clear();
    CHRONIK_TRY(r.epochs.store(ops, r.dir));
    if (int rc = sync_dir(r.dir); rc < 0) {
        return from_errno(rc);
    }
    return outcome::success();
}

result<reset_plan> partition_log::begin_reset(int64_t offset, int32_t epoch) {
    _owner.check_owner("partition_log");
    if (_failed) {
        return errc::storage_error;
    }
    if (_truncating || _compacting) {
        return errc::busy;
    }
    // What this replica committed, its leader holds too: a snapshot point never
    // lies below it.
    if (offset <= 0 || epoch < 0 || offset < _high_watermark) {
        return errc::offset_out_of_range;
    }
    reset_plan r;
    r.offset = offset;
    r.epoch = epoch;
    r.dir = _dir;
    for (auto it = _segments.rbegin(); it != _segments.rend(); ++it) {
        r.removed.push_back(*it);
    }
    if (_spare) {
        r.spare = _spare->path();
    }
    r.epochs = epoch_cache({ { epoch, offset - 1 } });
    _truncating = true;
    return r;
}

void partition_log::run_reset(file_ops& ops, reset_plan& r) {
    auto failed = [&r](int rc) {
        if (rc < 0) {
            r.ec = from_errno(rc);
        }
        return rc < 0;
    };
    // 1. The marker: from here on, an open completes the reset.
    const std::string marker = r.dir + "/" + reset_marker;
    const std::string text = std::to_string(r.offset) + " " + std::to_string(r.epoch) + "\n";
    if (failed(replace_file(ops, marker, text.data(), text.size())) || failed(sync_dir(r.dir))) {
        return;
    }
    // 2. Every segment, newest first, and the spare.
    if (!r.spare.empty() && failed(remove_file(ops, r.spare))) {
        return;
    }
    for (const auto& s : r.removed) {
        if (failed(remove_file(ops, index_path_for(s->path()))) || failed(remove_file(ops, s->path()))) {
            return;
        }
    }
    // 3. The epochs, the empty segment at the new start, and all of it durable.
    if (auto stored = r.epochs.store(ops, r.dir); !stored) {
        r.ec = stored.error();
        return;
    }
    auto fresh = segment::create(ops, r.dir, r.offset, false);
    if (!fresh) {
        r.ec = fresh.error();
        return;
    }
    r.fresh = std::move(fresh).value();
    if (failed(sync_dir(r.dir)) || failed(ops.unlink(marker)) || failed(sync_dir(r.dir))) {
        return;
    }
}

void partition_log::finish_reset(reset_plan r) {
    _owner.check_owner("partition_log");
    CHRONIK_ASSERT(_truncating, "finish_reset after begin_reset");
    _truncating = false;
    if (r.ec) {
        // The files are somewhere between the two sides; the next open completes it.
        fail(r.ec);
        return;
    }
    CHRONIK_ASSERT(r.fresh && r.fresh->base_offset() == r.offset, "a reset leaves one empty segment");
    _segments = { r.fresh };
    _unsynced.clear();
    _unsynced_records = 0;
    _dir_dirty = false;
    _spare.reset();
    _next_offset = r.offset;
    _high_watermark = r.offset;
    _log_start = r.offset;
    _cleaned_upto = r.offset;
    _epochs = std::move(r.epochs);
    _epochs.mark_stored();
    // The producers' sequences live in the batches that are gone: idempotent dedup
    // knows only those written from here on (as after retention removed them).
    _producers = producer_state();
    _leader_epoch = std::max(_leader_epoch, r.epoch);
}

} // namespace chronik::storage
