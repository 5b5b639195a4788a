// cluster::partition on a single node: a one-voter Raft group over the partition
// log. Offsets, epochs and the high watermark come from the group.
#include "base/endian.h"
#include "cluster/errc.h"
#include "cluster/partition.h"
#include "record/batch.h"
#include "runtime/io_worker.h"
#include "storage/tests/run_coroutine.h"
#include "storage/tests/temp_dir.h"

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::cluster;
using chronik::storage::testing::run;
using chronik::storage::testing::temp_dir;

namespace {

bytes make_batch(int n) {
    std::vector<record::record_input> recs;
    for (int i = 0; i < n; ++i) {
        record::record_input r;
        r.value = bytes(8, uint8_t(i));
        r.timestamp = 1000 + i;
        recs.push_back(std::move(r));
    }
    return record::build_batch(recs, {}).value();
}

model::uuid topic_id() {
    model::uuid u;
    u.bytes.fill(5);
    return u;
}

struct node_fixture {
    asio::io_context ctx;
    runtime::io_worker io;
    storage::log_manager logs;
    partition_manager parts;
    explicit node_fixture(const std::string& dir)
      : logs(dir, io, storage::file_ops::real(), ctx.get_executor(), [](std::vector<storage::watcher>) {}),
        parts(logs, model::node_id{ 1 }) {}
    ~node_fixture() {
        run(ctx, [](storage::log_manager& l) -> awaitable<int> {
            co_await l.close();
            co_return 0;
        }(logs));
    }
    std::shared_ptr<partition> open() { return run(ctx, parts.get("t", topic_id(), 0, {})); }
};

} // namespace

TEST(partition, a_sole_voter_leads_replicates_and_commits) {
    temp_dir d;
    node_fixture n(d.str());
    auto p = n.open();
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->is_leader());
    EXPECT_EQ(p->leader(), model::node_id{ 1 });
    EXPECT_EQ(p->leader_epoch(), 1); // a new group's first term
    bytes b = make_batch(3);
    auto a = p->replicate(std::span<uint8_t>(b), 5000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a.value().base_offset, 0); // no no-op: a fresh log starts at 0
    EXPECT_EQ(a.value().last_offset, 2);
    EXPECT_EQ(p->high_watermark(), 0); // dispatched, not yet committed
    EXPECT_FALSE(run(n.ctx, p->wait_committed(2)));
    EXPECT_EQ(p->high_watermark(), 3);
    EXPECT_EQ(p->raft().commit(), raft::log_index{ 3 });
    // The batch carries the term as its leader epoch.
    auto r = p->log().read(0, 1 << 20, true).value();
    auto h = record::read_header(r.data.span()).value();
    EXPECT_EQ(h.partition_leader_epoch, 1);
}

TEST(partition, every_open_is_a_new_term_and_the_log_end_stays) {
    temp_dir d;
    for (int round = 1; round <= 3; ++round) {
        node_fixture n(d.str());
        auto p = n.open();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->leader_epoch(), round);
        EXPECT_EQ(p->log().log_end_offset(), 2 * (round - 1)); // the restart wrote nothing
        EXPECT_EQ(p->high_watermark(), 2 * (round - 1));
        bytes b = make_batch(2);
        auto a = p->replicate(std::span<uint8_t>(b), 5000);
        ASSERT_TRUE(a);
        EXPECT_FALSE(run(n.ctx, p->wait_committed(a.value().last_offset)));
    }
    node_fixture n(d.str());
    auto p = n.open();
    // OffsetForLeaderEpoch: each earlier term ends where the next began.
    EXPECT_EQ(p->last_offset_of_epoch(1), (storage::epoch_end{ 1, 2 }));
    EXPECT_EQ(p->last_offset_of_epoch(2), (storage::epoch_end{ 2, 4 }));
    EXPECT_EQ(p->last_offset_of_epoch(3), (storage::epoch_end{ 3, 6 }));
    EXPECT_EQ(p->leader_epoch(), 4);
    EXPECT_EQ(p->last_offset_of_epoch(4), (storage::epoch_end{ 4, 6 }));
}

TEST(partition, flush_ms_topics_commit_at_append) {
    temp_dir d;
    node_fixture n(d.str());
    storage::log_config cfg;
    cfg.relaxed_flush = true;
    cfg.flush_messages = 1000;
    auto p = run(n.ctx, n.parts.get("t", topic_id(), 0, cfg));
    bytes b = make_batch(4);
    ASSERT_TRUE(p->replicate(std::span<uint8_t>(b), 5000));
    EXPECT_EQ(p->high_watermark(), 4); // page-cache durability, as the topic asked
}

TEST(partition, control_batches_are_control_records_keyed_by_type) {
    bytes v = { 1, 2, 3 };
    bytes b = make_control_batch(41, 7, control_leader_change, v, 123);
    auto h = record::validate_batch(b).value();
    EXPECT_TRUE(h.control());
    EXPECT_EQ(h.base_offset, 41);
    EXPECT_EQ(h.partition_leader_epoch, 7);
    EXPECT_EQ(h.record_count, 1);
    int seen = 0;
    ASSERT_TRUE(record::for_each_record(b, 1 << 20, [&](const record::record_view& r) {
        ASSERT_TRUE(r.key && r.key->size() == 4);
        EXPECT_EQ(load_be<int16_t>(r.key->data()), 0);
        EXPECT_EQ(load_be<int16_t>(r.key->data() + 2), control_leader_change);
        ++seen;
    }));
    EXPECT_EQ(seen, 1);
}
