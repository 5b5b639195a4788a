#pragma once
// Cluster-layer errors as values; the Kafka layer maps them to protocol error codes.
#include <system_error>

namespace chronik::cluster {

enum class [[nodiscard]] errc{
    not_leader = 1,      // this replica does not lead the partition now: NOT_LEADER_OR_FOLLOWER
    shutting_down,       // the partition is closing
    replication_backlog, // the leader holds too much uncommitted data: REQUEST_TIMED_OUT (retriable)
    not_enough_replicas, // fewer in sync than min.insync.replicas: NOT_ENOUGH_REPLICAS (nothing appended)
    not_enough_replicas_after_append, // ... after the append: NOT_ENOUGH_REPLICAS_AFTER_APPEND
    // The controller's refusals (topic_store):
    topic_exists,               // TOPIC_ALREADY_EXISTS
    unknown_topic,              // UNKNOWN_TOPIC_OR_PARTITION
    invalid_partitions,         // INVALID_PARTITIONS
    invalid_replication_factor, // INVALID_REPLICATION_FACTOR: more replicas than brokers
    invalid_replica_assignment, // INVALID_REPLICA_ASSIGNMENT: explicit replicas that cannot be placed
    invalid_config,             // INVALID_CONFIG
    invalid_request,            // INVALID_REQUEST: a malformed change
    controller_unavailable,     // the command cannot be stored: KAFKA_STORAGE_ERROR
    not_controller,             // this node's controller replica does not lead: NOT_CONTROLLER
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
    return { int(e), error_category() };
}

} // namespace chronik::cluster

template<>
struct std::is_error_code_enum<chronik::cluster::errc> : std::true_type {};
