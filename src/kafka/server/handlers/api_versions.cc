#include "kafka/server/handlers/api_versions.h"

#include "kafka/server/dispatch.h"

namespace chronik::kafka {

namespace {
protocol::api_versions_response_data with_served_apis() {
    protocol::api_versions_response_data r;
    for (const auto& a : served_apis()) {
        auto& k = r.api_keys.emplace_back();
        k.api_key = a.key;
        k.min_version = a.min_version;
        k.max_version = a.max_version;
    }
    return r;
}
} // namespace

awaitable<api_versions_handler::api::response> api_versions_handler::handle(request_context&, api::request) {
    auto r = with_served_apis();
    r.error_code = int16_t(protocol::error_code::none);
    co_return r;
}

api_versions_handler::api::response api_versions_handler::unsupported_version_response() {
    auto r = with_served_apis();
    r.error_code = int16_t(protocol::error_code::unsupported_version);
    return r;
}

} // namespace chronik::kafka
