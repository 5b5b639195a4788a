#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// Metadata: this broker, the topics asked for (all when the list is null, or empty
// in v0), creating unknown ones when allowed (auto.create.topics.enable): a bounded
// number are queued for creation in the background, and the answer does not wait
// (beyond a brief moment) for them.
struct metadata_handler {
    using api = protocol::metadata_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 12;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
