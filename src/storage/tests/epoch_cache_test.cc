#include "record/batch.h"
#include "storage/epoch_cache.h"
#include "storage/errc.h"
#include "storage/partition_log.h"
#include "storage/tests/temp_dir.h"
#include "storage/vote_file.h"

#include <fstream>

#include <gtest/gtest.h>

namespace chronik::storage {
namespace {

using testing::temp_dir;

bytes records(int n) {
    std::vector<record::record_input> recs(static_cast<size_t>(n));
    for (auto& r : recs) {
        r.value = bytes{ 'v' };
        r.timestamp = 1000;
    }
    return record::build_batch(recs, {}).value();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Kafka's LeaderEpochFileCache.endOffsetFor, case by case.
TEST(epoch_cache, end_offset_for_answers_as_kafka_does) {
    epoch_cache c({ { 1, 0 }, { 3, 100 }, { 6, 250 } });
    EXPECT_EQ(c.end_offset_for(6, 400), (epoch_end{ 6, 400 })); // the latest: the log end
    EXPECT_EQ(c.end_offset_for(3, 400), (epoch_end{ 3, 250 })); // a known one: the next one's start
    EXPECT_EQ(c.end_offset_for(4, 400), (epoch_end{ 3, 250 })); // unknown, between: the floor epoch
    EXPECT_EQ(c.end_offset_for(0, 400), (epoch_end{ 0, 0 }));   // older than all: where the first began
    EXPECT_EQ(c.end_offset_for(7, 400), (epoch_end{}));         // newer than all: undefined
    EXPECT_EQ(c.end_offset_for(-1, 400), (epoch_end{}));
    EXPECT_EQ(epoch_cache{}.end_offset_for(0, 10), (epoch_end{}));
}

TEST(epoch_cache, truncation_from_either_end) {
    epoch_cache c({ { 1, 0 }, { 3, 100 }, { 6, 250 } });
    c.truncate_from(250); // the suffix from 250 is gone: so is epoch 6
    EXPECT_EQ(c.entries(), (std::vector<epoch_entry>{ { 1, 0 }, { 3, 100 } }));
    EXPECT_TRUE(c.dirty());
    c.mark_stored();
    c.truncate_from(300); // nothing starts there
    EXPECT_FALSE(c.dirty());
    c.truncate_to_start(120); // epoch 1 is wholly gone; epoch 3 holds the batch ending at 120
    EXPECT_EQ(c.entries(), (std::vector<epoch_entry>{ { 3, 100 } }));
    c.mark_stored();
    c.truncate_to_start(120);
    EXPECT_FALSE(c.dirty());
    EXPECT_EQ(c.epoch_at(119), 3);
    epoch_cache d({ { 1, 0 }, { 3, 100 } });
    d.truncate_to_start(100); // the batch ending at the log start was epoch 1's: it stays
    EXPECT_EQ(d.entries(), (std::vector<epoch_entry>{ { 1, 0 }, { 3, 100 } }));
    EXPECT_EQ(d.epoch_at(99), 1);
    d.truncate_to_start(101);
    EXPECT_EQ(d.entries(), (std::vector<epoch_entry>{ { 3, 100 } }));
    c.assign(3, 130); // the same epoch again: nothing new
    EXPECT_FALSE(c.dirty());
    c.assign(4, 130);
    EXPECT_EQ(c.latest_epoch(), 4);
}

TEST(epoch_cache, checkpoint_round_trips_and_refuses_what_it_did_not_write) {
    temp_dir d;
    auto empty = epoch_cache::load(file_ops::real(), d.str());
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty.value().entries().empty());

    epoch_cache c({ { 0, 0 }, { 2, 17 }, { 5, 1'000'000'000'000 } });
    ASSERT_TRUE(c.store(file_ops::real(), d.str()));
    auto back = epoch_cache::load(file_ops::real(), d.str());
    ASSERT_TRUE(back);
    EXPECT_EQ(back.value().entries(), c.entries());
    EXPECT_FALSE(std::filesystem::exists(d.str() + "/leader-epoch-checkpoint.tmp"));

    const std::string path = d.str() + "/" + epoch_cache::file_name;
    for (const char* bad : { "1\n0\n", "0\n2\n0 0\n", "0\n1\n0 0\nextra", "0\n2\n3 10\n2 20\n",
                             "0\n2\n1 10\n2 5\n", "0\n99999999999\n", "0\n1\n-1 0\n", "0\n1\n0\n", "" }) {
        write_file(path, bad);
        EXPECT_FALSE(epoch_cache::load(file_ops::real(), d.str())) << bad;
    }
}

TEST(vote_file, round_trips_and_refuses_what_it_did_not_write) {
    temp_dir d;
    auto none = load_vote(file_ops::real(), d.str());
    ASSERT_TRUE(none);
    EXPECT_EQ(none.value(), raft_vote{});

    const raft_vote voted{ model::term_id{ 7 }, model::node_id{ 2 } };
    ASSERT_TRUE(store_vote(file_ops::real(), d.str(), {}, voted));
    EXPECT_EQ(load_vote(file_ops::real(), d.str()).value(), voted);
    const raft_vote newer{ model::term_id{ 9 }, std::nullopt };
    ASSERT_TRUE(store_vote(file_ops::real(), d.str(), voted, newer));
    EXPECT_EQ(load_vote(file_ops::real(), d.str()).value(), newer);
    EXPECT_FALSE(std::filesystem::exists(d.str() + "/raft-vote.tmp"));

    const std::string path = d.str() + "/" + vote_file_name;
    for (const char* bad : { "1\n7 2\n", "0\n7 2", "0\n7\n", "0\n-1 2\n", "0\n7 -2\n", "0\n7 2\nx", "",
                             "0\n99999999999999999999 1\n" }) {
        write_file(path, bad);
        EXPECT_EQ(load_vote(file_ops::real(), d.str()).error(), make_error_code(errc::corrupt_checkpoint))
          << bad;
    }
}

// A store that fails at any step leaves the vote before it, and no temporary file.
TEST(vote_file, a_failed_store_leaves_the_previous_vote) {
    struct failing : file_ops {
        int fail_sync = 0;
        int fail_rename = 0;
        int fdatasync(int fd) override { return fail_sync != 0 ? -fail_sync : file_ops::fdatasync(fd); }
        int rename(const std::string& from, const std::string& to) override {
            return fail_rename != 0 ? -fail_rename : file_ops::rename(from, to);
        }
    };
    temp_dir d;
    failing ops;
    const raft_vote first{ model::term_id{ 3 }, model::node_id{ 1 } };
    ASSERT_TRUE(store_vote(ops, d.str(), {}, first));
    const raft_vote second{ model::term_id{ 4 }, model::node_id{ 3 } };
    ops.fail_sync = EIO;
    EXPECT_FALSE(store_vote(ops, d.str(), first, second));
    EXPECT_EQ(load_vote(ops, d.str()).value(), first);
    ops.fail_sync = 0;
    ops.fail_rename = ENOSPC;
    EXPECT_FALSE(store_vote(ops, d.str(), first, second));
    EXPECT_EQ(load_vote(ops, d.str()).value(), first);
    EXPECT_FALSE(std::filesystem::exists(d.str() + "/raft-vote.tmp"));
    ops.fail_rename = 0;
    ASSERT_TRUE(store_vote(ops, d.str(), first, second));
    EXPECT_EQ(load_vote(ops, d.str()).value(), second);
}

TEST(vote_file_death, a_vote_never_goes_back) {
    temp_dir d;
    const raft_vote v{ model::term_id{ 5 }, model::node_id{ 1 } };
    EXPECT_DEATH((void)store_vote(file_ops::real(), d.str(), v, { model::term_id{ 4 }, std::nullopt }),
                 "never goes back");
    EXPECT_DEATH((void)store_vote(file_ops::real(), d.str(), v, { model::term_id{ 5 }, model::node_id{ 2 } }),
                 "never goes back");
}

// The log keeps the checkpoint: a restart finds the epochs again, cuts those the
// log no longer holds, starts its own epoch at the log end, and rebuilds the
// checkpoint from the batches when it is missing or damaged.
TEST(epoch_cache, a_partition_log_keeps_its_epochs_across_restarts) {
    temp_dir d;
    const std::string dir = d.str() + "/p";
    {
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 } }));
        for (int i = 0; i < 4; ++i) {
            bytes b = records(5);
            ASSERT_TRUE(log->append(std::span<uint8_t>(b), 5000));
        }
        EXPECT_EQ(log->epochs().end_offset_for(0, log->log_end_offset()), (epoch_end{ 0, 20 }));
    }
    const std::string path = dir + "/" + epoch_cache::file_name;
    // As if epochs 3 and 9 had written: 9 beyond the log end (its batches were lost).
    write_file(path, "0\n3\n0 0\n3 10\n9 25\n");
    {
        // Epoch 9's batches are gone, so its entry is; but an epoch once written is
        // never written again, so the replica goes on in 9, not in the 4 it was given.
        auto log = partition_log::open(file_ops::real(), dir, {}, 0, 4).value();
        EXPECT_EQ(log->leader_epoch(), 9);
        EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 3, 10 }, { 9, 20 } }));
        EXPECT_EQ(log->epochs().end_offset_for(3, 20), (epoch_end{ 3, 20 }));
        EXPECT_EQ(log->epochs().end_offset_for(5, 20), (epoch_end{ 3, 20 }));
    }
    auto stored = epoch_cache::load(file_ops::real(), dir);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored.value().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 3, 10 }, { 9, 20 } }));
    {
        // Opened as epoch 2: the log goes on in its newest, 9, and its batches say so.
        auto log = partition_log::open(file_ops::real(), dir, {}, 0, 2).value();
        EXPECT_EQ(log->leader_epoch(), 9);
        bytes b = records(3);
        ASSERT_TRUE(log->append(std::span<uint8_t>(b), 5000));
        log->set_high_watermark(log->log_end_offset());
        auto read = log->read(20, 1 << 20, true);
        ASSERT_TRUE(read);
        ASSERT_GE(read.value().data.size(), record::batch_header_size);
        EXPECT_EQ(record::read_header(read.value().data.span()).value().partition_leader_epoch, 9);
        EXPECT_EQ(log->epochs().latest_epoch(), 9);
    }

    for (const char* damage : { "", "garbage" }) {
        if (*damage == 0) {
            std::filesystem::remove(path);
        } else {
            write_file(path, damage);
        }
        auto log = partition_log::open(file_ops::real(), dir, {}, 0).value();
        // Only what the batches say: epoch 0 from 0, epoch 9 from 20 (epoch 3 wrote none).
        EXPECT_EQ(log->epochs().entries(), (std::vector<epoch_entry>{ { 0, 0 }, { 9, 20 } })) << damage;
        EXPECT_EQ(log->log_end_offset(), 23);
        EXPECT_EQ(log->leader_epoch(), 9);
    }
}

} // namespace
} // namespace chronik::storage
