#pragma once
// Topic creation shared by CreateTopics and Metadata's auto-creation.
#include "kafka/protocol/error_code.h"
#include "kafka/server/broker.h"

#include <map>
#include <optional>
#include <string>

namespace chronik::kafka {

struct create_topic_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
    int16_t replication_factor = 0; // the one used, once created
};

// Validates name, partition count and configs with Kafka's error codes, then has
// the topic store on shard 0 create it. partitions -1 means num.partitions and
// replication_factor -1 default.replication.factor; with `replicas` (one node list
// per partition) both come from the lists.
awaitable<create_topic_result> create_topic(broker& b, std::string name, int32_t partitions,
                                            int16_t replication_factor,
                                            std::map<std::string, std::string> configs, bool validate_only,
                                            cluster::topic_store::replica_nodes replicas = {});

} // namespace chronik::kafka
