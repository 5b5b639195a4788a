#pragma once
// Request header v0-v2 and response header v0-v1 (hand-written: their versions
// follow from the API and its version, not from a version field of their own).
#include "base/iobuf.h"
#include "base/result.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"

#include <cstdint>
#include <optional>
#include <string>

namespace chronik::protocol {

inline constexpr size_t default_max_frame_bytes = 100 * 1024 * 1024;

struct api_info {
    int16_t key;
    std::string_view name;
    int16_t min_version;
    int16_t max_version;
    int16_t flexible_min_version; // -1: never flexible
};

// The API with this key among those the protocol layer knows, or nullptr.
const api_info* find_api(int16_t key) noexcept;

// Request header v2 for flexible versions, v1 otherwise (v0 only for
// ControlledShutdown v0, which we do not serve).
int16_t request_header_version(int16_t api_key, int16_t api_version) noexcept;
// Response header v1 for flexible versions, v0 otherwise; ApiVersions always v0
// (KIP-511), so a client can read it before it knows which versions we speak.
int16_t response_header_version(int16_t api_key, int16_t api_version) noexcept;

struct request_header {
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    // False when the API key is unknown or the version outside what the schema
    // defines: the header was then read as v1, which every version shares up to
    // the client id, so the server can still answer with the correlation id.
    bool known = true;
};

result<request_header> decode_request_header(reader& r);
void encode_request_header(writer& w, const request_header& h);
void encode_response_header(writer& w, int32_t correlation_id, int16_t header_version);

} // namespace chronik::protocol
