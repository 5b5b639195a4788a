#include "record/batch.h"
#include "storage/partition_log.h"
#include "storage/segment_index.h"
#include "storage/tests/temp_dir.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::storage;
using chronik::storage::testing::temp_dir;

namespace fs = std::filesystem;

namespace {

struct counting_ops : file_ops {
    std::atomic<uint64_t> reads{ 0 };
    ssize_t pread(int fd, void* d, size_t n, off_t pos) override {
        ++reads;
        return file_ops::pread(fd, d, n, pos);
    }
};

bytes batch(int n, int64_t pid = -1, int32_t seq = -1) {
    std::vector<record::record_input> recs(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        std::string v = "value-" + std::to_string(i);
        recs[size_t(i)].value = bytes(v.begin(), v.end());
        recs[size_t(i)].timestamp = 1000 + i;
    }
    record::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = seq;
    return record::build_batch(recs, o).value();
}

void summarize_sealed(file_ops& ops, partition_log& log) {
    const auto& segs = log.segments();
    for (size_t i = 0; i + 1 < segs.size(); ++i) {
        auto s = summarize_segment(ops, segs[i]->path(), segs[i]->base_offset());
        ASSERT_TRUE(s);
        ASSERT_TRUE(store_summary(ops, segs[i]->path(), s.value()));
    }
}

std::vector<int64_t> offsets_read(partition_log& log) {
    std::vector<int64_t> out;
    int64_t at = log.log_start_offset();
    while (at < log.high_watermark()) {
        auto r = log.read(at, 1 << 20, true).value();
        if (r.data.empty()) {
            break;
        }
        EXPECT_TRUE(record::for_each_batch(
          r.data, [&](const record::batch_header& h, const byte_slice&) -> result<void> {
              out.push_back(h.base_offset);
              return outcome::success();
          }));
        at = r.next_offset;
    }
    return out;
}

} // namespace

TEST(segment_index, a_restart_reads_summaries_instead_of_scanning_and_keeps_producer_state) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    log_config cfg;
    cfg.segment_bytes = 1000;
    std::vector<bytes> sent;
    std::vector<int64_t> before;
    int64_t end = 0;
    {
        auto log = partition_log::open(file_ops::real(), dir, cfg, 0).value();
        int32_t seq = 0;
        for (int i = 0; i < 60; ++i) {
            bytes b = i % 3 == 0 ? batch(2) : batch(3, 7, seq);
            seq += i % 3 == 0 ? 0 : 3;
            sent.push_back(b);
            ASSERT_TRUE(log->append(std::span<uint8_t>(b), 5000));
        }
        // Plain batches last, so the producer's batches all sit in sealed segments.
        for (int i = 0; i < 12; ++i) {
            bytes b = batch(3);
            ASSERT_TRUE(log->append(std::span<uint8_t>(b), 5000));
        }
        log->set_high_watermark(log->log_end_offset());
        ASSERT_GT(log->segments().size(), 5u);
        ASSERT_GE(log->segments().back()->base_offset(), log->log_end_offset() - 36);
        before = offsets_read(*log);
        end = log->log_end_offset();
        summarize_sealed(file_ops::real(), *log);
    }
    counting_ops with;
    auto log = partition_log::open(with, dir, cfg, 0).value();
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_TRUE(log->segments().front()->index_stored());
    uint64_t reads_with = with.reads.load();
    EXPECT_EQ(offsets_read(*log), before);
    // Producer state came back from the summaries alone: retries of the producer's
    // recent batches (all in sealed segments) are recognised, a gap is refused.
    bytes again = sent[59];
    auto dup = log->append(std::span<uint8_t>(again), 6000);
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup.value().duplicate);
    bytes older = sent[56];
    dup = log->append(std::span<uint8_t>(older), 6000);
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup.value().duplicate);
    bytes gap = batch(1, 7, 10'000);
    EXPECT_FALSE(log->append(std::span<uint8_t>(gap), 6000));
    log.reset();

    // Without the summaries the same log scans every sealed segment.
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".index") {
            fs::remove(e.path());
        }
    }
    counting_ops without;
    log = partition_log::open(without, dir, cfg, 0).value();
    EXPECT_EQ(log->log_end_offset(), end);
    EXPECT_EQ(offsets_read(*log), before);
    EXPECT_LT(reads_with * 3, without.reads.load()) << reads_with << " vs " << without.reads.load();
    log.reset(); // its segments close their files through `without`, which goes first
}

TEST(segment_index, damaged_or_stale_summaries_are_ignored) {
    temp_dir d;
    std::string dir = d.str() + "/p";
    log_config cfg;
    cfg.segment_bytes = 600;
    std::vector<int64_t> before;
    {
        auto log = partition_log::open(file_ops::real(), dir, cfg, 0).value();
        for (int i = 0; i < 20; ++i) {
            bytes b = batch(3);
            ASSERT_TRUE(log->append(std::span<uint8_t>(b), 5000));
        }
        log->set_high_watermark(log->log_end_offset());
        before = offsets_read(*log);
        summarize_sealed(file_ops::real(), *log);
    }
    // One summary damaged, one claiming another size, one orphaned, one temp left.
    std::string first = dir + "/" + segment::file_name(0);
    {
        std::fstream f(index_path_for(first), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(20);
        f.put('\x7f');
    }
    auto segs = std::vector<fs::path>();
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".log") {
            segs.push_back(e.path());
        }
    }
    std::sort(segs.begin(), segs.end());
    auto s1 = summarize_segment(file_ops::real(), segs[1].string(), std::stoll(segs[1].stem().string()));
    ASSERT_TRUE(s1);
    s1.value().segment_size += 61;
    ASSERT_TRUE(store_summary(file_ops::real(), segs[1].string(), s1.value()));
    std::ofstream(dir + "/" + std::string(20, '9') + ".index") << "orphan";
    std::ofstream(index_path_for(first) + ".tmp") << "torn";

    auto log = partition_log::open(file_ops::real(), dir, cfg, 0).value();
    EXPECT_EQ(offsets_read(*log), before);
    EXPECT_FALSE(log->segments()[0]->index_stored());
    EXPECT_FALSE(log->segments()[1]->index_stored());
    EXPECT_TRUE(log->segments()[2]->index_stored());
    EXPECT_FALSE(fs::exists(dir + "/" + std::string(20, '9') + ".index"));
    EXPECT_FALSE(fs::exists(index_path_for(first) + ".tmp"));
}

TEST(segment_index, decoding_refuses_whatever_is_not_a_whole_summary) {
    segment_summary s;
    s.segment_size = 5000;
    s.base_offset = 100;
    s.next_offset = 200;
    s.offsets = { { 100, 0 }, { 150, 4096 } };
    s.times = { { 7, 100 } };
    s.producers = { { 9, 1, { 0, 4, 100, 104, 7 } } };
    bytes b = s.encode();
    auto back = segment_summary::decode(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->offsets.size(), 2u);
    EXPECT_EQ(back->producers[0].batch.last_offset, 104);
    std::mt19937 rng(5);
    for (int i = 0; i < 2000; ++i) {
        bytes m = b;
        if (i % 2 == 0) {
            m[rng() % m.size()] ^= uint8_t(1 + rng() % 255);
        } else {
            m.resize(rng() % m.size());
        }
        EXPECT_FALSE(segment_summary::decode(m));
    }
}
