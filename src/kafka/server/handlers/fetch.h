#pragma once
// Fetch: the read side of the data plane.
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// Reads whole batches below the high watermark from each partition's owner shard;
// long-polls (no polling loop: owner shards wake this one when a watched
// partition's high watermark rises) until min_bytes or max_wait_ms; down-converts
// to magic 0/1 for v0-v3 consumers; keeps incremental fetch sessions (KIP-227,
// see fetch_sessions.h) for v7+ clients that ask for them.
struct fetch_handler {
    using api = protocol::fetch_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 17;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
