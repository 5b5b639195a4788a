// Raft messages between nodes: every field survives the wire, many groups share a
// frame, and what a correct peer never sends is refused, never an abort.
#include "cluster/errc.h"
#include "cluster/raft_wire.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace chronik::cluster {
namespace {

using raft::log_index;
using raft::node_id;
using raft::term_id;

raft::entry entry(int64_t term, int64_t last, int64_t count, std::string data, raft::entry_type t = {}) {
    return { term_id{ term }, log_index{ last }, t,
             data.empty() ? nullptr : raft::make_payload(bytes(data.begin(), data.end())), count };
}

raft::message msg(raft::msg_type t, int32_t from, int32_t to, int64_t term) {
    raft::message m;
    m.type = t;
    m.from = node_id{ from };
    m.to = node_id{ to };
    m.term = term_id{ term };
    return m;
}

std::string text(const raft::payload& p) {
    return p ? std::string(p->begin(), p->end()) : std::string("<null>");
}

void expect_same(const raft::message& a, const raft::message& b) {
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.from, b.from);
    EXPECT_EQ(a.to, b.to);
    EXPECT_EQ(a.term, b.term);
    EXPECT_EQ(a.index, b.index);
    EXPECT_EQ(a.log_term, b.log_term);
    ASSERT_EQ(a.entries.size(), b.entries.size());
    for (size_t i = 0; i < a.entries.size(); ++i) {
        EXPECT_EQ(a.entries[i].term, b.entries[i].term);
        EXPECT_EQ(a.entries[i].index, b.entries[i].index);
        EXPECT_EQ(a.entries[i].type, b.entries[i].type);
        EXPECT_EQ(a.entries[i].count, b.entries[i].count);
        EXPECT_EQ(text(a.entries[i].data), text(b.entries[i].data));
    }
    EXPECT_EQ(a.commit, b.commit);
    EXPECT_EQ(a.reject, b.reject);
    EXPECT_EQ(a.transfer, b.transfer);
    EXPECT_EQ(a.hint_index, b.hint_index);
    EXPECT_EQ(a.hint_term, b.hint_term);
    EXPECT_EQ(a.context, b.context);
    EXPECT_EQ(a.snap.index, b.snap.index);
    EXPECT_EQ(a.snap.term, b.snap.term);
    EXPECT_EQ(a.snap.config, b.snap.config);
    EXPECT_EQ(a.snap_offset, b.snap_offset);
    EXPECT_EQ(a.snap_size, b.snap_size);
    EXPECT_EQ(text(a.snap_chunk), text(b.snap_chunk));
    EXPECT_EQ(a.driver_data, b.driver_data);
}

std::vector<addressed_message> samples() {
    std::vector<addressed_message> out;
    auto append = msg(raft::msg_type::append, 1, 2, 7);
    append.index = log_index{ 99 };
    append.log_term = term_id{ 6 };
    append.entries = { entry(7, 100, 1, ""), entry(7, 110, 10, "batch of ten"),
                       entry(7, 111, 1, "cfg", raft::entry_type::config) };
    append.commit = log_index{ 95 };
    append.driver_data = 42;
    out.push_back({ 12345, append });
    auto rejected = msg(raft::msg_type::append_response, 2, 1, 7);
    rejected.reject = true;
    rejected.hint_index = log_index{ 40 };
    rejected.hint_term = term_id{ 3 };
    out.push_back({ 12345, rejected });
    auto vote = msg(raft::msg_type::vote, 3, 1, 8);
    vote.transfer = true;
    vote.index = log_index{ 111 };
    vote.log_term = term_id{ 7 };
    out.push_back({ 0, vote });
    auto hb = msg(raft::msg_type::heartbeat, 1, 2, 2);
    hb.context = ~uint64_t(0) - 5; // all 64 bits survive the signed field
    out.push_back({ 7, hb });
    auto snap = msg(raft::msg_type::snapshot, 1, 3, 9);
    snap.snap.index = log_index{ 500 };
    snap.snap.term = term_id{ 8 };
    snap.snap.config.voters = { node_id{ 1 }, node_id{ 2 }, node_id{ 3 } };
    snap.snap.config.learners = { node_id{ 4 } };
    snap.snap_offset = 1000;
    snap.snap_size = 2000;
    snap.snap_chunk = raft::make_payload(bytes(1000, 'z'));
    out.push_back({ 0, snap });
    return out;
}

TEST(raft_wire, every_field_of_many_groups_crosses_in_one_frame) {
    auto msgs = samples();
    auto frame = encode_raft_messages(msgs).linearize();
    auto back = decode_raft_messages(byte_slice::from(frame));
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back.value().size(), msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(back.value()[i].group, msgs[i].group);
        expect_same(back.value()[i].msg, msgs[i].msg);
    }
    EXPECT_TRUE(decode_raft_messages(byte_slice::from(encode_raft_messages({}).linearize())).value().empty());
}

TEST(raft_wire, every_truncation_and_trailing_garbage_is_refused) {
    auto frame = encode_raft_messages(samples()).linearize();
    for (size_t n = 0; n < frame.size(); ++n) {
        bytes cut(frame.begin(), frame.begin() + std::ptrdiff_t(n));
        EXPECT_FALSE(decode_raft_messages(byte_slice::from(cut))) << n;
    }
    frame.push_back(0);
    EXPECT_FALSE(decode_raft_messages(byte_slice::from(frame)));
}

TEST(raft_wire, messages_a_correct_peer_never_sends_are_refused) {
    const auto refused = [](auto mutate) {
        auto msgs = samples();
        mutate(msgs);
        auto r = decode_raft_messages(byte_slice::from(encode_raft_messages(msgs).linearize()));
        return !r && r.error() == make_error_code(errc::invalid_request);
    };
    EXPECT_FALSE(refused([](auto&) {}));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.type = raft::msg_type(99); }));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.term = term_id{ -1 }; }));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.driver_data = -1; }));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.entries[1].count = 0; }));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.entries[1].index = log_index{ 120 }; })); // a gap
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.index = log_index{ 98 }; })); // not after the prev entry
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.entries[2].type = raft::entry_type(5); }));
    EXPECT_TRUE(refused([](auto& m) { m[4].msg.snap_offset = 1500; })); // the chunk runs past the size
    // Extremes that would overflow index arithmetic (UBSan catches that in the
    // sanitizer run).
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.index = log_index{ INT64_MAX }; }));
    EXPECT_TRUE(refused([](auto& m) {
        m[0].msg.entries[0].index = log_index{ INT64_MIN + 1 };
        m[0].msg.entries[0].count = INT64_MAX;
    }));
    EXPECT_TRUE(refused([](auto& m) { m[0].msg.entries[2].count = INT64_MAX; }));
}

} // namespace
} // namespace chronik::cluster
