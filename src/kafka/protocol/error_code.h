#pragma once
// Kafka's error codes, as they go on the wire (int16).
#include <cstdint>
#include <string_view>

namespace chronik::protocol {

#define CHRONIK_KAFKA_ERRORS(X)                                                                              \
    X(unknown_server_error, -1)                                                                              \
    X(none, 0)                                                                                               \
    X(offset_out_of_range, 1)                                                                                \
    X(corrupt_message, 2)                                                                                    \
    X(unknown_topic_or_partition, 3)                                                                         \
    X(invalid_fetch_size, 4)                                                                                 \
    X(leader_not_available, 5)                                                                               \
    X(not_leader_or_follower, 6)                                                                             \
    X(request_timed_out, 7)                                                                                  \
    X(broker_not_available, 8)                                                                               \
    X(replica_not_available, 9)                                                                              \
    X(message_too_large, 10)                                                                                 \
    X(stale_controller_epoch, 11)                                                                            \
    X(offset_metadata_too_large, 12)                                                                         \
    X(network_exception, 13)                                                                                 \
    X(coordinator_load_in_progress, 14)                                                                      \
    X(coordinator_not_available, 15)                                                                         \
    X(not_coordinator, 16)                                                                                   \
    X(invalid_topic_exception, 17)                                                                           \
    X(record_list_too_large, 18)                                                                             \
    X(not_enough_replicas, 19)                                                                               \
    X(not_enough_replicas_after_append, 20)                                                                  \
    X(invalid_required_acks, 21)                                                                             \
    X(illegal_generation, 22)                                                                                \
    X(inconsistent_group_protocol, 23)                                                                       \
    X(invalid_group_id, 24)                                                                                  \
    X(unknown_member_id, 25)                                                                                 \
    X(invalid_session_timeout, 26)                                                                           \
    X(rebalance_in_progress, 27)                                                                             \
    X(invalid_commit_offset_size, 28)                                                                        \
    X(topic_authorization_failed, 29)                                                                        \
    X(group_authorization_failed, 30)                                                                        \
    X(cluster_authorization_failed, 31)                                                                      \
    X(invalid_timestamp, 32)                                                                                 \
    X(unsupported_sasl_mechanism, 33)                                                                        \
    X(illegal_sasl_state, 34)                                                                                \
    X(unsupported_version, 35)                                                                               \
    X(topic_already_exists, 36)                                                                              \
    X(invalid_partitions, 37)                                                                                \
    X(invalid_replication_factor, 38)                                                                        \
    X(invalid_replica_assignment, 39)                                                                        \
    X(invalid_config, 40)                                                                                    \
    X(not_controller, 41)                                                                                    \
    X(invalid_request, 42)                                                                                   \
    X(unsupported_for_message_format, 43)                                                                    \
    X(policy_violation, 44)                                                                                  \
    X(out_of_order_sequence_number, 45)                                                                      \
    X(duplicate_sequence_number, 46)                                                                         \
    X(invalid_producer_epoch, 47)                                                                            \
    X(invalid_txn_state, 48)                                                                                 \
    X(invalid_producer_id_mapping, 49)                                                                       \
    X(invalid_transaction_timeout, 50)                                                                       \
    X(concurrent_transactions, 51)                                                                           \
    X(transaction_coordinator_fenced, 52)                                                                    \
    X(transactional_id_authorization_failed, 53)                                                             \
    X(security_disabled, 54)                                                                                 \
    X(operation_not_attempted, 55)                                                                           \
    X(kafka_storage_error, 56)                                                                               \
    X(log_dir_not_found, 57)                                                                                 \
    X(sasl_authentication_failed, 58)                                                                        \
    X(unknown_producer_id, 59)                                                                               \
    X(reassignment_in_progress, 60)                                                                          \
    X(delegation_token_auth_disabled, 61)                                                                    \
    X(delegation_token_not_found, 62)                                                                        \
    X(delegation_token_owner_mismatch, 63)                                                                   \
    X(delegation_token_request_not_allowed, 64)                                                              \
    X(delegation_token_authorization_failed, 65)                                                             \
    X(delegation_token_expired, 66)                                                                          \
    X(invalid_principal_type, 67)                                                                            \
    X(non_empty_group, 68)                                                                                   \
    X(group_id_not_found, 69)                                                                                \
    X(fetch_session_id_not_found, 70)                                                                        \
    X(invalid_fetch_session_epoch, 71)                                                                       \
    X(listener_not_found, 72)                                                                                \
    X(topic_deletion_disabled, 73)                                                                           \
    X(fenced_leader_epoch, 74)                                                                               \
    X(unknown_leader_epoch, 75)                                                                              \
    X(unsupported_compression_type, 76)                                                                      \
    X(stale_broker_epoch, 77)                                                                                \
    X(offset_not_available, 78)                                                                              \
    X(member_id_required, 79)                                                                                \
    X(preferred_leader_not_available, 80)                                                                    \
    X(group_max_size_reached, 81)                                                                            \
    X(fenced_instance_id, 82)                                                                                \
    X(eligible_leaders_not_available, 83)                                                                    \
    X(election_not_needed, 84)                                                                               \
    X(no_reassignment_in_progress, 85)                                                                       \
    X(group_subscribed_to_topic, 86)                                                                         \
    X(invalid_record, 87)                                                                                    \
    X(unstable_offset_commit, 88)                                                                            \
    X(throttling_quota_exceeded, 89)                                                                         \
    X(producer_fenced, 90)                                                                                   \
    X(resource_not_found, 91)                                                                                \
    X(duplicate_resource, 92)                                                                                \
    X(unacceptable_credential, 93)                                                                           \
    X(inconsistent_voter_set, 94)                                                                            \
    X(invalid_update_version, 95)                                                                            \
    X(feature_update_failed, 96)                                                                             \
    X(principal_deserialization_failure, 97)                                                                 \
    X(snapshot_not_found, 98)                                                                                \
    X(position_out_of_range, 99)                                                                             \
    X(unknown_topic_id, 100)                                                                                 \
    X(duplicate_broker_registration, 101)                                                                    \
    X(broker_id_not_registered, 102)                                                                         \
    X(inconsistent_topic_id, 103)                                                                            \
    X(inconsistent_cluster_id, 104)                                                                          \
    X(transactional_id_not_found, 105)                                                                       \
    X(fetch_session_topic_id_error, 106)                                                                     \
    X(ineligible_replica, 107)                                                                               \
    X(new_leader_elected, 108)                                                                               \
    X(offset_moved_to_tiered_storage, 109)                                                                   \
    X(fenced_member_epoch, 110)                                                                              \
    X(unreleased_instance_id, 111)                                                                           \
    X(unsupported_assignor, 112)                                                                             \
    X(stale_member_epoch, 113)                                                                               \
    X(mismatched_endpoint_type, 114)                                                                         \
    X(unsupported_endpoint_type, 115)                                                                        \
    X(unknown_controller_id, 116)                                                                            \
    X(unknown_subscription_id, 117)                                                                          \
    X(telemetry_too_large, 118)                                                                              \
    X(invalid_registration, 119)                                                                             \
    X(transaction_abortable, 120)                                                                            \
    X(invalid_record_state, 121)                                                                             \
    X(share_session_not_found, 122)                                                                          \
    X(invalid_share_session_epoch, 123)                                                                      \
    X(fenced_state_epoch, 124)                                                                               \
    X(invalid_voter_key, 125)                                                                                \
    X(duplicate_voter, 126)                                                                                  \
    X(voter_not_found, 127)

enum class [[nodiscard]] error_code : int16_t{
#define CHRONIK_X(name, code) name = code,
    CHRONIK_KAFKA_ERRORS(CHRONIK_X)
#undef CHRONIK_X
};

// Kafka's upper-case name ("UNKNOWN_TOPIC_OR_PARTITION"), or "UNKNOWN" for a code
// this table does not have.
std::string_view error_name(error_code e) noexcept;

constexpr int16_t operator+(error_code e) noexcept {
    return int16_t(e);
}

} // namespace chronik::protocol
