#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// DescribeTopicPartitions (KIP-966): the topics asked for (all when none are
// named), by name, with every partition's leader, epoch, replicas and ISR as
// Metadata gives them, paged: at most response_partition_limit partitions
// (capped by max.request.partition.size.limit), starting at the cursor, with a
// next cursor where the page ended. Eligible leader replicas are empty: a Raft
// group elects only replicas holding the committed log, all of its ISR.
struct describe_topic_partitions_handler {
    using api = protocol::describe_topic_partitions_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 0;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
