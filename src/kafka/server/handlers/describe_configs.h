#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// DescribeConfigs for topics (overrides, broker settings and defaults, with their
// sources and synonyms) and for this broker.
struct describe_configs_handler {
    using api = protocol::describe_configs_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 4;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
