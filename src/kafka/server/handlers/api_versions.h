#pragma once
#include "kafka/protocol/messages.h"
#include "kafka/server/handler.h"

namespace chronik::kafka {

// ApiVersions (KIP-35, KIP-511): the APIs and version ranges this broker serves,
// taken from the handler registry.
struct api_versions_handler {
    using api = protocol::api_versions_api;
    static constexpr int16_t min_version = 0;
    static constexpr int16_t max_version = 4;
    static awaitable<api::response> handle(request_context&, api::request);

    // The answer to an ApiVersions request of a version we do not serve: a v0
    // response with UNSUPPORTED_VERSION and our ranges, so the client can retry.
    static api::response unsupported_version_response();
};

} // namespace chronik::kafka
