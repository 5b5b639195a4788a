#pragma once
// The records of `__consumer_offsets`, in Kafka's own formats, so Kafka's tools can
// read the topic: an offset commit is key version 1 (group, topic, partition) with
// value version 3 (offset, leader epoch, metadata, commit timestamp); a null value
// deletes the commit. A group lives in partition abs(hashCode(group id)) % N, with
// Java's String.hashCode, as Kafka places it.
#include "base/bytes.h"
#include "base/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chronik::kafka::groups {

inline constexpr std::string_view offsets_topic = "__consumer_offsets";

// Java's String.hashCode over the UTF-16 code units of a UTF-8 string.
int32_t java_string_hash(std::string_view utf8) noexcept;
int32_t offsets_partition_for(std::string_view group, int32_t partitions) noexcept;

struct offset_key {
    std::string group;
    std::string topic;
    int32_t partition = 0;
};

struct offset_value {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp = -1;
};

// Group metadata: key version 2 (the group), value version 3 (protocol type,
// generation, protocol, leader, members with their subscription and assignment).
struct group_key {
    std::string group;
};

struct group_value {
    struct member {
        std::string id;
        std::optional<std::string> instance_id;
        std::string client_id;
        std::string client_host;
        int32_t rebalance_timeout_ms = 0;
        int32_t session_timeout_ms = 0;
        bytes subscription;
        bytes assignment;
    };
    std::string protocol_type;
    int32_t generation = 0;
    std::optional<std::string> protocol;
    std::optional<std::string> leader;
    int64_t state_timestamp = -1;
    std::vector<member> members;
};

// A key of a kind this code does not read.
struct other_key {
    int16_t version = -1;
};

bytes encode_group_key(const group_key& k);
bytes encode_group_value(const group_value& v);
result<group_value> decode_group_value(std::span<const uint8_t> in);

bytes encode_offset_key(const offset_key& k);
bytes encode_offset_value(const offset_value& v);
// Keys and values read back; anything malformed is an error (the record is skipped
// and counted, never trusted).
result<std::variant<offset_key, group_key, other_key>> decode_key(std::span<const uint8_t> in);
result<offset_value> decode_offset_value(std::span<const uint8_t> in);

} // namespace chronik::kafka::groups
