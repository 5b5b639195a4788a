#include "record/batch.h"
#include "storage/compactor.h"
#include "storage/partition_log.h"
#include "storage/tests/temp_dir.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <fcntl.h>
#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::storage;
using chronik::storage::testing::temp_dir;

namespace fs = std::filesystem;

namespace {

struct kv {
    std::optional<std::string> key;
    std::optional<std::string> value; // nullopt: a tombstone
};

bytes keyed_batch(const std::vector<kv>& records, int64_t ts, record::codec c = record::codec::none,
                  int64_t pid = -1, int32_t seq = -1) {
    std::vector<record::record_input> in;
    for (const auto& r : records) {
        auto& x = in.emplace_back();
        if (r.key) {
            x.key = bytes(r.key->begin(), r.key->end());
        }
        if (r.value) {
            x.value = bytes(r.value->begin(), r.value->end());
        }
        x.timestamp = ts;
    }
    record::batch_options o;
    o.compression = c;
    o.producer_id = pid;
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = seq;
    return record::build_batch(in, o).value();
}

struct stored {
    int64_t offset;
    std::optional<std::string> key, value;
};

std::vector<stored> read_all(partition_log& log) {
    std::vector<stored> out;
    int64_t offset = log.log_start_offset();
    while (offset < log.high_watermark()) {
        auto r = log.read(offset, 1 << 20, true).value();
        if (r.data.empty()) {
            break;
        }
        auto ok = record::for_each_batch(
          r.data, [&](const record::batch_header& h, const byte_slice& b) -> result<void> {
              return record::for_each_record(b.span(), 1 << 24, [&](const record::record_view& rv) {
                  stored s{ h.offset_of(rv), std::nullopt, std::nullopt };
                  if (rv.key) {
                      s.key = std::string(rv.key->begin(), rv.key->end());
                  }
                  if (rv.value) {
                      s.value = std::string(rv.value->begin(), rv.value->end());
                  }
                  if (s.offset >= offset) {
                      out.push_back(s);
                  }
              });
          });
        EXPECT_TRUE(ok);
        offset = r.next_offset;
    }
    return out;
}

log_config compacted(uint64_t segment_bytes) {
    log_config c;
    c.segment_bytes = segment_bytes;
    c.compact = true;
    c.delete_old = false;
    return c;
}

// One pass as log_manager runs it, synchronously.
compaction_result compact(file_ops& ops, partition_log& log, int64_t now, int64_t delete_retention_ms) {
    auto segs = log.start_compaction(now);
    compaction_params p;
    p.now_ms = now;
    p.delete_retention_ms = delete_retention_ms;
    auto r = compact_segments(ops, log.dir(), segs, p);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    compaction_result done = r ? std::move(r).value() : compaction_result{};
    log.finish_compaction(done.original, done.replaced);
    return done;
}

void append_all(partition_log& log, const std::vector<bytes>& batches, int64_t now) {
    for (auto b : batches) {
        ASSERT_TRUE(log.append(std::span<uint8_t>(b), now));
    }
    log.set_high_watermark(log.log_end_offset());
}

} // namespace

TEST(compaction, keeps_the_latest_value_of_every_key_at_its_offset) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", compacted(400), 0).value();
    std::vector<bytes> batches;
    for (int round = 0; round < 20; ++round) {
        // One compressed batch of three keys and one plain batch per round.
        batches.push_back(keyed_batch({ { "a", "a" + std::to_string(round) },
                                        { "b", "b" + std::to_string(round) },
                                        { "c", "c" + std::to_string(round) } },
                                      1000 + round, record::codec::lz4));
        batches.push_back(
          keyed_batch({ { "k" + std::to_string(round % 4), "r" + std::to_string(round) } }, 1000));
    }
    append_all(*log, batches, 5000);
    ASSERT_GT(log->segments().size(), 4u);
    auto before = read_all(*log);
    int64_t end = log->log_end_offset();

    auto done = compact(file_ops::real(), *log, 5000, 86'400'000);
    EXPECT_GT(done.records_removed, 0);
    EXPECT_LT(done.bytes_after, done.bytes_before);
    auto after = read_all(*log);
    EXPECT_LT(after.size(), before.size());
    EXPECT_EQ(log->log_end_offset(), end);

    // The latest record of every key is still there, at its original offset, and
    // every surviving record is an unchanged original.
    std::map<std::string, stored> latest;
    for (const auto& s : before) {
        latest[*s.key] = s;
    }
    std::map<int64_t, stored> by_offset;
    for (const auto& s : before) {
        by_offset[s.offset] = s;
    }
    for (size_t i = 0; i < after.size(); ++i) {
        if (i > 0) {
            EXPECT_LT(after[i - 1].offset, after[i].offset);
        }
        ASSERT_TRUE(by_offset.contains(after[i].offset));
        EXPECT_EQ(by_offset[after[i].offset].value, after[i].value);
    }
    for (const auto& [key, s] : latest) {
        bool found = false;
        for (const auto& a : after) {
            found = found || (a.offset == s.offset && a.key == s.key && a.value == s.value);
        }
        EXPECT_TRUE(found) << key;
    }
    // Sealed segments hold each key at most once.
    int64_t active_base = log->segments().back()->base_offset();
    std::map<std::string, int> sealed_count;
    for (const auto& a : after) {
        if (a.offset < active_base) {
            EXPECT_EQ(++sealed_count[*a.key], 1) << *a.key;
        }
    }

    // Nothing new is dirty: a second pass is not due.
    EXPECT_TRUE(log->start_compaction(5000).empty());

    // The compacted log reopens as it was, and appends continue at the same offset.
    std::string dir = log->dir();
    log.reset();
    log = partition_log::open(file_ops::real(), dir, compacted(400), 0).value();
    log->set_high_watermark(log->log_end_offset());
    EXPECT_EQ(log->log_end_offset(), end);
    auto reopened = read_all(*log);
    ASSERT_EQ(reopened.size(), after.size());
    for (size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(reopened[i].offset, after[i].offset);
        EXPECT_EQ(reopened[i].value, after[i].value);
    }
    bytes more = keyed_batch({ { "a", "new" } }, 9000);
    EXPECT_EQ(log->append(std::span<uint8_t>(more), 9000).value().base_offset, end);
}

TEST(compaction, tombstones_remove_a_key_once_delete_retention_has_passed) {
    temp_dir d;
    auto log = partition_log::open(file_ops::real(), d.str() + "/p", compacted(200), 0).value();
    std::vector<bytes> batches;
    for (int i = 0; i < 6; ++i) {
        batches.push_back(
          keyed_batch({ { "gone", "v" + std::to_string(i) }, { "kept", "w" + std::to_string(i) } }, 1000));
    }
    batches.push_back(keyed_batch({ { "gone", std::nullopt } }, 2000));
    for (int i = 0; i < 6; ++i) {
        batches.push_back(keyed_batch({ { "filler" + std::to_string(i), "x" } }, 1000));
    }
    append_all(*log, batches, 5000);

    // Young tombstone: the older values go, the tombstone stays.
    compact(file_ops::real(), *log, 2500, 1000);
    auto after = read_all(*log);
    int gone_values = 0, tombstones = 0;
    for (const auto& a : after) {
        if (a.key == "gone") {
            (a.value ? gone_values : tombstones)++;
        }
    }
    EXPECT_EQ(gone_values, 0);
    EXPECT_EQ(tombstones, 1);

    // Once delete.retention.ms has passed the tombstone goes too (in a pass that
    // runs although little is dirty).
    auto cfg = compacted(200);
    cfg.min_cleanable_dirty_ratio = 0;
    log->set_config(cfg);
    append_all(*log, { keyed_batch({ { "later", "y" } }, 4000), keyed_batch({ { "later2", "y" } }, 4000) },
               5000);
    compact(file_ops::real(), *log, 100000, 1000);
    for (const auto& a : read_all(*log)) {
        EXPECT_NE(a.key, "gone");
    }
    bool kept = false;
    for (const auto& a : read_all(*log)) {
        kept = kept || (a.key == "kept" && a.value == "w5");
    }
    EXPECT_TRUE(kept);
}

namespace {

// Once armed, refuses to create files (compaction's copies), like a full disk.
struct full_disk : file_ops {
    bool armed = false;
    int open(const std::string& path, int flags, mode_t mode) override {
        return armed && (flags & O_CREAT) ? -ENOSPC : file_ops::open(path, flags, mode);
    }
};

} // namespace

TEST(compaction, a_failed_pass_or_a_crash_mid_pass_leaves_the_log_whole) {
    temp_dir d;
    full_disk ops;
    std::string dir = d.str() + "/p";
    auto log = partition_log::open(ops, dir, compacted(200), 0).value();
    std::vector<bytes> batches;
    for (int i = 0; i < 30; ++i) {
        batches.push_back(keyed_batch({ { "k" + std::to_string(i % 3), std::to_string(i) } }, 1000));
    }
    append_all(*log, batches, 5000);
    auto before = read_all(*log);

    ops.armed = true;
    auto segs = log->start_compaction(5000);
    ASSERT_FALSE(segs.empty());
    compaction_params p;
    p.now_ms = 5000;
    EXPECT_FALSE(compact_segments(ops, dir, segs, p));
    log->finish_compaction({}, {});
    ops.armed = false;
    EXPECT_EQ(read_all(*log).size(), before.size());
    for (const auto& e : fs::directory_iterator(dir)) {
        EXPECT_FALSE(e.path().string().ends_with(cleaned_suffix)) << e.path();
    }

    // A crash between writing a copy and renaming it leaves a `.cleaned` file;
    // recovery removes it and the log is as it was.
    std::ofstream(segs.front()->path() + std::string(cleaned_suffix)) << "half a segment";
    log.reset();
    segs.clear();
    log = partition_log::open(file_ops::real(), dir, compacted(200), 0).value();
    log->set_high_watermark(log->log_end_offset());
    EXPECT_EQ(read_all(*log).size(), before.size());
    for (const auto& e : fs::directory_iterator(dir)) {
        EXPECT_FALSE(e.path().string().ends_with(cleaned_suffix)) << e.path();
    }
}
