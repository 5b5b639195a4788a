#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// Produce: every batch is validated (CRC, records, compression, size) on the
// connection's shard, legacy message sets are converted to v2 there, then each
// partition's batches are appended on its owner shard. acks=-1 is answered after
// the group commit has made the batch durable; acks=0 is not answered at all.
struct produce_handler {
    using api = protocol::produce_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 11;
    static awaitable<handle_result<api::response>> handle(request_context&, api::request);
};

} // namespace chronik::kafka
