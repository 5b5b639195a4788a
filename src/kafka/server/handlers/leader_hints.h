#pragma once
// KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH
// carries the leader this node knows of (Produce v10+, Fetch v12+), and the
// response that leader's address (node_endpoints), so the client goes there
// without first asking for Metadata. Nothing is added while no leader is known,
// or when it is this node (the client's view is stale in some other way).
#include "kafka/protocol/error_code.h"
#include "kafka/server/broker.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace chronik::kafka {

template<class Leader, class Endpoints>
void hint_leader(const broker& b, const cluster::topic_info& t, int32_t partition, int16_t error,
                 Leader& current_leader, Endpoints& endpoints) {
    using protocol::error_code;
    if (error != +error_code::not_leader_or_follower && error != +error_code::fenced_leader_epoch) {
        return;
    }
    const auto* l = b.leadership_of(t.id, partition);
    if (l == nullptr || l->leader < 0 || l->leader == b.node_id()) {
        return;
    }
    current_leader.leader_id = l->leader;
    current_leader.leader_epoch = l->epoch;
    if (std::any_of(endpoints.begin(), endpoints.end(),
                    [&](const auto& e) { return e.node_id == l->leader; })) {
        return;
    }
    for (const auto& r : b.known_brokers()) {
        if (r.node() == l->leader) {
            auto& e = endpoints.emplace_back();
            e.node_id = r.node();
            e.host = r.host;
            e.port = r.port;
            e.rack = r.rack;
            return;
        }
    }
}

} // namespace chronik::kafka
