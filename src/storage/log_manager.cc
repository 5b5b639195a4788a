#include "storage/log_manager.h"

#include "base/logger.h"
#include "storage/compactor.h"
#include "storage/errc.h"
#include "storage/segment_index.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace chronik::storage {

namespace {

logger log{ "storage" };

constexpr const char* log_start_file = "log-start-offset";

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t read_log_start(const std::string& dir) {
    std::ifstream in(dir + "/" + log_start_file);
    int64_t v = 0;
    if (!(in >> v) || v < 0) {
        return 0;
    }
    return v;
}

// tmp + fdatasync + rename + directory fsync. Returns 0 or -errno.
int write_log_start(file_ops& ops, const std::string& dir, int64_t value) {
    std::string tmp = dir + "/" + log_start_file + ".tmp";
    int fd = ops.open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) {
        return fd;
    }
    std::string text = std::to_string(value) + "\n";
    auto n = ops.pwrite_all(fd, text.data(), text.size(), 0);
    int rc = n < 0 ? int(n) : ops.fdatasync(fd);
    ops.close(fd);
    if (rc < 0) {
        return rc;
    }
    if (::rename(tmp.c_str(), (dir + "/" + log_start_file).c_str()) != 0) {
        return -errno;
    }
    return sync_dir(dir);
}

struct open_outcome {
    std::shared_ptr<partition_log> log;
    std::error_code ec;
};

} // namespace

log_manager::log_manager(std::string data_dir, runtime::io_worker& io, file_ops& ops,
                         asio::any_io_executor ex, wake_fn wake, std::chrono::milliseconds retention_check)
  : _data_dir(std::move(data_dir)), _io(io), _ops(ops), _ex(ex), _wake(std::move(wake)),
    _retention_check(retention_check), _flushed(ex), _stop(ex) {}

log_manager::~log_manager() = default;

std::string log_manager::partition_dir(const std::string& data_dir, std::string_view topic,
                                       const model::uuid& topic_id, int32_t partition) {
    return data_dir + "/logs/" + std::string(topic) + "-" + std::to_string(partition) + "." +
           topic_id.to_string();
}

std::shared_ptr<partition_log> log_manager::find(std::string_view topic, int32_t partition) const {
    _owner.check_owner("log_manager");
    auto it = _partitions.find(key{ std::string(topic), partition });
    return it == _partitions.end() ? nullptr : it->second.log;
}

awaitable<std::shared_ptr<partition_log>> log_manager::get(std::string topic, model::uuid topic_id,
                                                           int32_t partition, log_config cfg) {
    _owner.check_owner("log_manager");
    key k{ topic, partition };
    for (;;) {
        if (auto it = _partitions.find(k); it != _partitions.end()) {
            if (it->second.topic_id == topic_id) {
                it->second.log->set_config(cfg);
                co_return it->second.log;
            }
            // The topic was deleted and created again under the same name.
            co_return nullptr;
        }
        auto op = _opening.find(k);
        if (op == _opening.end()) {
            break;
        }
        auto ev = op->second;
        co_await ev->wait();
    }
    if (_closed) {
        co_return nullptr;
    }
    auto ev = std::make_shared<runtime::event>(_ex);
    _opening.emplace(k, ev);
    std::string dir = partition_dir(_data_dir, topic, topic_id, partition);
    file_ops* ops = &_ops;
    auto job = [ops, dir, cfg]() -> open_outcome {
        auto r = partition_log::open(*ops, dir, cfg, read_log_start(dir));
        if (!r) {
            return { nullptr, r.error() };
        }
        return { std::move(r).value(), {} };
    };
    open_outcome opened;
    try {
        opened = co_await _io.run(std::move(job));
    } catch (const std::exception& e) {
        opened.ec = errc::storage_error;
    }
    _opening.erase(k);
    ev->notify_all();
    if (opened.ec) {
        log.error("cannot open partition {}-{}: {}", topic, partition, opened.ec.message());
        co_return nullptr;
    }
    _partitions.emplace(k, slot{ opened.log, topic_id });
    arm_retention();
    co_return opened.log;
}

void log_manager::appended(const std::shared_ptr<partition_log>& p) {
    _owner.check_owner("log_manager");
    if (auto name = p->spare_wanted(now_ms())) {
        start_spare(p, *name);
    }
    const auto& cfg = p->config();
    if (cfg.relaxed_flush) {
        // Page-cache durability: readable and acknowledged now, synced later.
        p->persisted(p->log_end_offset());
        wake_watchers(*p);
        if (p->unsynced_records() < cfg.flush_messages) {
            arm_flush_timer(p);
            return;
        }
    }
    queue_flush(p);
}

void log_manager::queue_flush(const std::shared_ptr<partition_log>& p) {
    if (_queued.insert(p.get()).second) {
        _dirty.push_back(p);
    }
    start_rounds();
}

void log_manager::start_rounds() {
    while (_rounds.size() < max_rounds && !_dirty.empty()) {
        auto holder = _gate.try_enter();
        if (!holder) {
            return; // closing: close() drives the final rounds itself
        }
        auto r = take_round();
        if (!r) {
            return; // what is queued waits for a running round (see take_round)
        }
        asio::co_spawn(_ex, run_round(std::move(r), std::move(*holder)), asio::detached);
    }
}

std::shared_ptr<log_manager::round> log_manager::take_round() {
    auto r = std::make_shared<round>();
    r->seq = _next_round;
    std::vector<std::shared_ptr<partition_log>> later;
    for (auto& p : std::exchange(_dirty, {})) {
        _queued.erase(p.get());
        if (p->truncating()) {
            continue; // truncate() queues it again when done
        }
        // A checkpoint or a directory sync is one file per partition: two rounds
        // must not write it at once, so that part waits for p's running round.
        if (_in_round.contains(p.get()) && (p->epochs_dirty() || p->dir_dirty())) {
            later.push_back(std::move(p));
            continue;
        }
        ++_in_round[p.get()];
        int64_t end = 0;
        bool sync_dir_too = false;
        auto s = p->take_unsynced(end, sync_dir_too);
        // A new leader epoch: its checkpoint is stored in the same round as the
        // batches, so what is acknowledged never outruns it (the rename makes the
        // directory dirty).
        auto epochs = p->take_epoch_checkpoint();
        sync_dir_too = sync_dir_too || epochs.has_value();
        r->items.push_back({ p, end, r->segs.size(), s.size(), epochs.has_value(), sync_dir_too, false });
        for (const auto& seg : s) {
            // A sealed segment's size is final (a truncation waits for this round).
            const bool sealed = seg != p->segments().back();
            r->trims.push_back(sealed && seg->physical_size() > seg->size() ? int64_t(seg->size()) : -1);
        }
        r->segs.insert(r->segs.end(), s.begin(), s.end());
        if (epochs) {
            r->checkpoints.push_back({ std::move(*epochs), p->dir() });
        }
        if (sync_dir_too) {
            r->dirs.push_back(p->dir());
        }
    }
    for (auto& p : later) {
        _queued.insert(p.get());
        _dirty.push_back(std::move(p));
    }
    if (r->items.empty()) {
        return nullptr;
    }
    ++_next_round;
    _rounds.push_back(r);
    return r;
}

awaitable<void> log_manager::run_round(std::shared_ptr<round> r, runtime::gate::holder) {
    file_ops* ops = &_ops;
    // One result per segment, per checkpoint, then per directory: 0 or -errno.
    auto job = [ops, segs = r->segs, trims = r->trims, checkpoints = r->checkpoints,
                dirs = r->dirs]() -> std::vector<int> {
        std::vector<int> rcs;
        rcs.reserve(segs.size() + checkpoints.size() + dirs.size());
        for (size_t i = 0; i < segs.size(); ++i) {
            int rc = trims[i] >= 0 ? ops->ftruncate(segs[i]->fd(), off_t(trims[i])) : 0;
            rcs.push_back(rc < 0 ? rc : ops->fdatasync(segs[i]->fd()));
        }
        for (const auto& c : checkpoints) {
            auto stored = c.epochs.store(*ops, c.dir);
            rcs.push_back(stored ? 0 : -(stored.error().value() > 0 ? stored.error().value() : EIO));
        }
        for (const auto& d : dirs) {
            rcs.push_back(sync_dir(d));
        }
        return rcs;
    };
    const size_t total = r->segs.size() + r->checkpoints.size() + r->dirs.size();
    std::vector<int> rcs;
    // Only syncs (the common round): through the shard's ring, no thread hand-off.
    // A test's fault-injecting file_ops sees every call, so it keeps the worker.
    const bool only_syncs = r->checkpoints.empty() && r->dirs.empty() &&
                            std::all_of(r->trims.begin(), r->trims.end(), [](int64_t t) { return t < 0; });
    if (_ring && only_syncs && &_ops == &file_ops::real()) {
        std::vector<int> fds;
        fds.reserve(r->segs.size());
        for (const auto& seg : r->segs) {
            fds.push_back(seg->fd());
        }
        rcs = co_await _ring->fdatasync(std::move(fds));
    } else {
        try {
            rcs = co_await _io.run(std::move(job));
        } catch (const runtime::io_worker::queue_full&) {
            rcs.assign(total, -EAGAIN);
        }
    }
    // Rounds take effect in the order they were taken: a later round's fdatasync
    // covers the pages an earlier one wrote only for the segments it took itself.
    while (_rounds.front() != r) {
        co_await _flushed.wait(); // every round's end notifies it
    }
    size_t checkpoint_i = r->segs.size();
    size_t dir_i = r->segs.size() + r->checkpoints.size();
    for (auto& it : r->items) {
        int rc = 0;
        for (size_t i = it.first_seg; i < it.first_seg + it.seg_count && rc == 0; ++i) {
            rc = rcs[i];
        }
        if (it.has_checkpoint && rc == 0) {
            rc = rcs[checkpoint_i];
        }
        checkpoint_i += it.has_checkpoint ? 1 : 0;
        if (it.has_dir && rc == 0) {
            rc = rcs[dir_i];
        }
        dir_i += it.has_dir ? 1 : 0;
        if (it.voided && rc == 0) {
            rc = -EAGAIN; // an earlier round handed p's work back: this one's end is not covered
        }
        if (rc == -EAGAIN) {
            if (!it.voided) {
                log.warn("sync queue full (I/O worker or io_uring); group commit retried");
                asio::steady_timer t(_ex, std::chrono::milliseconds(1));
                boost::system::error_code ec;
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            }
            // What this round took is handed back, or the next round would raise
            // the high watermark over segments nobody synced; so is what the later
            // running rounds took of p, whose ends assumed this round's sync.
            void_later_rounds(*r, it.p.get());
            it.p->return_unsynced({ r->segs.begin() + ptrdiff_t(it.first_seg),
                                    r->segs.begin() + ptrdiff_t(it.first_seg + it.seg_count) },
                                  it.has_dir, it.has_checkpoint);
        } else if (rc < 0) {
            void_later_rounds(*r, it.p.get());
            it.p->fail(std::error_code(-rc, std::system_category()));
        } else if (!it.p->failure()) {
            for (size_t i = it.first_seg; i < it.first_seg + it.seg_count; ++i) {
                if (r->trims[i] >= 0) {
                    r->segs[i]->zero_tail_removed();
                }
            }
            it.p->persisted(it.end);
        }
        if (--_in_round[it.p.get()] == 0) {
            _in_round.erase(it.p.get());
        }
        if (rc == -EAGAIN && !it.p->failure()) {
            appended(it.p);
        }
        wake_watchers(*it.p);
    }
    _rounds.pop_front();
    _flushed.notify_all();
    start_rounds();
}

void log_manager::void_later_rounds(const round& r, const partition_log* p) {
    for (auto& later : _rounds) {
        if (later->seq <= r.seq) {
            continue;
        }
        for (auto& it : later->items) {
            if (it.p.get() == p) {
                it.voided = true;
            }
        }
    }
}

void log_manager::arm_flush_timer(const std::shared_ptr<partition_log>& p) {
    int64_t ms = p->config().flush_ms;
    if (ms == INT64_MAX || _closed || !_flush_timers.insert(p.get()).second) {
        return; // never by time, closing, or already armed
    }
    auto holder = _gate.try_enter();
    if (!holder) {
        _flush_timers.erase(p.get());
        return;
    }
    asio::co_spawn(
      _ex,
      [](log_manager& self, std::shared_ptr<partition_log> p, std::chrono::milliseconds delay,
         runtime::gate::holder) -> awaitable<void> {
          co_await self._stop.wait_for(delay);
          self._flush_timers.erase(p.get());
          if (!self._closed && p->dirty()) {
              self.queue_flush(p);
          }
      }(*this, p, std::chrono::milliseconds(std::min<int64_t>(ms, int64_t(1) << 40)), std::move(*holder)),
      asio::detached);
}

awaitable<std::error_code> log_manager::wait_durable(std::shared_ptr<partition_log> p, int64_t last_offset) {
    _owner.check_owner("log_manager");
    while (p->high_watermark() <= last_offset) {
        if (p->failure()) {
            co_return errc::storage_error;
        }
        co_await _flushed.wait();
    }
    co_return std::error_code();
}

template<class Plan, class Run, class Finish>
awaitable<std::error_code> log_manager::rewrite(std::shared_ptr<partition_log> p, Plan plan, Run run,
                                                Finish finish) {
    _owner.check_owner("log_manager");
    auto holder = _gate.try_enter();
    if (!holder) {
        co_return errc::busy;
    }
    // A round that took p's segments would raise its high watermark to the old end.
    while (_in_round.contains(p.get())) {
        co_await _flushed.wait();
    }
    auto planned = plan(*p);
    if (!planned) {
        co_return planned.error();
    }
    file_ops* ops = &_ops;
    auto job = [ops, run, t = std::move(planned).value()]() mutable {
        run(*ops, t);
        return std::move(t);
    };
    using plan_type = std::decay_t<decltype(planned.value())>;
    plan_type done;
    try {
        done = co_await _io.run(std::move(job));
    } catch (const runtime::io_worker::queue_full&) {
        p->cancel_truncate();
        co_return errc::busy;
    }
    const std::error_code ec = done.ec;
    finish(*p, std::move(done));
    if (p->dirty()) {
        queue_flush(p);
    }
    _flushed.notify_all(); // waiters see a failure
    co_return ec ? std::error_code(errc::storage_error) : std::error_code();
}

awaitable<std::error_code> log_manager::truncate(std::shared_ptr<partition_log> p, model::offset offset) {
    return rewrite(
      std::move(p), [offset](partition_log& l) { return l.begin_truncate(offset); },
      [](file_ops& ops, truncation& t) { partition_log::run_truncation(ops, t); },
      [](partition_log& l, truncation t) { l.finish_truncate(std::move(t)); });
}

awaitable<std::error_code> log_manager::reset(std::shared_ptr<partition_log> p, int64_t offset,
                                              int32_t epoch) {
    return rewrite(
      std::move(p), [offset, epoch](partition_log& l) { return l.begin_reset(offset, epoch); },
      [](file_ops& ops, reset_plan& r) { partition_log::run_reset(ops, r); },
      [](partition_log& l, reset_plan r) { l.finish_reset(std::move(r)); });
}

void log_manager::committed(partition_log& p) {
    _owner.check_owner("log_manager");
    wake_watchers(p);
    _flushed.notify_all();
}

void log_manager::watch(const partition_log& p, watcher w) {
    _owner.check_owner("log_manager");
    const_cast<partition_log&>(p).add_watcher(w);
}

void log_manager::wake_watchers(partition_log& p) {
    auto ws = p.take_watchers();
    if (!ws.empty()) {
        _wake(std::move(ws));
    }
}

void log_manager::arm_retention() {
    if (_retention_armed || _closed) {
        return;
    }
    auto holder = _gate.try_enter();
    if (!holder) {
        return;
    }
    _retention_armed = true;
    asio::co_spawn(_ex, retention_loop(std::move(*holder)), asio::detached);
}

awaitable<void> log_manager::retention_loop(runtime::gate::holder) {
    while (!_closed) {
        co_await _stop.wait_for(_retention_check);
        if (_closed) {
            break;
        }
        co_await enforce_retention();
    }
}

awaitable<void> log_manager::enforce_retention() {
    _owner.check_owner("log_manager");
    auto now = now_ms();
    // A log that has wholly expired rolls to let its last segment go: into a spare
    // opened first, so the roll makes no syscall here.
    std::vector<std::pair<std::shared_ptr<partition_log>, int64_t>> expired;
    for (auto& [k, s] : _partitions) {
        if (auto name = s.log->spare_wanted(now); name && s.log->expiry_roll_due(now)) {
            expired.emplace_back(s.log, *name);
        }
    }
    for (auto& [p, name] : expired) {
        auto holder = _gate.try_enter();
        if (!holder) {
            co_return;
        }
        p->spare_requested();
        co_await prepare_spare(p, name, std::move(*holder));
    }
    for (auto& [k, s] : _partitions) {
        auto removed = s.log->collect_garbage(now);
        if (!removed.empty()) {
            log.debug("{}: retention removes {} segment(s); log start offset now {}", s.log->dir(),
                      removed.size(), s.log->log_start_offset());
            delete_files(std::move(removed));
        }
    }
    co_await compact_due(now);
    co_await store_summaries();
}

awaitable<void> log_manager::store_summaries() {
    // Sealed, synced segments without a stored summary, written on the I/O worker
    // so the next start-up need not scan them (segment_index.h).
    struct pending {
        std::shared_ptr<partition_log> log;
        std::vector<std::shared_ptr<segment>> segs;
    };
    std::vector<pending> work;
    for (auto& [k, s] : _partitions) {
        if (s.log->compacting() || s.log->failure() || s.log->dirty()) {
            continue; // next time: a summary describes only synced data
        }
        pending p{ s.log, {} };
        const auto& segs = s.log->segments();
        for (size_t i = 0; i + 1 < segs.size(); ++i) {
            if (!segs[i]->index_stored() && segs[i]->next_offset() <= s.log->high_watermark()) {
                p.segs.push_back(segs[i]);
            }
        }
        if (!p.segs.empty()) {
            work.push_back(std::move(p));
        }
    }
    for (auto& w : work) {
        auto job = [ops = &_ops, segs = w.segs]() -> std::vector<bool> {
            std::vector<bool> stored;
            for (const auto& seg : segs) {
                auto sum = summarize_segment(*ops, seg->path(), seg->base_offset());
                stored.push_back(sum && store_summary(*ops, seg->path(), sum.value()));
            }
            return stored;
        };
        try {
            auto run = _io.run(std::move(job));
            auto stored = co_await std::move(run);
            for (size_t i = 0; i < stored.size() && i < w.segs.size(); ++i) {
                w.segs[i]->set_index_stored(stored[i]);
            }
        } catch (const runtime::io_worker::queue_full&) {
            co_return; // the next check tries again
        }
    }
}

awaitable<void> log_manager::compact_due(int64_t now) {
    // One partition at a time: a pass is background work and may take a while. The
    // list is taken first; partitions may close while a pass runs.
    std::vector<std::shared_ptr<partition_log>> logs;
    for (auto& [k, s] : _partitions) {
        if (s.log->config().compact) {
            logs.push_back(s.log);
        }
    }
    for (auto& p : logs) {
        auto segs = p->start_compaction(now);
        if (segs.empty()) {
            continue;
        }
        compaction_params params;
        params.now_ms = now;
        params.delete_retention_ms = p->config().delete_retention_ms;
        // The worker's result must be default-constructible (see io_worker::run).
        struct outcome_t {
            std::error_code error;
            compaction_result result;
        };
        auto job = [ops = &_ops, dir = p->dir(), segs, params]() mutable {
            auto r = compact_segments(*ops, dir, std::move(segs), params);
            return r ? outcome_t{ {}, std::move(r).value() } : outcome_t{ r.error(), {} };
        };
        compaction_result done;
        try {
            auto pass = _io.run(std::move(job));
            auto r = co_await std::move(pass);
            if (r.error) {
                log.warn("{}: compaction failed: {}; the segments are left as they were", p->dir(),
                         r.error.message());
            } else {
                done = std::move(r.result);
            }
        } catch (const runtime::io_worker::queue_full&) {
            log.debug("{}: compaction deferred: I/O worker busy", p->dir());
        }
        if (!done.original.empty()) {
            log.debug("{}: compaction removed {} record(s), {} -> {} bytes", p->dir(), done.records_removed,
                      done.bytes_before, done.bytes_after);
        }
        // Always ends the pass; a failed pass leaves every segment in place.
        p->finish_compaction(done.original, done.replaced);
    }
}

void log_manager::delete_files(std::vector<std::shared_ptr<segment>> segs) {
    auto holder = _gate.try_enter();
    if (!holder) {
        return;
    }
    asio::co_spawn(
      _ex,
      [](runtime::io_worker& io, std::vector<std::shared_ptr<segment>> segs,
         runtime::gate::holder) -> awaitable<void> {
          auto job = [segs = std::move(segs)]() mutable -> int {
              for (auto& s : segs) {
                  ::unlink(s->path().c_str());
                  ::unlink(index_path_for(s->path()).c_str());
              }
              segs.clear(); // closes the files here, off the shard
              return 0;
          };
          try {
              co_await io.run(std::move(job));
          } catch (const std::exception& e) {
              log.warn("cannot delete old segments: {}", e.what());
          }
      }(_io, std::move(segs), std::move(*holder)),
      asio::detached);
}

void log_manager::start_spare(const std::shared_ptr<partition_log>& p, int64_t name) {
    auto holder = _gate.try_enter();
    if (!holder) {
        return;
    }
    p->spare_requested();
    asio::co_spawn(_ex, prepare_spare(p, name, std::move(*holder)), asio::detached);
}

awaitable<void> log_manager::prepare_spare(std::shared_ptr<partition_log> p, int64_t name,
                                           runtime::gate::holder) {
    file_ops* ops = &_ops;
    std::string dir = p->dir();
    std::string path = dir + "/" + segment::file_name(name);
    auto job = [ops, dir, path]() -> int {
        int fd = ops->open(path, O_RDWR | O_CREAT | O_EXCL);
        if (fd < 0) {
            return fd;
        }
        // The name is durable before anything written to the file is acknowledged.
        if (int rc = sync_dir(dir); rc < 0) {
            ops->close(fd);
            ops->unlink(path);
            return rc;
        }
        return fd;
    };
    int fd = -EAGAIN;
    try {
        fd = co_await _io.run(std::move(job));
    } catch (const std::exception&) {
    }
    if (fd < 0) {
        log.debug("{}: no spare segment ({}); the next roll creates its own file", dir,
                  std::error_code(-fd, std::system_category()).message());
        p->spare_failed();
        co_return;
    }
    auto seg = std::make_shared<segment>(_ops, std::move(path), fd, name, 0);
    if (!p->offer_spare(seg)) {
        delete_files({ std::move(seg) });
    }
}

awaitable<std::error_code> log_manager::checkpoint_log_start(std::shared_ptr<partition_log> p) {
    _owner.check_owner("log_manager");
    file_ops* ops = &_ops;
    auto dir = p->dir();
    auto value = p->log_start_offset();
    auto job = [ops, dir, value]() -> int { return write_log_start(*ops, dir, value); };
    int rc = -EAGAIN;
    try {
        rc = co_await _io.run(std::move(job));
    } catch (const std::exception&) {
    }
    if (rc < 0) {
        co_return errc::storage_error;
    }
    auto removed = p->collect_garbage(now_ms());
    if (!removed.empty()) {
        delete_files(std::move(removed));
    }
    co_return std::error_code();
}

auto log_manager::range_of(std::optional<std::string_view> topic)
  -> std::pair<std::map<key, slot, std::less<>>::iterator, std::map<key, slot, std::less<>>::iterator> {
    if (!topic) {
        return { _partitions.begin(), _partitions.end() };
    }
    std::string name(*topic);
    return { _partitions.lower_bound(key{ name, INT32_MIN }),
             _partitions.upper_bound(key{ name, INT32_MAX }) };
}

void log_manager::for_each_open(const std::function<void(std::string_view, partition_log&)>& visit,
                                std::optional<std::string_view> topic) {
    _owner.check_owner("log_manager");
    auto [from, to] = range_of(topic);
    for (auto it = from; it != to; ++it) {
        visit(it->first.first, *it->second.log);
    }
}

void log_manager::retain_only(const std::function<bool(std::string_view, const model::uuid&)>& alive,
                              std::optional<std::string_view> topic) {
    _owner.check_owner("log_manager");
    std::vector<std::string> dirs;
    auto [from, to] = range_of(topic);
    for (auto it = from; it != to;) {
        if (alive(it->first.first, it->second.topic_id)) {
            ++it;
            continue;
        }
        it->second.log->retire();
        dirs.push_back(it->second.log->dir());
        it = _partitions.erase(it);
    }
    if (dirs.empty()) {
        return;
    }
    _flushed.notify_all(); // producers waiting on a retired partition see it fail
    auto holder = _gate.try_enter();
    if (!holder) {
        return;
    }
    asio::co_spawn(
      _ex,
      [](runtime::io_worker& io, std::vector<std::string> dirs, runtime::gate::holder) -> awaitable<void> {
          auto job = [dirs = std::move(dirs)]() -> int {
              for (const auto& d : dirs) {
                  std::error_code ec;
                  std::filesystem::remove_all(d, ec);
                  if (ec) {
                      log.warn("cannot remove {}: {}", d, ec.message());
                  }
              }
              return 0;
          };
          try {
              co_await io.run(std::move(job));
          } catch (const std::exception& e) {
              log.warn("cannot remove deleted partitions: {}", e.what());
          }
      }(_io, std::move(dirs), std::move(*holder)),
      asio::detached);
}

awaitable<void> log_manager::close() {
    _owner.check_owner("log_manager");
    _closed = true;
    _stop.notify_all();
    // Whatever relaxed (flush.ms / flush.messages) appends are still unsynced.
    for (auto& [k, s] : _partitions) {
        if (s.log->dirty() && !s.log->failure() && _queued.insert(s.log.get()).second) {
            _dirty.push_back(s.log);
        }
    }
    start_rounds();
    while (!_rounds.empty()) {
        co_await _flushed.wait();
    }
    // Summaries of the sealed segments, now all synced, so the next start is quick.
    co_await store_summaries();
    co_await _gate.close();
}

} // namespace chronik::storage
