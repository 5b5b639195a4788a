#pragma once
// Consumer groups: finding the coordinator, membership, and committed offsets.
// The work runs on the shard that coordinates the group (groups/coordinator.h).
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// Groups are coordinated by this broker; transactional ids are not (no transaction
// coordinator yet: COORDINATOR_NOT_AVAILABLE, as for InitProducerId).
struct find_coordinator_handler {
    using api = protocol::find_coordinator_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 6;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct offset_commit_handler {
    using api = protocol::offset_commit_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 9;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct offset_fetch_handler {
    using api = protocol::offset_fetch_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 9;
    static awaitable<api::response> handle(request_context&, api::request);
};

// The classic membership protocol (groups/membership.h).
struct join_group_handler {
    using api = protocol::join_group_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 9;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct sync_group_handler {
    using api = protocol::sync_group_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 5;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct heartbeat_handler {
    using api = protocol::heartbeat_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 4;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct leave_group_handler {
    using api = protocol::leave_group_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 5;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
