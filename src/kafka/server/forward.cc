#include "kafka/server/forward.h"

#include "base/endian.h"
#include "kafka/server/broker.h"
#include "kafka/server/dispatch.h"

#include <chrono>
#include <cstring>

namespace chronik::kafka {

namespace {

constexpr int16_t delete_topics_key = 20;
constexpr int16_t alter_configs_key = 33;
constexpr int16_t create_partitions_key = 37;
constexpr int16_t incremental_alter_configs_key = 44;

// An admin request's wait (DeleteTopics and CreatePartitions carry their own
// timeout, at most this in practice), plus the way there and back.
constexpr auto forward_deadline = std::chrono::seconds(35);

// A response frame: [size: int32][correlation id: int32]..., size counting the rest.
bool is_frame(std::span<const uint8_t> f) {
    return f.size() >= 8 && uint64_t(load_be<uint32_t>(f.data())) == f.size() - 4;
}

} // namespace

bool forwarded_api(int16_t api_key) noexcept {
    return api_key == delete_topics_key || api_key == alter_configs_key || api_key == create_partitions_key ||
           api_key == incremental_alter_configs_key;
}

awaitable<std::optional<iobuf>> forward_to_controller(const request_context& ctx,
                                                      const protocol::reader& body) {
    broker& b = *ctx.owner;
    auto* pool = b.rpc_pool();
    const int32_t leader = b.topic_store_on_shard0().controller_leader();
    if (ctx.forwarded || pool == nullptr || leader < 0 || leader == b.node_id()) {
        co_return std::nullopt;
    }
    protocol::reader rest = body;
    auto raw = rest.raw(rest.remaining());
    if (!raw) {
        co_return std::nullopt;
    }
    iobuf payload;
    uint8_t head[6];
    store_be<int16_t>(head, ctx.api_key);
    store_be<int16_t>(head + 2, ctx.api_version);
    const auto id_len =
      ctx.client_id ? int16_t(std::min<size_t>(ctx.client_id->size(), INT16_MAX)) : int16_t(-1);
    store_be<int16_t>(head + 4, id_len);
    payload.append(head, sizeof(head));
    if (id_len > 0) {
        payload.append(ctx.client_id->data(), size_t(id_len));
    }
    payload.append(raw.value());
    auto call = pool->call(model::node_id{ leader }, forward_method, std::move(payload), forward_deadline);
    auto answer = co_await std::move(call);
    if (!answer || !is_frame(answer.value().span())) {
        co_return std::nullopt;
    }
    bytes frame(answer.value().span().begin(), answer.value().span().end());
    store_be<int32_t>(frame.data() + 4, ctx.correlation_id);
    iobuf out;
    out.append(std::span<const uint8_t>(frame));
    co_return std::optional<iobuf>(std::move(out));
}

awaitable<result<iobuf>> serve_forwarded(broker& b, byte_slice payload) {
    protocol::reader r(std::move(payload));
    auto key = r.i16();
    auto version = r.i16();
    auto id_len = r.i16();
    if (!key || !version || !id_len || !forwarded_api(key.value()) || id_len.value() < -1) {
        co_return std::error_code(std::make_error_code(std::errc::invalid_argument));
    }
    request_context ctx{ key.value(), version.value(), 0, std::nullopt, 0, &b };
    ctx.forwarded = true;
    if (id_len.value() >= 0) {
        auto id = r.raw(size_t(id_len.value()));
        if (!id) {
            co_return std::error_code(std::make_error_code(std::errc::invalid_argument));
        }
        ctx.client_id = std::string(reinterpret_cast<const char*>(id.value().data()), id.value().size());
    }
    auto out = co_await dispatch(ctx, r);
    if (out.status != dispatch_status::respond) {
        co_return std::error_code(std::make_error_code(std::errc::invalid_argument));
    }
    co_return std::move(out.frame);
}

} // namespace chronik::kafka
