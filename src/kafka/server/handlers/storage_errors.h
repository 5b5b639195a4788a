#pragma once
// Storage, record and cluster errors as Kafka error codes.
#include "cluster/errc.h"
#include "kafka/protocol/error_code.h"
#include "record/errc.h"
#include "storage/errc.h"

#include <system_error>

namespace chronik::kafka {

inline protocol::error_code to_kafka_error(std::error_code ec) noexcept {
    using protocol::error_code;
    if (!ec) {
        return error_code::none;
    }
    if (ec.category() == storage::error_category()) {
        switch (storage::errc(ec.value())) {
            case storage::errc::offset_out_of_range:
                return error_code::offset_out_of_range;
            case storage::errc::out_of_order_sequence:
                return error_code::out_of_order_sequence_number;
            case storage::errc::producer_fenced:
                return error_code::invalid_producer_epoch;
            case storage::errc::busy:
                // Only a replica that is not (yet) the leader truncates its log.
                return error_code::not_leader_or_follower;
            case storage::errc::corrupt_log:
            case storage::errc::corrupt_checkpoint:
            case storage::errc::storage_error:
                return error_code::kafka_storage_error;
        }
    }
    if (ec.category() == cluster::error_category()) {
        switch (cluster::errc(ec.value())) {
            case cluster::errc::not_leader:
            case cluster::errc::shutting_down:
                return error_code::not_leader_or_follower;
            case cluster::errc::replication_backlog:
                return error_code::request_timed_out;
            case cluster::errc::not_enough_replicas:
                return error_code::not_enough_replicas;
            case cluster::errc::not_enough_replicas_after_append:
                return error_code::not_enough_replicas_after_append;
            case cluster::errc::not_controller:
                return error_code::not_controller;
            case cluster::errc::topic_exists:
                return error_code::topic_already_exists;
            case cluster::errc::unknown_topic:
                return error_code::unknown_topic_or_partition;
            case cluster::errc::invalid_partitions:
                return error_code::invalid_partitions;
            case cluster::errc::invalid_replication_factor:
                return error_code::invalid_replication_factor;
            case cluster::errc::invalid_replica_assignment:
                return error_code::invalid_replica_assignment;
            case cluster::errc::invalid_config:
                return error_code::invalid_config;
            case cluster::errc::invalid_request:
                return error_code::invalid_request;
            case cluster::errc::controller_unavailable:
                return error_code::kafka_storage_error;
        }
    }
    if (ec.category() == record::error_category()) {
        switch (record::errc(ec.value())) {
            case record::errc::corrupt_message:
                return error_code::corrupt_message;
            case record::errc::too_large:
                return error_code::message_too_large;
            default:
                return error_code::invalid_record;
        }
    }
    return error_code::kafka_storage_error;
}

} // namespace chronik::kafka
