#pragma once
// Read-only views of the broker for admin tools: DescribeCluster (the brokers and
// controller), DescribeLogDirs (where partitions live and their sizes), and
// DescribeProducers (idempotent producers known to each partition).
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

struct describe_cluster_handler {
    using api = protocol::describe_cluster_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 1;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct describe_log_dirs_handler {
    using api = protocol::describe_log_dirs_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 4;
    static awaitable<api::response> handle(request_context&, api::request);
};

struct describe_producers_handler {
    using api = protocol::describe_producers_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 0;
    static awaitable<api::response> handle(request_context&, api::request);
};

} // namespace chronik::kafka
