// cluster::partition on a single node: a one-voter Raft group over the partition
// log. Offsets, epochs and the high watermark come from the group.
#include "base/endian.h"
#include "cluster/errc.h"
#include "cluster/partition.h"
#include "record/batch.h"
#include "runtime/io_worker.h"
#include "storage/tests/run_coroutine.h"
#include "storage/tests/temp_dir.h"

#include <functional>
#include <map>
#include <set>

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

// Three replicas of one partition in one process: three log managers on one
// io_context, joined by a transport that delivers each message on a later turn of
// the loop (or drops it, across a cut link). Ticks are driven by run_until.
namespace {

class three_replicas final : public raft_transport {
public:
    static constexpr int64_t group = 7;
    struct member {
        std::unique_ptr<runtime::io_worker> io;
        std::unique_ptr<storage::log_manager> logs;
        std::unique_ptr<partition_manager> parts;
        std::shared_ptr<partition> p;
    };

    // `lag_ticks`, `rebalance_ticks`: the group_spec's.
    explicit three_replicas(const std::string& dir, int lag_ticks = 600, int rebalance_ticks = 0,
                            storage::log_config cfg = {})
      : _dir(dir), _lag_ticks(lag_ticks), _rebalance_ticks(rebalance_ticks), _cfg(cfg) {
        // The preferred replica last, so its campaign at open reaches both others.
        for (int n = 3; n >= 1; --n) {
            start(n);
        }
    }
    ~three_replicas() override {
        for (int n = 1; n <= 3; ++n) {
            stop(n);
        }
    }

    void start(int n) {
        auto& m = _members[n];
        m.io = std::make_unique<runtime::io_worker>();
        m.logs = std::make_unique<storage::log_manager>(_dir + "/node-" + std::to_string(n), *m.io,
                                                        storage::file_ops::real(), ctx.get_executor(),
                                                        [](std::vector<storage::watcher>) {});
        m.parts = std::make_unique<partition_manager>(*m.logs, model::node_id{ n });
        group_spec spec;
        spec.group = group;
        for (int r = 1; r <= 3; ++r) {
            spec.replicas.push_back({ model::node_id{ r }, model::shard_id{ 0 } });
        }
        spec.transport = this;
        spec.lag_ticks = _lag_ticks;
        spec.rebalance_ticks = _rebalance_ticks;
        m.p = run(ctx, m.parts->get("t", topic_id(), 0, _cfg, spec));
        ASSERT_TRUE(m.p);
    }
    void stop(int n) {
        auto& m = _members[n];
        if (!m.logs) {
            return;
        }
        m.p.reset();
        m.parts.reset();
        run(ctx, [](storage::log_manager& l) -> awaitable<int> {
            co_await l.close();
            co_return 0;
        }(*m.logs));
        // Fibers that held the partition (a vote being stored) end with the loop's
        // remaining work before the log manager goes.
        ctx.restart();
        ctx.poll();
        m.logs.reset();
        m.io.reset();
    }

    void send(replica_placement to, int64_t g, raft::message m) override {
        EXPECT_EQ(g, group);
        const int from = int(m.from());
        if (_cut.contains({ from, int(to.node()) })) {
            return;
        }
        asio::post(ctx, [this, to = int(to.node()), m = std::move(m)]() mutable {
            if (auto& p = _members[to].p; p && !_cut.contains({ int(m.from()), to })) {
                p->step(std::move(m));
            }
        });
    }

    // Drops everything between n and every other replica, both ways.
    void isolate(int n) {
        for (int o = 1; o <= 3; ++o) {
            if (o != n) {
                _cut.insert({ n, o });
                _cut.insert({ o, n });
            }
        }
    }
    void heal() { _cut.clear(); }

    partition& at(int n) { return *_members[n].p; }
    storage::log_manager& logs(int n) { return *_members[n].logs; }
    std::string dir_of(int n) const { return _dir + "/node-" + std::to_string(n); }

    // Turns the loop, ticking every replica each 5 ms, until `done` or 10 s.
    bool run_until(const std::function<bool()>& done) {
        auto guard = asio::make_work_guard(ctx);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (done()) {
                return true;
            }
            ctx.restart();
            ctx.run_for(std::chrono::milliseconds(5));
            for (auto& [n, m] : _members) {
                if (m.p) {
                    m.p->tick();
                }
            }
        }
        if (done()) {
            return true;
        }
        for (auto& [n, m] : _members) {
            if (m.p) {
                auto st = m.p->raft().status();
                fprintf(stderr, "node %d: %s term %ld leader %d commit %ld last %ld stable %ld log end %ld\n",
                        n, raft::to_string(st.role), long(st.term()), int(st.leader()), long(st.commit()),
                        long(st.last_index()), long(st.stable()), long(m.p->log().log_end_offset()));
                for (const auto& t : m.p->raft().log().terms()) {
                    fprintf(stderr, "  term %ld from %ld\n", long(t.term()), long(t.start()));
                }
                for (const auto& e : m.p->log().epochs().entries()) {
                    fprintf(stderr, "  epoch %d from %ld\n", e.epoch, long(e.start_offset));
                }
                for (int o = 1; o <= 3; ++o) {
                    if (const auto* pr = m.p->raft().progress_of(model::node_id{ o })) {
                        fprintf(stderr, "  peer %d: state %d match %ld next %ld paused %d inflight %zu\n", o,
                                int(pr->st), long(pr->match()), long(pr->next()), int(pr->paused),
                                pr->inflight.size());
                    }
                }
            }
        }
        return false;
    }
    // The leader's number once all three agree on one, else 0.
    int agreed_leader() {
        int l = int(at(1).leader()());
        for (int n = 1; n <= 3; ++n) {
            if (!_members[n].p || int(at(n).leader()()) != l) {
                return 0;
            }
        }
        return l > 0 && at(l).is_leader() ? l : 0;
    }

    // Starts wait_committed; the outcome lands in `*out`.
    void wait_committed(int n, int64_t last, std::shared_ptr<std::optional<std::error_code>> out,
                        int32_t min_insync = 1) {
        asio::co_spawn(ctx, at(n).wait_committed(last, min_insync),
                       [out](std::exception_ptr, std::error_code ec) { *out = ec; });
    }

    // Every batch of n's log, as stored (a read ends at a segment's end).
    bytes contents(int n) {
        auto& l = at(n).log();
        bytes out;
        int64_t at = l.physical_start_offset();
        while (at < l.log_end_offset()) {
            auto r = l.read(at, 64 << 20, true, false, l.log_end_offset());
            if (!r || r.value().data.size() == 0) {
                break;
            }
            auto s = r.value().data.span();
            out.insert(out.end(), s.begin(), s.end());
            int64_t next = at;
            (void)record::for_each_batch(
              r.value().data, [&](const record::batch_header& h, const byte_slice&) -> result<void> {
                  next = h.last_offset() + 1;
                  return outcome::success();
              });
            if (next <= at) {
                break;
            }
            at = next;
        }
        return out;
    }

    asio::io_context ctx;

private:
    std::string _dir;
    int _lag_ticks;
    int _rebalance_ticks;
    storage::log_config _cfg;
    std::map<int, member> _members;
    std::set<std::pair<int, int>> _cut;
};

} // namespace

TEST(partition_group, the_preferred_replica_leads_and_a_majority_commits) {
    temp_dir d;
    three_replicas g(d.str());
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() != 0; }));
    EXPECT_EQ(g.agreed_leader(), 1); // the first replica campaigned at once
    const int32_t term = g.at(1).leader_epoch();
    // The vote was stored before it was sent: a restart cannot vote twice.
    for (int n = 2; n <= 3; ++n) {
        auto v = storage::load_vote(storage::file_ops::real(), g.at(n).log().dir());
        ASSERT_TRUE(v);
        EXPECT_EQ(v.value().term, model::term_id{ term });
        EXPECT_EQ(v.value().voted_for, model::node_id{ 1 });
    }
    bytes b = make_batch(3);
    auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a.value().base_offset, 1); // after the new leader's no-op
    EXPECT_EQ(a.value().last_offset, 3);
    bytes c = make_batch(1);
    auto refused = g.at(2).replicate(std::span<uint8_t>(c), 5000);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), errc::not_leader);

    auto done = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, 3, done);
    ASSERT_TRUE(g.run_until([&] { return done->has_value(); }));
    EXPECT_FALSE(**done);
    EXPECT_EQ(g.at(1).high_watermark(), 4);
    // Followers hold the leader's bytes exactly, and learn the commit.
    ASSERT_TRUE(g.run_until([&] { return g.at(2).high_watermark() == 4 && g.at(3).high_watermark() == 4; }));
    EXPECT_EQ(g.contents(2), g.contents(1));
    EXPECT_EQ(g.contents(3), g.contents(1));
    auto h = record::read_header(g.contents(1)).value();
    EXPECT_TRUE(h.control()); // the no-op every client skips
}

TEST(partition_group, one_follower_down_still_commits_two_down_never_acknowledge) {
    temp_dir d;
    three_replicas g(d.str());
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    g.isolate(3);
    bytes b = make_batch(2);
    auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000);
    ASSERT_TRUE(a);
    auto done = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, a.value().last_offset, done);
    ASSERT_TRUE(g.run_until([&] { return done->has_value(); }));
    EXPECT_FALSE(**done);
    const int64_t hw = g.at(1).high_watermark();

    g.isolate(2); // now 1 is alone
    bytes c = make_batch(2);
    auto a2 = g.at(1).replicate(std::span<uint8_t>(c), 5000);
    ASSERT_TRUE(a2);
    auto lost = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, a2.value().last_offset, lost);
    // Without a majority the leader steps down (check-quorum) and the producer is
    // told to retry elsewhere; never an acknowledgement.
    ASSERT_TRUE(g.run_until([&] { return lost->has_value(); }));
    EXPECT_EQ(**lost, errc::not_leader);
    EXPECT_EQ(g.at(1).high_watermark(), hw);
    EXPECT_FALSE(g.at(1).is_leader());
}

TEST(partition_group, a_deposed_leader_cuts_its_divergent_suffix) {
    temp_dir d;
    three_replicas g(d.str());
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    bytes b = make_batch(2);
    auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000);
    ASSERT_TRUE(a);
    ASSERT_TRUE(g.run_until([&] { return g.at(3).high_watermark() == 3 && g.at(2).high_watermark() == 3; }));

    g.isolate(1);
    bytes lone = make_batch(5);
    auto orphan = g.at(1).replicate(std::span<uint8_t>(lone), 5000); // appended only on 1
    ASSERT_TRUE(orphan);
    auto lost = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, orphan.value().last_offset, lost);
    ASSERT_TRUE(g.run_until([&] {
        int l = int(g.at(2).leader()());
        return (l == 2 || l == 3) && g.at(l).is_leader() && lost->has_value();
    }));
    EXPECT_EQ(**lost, errc::not_leader);
    const int leader = int(g.at(2).leader()());
    bytes n1 = make_batch(1);
    auto a1 = g.at(leader).replicate(std::span<uint8_t>(n1), 5000);
    ASSERT_TRUE(a1);
    const int64_t end = a1.value().last_offset + 1;
    EXPECT_LT(end, g.at(1).log().log_end_offset()); // 1's suffix is longer, and not committed

    g.heal();
    ASSERT_TRUE(g.run_until([&] {
        return g.agreed_leader() == leader && g.at(1).log().log_end_offset() == end &&
               g.at(1).high_watermark() == end;
    }));
    EXPECT_EQ(g.contents(1), g.contents(leader));
    EXPECT_EQ(g.at(1).last_offset_of_epoch(g.at(1).leader_epoch()).end_offset, end);
}

TEST(partition_group, a_restarted_follower_catches_up) {
    temp_dir d;
    three_replicas g(d.str());
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    g.stop(3);
    int64_t last = 0;
    for (int i = 0; i < 20; ++i) {
        bytes b = make_batch(3);
        auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000);
        ASSERT_TRUE(a);
        last = a.value().last_offset;
    }
    ASSERT_TRUE(g.run_until([&] { return g.at(1).high_watermark() == last + 1; }));
    g.start(3);
    ASSERT_TRUE(g.run_until([&] { return g.at(3).high_watermark() == last + 1; }));
    EXPECT_EQ(g.contents(3), g.contents(1));
    EXPECT_EQ(g.agreed_leader(), 1); // it rejoined without disturbing the leader (pre-vote)
}

// The ISR as Kafka reports it: a follower that stops answering leaves it after
// lag_ticks and comes back once caught up; min.insync.replicas above the ISR
// refuses acks=all before the append, and one acked by a majority but not by
// min.insync replicas is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR
// shrinks.
TEST(partition_group, the_isr_follows_the_followers_and_min_insync_holds_acks) {
    temp_dir d;
    three_replicas g(d.str(), 20);
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    auto isr = [&] { return g.at(1).in_sync().size(); };
    EXPECT_EQ(isr(), 3u);
    EXPECT_TRUE(g.at(2).in_sync().empty()); // only the leader knows
    bytes b = make_batch(2);
    auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000, 3);
    ASSERT_TRUE(a);
    auto all = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, a.value().last_offset, all, 3);
    ASSERT_TRUE(g.run_until([&] { return all->has_value(); }));
    EXPECT_FALSE(**all);
    EXPECT_EQ(g.at(1).durable_replicas(a.value().last_offset + 1), 3u);

    g.isolate(3);
    g.at(1).tick(); // (not yet out: within lag_ticks)
    EXPECT_EQ(isr(), 3u);
    bytes c = make_batch(1);
    auto a2 = g.at(1).replicate(std::span<uint8_t>(c), 5000, 3);
    ASSERT_TRUE(a2);
    auto after = std::make_shared<std::optional<std::error_code>>();
    g.wait_committed(1, a2.value().last_offset, after, 3);
    ASSERT_TRUE(g.run_until([&] { return after->has_value(); }));
    EXPECT_EQ(**after, errc::not_enough_replicas_after_append);
    EXPECT_GT(g.at(1).high_watermark(), a2.value().last_offset); // committed by the majority
    EXPECT_EQ(isr(), 2u);
    bytes e = make_batch(1);
    auto refused = g.at(1).replicate(std::span<uint8_t>(e), 5000, 3);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), errc::not_enough_replicas);
    EXPECT_TRUE(g.at(1).replicate(std::span<uint8_t>(e), 5000, 2)); // two are enough for 2

    g.heal();
    ASSERT_TRUE(g.run_until([&] { return isr() == 3; }));
}

// auto.leader.rebalance.enable: a leader that is not the preferred replica hands
// the lead back once the preferred one has caught up.
TEST(partition_group, leadership_returns_to_the_preferred_replica) {
    temp_dir d;
    three_replicas g(d.str(), 600, 40);
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    g.isolate(1);
    ASSERT_TRUE(g.run_until([&] {
        const int l = int(g.at(2).leader()());
        return (l == 2 || l == 3) && g.at(l).is_leader();
    }));
    const int other = g.at(2).is_leader() ? 2 : 3;
    bytes b = make_batch(2);
    ASSERT_TRUE(g.at(other).replicate(std::span<uint8_t>(b), 5000));
    g.heal();
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    EXPECT_GT(g.at(1).leader_epoch(), 0);
    EXPECT_EQ(g.contents(1), g.contents(other));
}

// A follower whose log ends before the leader's first segment (retention, or
// DeleteRecords, removed what it lacks) gets the leader's snapshot point, starts
// its log empty there, and catches up from it; it then replicates as any other
// and keeps that log across a restart.
TEST(partition_group, a_follower_behind_the_leaders_log_start_starts_there) {
    temp_dir d;
    storage::log_config cfg;
    cfg.segment_bytes = 400; // a few batches per segment
    cfg.retention_ms = -1;   // the batches carry 1970s timestamps
    three_replicas g(d.str(), 600, 0, cfg);
    ASSERT_TRUE(g.run_until([&] { return g.agreed_leader() == 1; }));
    g.stop(3);
    int64_t last = 0;
    auto write = [&](int batches) {
        for (int i = 0; i < batches; ++i) {
            bytes b = make_batch(3);
            auto a = g.at(1).replicate(std::span<uint8_t>(b), 5000);
            ASSERT_TRUE(a);
            last = a.value().last_offset;
        }
    };
    write(30);
    ASSERT_TRUE(g.run_until([&] { return g.at(1).high_watermark() == last + 1; }));
    ASSERT_GE(g.at(1).log().segments().size(), 4u);
    // The leader drops everything below offset 60 (inside a segment: the segments
    // wholly below it go).
    ASSERT_TRUE(g.at(1).log().delete_records_before(60));
    auto ec = run(g.ctx, g.logs(1).checkpoint_log_start(g.at(1).log_ptr()));
    ASSERT_FALSE(ec);
    const int64_t first = g.at(1).log().physical_start_offset();
    ASSERT_GT(first, 0);
    ASSERT_LE(first, 60);
    ASSERT_TRUE(g.run_until([&] { return g.at(1).raft().log().snapshot().index() == first; }));

    g.start(3);
    ASSERT_TRUE(g.run_until([&] { return g.at(3).high_watermark() == last + 1; }));
    EXPECT_EQ(g.at(3).log().physical_start_offset(), first);
    EXPECT_EQ(g.contents(3), g.contents(1));
    EXPECT_EQ(g.agreed_leader(), 1);
    // Both followers follow the leader's log start (the DeleteRecords), not only
    // its segments.
    ASSERT_TRUE(g.run_until(
      [&] { return g.at(2).log().log_start_offset() == 60 && g.at(3).log().log_start_offset() == 60; }));
    EXPECT_EQ(g.at(2).log().physical_start_offset(), first);

    write(5);
    ASSERT_TRUE(g.run_until([&] { return g.at(3).high_watermark() == last + 1; }));
    g.stop(3);
    g.start(3);
    write(1);
    ASSERT_TRUE(g.run_until([&] { return g.at(3).high_watermark() == last + 1; }));
    EXPECT_EQ(g.at(3).log().physical_start_offset(), first);
    EXPECT_EQ(g.at(3).log().log_start_offset(), 60); // stored
    EXPECT_EQ(g.contents(3), g.contents(1));
}
