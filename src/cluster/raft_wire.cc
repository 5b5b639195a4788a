#include "cluster/raft_wire.h"

#include "cluster/errc.h"
#include "kafka/protocol/messages.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"

namespace chronik::cluster {

namespace {

using wire = protocol::raft_messages_data;
constexpr int16_t version = 0;

byte_slice slice_of(const raft::payload& p) {
    return byte_slice(p, std::span<const uint8_t>(p->data(), p->size()));
}

raft::payload payload_of(const std::optional<byte_slice>& s) {
    if (!s) {
        return nullptr;
    }
    return raft::make_payload(bytes(s->span().begin(), s->span().end()));
}

bool valid(const raft::message& m) {
    if (uint8_t(m.type) > uint8_t(raft::msg_type::read_index_response) || m.term < raft::term_id{ 0 } ||
        m.index < raft::log_index{ 0 } || m.log_term < raft::term_id{ 0 } ||
        m.commit < raft::log_index{ 0 } || m.driver_data < 0) {
        return false;
    }
    raft::log_index prev = m.index;
    for (const auto& e : m.entries) {
        // index >= 0 and count >= 1 keep base() - 1 from overflowing whatever the
        // peer sent (prev + 1 could: prev is the peer's m.index).
        if (e.count < 1 || e.index < raft::log_index{ 0 } || e.term < raft::term_id{ 0 } ||
            uint8_t(e.type) > uint8_t(raft::entry_type::config) || e.base() - 1 != prev) {
            return false;
        }
        prev = e.index;
    }
    return m.snap_offset <= m.snap_size &&
           (!m.snap_chunk || m.snap_offset + m.snap_chunk->size() <= m.snap_size);
}

} // namespace

iobuf encode_raft_messages(std::span<const addressed_message> msgs) {
    wire w;
    w.messages.reserve(msgs.size());
    for (const auto& a : msgs) {
        const raft::message& m = a.msg;
        auto& o = w.messages.emplace_back();
        o.group = a.group;
        o.type = int8_t(m.type);
        o.from = m.from.value();
        o.to = m.to.value();
        o.term = m.term.value();
        o.index = m.index.value();
        o.log_term = m.log_term.value();
        o.entries.reserve(m.entries.size());
        for (const auto& e : m.entries) {
            auto& oe = o.entries.emplace_back();
            oe.term = e.term.value();
            oe.index = e.index.value();
            oe.type = int8_t(e.type);
            oe.count = e.count;
            if (e.data) {
                oe.data = slice_of(e.data);
            }
        }
        o.commit = m.commit.value();
        o.reject = m.reject;
        o.transfer = m.transfer;
        o.hint_index = m.hint_index.value();
        o.hint_term = m.hint_term.value();
        o.context = int64_t(m.context);
        o.snap_index = m.snap.index.value();
        o.snap_term = m.snap.term.value();
        for (auto n : m.snap.config.voters) {
            o.snap_voters.push_back(n.value());
        }
        for (auto n : m.snap.config.learners) {
            o.snap_learners.push_back(n.value());
        }
        o.snap_offset = int64_t(m.snap_offset);
        o.snap_size = int64_t(m.snap_size);
        if (m.snap_chunk) {
            o.snap_chunk = slice_of(m.snap_chunk);
        }
        o.driver_data = m.driver_data;
    }
    iobuf out;
    protocol::writer wr(out);
    w.encode(wr, version);
    return out;
}

result<std::vector<addressed_message>> decode_raft_messages(byte_slice frame) {
    protocol::reader r(std::move(frame));
    wire w;
    if (!w.decode(r, version) || r.remaining() != 0) {
        return errc::invalid_request;
    }
    std::vector<addressed_message> out;
    out.reserve(w.messages.size());
    for (const auto& o : w.messages) {
        if (o.snap_offset < 0 || o.snap_size < 0) {
            return errc::invalid_request;
        }
        addressed_message a;
        a.group = o.group;
        raft::message& m = a.msg;
        m.type = raft::msg_type(uint8_t(o.type));
        m.from = raft::node_id{ o.from };
        m.to = raft::node_id{ o.to };
        m.term = raft::term_id{ o.term };
        m.index = raft::log_index{ o.index };
        m.log_term = raft::term_id{ o.log_term };
        m.entries.reserve(o.entries.size());
        for (const auto& oe : o.entries) {
            raft::entry e{ raft::term_id{ oe.term }, raft::log_index{ oe.index },
                           raft::entry_type(uint8_t(oe.type)), payload_of(oe.data), oe.count };
            m.entries.push_back(std::move(e));
        }
        m.commit = raft::log_index{ o.commit };
        m.reject = o.reject;
        m.transfer = o.transfer;
        m.hint_index = raft::log_index{ o.hint_index };
        m.hint_term = raft::term_id{ o.hint_term };
        m.context = uint64_t(o.context);
        m.snap.index = raft::log_index{ o.snap_index };
        m.snap.term = raft::term_id{ o.snap_term };
        for (auto n : o.snap_voters) {
            m.snap.config.voters.insert(raft::node_id{ n });
        }
        for (auto n : o.snap_learners) {
            m.snap.config.learners.insert(raft::node_id{ n });
        }
        m.snap_offset = uint64_t(o.snap_offset);
        m.snap_size = uint64_t(o.snap_size);
        m.snap_chunk = payload_of(o.snap_chunk);
        m.driver_data = o.driver_data;
        if (!valid(m)) {
            return errc::invalid_request;
        }
        out.push_back(std::move(a));
    }
    return out;
}

} // namespace chronik::cluster
