#pragma once
// The consumer group protocol of KIP-848, run on the group's coordinator shard: the
// broker assigns partitions (uniform or range) and each member converges on its
// target through heartbeats. A partition moves only once its previous owner has
// reported letting it go, so two members never own it at once; a member's epoch
// advances to the assignment epoch once it holds nothing it must give up.
//
// This state is in memory: after a broker restart, members are unknown and rejoin
// with epoch 0, which KIP-848 clients do on UNKNOWN_MEMBER_ID.
#include "kafka/server/broker.h"
#include "kafka/server/groups/coordinator.h"

#include <optional>
#include <string>
#include <vector>

namespace chronik::kafka::groups {

struct cg_heartbeat_args {
    std::string group;
    std::string member_id;
    int32_t member_epoch = 0;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    int32_t rebalance_timeout_ms = -1;
    std::optional<std::vector<std::string>> subscribed;
    std::optional<std::string> assignor;
    std::optional<assignment_map> owned;
    std::string client_id;
    std::string client_host;
};

struct cg_heartbeat_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
    std::string member_id;
    int32_t member_epoch = -1;
    int32_t heartbeat_interval_ms = 0;
    std::optional<assignment_map> assignment; // only when it changed
};

awaitable<cg_heartbeat_result> consumer_heartbeat(broker& b, placement where, cg_heartbeat_args a);

struct cg_member_view {
    std::string id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    int32_t epoch = 0;
    std::string client_id;
    std::string client_host;
    std::vector<std::string> subscribed;
    assignment_map assigned;
    assignment_map target;
};

struct cg_view {
    protocol::error_code error = protocol::error_code::none;
    std::string state = "Dead";
    int32_t group_epoch = 0;
    int32_t assignment_epoch = 0;
    std::string assignor;
    std::vector<cg_member_view> members;
};

awaitable<cg_view> describe_consumer_group(broker& b, placement where, std::string group);

// The assignors, pure: members' subscriptions and previous targets in, targets out.
struct assignor_member {
    std::string id;
    std::vector<std::string> subscribed;
    assignment_map previous;
};
std::map<std::string, assignment_map> assign_uniform(const std::vector<assignor_member>& members,
                                                     const std::map<std::string, int32_t>& partitions);
std::map<std::string, assignment_map> assign_range(const std::vector<assignor_member>& members,
                                                   const std::map<std::string, int32_t>& partitions);

// Expires consumer-protocol members whose session ended; true if any went.
bool expire_consumer_members(group& g, clock::time_point now);
// OffsetCommit's check for a consumer-protocol group (the epoch is the member's).
protocol::error_code check_consumer_commit(const group& g, int32_t epoch, std::string_view member_id);
// The group's state as ConsumerGroupDescribe and ListGroups name it.
std::string consumer_group_state(const group& g);

} // namespace chronik::kafka::groups
