#pragma once
// AlterConfigs (replace a resource's overrides) and IncrementalAlterConfigs (set,
// delete, append, subtract) for topics and for this broker's dynamic settings. The
// change is applied on shard 0 and stored before it is acknowledged; open
// partitions take new storage settings as the new table reaches their shard.
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct alter_configs_handler {
    using api = protocol::alter_configs_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 2;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct incremental_alter_configs_handler {
    using api = protocol::incremental_alter_configs_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 1;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
