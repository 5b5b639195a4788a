#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// CreateTopics: each topic validated and created on its own, with Kafka's error
// codes; validate_only checks without creating.
struct create_topics_handler {
    using api = protocol::create_topics_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 7;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
