// Unit tests of the Raft core's pieces. The protocol as a whole is proven by the
// simulator (tests/sim); these pin down the parts it relies on.
#include "raft/node.h"
#include "raft/raft_log.h"

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::raft;

namespace {
entry e(int64_t index, int64_t term) {
    return entry{ term_id{ term }, log_index{ index }, entry_type::normal, nullptr };
}

// A driver with instant, perfect disks and network: enough to see a group elect
// and commit.
struct cluster {
    std::map<int, std::unique_ptr<node>> nodes;
    std::map<int, std::vector<entry>> applied;
    explicit cluster(int n) {
        configuration c;
        for (int i = 1; i <= n; ++i) {
            c.voters.insert(node_id{ i });
        }
        for (int i = 1; i <= n; ++i) {
            options o;
            o.id = node_id{ i };
            o.seed = uint64_t(i);
            restored_state st;
            st.snapshot.meta.config = c;
            nodes[i] = std::make_unique<node>(o, st);
        }
    }
    void settle() {
        for (bool busy = true; busy;) {
            busy = false;
            std::vector<message> out;
            for (auto& [id, n] : nodes) {
                while (n->has_ready()) {
                    busy = true;
                    auto r = n->take_ready();
                    if (!r.entries.empty()) {
                        n->persisted(r.entries.back().index, r.entries.back().term);
                    }
                    for (auto& m : r.messages) {
                        out.push_back(m);
                    }
                    for (auto& m : r.messages_after_persist) {
                        out.push_back(m);
                    }
                    for (auto& c : r.committed) {
                        applied[id].push_back(c);
                    }
                }
            }
            for (auto& m : out) {
                nodes[m.to()]->step(m);
            }
        }
    }
    int leader() {
        for (auto& [id, n] : nodes) {
            if (n->role() == role::leader) {
                return id;
            }
        }
        return 0;
    }
};
} // namespace

TEST(raft_config, round_trips_and_rejects_malformed_bytes) {
    configuration c;
    c.voters = { node_id{ 1 }, node_id{ 2 }, node_id{ 3 } };
    c.learners = { node_id{ 9 } };
    auto b = encode_config(c);
    auto d = decode_config(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value(), c);
    for (size_t cut = 0; cut < b.size(); ++cut) {
        EXPECT_FALSE(decode_config(std::span<const uint8_t>(b.data(), cut))) << cut;
    }
    bytes huge = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1 }; // a count larger than the bytes
    EXPECT_FALSE(decode_config(huge));
}

TEST(raft_log, merge_drops_a_conflicting_suffix) {
    raft_log l({}, { e(1, 1), e(2, 1), e(3, 2), e(4, 2) });
    EXPECT_EQ(l.stable(), log_index{ 4 });
    auto changed = l.merge({ e(3, 3), e(4, 3), e(5, 3) });
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, log_index{ 3 });
    EXPECT_EQ(l.last_index(), log_index{ 5 });
    EXPECT_EQ(l.stable(), log_index{ 2 }); // the replaced entries are no longer durable
    EXPECT_EQ(l.take_unstable().size(), 3u);
    EXPECT_FALSE(l.merge({ e(4, 3) })); // already held: nothing changes
    EXPECT_EQ(l.first_index_of_term(log_index{ 5 }), log_index{ 3 });
}

TEST(raft_log, a_stale_persisted_report_is_ignored) {
    raft_log l;
    l.append({ e(1, 1), e(2, 1) });
    (void)l.take_unstable();
    l.merge({ e(2, 2) });
    l.persisted(log_index{ 2 }, term_id{ 1 }); // the write of the replaced entry
    EXPECT_EQ(l.stable(), log_index{ 0 });
    l.persisted(log_index{ 1 }, term_id{ 1 });
    EXPECT_EQ(l.stable(), log_index{ 1 });
}

TEST(raft_node, three_nodes_elect_one_leader_and_commit) {
    cluster c(3);
    for (int t = 0; t < 40 && c.leader() == 0; ++t) {
        for (auto& [id, n] : c.nodes) {
            n->tick();
        }
        c.settle();
    }
    int l = c.leader();
    ASSERT_NE(l, 0);
    auto idx = c.nodes[l]->propose(make_payload({ 1, 2, 3 }));
    ASSERT_TRUE(idx);
    c.settle();
    for (auto& [id, n] : c.nodes) {
        EXPECT_EQ(n->commit(), idx.value()) << id;
        ASSERT_FALSE(c.applied[id].empty());
        EXPECT_EQ(*c.applied[id].back().data, bytes({ 1, 2, 3 }));
    }
    int follower = l == 1 ? 2 : 1;
    EXPECT_EQ(c.nodes[follower]->propose(make_payload({})).error(), make_error_code(errc::not_leader));
}

TEST(raft_node, membership_changes_move_one_voter_at_a_time) {
    cluster c(3);
    for (int t = 0; t < 40 && c.leader() == 0; ++t) {
        for (auto& [id, n] : c.nodes) {
            n->tick();
        }
        c.settle();
    }
    auto& l = *c.nodes[c.leader()];
    configuration two_more = l.config();
    two_more.voters.insert(node_id{ 4 });
    two_more.voters.insert(node_id{ 5 });
    EXPECT_EQ(l.propose_config(two_more).error(), make_error_code(errc::invalid_config));
    configuration learner = l.config();
    learner.learners.insert(node_id{ 4 });
    ASSERT_TRUE(l.propose_config(learner));
    EXPECT_EQ(l.propose_config(learner).error(), make_error_code(errc::config_change_pending));
}
