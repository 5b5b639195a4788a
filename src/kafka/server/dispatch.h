#pragma once
// Turns one decoded request header plus body into the bytes of its response frame
// (size prefix, response header, body), using the compile-time handler list.
#include "base/iobuf.h"
#include "kafka/protocol/reader.h"
#include "kafka/server/request_context.h"
#include "runtime/asio.h"

#include <optional>

namespace chronik::kafka {

enum class dispatch_status {
    respond,     // `frame` holds the response
    no_response, // e.g. Produce with acks=0
    close,       // the request was malformed or unknown: close the connection
};

struct dispatch_outcome {
    dispatch_status status;
    iobuf frame;
};

awaitable<dispatch_outcome> dispatch(request_context& ctx, protocol::reader& body);

// The APIs this broker serves with their version ranges, as advertised by ApiVersions.
struct served_api {
    int16_t key;
    int16_t min_version;
    int16_t max_version;
};
std::span<const served_api> served_apis();

} // namespace chronik::kafka
