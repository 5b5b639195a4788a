#pragma once
// A partition as Metadata and DescribeTopicPartitions describe it: its replicas,
// and its leader, epoch and ISR as this node knows them (from its own replica, or a
// leader's notice), without a network call.
#include "cluster/topic_table.h"
#include "kafka/protocol/error_code.h"
#include "kafka/server/broker.h"

#include <string_view>

namespace chronik::kafka {

// Kafka's internal topics (__consumer_offsets, __transaction_state, ...).
inline bool is_internal_topic(std::string_view name) {
    return name.starts_with("__");
}

// Fills leader_id, leader_epoch, replica_nodes, isr_nodes (and error_code when an
// election runs) of either response's partition.
template<class Partition>
void describe_partition(const broker& b, const cluster::topic_info& t, int32_t p, Partition& part) {
    if (!t.placement || size_t(p) >= t.placement->size() || (*t.placement)[size_t(p)].replicas.empty()) {
        // Not placed (a table from before placements): this node's own.
        part.leader_id = b.node_id();
        part.leader_epoch = b.leader_epoch_of(t.id, p);
        part.replica_nodes = { b.node_id() };
        part.isr_nodes = { b.node_id() };
        return;
    }
    for (const auto& r : (*t.placement)[size_t(p)].replicas) {
        part.replica_nodes.push_back(r.node());
    }
    const auto* l = b.leadership_of(t.id, p);
    if (part.replica_nodes.size() == 1 && part.replica_nodes.front() == b.node_id()) {
        // A sole voter here: it leads from the moment it opens.
        part.leader_id = b.node_id();
        part.leader_epoch = l != nullptr ? l->epoch : -1;
        part.isr_nodes = part.replica_nodes;
        return;
    }
    if (l == nullptr && !b.holds_replica(t, p)) {
        // No replica here to follow the group: its preferred leader, which leads
        // unless it is down (the client is then told, and asks again).
        part.leader_id = part.replica_nodes.front();
        part.leader_epoch = -1;
        part.isr_nodes = part.replica_nodes;
        return;
    }
    part.leader_epoch = l != nullptr ? l->epoch : -1;
    part.leader_id = l != nullptr ? l->leader : -1;
    if (part.leader_id < 0) {
        part.error_code = +protocol::error_code::leader_not_available; // an election runs
    }
    part.isr_nodes = l != nullptr && !l->isr.empty() ? l->isr : part.replica_nodes;
}

} // namespace chronik::kafka
