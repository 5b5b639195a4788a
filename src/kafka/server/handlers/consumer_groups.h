#pragma once
// The consumer group protocol (KIP-848): ConsumerGroupHeartbeat and
// ConsumerGroupDescribe, with assignment on the broker (groups/consumer_protocol.h).
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct consumer_group_heartbeat_handler {
    using api = protocol::consumer_group_heartbeat_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 0;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct consumer_group_describe_handler {
    using api = protocol::consumer_group_describe_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 0;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
