#include "kafka/server/handlers/metadata.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/topics.h"

namespace chronik::kafka {

using protocol::error_code;
using response = protocol::metadata_response_data;

namespace {

response::MetadataResponseTopic describe(const broker& b, const cluster::topic_info& t) {
    response::MetadataResponseTopic out;
    out.error_code = +error_code::none;
    out.name = t.name;
    out.topic_id = t.id;
    out.is_internal = !t.name.empty() && t.name.front() == '_' && t.name.rfind("__", 0) == 0;
    for (int32_t p = 0; p < t.partitions; ++p) {
        auto& part = out.partitions.emplace_back();
        part.error_code = +error_code::none;
        part.partition_index = p;
        part.leader_id = b.node_id();
        part.leader_epoch = 0;
        part.replica_nodes = { b.node_id() };
        part.isr_nodes = { b.node_id() };
    }
    return out;
}

response::MetadataResponseTopic failed(std::optional<std::string> name, protocol::uuid id, error_code e) {
    response::MetadataResponseTopic out;
    out.error_code = +e;
    out.name = std::move(name);
    out.topic_id = id;
    return out;
}

} // namespace

awaitable<metadata_handler::api::response> metadata_handler::handle(request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    response resp;
    auto& node = resp.brokers.emplace_back();
    node.node_id = b.node_id();
    node.host = b.advertised().host;
    node.port = b.advertised().port;
    resp.cluster_id = b.cluster_id();
    resp.controller_id = b.node_id();

    bool all = !req.topics.has_value() || (ctx.api_version == 0 && req.topics->empty());
    if (all) {
        for (const auto& [_, t] : b.topics()->all()) {
            resp.topics.push_back(describe(b, t));
        }
        co_return resp;
    }
    bool may_create = req.allow_auto_topic_creation && b.auto_create_topics();
    for (const auto& want : *req.topics) {
        const cluster::topic_info* t = nullptr;
        if (want.name) {
            t = b.topics()->find(*want.name);
        } else if (!want.topic_id.is_zero()) {
            t = b.topics()->find(want.topic_id);
            if (t == nullptr) {
                resp.topics.push_back(failed(std::nullopt, want.topic_id, error_code::unknown_topic_id));
                continue;
            }
        }
        if (t == nullptr && want.name && may_create) {
            auto r = co_await create_topic(b, *want.name, -1, -1, {}, false);
            if (r.error == error_code::none || r.error == error_code::topic_already_exists) {
                t = b.topics()->find(*want.name);
            } else {
                resp.topics.push_back(failed(want.name, {}, r.error));
                continue;
            }
        }
        if (t == nullptr) {
            auto e = want.name && cluster::invalid_topic_name(*want.name)
                       ? error_code::invalid_topic_exception
                       : error_code::unknown_topic_or_partition;
            resp.topics.push_back(failed(want.name, {}, e));
            continue;
        }
        resp.topics.push_back(describe(b, *t));
    }
    co_return resp;
}

} // namespace chronik::kafka
