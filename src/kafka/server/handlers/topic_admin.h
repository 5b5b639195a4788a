#pragma once
// DeleteTopics and CreatePartitions: topic table changes made on shard 0.
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct delete_topics_handler {
    using api = protocol::delete_topics_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 6;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct create_partitions_handler {
    using api = protocol::create_partitions_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 3;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
