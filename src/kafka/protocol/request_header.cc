#include "kafka/protocol/request_header.h"

#include "kafka/protocol/messages.h"

#include <array>

namespace chronik::protocol {

namespace {

template<class... A>
constexpr auto build_api_table(type_list<A...>) {
    return std::array<api_info, sizeof...(A)>{ api_info{ A::key, A::name, A::min_version, A::max_version,
                                                         A::flexible_min_version }... };
}
constexpr auto api_table = build_api_table(all_apis{});

} // namespace

const api_info* find_api(int16_t key) noexcept {
    for (const auto& a : api_table) {
        if (a.key == key) {
            return &a;
        }
    }
    return nullptr;
}

int16_t request_header_version(int16_t api_key, int16_t api_version) noexcept {
    const api_info* a = find_api(api_key);
    return a != nullptr && a->flexible_min_version >= 0 && api_version >= a->flexible_min_version ? 2 : 1;
}

int16_t response_header_version(int16_t api_key, int16_t api_version) noexcept {
    if (api_key == api_versions_api::key) {
        return 0;
    }
    const api_info* a = find_api(api_key);
    return a != nullptr && a->flexible_min_version >= 0 && api_version >= a->flexible_min_version ? 1 : 0;
}

result<request_header> decode_request_header(reader& r) {
    request_header h;
    CHRONIK_TRY(h.api_key, r.i16());
    CHRONIK_TRY(h.api_version, r.i16());
    CHRONIK_TRY(h.correlation_id, r.i32());
    // The client id is a classic nullable string even in header v2.
    CHRONIK_TRY(h.client_id, r.nullable_string(false, true));
    const api_info* a = find_api(h.api_key);
    h.known = a != nullptr && h.api_version >= a->min_version && h.api_version <= a->max_version;
    if (h.known && request_header_version(h.api_key, h.api_version) >= 2) {
        // Header tagged fields: none are defined for requests; skip them.
        CHRONIK_TRY(auto count, r.uvarint());
        for (uint32_t i = 0; i < count; ++i) {
            CHRONIK_TRY(auto tag, r.uvarint());
            (void)tag;
            CHRONIK_TRY(auto size, r.uvarint());
            CHRONIK_TRY(r.skip(size));
        }
    }
    return h;
}

void encode_request_header(writer& w, const request_header& h) {
    w.i16(h.api_key);
    w.i16(h.api_version);
    w.i32(h.correlation_id);
    w.nullable_string(h.client_id, false);
    if (request_header_version(h.api_key, h.api_version) >= 2) {
        w.uvarint(0);
    }
}

void encode_response_header(writer& w, int32_t correlation_id, int16_t header_version) {
    w.i32(correlation_id);
    if (header_version >= 1) {
        w.uvarint(0);
    }
}

} // namespace chronik::protocol
