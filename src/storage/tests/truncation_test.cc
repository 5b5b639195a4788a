// Suffix truncation of a partition log: what is kept, what the epochs and the
// producer state look like after the cut, and that a crash at every step of it
// recovers to the whole log or to the cut one.
#include "record/batch.h"
#include "storage/errc.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/segment_index.h"
#include "storage/tests/run_coroutine.h"
#include "storage/tests/spares.h"
#include "storage/tests/temp_dir.h"

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

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

// A batch of n records, optionally of an idempotent producer (epoch 0).
bytes make_batch(int n, int64_t pid = -1, int32_t seq = -1, const std::string& tag = "v") {
    std::vector<record::record_input> recs;
    for (int i = 0; i < n; ++i) {
        record::record_input r;
        std::string v = tag + "-" + std::to_string(i);
        r.value = bytes(v.begin(), v.end());
        r.timestamp = 1000 + i;
        recs.push_back(std::move(r));
    }
    record::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = seq;
    return record::build_batch(recs, o).value();
}

void append(partition_log& log, bytes b) {
    auto r = log.append(std::span<uint8_t>(b), 5000);
    ASSERT_TRUE(r) << r.error().message();
}

// A batch whose offsets and epoch are set, as a follower receives it.
void append_exact(partition_log& log, int n, int32_t epoch) {
    bytes b = make_batch(n, -1, -1, "e" + std::to_string(epoch));
    record::set_base_offset_and_epoch(b.data(), log.log_end_offset(), epoch);
    auto r = log.append_exact(std::span<const uint8_t>(b), 5000);
    ASSERT_TRUE(r) << r.error().message();
}

// Every batch of the log up to its end: (base offset, leader epoch, bytes).
struct stored_batch {
    int64_t base;
    int32_t epoch;
    bytes data;
    bool operator==(const stored_batch&) const = default;
};

std::vector<stored_batch> read_all(partition_log& log) {
    std::vector<stored_batch> out;
    int64_t at = log.log_start_offset();
    while (at < log.log_end_offset()) {
        auto r = log.read(at, 1 << 20, true, false, log.log_end_offset());
        EXPECT_TRUE(r);
        if (!r || r.value().data.empty()) {
            break;
        }
        auto ok = record::for_each_batch(
          r.value().data, [&](const record::batch_header& h, const byte_slice& b) -> result<void> {
              auto s = b.span();
              out.push_back({ h.base_offset, h.partition_leader_epoch, bytes(s.begin(), s.end()) });
              return outcome::success();
          });
        EXPECT_TRUE(ok);
        at = r.value().next_offset;
    }
    return out;
}

// Runs a planned truncation to the end, synchronously.
std::error_code truncate(partition_log& log, file_ops& ops, int64_t offset) {
    auto t = log.begin_truncate(model::offset(offset));
    if (!t) {
        return t.error();
    }
    partition_log::run_truncation(ops, t.value());
    auto ec = t.value().ec;
    log.finish_truncate(std::move(t).value());
    return ec;
}

size_t segment_files(const std::string& dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        n += e.path().extension() == ".log" ? 1 : 0;
    }
    return n;
}

// Stores the epoch checkpoint, then the summary of every sealed segment, as the
// group commit does.
void summarize_sealed(partition_log& log) {
    if (auto epochs = log.take_epoch_checkpoint()) {
        ASSERT_TRUE(epochs->store(file_ops::real(), log.dir()));
    }
    const auto& segs = log.segments();
    for (size_t i = 0; i + 1 < segs.size(); ++i) {
        auto s = summarize_segment(file_ops::real(), segs[i]->path(), segs[i]->base_offset()).value();
        ASSERT_TRUE(store_summary(file_ops::real(), segs[i]->path(), s));
        segs[i]->set_index_stored(true);
    }
}

log_config small_segments(uint64_t bytes = 300) {
    log_config c;
    c.segment_bytes = bytes; // a few batches per segment
    return c;
}

// Every batch's epoch is the one the checkpoint says covers its offset.
void expect_epochs_describe(const epoch_cache& epochs, const std::vector<stored_batch>& batches) {
    for (const auto& b : batches) {
        const auto& es = epochs.entries();
        auto it = std::find_if(es.rbegin(), es.rend(),
                               [&](const epoch_entry& e) { return e.start_offset <= b.base; });
        ASSERT_NE(it, es.rend()) << "no epoch covers offset " << b.base;
        EXPECT_EQ(it->epoch, b.epoch) << "at offset " << b.base;
    }
}

} // namespace

TEST(truncation, cuts_a_suffix_across_segments_and_appends_continue) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    for (int i = 0; i < 10; ++i) {
        append(*log, make_batch(2)); // batches at 0, 2, ..., 18
    }
    log->set_high_watermark(6);
    ASSERT_GE(log->segments().size(), 3u);
    auto before = read_all(*log);
    ASSERT_EQ(before.size(), 10u);

    ASSERT_FALSE(truncate(*log, file_ops::real(), 8));
    EXPECT_EQ(log->log_end_offset(), 8);
    EXPECT_EQ(log->high_watermark(), 6);
    auto after = read_all(*log);
    EXPECT_EQ(after, std::vector<stored_batch>(before.begin(), before.begin() + 4));
    EXPECT_FALSE(fs::exists(dir + "/" + partition_log::truncation_marker));
    EXPECT_EQ(segment_files(dir), log->segments().size());
    EXPECT_EQ(log->segments().back()->next_offset(), 8);

    append(*log, make_batch(3, -1, -1, "new"));
    EXPECT_EQ(log->log_end_offset(), 11);
    auto grown = read_all(*log);
    ASSERT_EQ(grown.size(), 5u);
    EXPECT_EQ(grown.back().base, 8);

    // A restart sees exactly the same log.
    log.reset();
    auto reopened = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    EXPECT_EQ(reopened->log_end_offset(), 11);
    EXPECT_EQ(read_all(*reopened), grown);
}

TEST(truncation, keeps_committed_data_and_cuts_only_at_batch_boundaries) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    for (int i = 0; i < 4; ++i) {
        append(*log, make_batch(2));
    }
    log->set_high_watermark(4);
    EXPECT_EQ(log->begin_truncate(model::offset(2)).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_EQ(log->begin_truncate(model::offset(5)).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_EQ(log->begin_truncate(model::offset(9)).error(), make_error_code(errc::offset_out_of_range));
    // While a truncation is under way nothing else may change the log.
    auto t = log->begin_truncate(model::offset(6));
    ASSERT_TRUE(t);
    bytes b = make_batch(1);
    EXPECT_EQ(log->append(std::span<uint8_t>(b), 0).error(), make_error_code(errc::busy));
    EXPECT_EQ(log->begin_truncate(model::offset(6)).error(), make_error_code(errc::busy));
    log->cancel_truncate();
    EXPECT_EQ(log->log_end_offset(), 8);
    // Cutting at the end changes nothing.
    ASSERT_FALSE(truncate(*log, file_ops::real(), 8));
    EXPECT_EQ(read_all(*log).size(), 4u);
}

TEST(truncation, reads_above_the_high_watermark_only_when_asked) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    append(*log, make_batch(2));
    append(*log, make_batch(2));
    log->set_high_watermark(2);
    EXPECT_EQ(log->read(0, 1 << 20, true).value().next_offset, 2);
    EXPECT_TRUE(log->read(2, 1 << 20, true).value().data.empty());
    EXPECT_EQ(log->read(2, 1 << 20, true, false, log->log_end_offset()).value().next_offset, 4);
    // A bound beyond the log end is the log end.
    EXPECT_EQ(log->read(0, 1 << 20, true, false, 100).value().next_offset, 4);
}

TEST(truncation, epochs_follow_the_cut_and_survive_a_restart) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    append_exact(*log, 2, 0); // 0..1
    append_exact(*log, 2, 0); // 2..3
    append_exact(*log, 2, 2); // 4..5
    append_exact(*log, 2, 2); // 6..7
    append_exact(*log, 2, 5); // 8..9
    EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 2, 4 }, { 5, 8 } }));
    ASSERT_FALSE(truncate(*log, file_ops::real(), 6));
    EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 2, 4 } }));
    EXPECT_EQ(log->epochs().end_offset_for(2, log->log_end_offset()), (epoch_end{ 2, 6 }));
    // An epoch newer than any the log holds now is unknown (Kafka's answer).
    EXPECT_EQ(log->epochs().end_offset_for(5, log->log_end_offset()), (epoch_end{ -1, -1 }));
    log.reset();
    auto reopened = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    EXPECT_EQ(reopened->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 2, 4 } }));
    // The next leader appends in a newer epoch from the cut.
    append_exact(*reopened, 1, 6);
    EXPECT_EQ(reopened->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 2, 4 }, { 6, 6 } }));
}

TEST(truncation, producer_state_is_rebuilt_at_the_cut) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    auto log = partition_log::open(file_ops::real(), dir, small_segments(150), 0).value();
    // Producer 7 writes sequences 0..7, one record per batch, over several segments.
    for (int seq = 0; seq < 8; ++seq) {
        append(*log, make_batch(1, 7, seq));
    }
    ASSERT_GE(log->segments().size(), 3u);
    summarize_sealed(*log); // the rebuild reads summaries where they are current
    ASSERT_FALSE(truncate(*log, file_ops::real(), 5));
    // Sequences 0..4 remain: a retry of 0 is still recognised (the window is the last
    // five batches before the cut, not what was left of the last five before it)...
    bytes retry0 = make_batch(1, 7, 0);
    auto dup = log->append(std::span<uint8_t>(retry0), 0);
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup.value().duplicate);
    EXPECT_EQ(dup.value().base_offset, 0);
    // ... and sequence 5, which was cut, is the next one accepted, at offset 5.
    bytes again5 = make_batch(1, 7, 5);
    auto r = log->append(std::span<uint8_t>(again5), 0);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r.value().duplicate);
    EXPECT_EQ(r.value().base_offset, 5);
}

namespace {

// Every mutating file operation after the first `budget` fails and does nothing:
// the process "died" there.
struct crashing_ops : file_ops {
    explicit crashing_ops(int budget) : left(budget) {}
    std::atomic<int> left;
    bool spend() { return left.fetch_sub(1) > 0; }
    int open(const std::string& path, int flags, mode_t mode) override {
        if ((flags & O_CREAT) != 0 && !spend()) {
            return -EIO;
        }
        return file_ops::open(path, flags, mode);
    }
    ssize_t pwrite(int fd, const void* d, size_t n, off_t pos) override {
        return spend() ? file_ops::pwrite(fd, d, n, pos) : -EIO;
    }
    int fdatasync(int fd) override { return spend() ? file_ops::fdatasync(fd) : -EIO; }
    int ftruncate(int fd, off_t size) override { return spend() ? file_ops::ftruncate(fd, size) : -EIO; }
    int rename(const std::string& a, const std::string& b) override {
        return spend() ? file_ops::rename(a, b) : -EIO;
    }
    int unlink(const std::string& path) override { return spend() ? file_ops::unlink(path) : -EIO; }
};

// With spares, segments are named below their first offset; the cut then falls
// at such a name, in the tail of the segment before, so the segment named at or
// below the cut holds only what is above it.
void crash_at_any_step(bool spares) {
    bool completed = false;
    for (int budget = 0; budget < 64 && !completed; ++budget) {
        SCOPED_TRACE("crash after " + std::to_string(budget) + " file operations");
        temp_dir d;
        const std::string dir = d.str() + "/p";
        std::vector<stored_batch> whole;
        int64_t at = 6;
        {
            auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
            for (int i = 0; i < 9; ++i) {
                append_exact(*log, 2, i < 5 ? 1 : 3);
                if (spares) {
                    offer_spare_if_wanted(*log);
                }
            }
            if (spares) {
                auto it = std::find_if(log->segments().begin() + 1, log->segments().end(),
                                       [](const auto& s) { return name_of(*s) < s->base_offset(); });
                ASSERT_NE(it, log->segments().end()) << "no segment is named below its first offset";
                at = name_of(**it);
            }
            summarize_sealed(*log);
            whole = read_all(*log);
            crashing_ops ops(budget);
            auto t = log->begin_truncate(model::offset(at));
            ASSERT_TRUE(t);
            partition_log::run_truncation(ops, t.value());
            completed = !t.value().ec;
            // kill -9: the process ends here, with whatever reached the files.
        }
        std::vector<stored_batch> cut;
        std::copy_if(whole.begin(), whole.end(), std::back_inserter(cut),
                     [at](const stored_batch& b) { return b.base < at; });
        ASSERT_FALSE(cut.empty());
        ASSERT_LT(cut.size(), whole.size());
        auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0);
        ASSERT_TRUE(log) << log.error().message();
        auto seen = read_all(*log.value());
        EXPECT_TRUE(seen == whole || seen == cut) << seen.size() << " batches";
        if (completed) {
            EXPECT_EQ(seen, cut);
        }
        EXPECT_FALSE(fs::exists(dir + "/" + partition_log::truncation_marker));
        // The epochs describe what is there.
        expect_epochs_describe(log.value()->epochs(), seen);
        // And the log carries on: appends land at the recovered end.
        append_exact(*log.value(), 1, 4);
        EXPECT_EQ(read_all(*log.value()).size(), seen.size() + 1);
    }
    EXPECT_TRUE(completed) << "the truncation never ran to its end";
}

} // namespace

TEST(truncation, a_crash_at_any_step_recovers_to_either_side) {
    crash_at_any_step(false);
}

TEST(truncation, a_crash_at_any_step_recovers_to_either_side_with_spare_segments) {
    crash_at_any_step(true);
}

// A reset (a follower behind its leader's log start): every segment goes and the
// log starts empty at the leader's snapshot point, knowing the epoch of the batch
// that ended there; appends continue from it, and a restart sees the same log.
TEST(reset, starts_an_empty_log_at_the_leaders_snapshot_point) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    for (int i = 0; i < 6; ++i) {
        append_exact(*log, 2, 1); // 0..11
    }
    log->set_high_watermark(4);
    ASSERT_GE(log->segments().size(), 2u);
    EXPECT_EQ(log->begin_reset(2, 3).error(), make_error_code(errc::offset_out_of_range)); // below the HW
    auto r = log->begin_reset(40, 3);
    ASSERT_TRUE(r);
    bytes b = make_batch(1);
    EXPECT_EQ(log->append(std::span<uint8_t>(b), 0).error(), make_error_code(errc::busy));
    partition_log::run_reset(file_ops::real(), r.value());
    ASSERT_FALSE(r.value().ec);
    log->finish_reset(std::move(r).value());
    EXPECT_EQ(log->log_start_offset(), 40);
    EXPECT_EQ(log->log_end_offset(), 40);
    EXPECT_EQ(log->high_watermark(), 40);
    EXPECT_EQ(log->epochs().epoch_at(39), 3);
    EXPECT_EQ(segment_files(dir), 1u);
    EXPECT_FALSE(fs::exists(dir + "/" + partition_log::reset_marker));
    append_exact(*log, 2, 3); // the leader's term may go on past the snapshot point
    append_exact(*log, 2, 4);
    auto after = read_all(*log);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after.front().base, 40);
    log.reset();
    auto reopened = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    EXPECT_EQ(reopened->log_start_offset(), 40);
    EXPECT_EQ(reopened->physical_start_offset(), 40);
    EXPECT_EQ(read_all(*reopened), after);
    EXPECT_EQ(reopened->epochs().epoch_at(39), 3);
    EXPECT_EQ(reopened->epochs().end_offset_for(3, reopened->log_end_offset()), (epoch_end{ 3, 42 }));
}

TEST(reset, a_crash_at_any_step_recovers_to_either_side) {
    bool completed = false;
    for (int budget = 0; budget < 64 && !completed; ++budget) {
        SCOPED_TRACE("crash after " + std::to_string(budget) + " file operations");
        temp_dir d;
        const std::string dir = d.str() + "/p";
        std::vector<stored_batch> whole;
        {
            auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
            for (int i = 0; i < 9; ++i) {
                append_exact(*log, 2, 1);
                offer_spare_if_wanted(*log);
            }
            log->set_high_watermark(0);
            summarize_sealed(*log);
            whole = read_all(*log);
            crashing_ops ops(budget);
            auto r = log->begin_reset(50, 2);
            ASSERT_TRUE(r);
            partition_log::run_reset(ops, r.value());
            completed = !r.value().ec;
            // kill -9: the process ends here, with whatever reached the files.
        }
        auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0);
        ASSERT_TRUE(log) << log.error().message();
        auto& l = *log.value();
        auto seen = read_all(l);
        const bool reset = l.log_start_offset() == 50;
        if (reset) {
            EXPECT_TRUE(seen.empty());
            EXPECT_EQ(l.log_end_offset(), 50);
            EXPECT_EQ(l.epochs().epoch_at(49), 2);
            EXPECT_EQ(segment_files(dir), 1u);
        } else {
            EXPECT_FALSE(completed);
            EXPECT_EQ(seen, whole);
        }
        EXPECT_FALSE(fs::exists(dir + "/" + partition_log::reset_marker));
        append_exact(l, 1, 4);
        EXPECT_EQ(read_all(l).size(), seen.size() + 1);
    }
    EXPECT_TRUE(completed) << "the reset never ran to its end";
}

TEST(reset, a_marker_it_did_not_write_stops_the_open) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    {
        auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
        append_exact(*log, 2, 1);
    }
    for (const char* text : { "50\n", "50 x\n", "-1 2\n", "50 2", "50 2\njunk" }) {
        SCOPED_TRACE(text);
        std::ofstream(dir + "/" + partition_log::reset_marker) << text;
        auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0);
        ASSERT_FALSE(log);
        EXPECT_EQ(log.error(), make_error_code(errc::corrupt_checkpoint));
    }
}

// A roll adopts the spare under its lower name; a restart reads the same log,
// with or without the sealed segments' summaries.
TEST(spare_segments, a_restart_reads_the_log_a_roll_into_a_spare_wrote) {
    for (bool summaries : { true, false }) {
        SCOPED_TRACE(summaries ? "with summaries" : "scanned");
        temp_dir d;
        const std::string dir = d.str() + "/p";
        std::vector<stored_batch> whole;
        std::vector<int64_t> bases;
        {
            auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
            for (int i = 0; i < 12; ++i) {
                append_exact(*log, 2, 1);
                offer_spare_if_wanted(*log);
            }
            ASSERT_GE(log->segments().size(), 3u);
            for (size_t i = 1; i < log->segments().size(); ++i) {
                const auto& s = *log->segments()[i];
                EXPECT_LE(name_of(s), s.base_offset());
                EXPECT_GT(name_of(s), log->segments()[i - 1]->base_offset());
                bases.push_back(s.base_offset());
            }
            if (summaries) {
                summarize_sealed(*log);
            }
            whole = read_all(*log);
        }
        auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
        EXPECT_EQ(read_all(*log), whole);
        std::vector<int64_t> reopened;
        for (size_t i = 1; i < log->segments().size(); ++i) {
            reopened.push_back(log->segments()[i]->base_offset());
        }
        // The spare still held is empty: it becomes the active segment, at the log end.
        if (reopened.size() == bases.size() + 1) {
            EXPECT_EQ(reopened.back(), log->log_end_offset());
            reopened.pop_back();
        }
        EXPECT_EQ(reopened, bases);
        append_exact(*log, 1, 2);
        EXPECT_EQ(read_all(*log).size(), whole.size() + 1);
    }
}

// A truncation below a spare's name removes the spare with the cut; a file named
// above the log end that a crash left (a spare offered too late) goes at the open.
TEST(spare_segments, a_spare_above_the_log_end_never_survives) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    auto log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    while (!log->has_spare()) {
        append_exact(*log, 2, 1);
        offer_spare_if_wanted(*log);
    }
    const size_t files = segment_files(dir);
    ASSERT_FALSE(truncate(*log, file_ops::real(), log->segments().back()->base_offset()));
    EXPECT_FALSE(log->has_spare());
    EXPECT_EQ(segment_files(dir), files - 1);
    for (int i = 0; i < 6; ++i) {
        append_exact(*log, 2, 1); // rolls without a spare: the log creates the file
    }
    const auto whole = read_all(*log);
    const int64_t end = log->log_end_offset();
    log.reset();
    auto stray = segment::create(file_ops::real(), dir, end + 10, true);
    ASSERT_TRUE(stray);
    stray.value().reset();
    log = partition_log::open(file_ops::real(), dir, small_segments(), 0).value();
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_EQ(read_all(*log), whole);
    EXPECT_FALSE(fs::exists(dir + "/" + segment::file_name(end + 10)));
    append_exact(*log, 1, 1);
    EXPECT_EQ(log->segments().back()->next_offset(), end + 1);
}

TEST(truncation, a_damaged_marker_refuses_to_open) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        append(*log, make_batch(2));
    }
    std::ofstream(dir + "/" + partition_log::truncation_marker) << "12x";
    EXPECT_EQ(partition_log::open(file_ops::real(), dir, {}, 0).error(),
              make_error_code(errc::corrupt_checkpoint));
}

namespace {

model::uuid topic_id() {
    model::uuid u;
    u.bytes.fill(3);
    return u;
}

} // namespace

TEST(truncation, log_manager_keeps_group_commit_out_of_the_cut) {
    temp_dir d;
    asio::io_context ctx;
    runtime::io_worker io;
    log_manager lm(d.str(), io, file_ops::real(), ctx.get_executor(), [](std::vector<watcher>) {});
    auto p = run(ctx, lm.get("t", topic_id(), 0, {}));
    for (int i = 0; i < 3; ++i) {
        append(*p, make_batch(2));
    }
    lm.appended(p);
    // The round holding offsets 0..5 finishes before the truncation looks at the
    // high watermark, so it refuses to cut below it.
    EXPECT_EQ(run(ctx, lm.truncate(p, model::offset(2))), make_error_code(errc::offset_out_of_range));
    EXPECT_EQ(p->high_watermark(), 6);
    // Unsynced data above it is cut; then the group commit carries on.
    append(*p, make_batch(2));
    append(*p, make_batch(2));
    EXPECT_FALSE(run(ctx, lm.truncate(p, model::offset(8))));
    EXPECT_EQ(p->log_end_offset(), 8);
    append(*p, make_batch(1));
    lm.appended(p);
    EXPECT_FALSE(run(ctx, lm.wait_durable(p, 8)));
    EXPECT_EQ(p->high_watermark(), 9);
    run(ctx, [&]() -> awaitable<int> {
        co_await lm.close();
        co_return 0;
    }());
}

TEST(truncation, consumer_reads_leave_out_raft_control_batches) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", {}, 0).value();
    append(*log, make_batch(2)); // 0..1
    // A leader's no-op: a control batch that is not a transaction marker.
    record::record_input r;
    r.key = bytes{ 0, 0, 0, 2 };
    r.value = bytes{};
    record::batch_options o;
    o.base_offset = 2;
    o.partition_leader_epoch = 0;
    o.control = true;
    bytes noop = record::build_batch({ r }, o).value();
    ASSERT_TRUE(log->append_exact(std::span<const uint8_t>(noop), 0));
    append(*log, make_batch(2)); // 3..4
    log->set_high_watermark(5);
    auto bases = [](const read_result& rr) {
        std::vector<int64_t> out;
        (void)record::for_each_batch(rr.data,
                                     [&](const record::batch_header& h, const byte_slice&) -> result<void> {
                                         out.push_back(h.base_offset);
                                         return outcome::success();
                                     });
        return out;
    };
    // A consumer's read stops before the control batch, and one starting there starts after it.
    auto first = log->read(0, 1 << 20, true).value();
    EXPECT_EQ(bases(first), (std::vector<int64_t>{ 0 }));
    auto second = log->read(2, 1 << 20, true).value();
    EXPECT_EQ(bases(second), (std::vector<int64_t>{ 3 }));
    // A replica's read (bounded by the caller) gets everything.
    auto all = log->read(0, 1 << 20, true, false, 5).value();
    EXPECT_EQ(bases(all), (std::vector<int64_t>{ 0, 2, 3 }));
}
