#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// InitProducerId for idempotent producers: a fresh producer id (durably allocated
// on shard 0) with epoch 0, or, when a producer re-initialises its own id (KIP-360,
// v3+), the same id with the next epoch. Transactional ids are not served yet.
struct init_producer_id_handler {
    using api = protocol::init_producer_id_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 5;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
