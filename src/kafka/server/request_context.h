#pragma once
// What a handler knows about the request it serves.
#include "runtime/asio.h"

#include <cstdint>
#include <optional>
#include <string>

namespace chronik::kafka {

class broker;

struct request_context {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    std::optional<std::string> client_id;
    unsigned shard;
    broker* owner;                // the shard-local broker services; never null in the server
    std::string client_host = {}; // "/<address>", as Kafka shows members' hosts
};

} // namespace chronik::kafka
