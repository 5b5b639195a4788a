// raft_service over real loopback rpc: three nodes in one process, each with its
// own rpc server, connection pool, raft service and log manager, holding the
// replicas of many groups. Checks that groups elect, replicate and commit through
// it, that one tick's messages of every group to a peer leave as one frame, and
// that a dead peer costs bounded frames.
#include "cluster/partition.h"
#include "cluster/raft_service.h"
#include "record/batch.h"
#include "rpc/server.h"
#include "runtime/io_worker.h"
#include "storage/tests/run_coroutine.h"
#include "storage/tests/temp_dir.h"

#include <functional>
#include <map>

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::cluster;
using chronik::storage::testing::run;
using chronik::storage::testing::temp_dir;
using namespace std::chrono_literals;

namespace {

constexpr int groups = 24;

bytes make_batch(int n) {
    std::vector<record::record_input> recs;
    for (int i = 0; i < n; ++i) {
        record::record_input r;
        r.value = bytes(16, uint8_t(i));
        r.timestamp = 1000 + i;
        recs.push_back(std::move(r));
    }
    return record::build_batch(recs, {}).value();
}

model::uuid topic_id() {
    model::uuid u;
    u.bytes.fill(9);
    return u;
}

struct node {
    std::unique_ptr<runtime::io_worker> io;
    std::unique_ptr<storage::log_manager> logs;
    std::unique_ptr<rpc::server> srv;
    std::unique_ptr<rpc::connection_pool> pool;
    std::unique_ptr<raft_service> raft;
    std::unique_ptr<partition_manager> parts;
    std::vector<std::shared_ptr<partition>> ps;
    asio::ip::tcp::endpoint at;
};

class cluster3 {
public:
    explicit cluster3(const std::string& dir) : _dir(dir) {
        raft_timing t;
        t.tick = 10ms;
        t.election_ticks = 15;
        t.heartbeat_ticks = 3;
        for (int n = 1; n <= 3; ++n) {
            auto& x = _nodes[n];
            x.io = std::make_unique<runtime::io_worker>();
            x.logs = std::make_unique<storage::log_manager>(dir + "/node-" + std::to_string(n), *x.io,
                                                            storage::file_ops::real(), ctx.get_executor(),
                                                            [](std::vector<storage::watcher>) {});
            x.srv = std::make_unique<rpc::server>(ctx.get_executor(), rpc::server_limits{});
            x.pool = std::make_unique<rpc::connection_pool>(ctx.get_executor(), rpc::client_limits{});
            x.raft = std::make_unique<raft_service>(ctx.get_executor(), model::node_id{ n }, x.pool.get(), t);
            x.srv->register_method(raft_service::method_for(model::shard_id{ 0 }),
                                   [r = x.raft.get()](byte_slice p) -> awaitable<result<iobuf>> {
                                       auto ok = r->deliver(std::move(p));
                                       if (!ok) {
                                           co_return ok.error();
                                       }
                                       co_return iobuf{};
                                   });
            x.at = x.srv->listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).value();
            x.parts = std::make_unique<partition_manager>(*x.logs, model::node_id{ n }, x.raft.get());
        }
        for (int n = 1; n <= 3; ++n) {
            for (int o = 1; o <= 3; ++o) {
                if (o != n) {
                    _nodes[n].pool->set_peer(model::node_id{ o }, _nodes[o].at);
                }
            }
        }
        // Group g prefers node (g % 3) + 1.
        for (int n = 3; n >= 1; --n) {
            for (int g = 0; g < groups; ++g) {
                group_spec spec;
                spec.group = 1000 + g;
                spec.election_ticks = t.election_ticks;
                spec.heartbeat_ticks = t.heartbeat_ticks;
                for (int k = 0; k < 3; ++k) {
                    spec.replicas.push_back({ model::node_id{ (g + k) % 3 + 1 }, model::shard_id{ 0 } });
                }
                auto p = run(ctx, _nodes[n].parts->get("t", topic_id(), g, {}, spec));
                EXPECT_TRUE(p);
                _nodes[n].ps.push_back(p);
            }
        }
    }
    ~cluster3() {
        for (int n = 1; n <= 3; ++n) {
            stop(n);
        }
    }
    void stop(int n) {
        auto& x = _nodes[n];
        if (!x.raft) {
            return;
        }
        x.ps.clear();
        x.parts.reset();
        run(ctx, [](node& x) -> awaitable<int> {
            co_await x.pool->stop(); // calls in flight end now, not at their deadline
            co_await x.raft->stop();
            co_await x.srv->stop();
            co_await x.logs->close();
            co_return 0;
        }(x));
        ctx.restart();
        ctx.poll();
        x.raft.reset();
        x.pool.reset();
        x.srv.reset();
        x.logs.reset();
        x.io.reset();
    }

    partition& at(int n, int g) { return *_nodes[n].ps[size_t(g)]; }
    raft_service& raft(int n) { return *_nodes[n].raft; }

    bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 20s) {
        auto guard = asio::make_work_guard(ctx);
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (done()) {
                return true;
            }
            ctx.restart();
            ctx.run_for(5ms);
        }
        return done();
    }
    void run_for(std::chrono::milliseconds d) {
        auto guard = asio::make_work_guard(ctx);
        ctx.restart();
        ctx.run_for(d);
    }
    // Every group has a leader that both live others follow.
    bool all_led(int down = 0) {
        for (int g = 0; g < groups; ++g) {
            int l = 0;
            for (int n = 1; n <= 3; ++n) {
                if (n == down) {
                    continue;
                }
                int seen = int(at(n, g).leader()());
                if (seen <= 0 || seen == down || (l != 0 && seen != l)) {
                    return false;
                }
                l = seen;
            }
            if (!at(l, g).is_leader()) {
                return false;
            }
        }
        return true;
    }

    asio::io_context ctx;

private:
    std::string _dir;
    std::map<int, node> _nodes;
};

} // namespace

TEST(raft_service, groups_elect_replicate_and_commit_over_rpc) {
    temp_dir d;
    cluster3 c(d.str());
    ASSERT_TRUE(c.run_until([&] { return c.all_led(); }));
    std::vector<int64_t> last(groups);
    for (int g = 0; g < groups; ++g) {
        int l = int(c.at(1, g).leader()());
        bytes b = make_batch(4);
        auto a = c.at(l, g).replicate(std::span<uint8_t>(b), 5000);
        ASSERT_TRUE(a);
        last[size_t(g)] = a.value().last_offset;
    }
    ASSERT_TRUE(c.run_until([&] {
        for (int g = 0; g < groups; ++g) {
            for (int n = 1; n <= 3; ++n) {
                if (c.at(n, g).high_watermark() != last[size_t(g)] + 1) {
                    return false;
                }
            }
        }
        return true;
    }));
}

TEST(raft_service, one_frame_per_peer_carries_every_groups_heartbeats) {
    temp_dir d;
    cluster3 c(d.str());
    ASSERT_TRUE(c.run_until([&] { return c.all_led(); }));
    c.run_for(300ms); // settle
    uint64_t before = c.raft(1).frames_sent();
    c.run_for(600ms); // 60 ticks: 20 heartbeat rounds from each node's leaders
    uint64_t sent = c.raft(1).frames_sent() - before;
    // Node 1 leads a third of the groups and follows the rest. Each tick it sends
    // each peer at most one frame of whatever its groups have to say, and one frame
    // of answers per frame it receives: about 60 * 2 * 2 = 240 at most, however
    // many groups there are. One frame per group message would be about
    // 24 groups * 20 heartbeat rounds * 2 (heartbeat and answer) = 960.
    EXPECT_GT(sent, 20u);
    EXPECT_LE(sent, 60u * 2 * 2 + 24);
}

TEST(raft_service, groups_fail_over_when_a_node_stops) {
    temp_dir d;
    cluster3 c(d.str());
    ASSERT_TRUE(c.run_until([&] { return c.all_led(); }));
    c.stop(1);
    ASSERT_TRUE(c.run_until([&] { return c.all_led(1); }));
    for (int g = 0; g < groups; ++g) {
        int l = int(c.at(2, g).leader()());
        bytes b = make_batch(2);
        auto a = c.at(l, g).replicate(std::span<uint8_t>(b), 5000);
        ASSERT_TRUE(a);
        const int64_t want = a.value().last_offset + 1;
        ASSERT_TRUE(c.run_until(
          [&] { return c.at(2, g).high_watermark() == want && c.at(3, g).high_watermark() == want; }));
    }
}
