#pragma once
// Looking at and removing consumer groups: DescribeGroups, ListGroups,
// DeleteGroups and OffsetDelete.
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct describe_groups_handler {
    using api = protocol::describe_groups_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 5;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct list_groups_handler {
    using api = protocol::list_groups_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 5;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct delete_groups_handler {
    using api = protocol::delete_groups_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 2;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct offset_delete_handler {
    using api = protocol::offset_delete_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 0;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
