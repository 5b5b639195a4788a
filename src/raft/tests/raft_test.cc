// Unit tests of the Raft core's pieces. The protocol as a whole is proven by the
// simulator (tests/sim); these pin down the parts it relies on.
#include "raft/node.h"
#include "raft/raft_log.h"

#include <set>

#include <gtest/gtest.h>

using namespace chronik;
using namespace chronik::raft;

namespace {
entry e(int64_t index, int64_t term) {
    return entry{ term_id{ term }, log_index{ index }, entry_type::normal, nullptr };
}

// An entry covering [base, last], as a batch covers its offsets.
entry wide(int64_t base, int64_t last, int64_t term) {
    return entry{ term_id{ term }, log_index{ last }, entry_type::normal, make_payload(bytes(8, 1)),
                  last - base + 1 };
}

// A stored log the core reads back entries from, counting the reads.
struct vector_reader final : entry_reader {
    std::vector<entry> stored;
    int reads = 0;
    std::vector<entry> read(log_index from, size_t, size_t max_count) override {
        ++reads;
        std::vector<entry> out;
        for (const auto& x : stored) {
            if (x.index >= from && out.size() < max_count) {
                out.push_back(x);
            }
        }
        return out;
    }
};

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
    std::set<int> isolated; // their messages, both ways, are dropped
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
                if (!isolated.contains(m.from()) && !isolated.contains(m.to())) {
                    nodes[m.to()]->step(m);
                }
            }
        }
    }
    void ticks(int n) {
        for (int t = 0; t < n; ++t) {
            for (auto& [id, node] : nodes) {
                node->tick();
            }
            settle();
        }
    }
    void elect() {
        for (int t = 0; t < 40 && leader() == 0; ++t) {
            ticks(1);
        }
        ASSERT_NE(leader(), 0);
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

TEST(raft_log, entries_cover_ranges_of_indexes) {
    // Batches at offsets [1,3] [4,4] in term 1 and [5,9] in term 2.
    raft_log l({}, { wide(1, 3, 1), wide(4, 4, 1), wide(5, 9, 2) });
    EXPECT_EQ(l.last_index(), log_index{ 9 });
    EXPECT_EQ(l.term_at(log_index{ 2 }), term_id{ 1 }); // inside an entry: the entry's term
    EXPECT_EQ(l.term_at(log_index{ 7 }), term_id{ 2 });
    EXPECT_EQ(l.terms(), (std::vector<term_start>{ { term_id{ 1 }, log_index{ 1 } },
                                                   { term_id{ 2 }, log_index{ 5 } } }));
    EXPECT_EQ(l.first_index_of_term(log_index{ 8 }), log_index{ 5 });
    EXPECT_EQ(l.last_index_of_term_at_most(term_id{ 1 }), log_index{ 4 });
    // A slice from inside an entry starts with that whole entry.
    auto s = l.slice(log_index{ 6 }, 1 << 20, 10);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].base(), log_index{ 5 });
    // A conflicting entry from a new leader replaces the suffix from its base.
    auto changed = l.merge({ wide(5, 6, 3) });
    ASSERT_TRUE(changed);
    EXPECT_EQ(*changed, log_index{ 5 });
    EXPECT_EQ(l.last_index(), log_index{ 6 });
    EXPECT_EQ(l.stable(), log_index{ 4 });
    EXPECT_EQ(l.terms().back(), (term_start{ term_id{ 3 }, log_index{ 5 } }));
    EXPECT_FALSE(l.merge({ wide(5, 6, 3) })); // held already
}

TEST(raft_log, durable_applied_entries_leave_memory_and_are_read_back) {
    vector_reader disk;
    raft_log l({}, {}, log_index{ 0 }, {}, &disk, 0);
    std::vector<entry> es = { wide(1, 2, 1), wide(3, 5, 1), wide(6, 6, 2) };
    disk.stored = es;
    l.append(es);
    (void)l.take_unstable();
    EXPECT_EQ(l.tail_entries(), 3u);
    l.persisted(log_index{ 6 }, term_id{ 2 });
    EXPECT_EQ(l.tail_entries(), 3u); // durable, but not applied yet
    l.applied(log_index{ 5 });
    EXPECT_EQ(l.tail_entries(), 1u); // the cache is 0 bytes: what is durable and applied goes
    auto s = l.slice(log_index{ 4 }, 1 << 20, 10);
    ASSERT_EQ(s.size(), 1u); // read back up to the tail, which stays authoritative
    EXPECT_EQ(s[0].base(), log_index{ 3 });
    EXPECT_EQ(disk.reads, 1);
    EXPECT_EQ(l.between(log_index{ 0 }, log_index{ 6 }).size(), 3u);
    // A restart holds no entries: term starts and the last index describe the log.
    raft_log r({}, { { term_id{ 1 }, log_index{ 1 } }, { term_id{ 2 }, log_index{ 6 } } }, log_index{ 6 }, {},
               &disk, 0);
    EXPECT_EQ(r.term_at(log_index{ 4 }), term_id{ 1 });
    EXPECT_TRUE(r.matches(log_index{ 6 }, term_id{ 2 }));
    // A conflict below anything held in memory still cuts there.
    ASSERT_TRUE(r.merge({ wide(3, 4, 3) }));
    EXPECT_EQ(r.last_index(), log_index{ 4 });
    EXPECT_EQ(r.term_at(log_index{ 2 }), term_id{ 1 });
    EXPECT_EQ(r.take_unstable().size(), 1u);
}

TEST(raft_node, a_one_voter_group_commits_entries_of_many_indexes) {
    options o;
    o.id = node_id{ 1 };
    o.apply_entries = false;
    restored_state st;
    st.snapshot.meta.config.voters = { node_id{ 1 } };
    node n(o, st);
    ASSERT_TRUE(n.campaign()); // a sole voter leads at once, no timeout
    ASSERT_EQ(n.role(), role::leader);
    EXPECT_EQ(n.term(), term_id{ 1 });
    auto r = n.take_ready();
    EXPECT_TRUE(r.entries.empty());                       // no no-op: nothing of an earlier term to commit
    auto last = n.propose(make_payload(bytes(10, 0)), 5); // a batch of five records
    ASSERT_TRUE(last);
    EXPECT_EQ(last.value(), log_index{ 5 });
    r = n.take_ready();
    ASSERT_EQ(r.entries.size(), 1u);
    EXPECT_EQ(r.entries[0].base(), log_index{ 1 });
    n.persisted(r.entries.back().index, r.entries.back().term);
    r = n.take_ready();
    EXPECT_EQ(n.commit(), log_index{ 5 });
    EXPECT_EQ(r.applied, log_index{ 5 });
    EXPECT_TRUE(r.committed.empty()); // apply_entries off: the log is the state
    EXPECT_EQ(n.propose(nullptr, 0).error(), make_error_code(errc::proposal_dropped));
}

TEST(raft_node, a_restarted_sole_voter_leads_a_new_term_with_its_log_committed) {
    vector_reader disk;
    disk.stored = { wide(1, 3, 1), wide(4, 9, 2) };
    options o;
    o.id = node_id{ 7 };
    o.apply_entries = false;
    restored_state st;
    st.hard_state.term = term_id{ 2 };
    st.snapshot.meta.config.voters = { node_id{ 7 } };
    st.reader = &disk;
    st.terms = { { term_id{ 1 }, log_index{ 1 } }, { term_id{ 2 }, log_index{ 4 } } };
    st.last_index = log_index{ 9 };
    node n(o, st);
    ASSERT_TRUE(n.campaign());
    EXPECT_EQ(n.role(), role::leader);
    EXPECT_EQ(n.term(), term_id{ 3 }); // a restart is a new term
    EXPECT_EQ(n.commit(), log_index{ 9 });
    auto r = n.take_ready();
    EXPECT_TRUE(r.entries.empty()); // the log end stays where it was
    EXPECT_EQ(r.applied, log_index{ 9 });
    ASSERT_TRUE(r.hard_state);
    EXPECT_EQ(r.hard_state->term, term_id{ 3 });
    EXPECT_EQ(disk.reads, 0); // nothing was read back to get there
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

TEST(raft_node, leadership_transfer_hands_over_to_the_target) {
    cluster c(3);
    c.elect();
    int from = c.leader();
    int to = from == 3 ? 1 : 3;
    ASSERT_TRUE(c.nodes[from]->propose(make_payload({ 7 })));
    c.settle();
    ASSERT_TRUE(c.nodes[from]->transfer_leadership(node_id{ to }));
    EXPECT_EQ(c.nodes[from]->propose(make_payload({})).error(), make_error_code(errc::transfer_in_progress));
    c.settle();
    EXPECT_EQ(c.leader(), to);
    EXPECT_EQ(c.nodes[from]->role(), role::follower);
}

TEST(raft_node, pre_vote_keeps_an_isolated_node_from_raising_terms) {
    cluster c(3);
    c.elect();
    int l = c.leader();
    int lonely = l == 3 ? 1 : 3;
    term_id before = c.nodes[l]->term();
    c.isolated.insert(lonely);
    c.ticks(200); // many election timeouts: without pre-vote its term would climb
    EXPECT_EQ(c.nodes[lonely]->term(), before);
    c.isolated.clear();
    c.ticks(5);
    EXPECT_EQ(c.leader(), l); // rejoining did not depose the leader
    EXPECT_EQ(c.nodes[l]->term(), before);
}

TEST(raft_node, check_quorum_makes_an_isolated_leader_step_down) {
    cluster c(3);
    c.elect();
    int l = c.leader();
    c.isolated.insert(l);
    c.ticks(25); // more than one election timeout (10 ticks) of silence
    EXPECT_NE(c.nodes[l]->role(), role::leader);
}

TEST(raft_node, read_index_confirms_leadership_before_answering) {
    cluster c(3);
    c.elect();
    int l = c.leader();
    auto idx = c.nodes[l]->propose(make_payload({ 1 }));
    ASSERT_TRUE(idx);
    c.settle();
    int f = l == 1 ? 2 : 1;
    ASSERT_TRUE(c.nodes[f]->read_index(42)); // forwarded to the leader
    std::vector<read_state> got;
    for (bool busy = true; busy;) {
        busy = false;
        std::vector<message> out;
        for (auto& [id, n] : c.nodes) {
            while (n->has_ready()) {
                busy = true;
                auto r = n->take_ready();
                if (!r.entries.empty()) {
                    n->persisted(r.entries.back().index, r.entries.back().term);
                }
                out.insert(out.end(), r.messages.begin(), r.messages.end());
                out.insert(out.end(), r.messages_after_persist.begin(), r.messages_after_persist.end());
                if (id == f) {
                    got.insert(got.end(), r.reads.begin(), r.reads.end());
                }
            }
        }
        for (auto& m : out) {
            c.nodes[m.to()]->step(m);
        }
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].ok);
    EXPECT_EQ(got[0].context, 42u);
    EXPECT_GE(got[0].index, idx.value());
}
