#include "record/batch.h"
#include "storage/errc.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/tests/run_coroutine.h"
#include "storage/tests/spares.h"
#include "storage/tests/temp_dir.h"

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::storage;
using chronik::storage::testing::name_of;
using chronik::storage::testing::offer_spare_if_wanted;
using chronik::storage::testing::run;
using chronik::storage::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

model::uuid test_topic_id() {
    model::uuid u;
    u.bytes.fill(1);
    return u;
}

bytes make_batch(int n, int64_t ts = 1000, int64_t pid = -1, int16_t epoch = -1, int32_t seq = -1,
                 record::codec c = record::codec::none) {
    std::vector<record::record_input> recs;
    for (int i = 0; i < n; ++i) {
        record::record_input r;
        std::string v = "value-" + std::to_string(i);
        r.value = bytes(v.begin(), v.end());
        r.timestamp = ts + i;
        recs.push_back(std::move(r));
    }
    record::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.compression = c;
    return record::build_batch(recs, o).value();
}

append_outcome append(partition_log& log, bytes b, int64_t now = 5000) {
    auto r = log.append(std::span<uint8_t>(b), now);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? r.value() : append_outcome{};
}

std::vector<int64_t> batch_offsets(const byte_slice& data) {
    std::vector<int64_t> out;
    auto ok =
      record::for_each_batch(data, [&](const record::batch_header& h, const byte_slice&) -> result<void> {
          out.push_back(h.base_offset);
          return outcome::success();
      });
    EXPECT_TRUE(ok);
    return out;
}

// A file_ops that fails chosen calls with a chosen errno.
struct faulty_ops : file_ops {
    std::atomic<int> write_errno{ 0 };
    std::atomic<int> sync_errno{ 0 };
    ssize_t pwrite(int fd, const void* d, size_t n, off_t pos) override {
        if (int e = write_errno.load(); e != 0) {
            // Half the bytes land first, as a real short write before ENOSPC would.
            file_ops::pwrite(fd, d, n / 2, pos);
            return -e;
        }
        return file_ops::pwrite(fd, d, n, pos);
    }
    int fdatasync(int fd) override {
        if (int e = sync_errno.load(); e != 0) {
            return -e;
        }
        return file_ops::fdatasync(fd);
    }
};

} // namespace

TEST(partition_log, assigns_dense_offsets_and_reads_back) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    EXPECT_EQ(append(*log, make_batch(3)).base_offset, 0);
    EXPECT_EQ(append(*log, make_batch(2)).base_offset, 3);
    EXPECT_EQ(log->log_end_offset(), 5);
    // Nothing is readable before the group commit raises the high watermark.
    EXPECT_TRUE(log->read(0, 1 << 20, true).value().data.empty());
    log->set_high_watermark(5);
    auto r = log->read(0, 1 << 20, true).value();
    EXPECT_EQ(batch_offsets(r.data), (std::vector<int64_t>{ 0, 3 }));
    EXPECT_EQ(r.next_offset, 5);
    // An offset inside a batch returns that whole batch.
    EXPECT_EQ(batch_offsets(log->read(4, 1 << 20, true).value().data), (std::vector<int64_t>{ 3 }));
    EXPECT_EQ(log->read(6, 100, true).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_TRUE(log->read(5, 100, true).value().data.empty());
}

TEST(partition_log, max_bytes_limits_but_first_batch_is_whole) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    for (int i = 0; i < 10; ++i) {
        append(*log, make_batch(10));
    }
    log->set_high_watermark(log->log_end_offset());
    auto one = log->read(0, 1, true).value();
    EXPECT_EQ(batch_offsets(one.data).size(), 1u);
    EXPECT_TRUE(log->read(0, 1, false).value().data.empty());
    auto first_size = one.data.size();
    EXPECT_EQ(batch_offsets(log->read(0, first_size * 3, false).value().data).size(), 3u);
}

TEST(partition_log, recovery_cuts_a_torn_tail_and_keeps_offsets_dense) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    uint64_t good_size = 0;
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        append(*log, make_batch(4));
        append(*log, make_batch(4));
        good_size = log->size_bytes();
        append(*log, make_batch(4));
    }
    // A crash mid-write: only part of the last batch reached the file.
    auto seg = dir + "/" + segment::file_name(0);
    fs::resize_file(seg, good_size + 30);
    auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
    EXPECT_EQ(log->log_end_offset(), 8);
    EXPECT_EQ(fs::file_size(seg), good_size);
    EXPECT_EQ(append(*log, make_batch(1)).base_offset, 8);
}

// An uncompressed batch of about `bytes_wanted` bytes (1,000-byte values).
bytes make_big_batch(size_t bytes_wanted) {
    std::vector<record::record_input> recs;
    for (size_t i = 0; i * 1000 < bytes_wanted; ++i) {
        record::record_input r;
        std::string v(1000, char('a' + i % 26));
        r.value = bytes(v.begin(), v.end());
        r.timestamp = 1000;
        recs.push_back(std::move(r));
    }
    return record::build_batch(recs, {}).value();
}

// A synced log writes zeros ahead of its end once a segment holds preallocate_min
// bytes; a restart reads them as the end of the data, cuts them without counting
// damage, and appends go on at the same offsets.
TEST(partition_log, zeros_written_ahead_are_the_end_of_the_data_after_a_restart) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    auto seg_path = dir + "/" + segment::file_name(0);
    uint64_t logical = 0;
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        for (int i = 0; i < 10; ++i) {
            append(*log, make_big_batch(10'000));
        }
        logical = log->size_bytes();
        const auto& seg = *log->segments().back();
        EXPECT_EQ(seg.size(), logical);
        EXPECT_GT(seg.physical_size(), logical);
        EXPECT_LE(seg.physical_size(), 2 * logical + 20'000);
        EXPECT_EQ(fs::file_size(seg_path), seg.physical_size());
        log->set_high_watermark(log->log_end_offset());
        EXPECT_EQ(batch_offsets(log->read(0, 1 << 20, true).value().data).size(), 10u);
    } // a crash: nothing cut the zeros
    auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
    EXPECT_EQ(log->size_bytes(), logical);
    EXPECT_EQ(fs::file_size(seg_path), logical);
    EXPECT_EQ(log->log_end_offset(), 100);
    EXPECT_EQ(append(*log, make_batch(1)).base_offset, 100);
}

// Topics that sync by flush.messages/flush.ms gain nothing from zeros ahead.
TEST(partition_log, a_relaxed_log_writes_no_zeros_ahead) {
    temp_dir d;
    log_config cfg;
    cfg.relaxed_flush = true;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", cfg, 0).value();
    for (int i = 0; i < 10; ++i) {
        append(*log, make_big_batch(10'000));
    }
    EXPECT_EQ(log->segments().back()->physical_size(), log->size_bytes());
}

// A crash can leave a sealed segment with its zeros ahead (the round that cuts
// them had not run). They are cut at start-up and the later segments kept, since
// offsets go on where its data ends; if they do not, batches were lost in the
// zeros and the later segments go, as for any damaged sealed segment.
TEST(partition_log, a_sealed_segment_with_zeros_ahead_keeps_the_later_segments_only_if_offsets_are_dense) {
    // With spares the later segment is named below its first offset, so only its
    // first batch says whether the offsets are dense.
    for (auto [gap, spares] :
         { std::pair{ false, false }, { true, false }, { false, true }, { true, true } }) {
        SCOPED_TRACE(std::string(gap ? "gap" : "dense") + (spares ? ", spare segments" : ""));
        temp_dir d;
        std::string dir = d.str() + "/p";
        log_config cfg;
        cfg.segment_bytes = 200'000;
        int64_t end = 0;
        std::string sealed;
        uint64_t sealed_logical = 0;
        {
            auto log = partition_log::open(file_ops::real(), dir, cfg, 0).value();
            while (log->segments().size() < 2) {
                append(*log, make_big_batch(10'000));
                if (spares) {
                    offer_spare_if_wanted(*log);
                }
            }
            if (spares) {
                ASSERT_LT(name_of(*log->segments().back()), log->segments().back()->base_offset());
            }
            end = log->log_end_offset();
            const auto& s = *log->segments().front();
            sealed = s.path();
            sealed_logical = s.size();
            ASSERT_GT(s.physical_size(), s.size());
        }
        if (gap) { // the sealed segment's last batch never reached the disk: zeros
            const uint64_t batch = make_big_batch(10'000).size(); // every batch is this size
            std::vector<char> zeros(batch, 0);
            std::fstream f(sealed, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(sealed_logical - batch));
            f.write(zeros.data(), std::streamsize(zeros.size()));
        }
        auto log = partition_log::open(file_ops::real(), dir, cfg, 0).value();
        if (gap) {
            EXPECT_EQ(log->segments().size(), 1u);
            EXPECT_LT(log->log_end_offset(), end);
        } else {
            EXPECT_EQ(log->segments().size(), 2u);
            EXPECT_EQ(log->log_end_offset(), end);
            EXPECT_EQ(fs::file_size(sealed), sealed_logical);
        }
    }
}

TEST(partition_log, recovery_cuts_a_batch_with_a_bad_crc) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    uint64_t good_size = 0;
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        append(*log, make_batch(2));
        good_size = log->size_bytes();
        append(*log, make_batch(2));
    }
    {
        std::fstream f(dir + "/" + segment::file_name(0), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(std::streamoff(good_size + 70));
        f.put('X');
    }
    auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
    EXPECT_EQ(log->log_end_offset(), 2);
}

TEST(partition_log, rolls_segments_by_size_and_retention_deletes_whole_ones) {
    temp_dir d;
    log_config cfg;
    cfg.segment_bytes = 1000;
    cfg.retention_bytes = 2500;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", cfg, 0).value();
    for (int i = 0; i < 40; ++i) {
        append(*log, make_batch(5));
    }
    log->set_high_watermark(log->log_end_offset());
    EXPECT_GT(log->segments().size(), 5u);
    auto removed = log->collect_garbage(5000);
    EXPECT_FALSE(removed.empty());
    EXPECT_LE(log->size_bytes(), 2500u + 1000u);
    EXPECT_EQ(log->log_start_offset(), log->segments().front()->base_offset());
    EXPECT_EQ(log->read(0, 100, true).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_FALSE(log->read(log->log_start_offset(), 100, true).value().data.empty());
}

TEST(partition_log, time_retention_expires_everything_including_the_active_segment) {
    temp_dir d;
    log_config cfg;
    cfg.retention_ms = 1000;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", cfg, 0).value();
    append(*log, make_batch(5, /*ts=*/1000));
    log->set_high_watermark(log->log_end_offset());
    EXPECT_TRUE(log->collect_garbage(1500).empty());
    EXPECT_EQ(log->collect_garbage(10000).size(), 1u);
    EXPECT_EQ(log->log_start_offset(), 5);
    EXPECT_EQ(append(*log, make_batch(1)).base_offset, 5);
}

TEST(partition_log, offsets_by_timestamp) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    append(*log, make_batch(5, 100));                                 // offsets 0..4, ts 100..104
    append(*log, make_batch(5, 200));                                 // offsets 5..9, ts 200..204
    append(*log, make_batch(5, 150, -1, -1, -1, record::codec::lz4)); // 10..14, ts 150..154
    log->set_high_watermark(log->log_end_offset());
    EXPECT_EQ(log->offset_for_timestamp(102).value()->offset, 2);
    EXPECT_EQ(log->offset_for_timestamp(105).value()->offset, 5);
    EXPECT_EQ(log->offset_for_timestamp(203).value()->offset, 8);
    EXPECT_FALSE(log->offset_for_timestamp(300).value());
    auto mx = log->max_timestamp().value();
    EXPECT_EQ(mx->offset, 9);
    EXPECT_EQ(mx->timestamp, 204);
}

TEST(partition_log, idempotent_producer_duplicates_gaps_and_fencing) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        EXPECT_EQ(append(*log, make_batch(3, 0, 7, 0, 0)).base_offset, 0);
        EXPECT_EQ(append(*log, make_batch(2, 0, 7, 0, 3)).base_offset, 3);
        auto dup = append(*log, make_batch(3, 0, 7, 0, 0));
        EXPECT_TRUE(dup.duplicate);
        EXPECT_EQ(dup.base_offset, 0);
        EXPECT_EQ(dup.last_offset, 2);
        bytes gap = make_batch(1, 0, 7, 0, 9);
        EXPECT_EQ(log->append(std::span<uint8_t>(gap), 0).error(),
                  make_error_code(errc::out_of_order_sequence));
        EXPECT_EQ(append(*log, make_batch(1, 0, 7, 1, 0)).base_offset, 5); // new epoch
        bytes old = make_batch(1, 0, 7, 0, 5);
        EXPECT_EQ(log->append(std::span<uint8_t>(old), 0).error(), make_error_code(errc::producer_fenced));
    }
    // The state is rebuilt from the log after a restart.
    auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
    auto dup = append(*log, make_batch(1, 0, 7, 1, 0));
    EXPECT_TRUE(dup.duplicate);
    EXPECT_EQ(dup.base_offset, 5);
    EXPECT_EQ(append(*log, make_batch(1, 0, 7, 1, 1)).base_offset, 6);
}

TEST(partition_log, a_failed_write_leaves_the_log_intact) {
    temp_dir d;
    faulty_ops ops;
    std::string dir = d.str() + "/p";
    {
        auto log = partition_log::open(ops, dir, {}, 0).value();
        append(*log, make_batch(3));
        ops.write_errno = ENOSPC;
        bytes b = make_batch(3);
        EXPECT_EQ(log->append(std::span<uint8_t>(b), 0).error(), make_error_code(errc::storage_error));
        EXPECT_FALSE(log->failure()); // a full disk may recover
        ops.write_errno = EIO;
        EXPECT_EQ(log->append(std::span<uint8_t>(b), 0).error(), make_error_code(errc::storage_error));
        EXPECT_TRUE(log->failure()); // a failing device takes the partition offline
        ops.write_errno = 0;
        EXPECT_EQ(log->append(std::span<uint8_t>(b), 0).error(), make_error_code(errc::storage_error));
    }
    auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
    EXPECT_EQ(log->log_end_offset(), 3);
    EXPECT_EQ(append(*log, make_batch(1)).base_offset, 3);
}

namespace {

// The group commit's round trip, with its syncs on the I/O worker or, given
// `ring`, through the shard's io_uring.
void group_commit_round_trip(bool through_ring) {
    temp_dir d;
    asio::io_context ctx;
    runtime::io_worker io;
    auto ring = through_ring ? runtime::uring::create(ctx.get_executor()) : nullptr;
    if (through_ring && !ring) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    std::vector<unsigned> woken;
    log_manager lm(d.str(), io, file_ops::real(), ctx.get_executor(), [&](std::vector<watcher> ws) {
        for (auto w : ws) {
            woken.push_back(w.shard);
        }
    });
    lm.use_ring(ring.get());
    model::uuid id = test_topic_id();
    auto p = run(ctx, lm.get("t", id, 0, {}));
    lm.watch(*p, { 3, 1 });
    for (int i = 0; i < 5; ++i) {
        bytes b = make_batch(2);
        ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
        lm.appended(p);
    }
    EXPECT_EQ(p->high_watermark(), 0);
    auto ec = run(ctx, lm.wait_durable(p, 9));
    EXPECT_FALSE(ec);
    EXPECT_EQ(p->high_watermark(), 10);
    EXPECT_EQ(woken, std::vector<unsigned>{ 3 });
    if (ring) {
        EXPECT_GT(ring->completed(), 0u) << "the round's syncs did not go through the ring";
    }
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
}

} // namespace

TEST(log_manager, group_commit_raises_the_high_watermark_and_wakes_waiters) {
    group_commit_round_trip(false);
}

TEST(log_manager, group_commit_through_the_io_uring) {
    group_commit_round_trip(true);
}

// A roll leaves the sealed segment with its zeros ahead; the group-commit round
// that syncs it cuts them first, so the file on disk ends where its data does.
TEST(log_manager, the_round_after_a_roll_cuts_the_sealed_segments_zeros) {
    temp_dir d;
    asio::io_context ctx;
    runtime::io_worker io;
    log_manager lm(d.str(), io, file_ops::real(), ctx.get_executor(), [](std::vector<watcher>) {});
    log_config cfg;
    cfg.segment_bytes = 200'000;
    auto p = run(ctx, lm.get("t", test_topic_id(), 0, cfg));
    while (p->segments().size() < 2) {
        bytes b = make_big_batch(10'000);
        ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
        lm.appended(p);
    }
    auto sealed = p->segments().front();
    EXPECT_EQ(fs::file_size(sealed->path()), sealed->physical_size());
    EXPECT_GT(sealed->physical_size(), sealed->size());
    EXPECT_FALSE(run(ctx, lm.wait_durable(p, p->log_end_offset() - 1)));
    EXPECT_EQ(sealed->physical_size(), sealed->size());
    EXPECT_EQ(fs::file_size(sealed->path()), sealed->size());
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
}

// Segment rolls, by size and by retention, open no file on the shard: each takes a
// spare the log manager opened ahead on the I/O worker.
TEST(log_manager, segment_rolls_open_no_file_on_the_shard) {
    struct creates_by_thread : file_ops {
        std::thread::id shard = std::this_thread::get_id();
        std::atomic<int> on_shard{ 0 };
        int open(const std::string& path, int flags, mode_t mode) override {
            if ((flags & O_CREAT) && std::this_thread::get_id() == shard) {
                ++on_shard;
            }
            return file_ops::open(path, flags, mode);
        }
    } ops;
    temp_dir d;
    asio::io_context ctx;
    runtime::io_worker io; // one thread: a spare is offered before the next round ends
    log_manager lm(d.str(), io, ops, ctx.get_executor(), [](std::vector<watcher>) {});
    log_config cfg;
    cfg.segment_bytes = 200'000;
    cfg.retention_ms = -1;
    auto p = run(ctx, lm.get("t", test_topic_id(), 0, cfg));
    while (p->segments().size() < 4) {
        bytes b = make_big_batch(10'000);
        ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
        lm.appended(p);
        ASSERT_FALSE(run(ctx, lm.wait_durable(p, p->log_end_offset() - 1)));
    }
    EXPECT_EQ(ops.on_shard.load(), 0);
    for (size_t i = 1; i < p->segments().size(); ++i) {
        const auto& s = *p->segments()[i];
        EXPECT_LT(name_of(s), s.base_offset()) << "the spare was named by the log end half a segment earlier";
        EXPECT_GT(name_of(s), p->segments()[i - 1]->base_offset());
    }
    // Everything expires: retention rolls into a spare and drops the rest.
    cfg.retention_ms = 1000;
    p->set_config(cfg);
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.enforce_retention();
        co_return 0;
    }());
    EXPECT_EQ(p->segments().size(), 1u);
    EXPECT_EQ(p->log_start_offset(), p->log_end_offset());
    EXPECT_EQ(ops.on_shard.load(), 0);
    const int64_t end = p->log_end_offset();
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
    p.reset();
    auto reopened = partition_log::open(file_ops::real(),
                                        log_manager::partition_dir(d.str(), "t", test_topic_id(), 0), cfg, 0);
    ASSERT_TRUE(reopened) << reopened.error().message();
    EXPECT_EQ(reopened.value()->log_end_offset(), end);
}

// A partition keeps one watcher per (shard, key), and at most max_watchers: beyond
// that a shard's keys collapse into key 0, which wakes every fetch on that shard.
TEST(partition_log, watchers_are_deduplicated_and_bounded) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    log->add_watcher({ 0, 7 });
    log->add_watcher({ 0, 7 });
    log->add_watcher({ 1, 7 });
    EXPECT_EQ(log->take_watchers(), (std::vector<watcher>{ { 0, 7 }, { 1, 7 } }));
    EXPECT_TRUE(log->take_watchers().empty());
    for (uint64_t k = 1; k <= partition_log::max_watchers + 10; ++k) {
        log->add_watcher({ 0, k });
    }
    log->add_watcher({ 1, 5 });
    auto ws = log->take_watchers();
    EXPECT_LE(ws.size(), partition_log::max_watchers + 1);
    EXPECT_EQ(ws, (std::vector<watcher>{ { 0, 0 }, { 1, 5 } })) << "shard 0's keys collapse into key 0";
}

TEST(log_manager, a_failed_sync_is_never_acknowledged) {
    temp_dir d;
    // The file layer outlives everything that may still hold a segment: the I/O
    // worker's last job and the io_context's pending handlers (UBSan saw a segment
    // close its file through a destroyed file_ops).
    faulty_ops ops;
    asio::io_context ctx;
    runtime::io_worker io;
    log_manager lm(d.str(), io, ops, ctx.get_executor(), [](std::vector<watcher>) {});
    auto p = run(ctx, lm.get("t", test_topic_id(), 0, {}));
    ops.sync_errno = EIO;
    bytes b = make_batch(2);
    ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
    lm.appended(p);
    EXPECT_EQ(run(ctx, lm.wait_durable(p, 1)), make_error_code(errc::storage_error));
    EXPECT_EQ(p->high_watermark(), 0);
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
}

namespace {

struct counting_ops : file_ops {
    std::atomic<int> syncs{ 0 };
    int fdatasync(int fd) override {
        ++syncs;
        return file_ops::fdatasync(fd);
    }
};

} // namespace

// Holds the I/O worker until `gate` opens. A named coroutine with its parameters
// by value, not a capturing lambda: its frame must own what it uses.
awaitable<void> hold_worker(runtime::io_worker& io, std::shared_future<void> gate) {
    auto blocked = io.run([gate] {
        gate.wait();
        return 0;
    });
    co_await std::move(blocked);
}

// Occupies an I/O worker of capacity 1: one job runs and one waits, both until
// `gate` opens, so the next job offered is refused (queue_full).
void fill_worker(asio::io_context& ctx, runtime::io_worker& io, const std::shared_future<void>& gate) {
    for (int i = 0; i < 2; ++i) {
        asio::co_spawn(ctx, hold_worker(io, gate), asio::detached);
        ctx.restart();
        ctx.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the worker takes the first
    }
}

// A group-commit round the I/O worker refuses (its queue is full) is retried. The
// retry must sync what the refused round took: it once raised the high watermark
// over segments nobody had synced.
TEST(log_manager, a_round_the_worker_refused_still_syncs_what_it_took) {
    temp_dir d;
    counting_ops ops; // first in, last out: see a_failed_sync_is_never_acknowledged
    asio::io_context ctx;
    runtime::io_worker io(1);
    log_manager lm(d.str(), io, ops, ctx.get_executor(), [](std::vector<watcher>) {});
    auto p = run(ctx, lm.get("t", test_topic_id(), 0, {}));
    std::promise<void> open_gate;
    fill_worker(ctx, io, open_gate.get_future().share());
    const int syncs_before = ops.syncs.load();
    bytes b = make_batch(2);
    ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
    lm.appended(p);
    asio::steady_timer later(ctx, std::chrono::milliseconds(100));
    later.async_wait([&](boost::system::error_code) { open_gate.set_value(); });
    EXPECT_FALSE(run(ctx, lm.wait_durable(p, 1)));
    EXPECT_EQ(p->high_watermark(), 2);
    EXPECT_GT(ops.syncs.load(), syncs_before) << "the high watermark rose over an unsynced segment";
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
}

namespace {

// The first data sync (after `armed`) waits for `gate`, then fails with
// `first_errno` (0: succeeds); every other sync passes at once.
struct first_sync_held_ops : file_ops {
    std::atomic<bool> armed{ false };
    std::atomic<int> held{ 0 }, syncs{ 0 };
    int first_errno = 0;
    std::shared_future<void> gate;
    int fdatasync(int fd) override {
        if (armed.load() && held.fetch_add(1) == 0) {
            gate.wait();
            ++syncs;
            return first_errno != 0 ? -first_errno : file_ops::fdatasync(fd);
        }
        ++syncs;
        return file_ops::fdatasync(fd);
    }
};

// A log manager with a two-thread I/O worker over first_sync_held_ops, and one
// partition. Members in this order: the file layer outlives the rest (see
// a_failed_sync_is_never_acknowledged).
struct overlap_rig {
    explicit overlap_rig(int first_errno) {
        ops.first_errno = first_errno;
        ops.gate = open_gate.get_future().share();
        p = run(ctx, lm.get("t", test_topic_id(), 0, {}));
    }
    ~overlap_rig() {
        run(ctx, [](log_manager& m) -> awaitable<int> {
            co_await m.close();
            co_return 0;
        }(lm));
    }
    // Two rounds overlap: the first is held in its fdatasync while the second,
    // taken later, finishes. Returns the high watermark seen while the first was held.
    int64_t overlap() {
        ops.armed = true;
        append_batch();
        turn_until([&] { return ops.held.load() != 0; });
        EXPECT_EQ(ops.held.load(), 1) << "the first round never reached its sync";
        const int syncs_before = ops.syncs.load(); // opening synced the epoch checkpoint
        append_batch();
        turn_until([&] { return ops.syncs.load() != syncs_before; });
        EXPECT_EQ(ops.syncs.load(), syncs_before + 1) << "the second round did not run beside the first";
        for (int i = 0; i < 20; ++i) { // let the second round try to take effect
            turn_until([] { return false; }, 1);
        }
        int64_t hw = p->high_watermark();
        open_gate.set_value();
        return hw;
    }
    void append_batch() {
        bytes b = make_batch(2);
        EXPECT_TRUE(p->append(std::span<uint8_t>(b), 0));
        lm.appended(p);
    }
    // Turns the loop (1 ms a turn) until done() or `turns` have passed.
    template<class F>
    void turn_until(F done, int turns = 5000) {
        for (int i = 0; i < turns && !done(); ++i) {
            ctx.restart();
            ctx.poll();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    temp_dir d;
    first_sync_held_ops ops;
    std::promise<void> open_gate;
    asio::io_context ctx;
    runtime::io_worker io{ 1024, unsigned(log_manager::max_rounds) };
    log_manager lm{ d.str(), io, ops, ctx.get_executor(), [](std::vector<watcher>) {} };
    std::shared_ptr<partition_log> p;
};

} // namespace

// Group-commit rounds overlap (an append need not wait for the running round to
// end), but take effect in order: the second round's sync never acknowledges
// before the first's has ended.
TEST(log_manager, overlapping_rounds_take_effect_in_order) {
    overlap_rig r(0);
    EXPECT_EQ(r.overlap(), 0);
    EXPECT_FALSE(run(r.ctx, r.lm.wait_durable(r.p, 3)));
    EXPECT_EQ(r.p->high_watermark(), 4);
}

// The first of two overlapping rounds fails: the second's successful sync must not
// acknowledge anything (after a failed fsync the page cache's state is unknown).
TEST(log_manager, a_later_round_never_acknowledges_past_an_earlier_failed_one) {
    overlap_rig r(EIO);
    EXPECT_EQ(r.overlap(), 0);
    EXPECT_EQ(run(r.ctx, r.lm.wait_durable(r.p, 3)), make_error_code(errc::storage_error));
    EXPECT_EQ(r.p->high_watermark(), 0);
    EXPECT_TRUE(r.p->failure());
}

TEST(log_manager, flush_messages_and_flush_ms_relax_the_sync_and_shutdown_syncs_the_rest) {
    temp_dir d;
    counting_ops ops; // first in, last out: see a_failed_sync_is_never_acknowledged
    asio::io_context ctx;
    runtime::io_worker io;
    std::vector<unsigned> woken;
    log_manager lm(d.str(), io, ops, ctx.get_executor(), [&](std::vector<watcher> ws) {
        for (auto w : ws) {
            woken.push_back(w.shard);
        }
    });
    log_config cfg;
    cfg.relaxed_flush = true;
    cfg.flush_messages = 6; // records
    cfg.retention_ms = -1;  // the batches are from 1970: retention would delete them (and sync)
    auto p = run(ctx, lm.get("t", test_topic_id(), 0, cfg));
    ops.syncs = 0; // open stored the leader-epoch checkpoint; count the data syncs only
    lm.watch(*p, { 2, 1 });
    auto append_one = [&] {
        bytes b = make_batch(2);
        ASSERT_TRUE(p->append(std::span<uint8_t>(b), 0));
        lm.appended(p);
    };
    // Readable and acknowledged at once, without a sync.
    append_one();
    EXPECT_EQ(p->high_watermark(), 2);
    EXPECT_EQ(woken, std::vector<unsigned>{ 2 });
    EXPECT_FALSE(run(ctx, lm.wait_durable(p, 1)));
    append_one();
    EXPECT_EQ(ops.syncs.load(), 0);
    // The third batch reaches flush.messages: one sync covers all three.
    append_one();
    EXPECT_EQ(p->high_watermark(), 6);
    // Turns the loop until `n` syncs have run (at most 5 s).
    auto until_synced = [&](int n) -> awaitable<int> {
        for (int i = 0; i < 5000 && ops.syncs.load() < n; ++i) {
            asio::steady_timer t(ctx, std::chrono::milliseconds(1));
            co_await t.async_wait(use_awaitable);
        }
        co_return 0;
    };
    run(ctx, until_synced(1));
    EXPECT_EQ(ops.syncs.load(), 1);

    // flush.ms: a quiet partition is synced after the interval.
    cfg.flush_messages = INT64_MAX;
    cfg.flush_ms = 20;
    p->set_config(cfg);
    append_one();
    EXPECT_TRUE(p->dirty());
    EXPECT_EQ(ops.syncs.load(), 1);
    run(ctx, until_synced(2));
    EXPECT_EQ(ops.syncs.load(), 2);

    // Without a time limit, shutdown syncs what is left.
    cfg.flush_ms = INT64_MAX;
    p->set_config(cfg);
    append_one();
    EXPECT_TRUE(p->dirty());
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
    EXPECT_FALSE(p->dirty());
    EXPECT_EQ(ops.syncs.load(), 3);
}
