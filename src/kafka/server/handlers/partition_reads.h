#pragma once
// ListOffsets, OffsetForLeaderEpoch and DeleteRecords: offset lookups and moves.
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct list_offsets_handler {
    using api = protocol::list_offsets_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 10;
    static awaitable<api::response> handle(request_context&, api::request);
};

// One broker and one leader epoch (0) per partition until replication arrives.
struct offset_for_leader_epoch_handler {
    using api = protocol::offset_for_leader_epoch_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 4;
    static awaitable<api::response> handle(request_context&, api::request);
};

// DeleteRecords: raises each partition's log start offset (durably checkpointed)
// and drops the whole segments below it; -1 means the high watermark.
struct delete_records_handler {
    using api = protocol::delete_records_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 2;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
