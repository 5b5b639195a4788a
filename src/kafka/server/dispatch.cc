#include "kafka/server/dispatch.h"

#include "base/logger.h"
#include "kafka/protocol/messages.h"
#include "kafka/protocol/request_header.h"
#include "kafka/protocol/writer.h"
#include "kafka/server/forward.h"
#include "kafka/server/handlers/registry.h"

#include <algorithm>
#include <array>

namespace chronik::kafka {

namespace {

logger log{ "kafka" };

// Writes [size][response header][body] for `resp`.
template<class Response>
iobuf encode_frame(const request_context& ctx, const Response& resp, int16_t body_version) {
    iobuf out;
    auto size = out.reserve(4);
    protocol::writer w(out);
    protocol::encode_response_header(w, ctx.correlation_id,
                                     protocol::response_header_version(ctx.api_key, body_version));
    resp.encode(w, body_version);
    uint32_t n = uint32_t(out.size() - 4);
    uint8_t* p = out.at(size);
    p[0] = uint8_t(n >> 24);
    p[1] = uint8_t(n >> 16);
    p[2] = uint8_t(n >> 8);
    p[3] = uint8_t(n);
    return out;
}

template<class T>
struct is_handle_result : std::false_type {};
template<class R>
struct is_handle_result<handle_result<R>> : std::true_type {};

template<class H>
awaitable<dispatch_outcome> run_handler(request_context& ctx, protocol::reader& body) {
    typename H::api::request req;
    if (auto ok = req.decode(body, ctx.api_version); !ok) {
        log.debug("cannot decode {} v{}: {}", H::api::name, ctx.api_version, ok.error().message());
        co_return dispatch_outcome{ dispatch_status::close, {} };
    }
    auto res = co_await H::handle(ctx, std::move(req));
    if constexpr (is_handle_result<decltype(res)>::value) {
        if (!res.respond) {
            co_return dispatch_outcome{ dispatch_status::no_response, {} };
        }
        co_return dispatch_outcome{ dispatch_status::respond,
                                    encode_frame(ctx, res.response, ctx.api_version) };
    } else {
        co_return dispatch_outcome{ dispatch_status::respond, encode_frame(ctx, res, ctx.api_version) };
    }
}

using dispatch_fn = awaitable<dispatch_outcome> (*)(request_context&, protocol::reader&);

struct table_entry {
    dispatch_fn fn = nullptr;
    int16_t min_version = 0;
    int16_t max_version = -1;
};

constexpr int16_t max_api_key = 100;

template<class... H>
constexpr auto build_table(handler_list<H...>) {
    std::array<table_entry, max_api_key + 1> t{};
    ((t[H::api::key] = table_entry{ &run_handler<H>, H::min_version, H::max_version }), ...);
    return t;
}

template<class... H>
constexpr auto build_served(handler_list<H...>) {
    std::array<served_api, sizeof...(H)> s{ served_api{ H::api::key, H::min_version, H::max_version }... };
    std::sort(s.begin(), s.end(), [](const served_api& a, const served_api& b) { return a.key < b.key; });
    return s;
}

// An API the protocol layer knows but no handler serves yet: if its response has a
// top-level error code, the client gets UNSUPPORTED_VERSION in a response of the
// version it asked for and the connection stays open; otherwise (no field to carry
// the error) the connection is closed, as Kafka does for requests it cannot parse.
template<class Api>
awaitable<dispatch_outcome> answer_unserved(request_context& ctx, protocol::reader& body) {
    typename Api::request req;
    if (!Api::response::has_error_code(ctx.api_version) || !req.decode(body, ctx.api_version)) {
        co_return dispatch_outcome{ dispatch_status::close, {} };
    }
    typename Api::response resp;
    resp.error_code = +protocol::error_code::unsupported_version;
    co_return dispatch_outcome{ dispatch_status::respond, encode_frame(ctx, resp, ctx.api_version) };
}

template<class Api>
constexpr bool has_top_level_error = requires(typename Api::response r) {
    r.error_code = int16_t{};
};

template<class... H>
constexpr bool is_served(int16_t key, handler_list<H...>) {
    return ((H::api::key == key) || ...);
}

template<class... A>
constexpr auto add_unserved(std::array<table_entry, max_api_key + 1> t, protocol::type_list<A...>) {
    (([&] {
         if constexpr (has_top_level_error<A>) {
             if (!is_served(A::key, all_handlers{})) {
                 t[A::key] = table_entry{ &answer_unserved<A>, A::min_version, A::max_version };
             }
         }
     }()),
     ...);
    return t;
}

constexpr auto table = add_unserved(build_table(all_handlers{}), protocol::all_apis{});
constexpr auto served = build_served(all_handlers{});

} // namespace

std::span<const served_api> served_apis() {
    return served;
}

awaitable<dispatch_outcome> dispatch(request_context& ctx, protocol::reader& body) {
    if (ctx.api_key < 0 || ctx.api_key > max_api_key || table[ctx.api_key].fn == nullptr) {
        co_return dispatch_outcome{ dispatch_status::close, {} };
    }
    const auto& e = table[ctx.api_key];
    if (ctx.api_version < e.min_version || ctx.api_version > e.max_version) {
        if (ctx.api_key == api_versions_handler::api::key) {
            // KIP-511: answer in v0 so any client can read it, whatever it asked for.
            co_return dispatch_outcome{ dispatch_status::respond,
                                        encode_frame(
                                          ctx, api_versions_handler::unsupported_version_response(), 0) };
        }
        // As Kafka does: a request of a version we never advertised cannot be parsed.
        co_return dispatch_outcome{ dispatch_status::close, {} };
    }
    if (forwarded_api(ctx.api_key)) {
        auto sent = forward_to_controller(ctx, body);
        if (auto frame = co_await std::move(sent)) {
            co_return dispatch_outcome{ dispatch_status::respond, std::move(*frame) };
        }
    }
    co_return co_await e.fn(ctx, body);
}

} // namespace chronik::kafka
