#pragma once
// The classic group membership protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), run on the group's coordinator shard.
//
// A rebalance: the first join (or a change) moves the group to PreparingRebalance;
// every known member must rejoin within the rebalance timeout (members that do not
// are dropped); then the generation advances, a protocol every member supports is
// chosen, the first member (or the previous leader) leads, and each JoinGroup is
// answered (the leader with every member's metadata). The leader's SyncGroup
// brings the assignments and makes the group Stable; the other members' SyncGroups
// wait for it. Sessions expire on a timer that exists only while the group has
// members and wakes only at the earliest deadline. A static member (KIP-345) that
// restarts within its session (joins with its instance id and no member id) takes
// its old place under a new id, fencing the old one: in a Stable group, unless the
// protocol the group would choose changes, without a rebalance, leader or not.
#include "kafka/server/broker.h"
#include "kafka/server/groups/coordinator.h"

#include <optional>
#include <string>
#include <vector>

namespace chronik::kafka::groups {

struct join_args {
    std::string group;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::string protocol_type;
    std::vector<std::pair<std::string, bytes>> protocols;
    bool require_member_id = false;        // v4+: KIP-394
    bool supports_skip_assignment = false; // v9+
};
awaitable<join_result> join_group(broker& b, placement where, join_args a);

struct sync_args {
    std::string group;
    int32_t generation = -1;
    std::string member_id;
    std::optional<std::string> instance_id;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::vector<std::pair<std::string, bytes>> assignments;
};
struct sync_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    bytes assignment;
};
awaitable<sync_result> sync_group(broker& b, placement where, sync_args a);

awaitable<protocol::error_code> heartbeat(broker& b, placement where, std::string group, int32_t generation,
                                          std::string member_id, std::optional<std::string> instance_id);

struct leaving {
    std::string member_id;
    std::optional<std::string> instance_id;
};
awaitable<std::vector<protocol::error_code>> leave_group(broker& b, placement where, std::string group,
                                                         std::vector<leaving> members);

// A group restored from __consumer_offsets with members: their sessions run from
// now, so members that do not come back are expired and the group rebalances.
void resume_restored(broker& b, group& g);

// OffsetCommit's membership check (after the group's partition is loaded).
protocol::error_code check_commit(broker& b, std::string_view group, int32_t generation,
                                  std::string_view member_id, const std::optional<std::string>& instance_id);

} // namespace chronik::kafka::groups
