#pragma once
// What a handler knows about the request it serves.
#include "kafka/server/request_order.h"
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
    broker* owner;                  // the shard-local broker services; never null in the server
    std::string client_host = {};   // "/<address>", as Kafka shows members' hosts
    request_order* order = nullptr; // the connection's; null outside a connection
    uint64_t seq = 0;               // this request's place on its connection
    uint64_t waiter_key = 0;        // the connection's fetch-waiter key (broker::fetch_waiter); 0: none
    bool forwarded = false;         // another node forwarded it to the controller's leader (forward.h)

    // Lets the connection's next request take effect (request_order.h): call once
    // this request has changed all it will change and only waits remain.
    void end_ordered_phase() const {
        if (order != nullptr) {
            order->end(seq);
        }
    }
};

} // namespace chronik::kafka
