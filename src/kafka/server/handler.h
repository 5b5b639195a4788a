#pragma once
// A handler serves one Kafka API:
//
//   struct produce_handler {
//       using api = protocol::produce_api;
//       static constexpr int16_t min_version = 0, max_version = 11;   // what we serve
//       static awaitable<api::response> handle(request_context&, api::request);
//   };
//
// and is registered once, in handlers/registry.h. ApiVersions is answered from that
// list, so what the broker advertises is exactly what it serves. A handler that
// must not answer (Produce with acks=0) returns its response through
// handle_result with `respond = false`.
#include "kafka/protocol/error_code.h"
#include "kafka/server/request_context.h"

#include <concepts>
#include <cstdint>

namespace chronik::kafka {

template<class R>
struct handle_result {
    R response;
    bool respond = true;
};

template<class H>
concept kafka_handler = requires {
    typename H::api;
    { H::min_version } -> std::convertible_to<int16_t>;
    { H::max_version } -> std::convertible_to<int16_t>;
}
&&(H::min_version >= H::api::min_version) && (H::max_version <= H::api::max_version);

} // namespace chronik::kafka
