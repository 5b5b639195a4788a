#include "kafka/server/handlers/metadata.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/partition_view.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace chronik::kafka {

using protocol::error_code;
using response = protocol::metadata_response_data;

namespace {

response::MetadataResponseTopic describe(const broker& b, const cluster::topic_info& t) {
    response::MetadataResponseTopic out;
    out.error_code = +error_code::none;
    out.name = t.name;
    out.topic_id = t.id;
    out.is_internal = is_internal_topic(t.name);
    for (int32_t p = 0; p < t.partitions; ++p) {
        auto& part = out.partitions.emplace_back();
        part.error_code = +error_code::none;
        part.partition_index = p;
        describe_partition(b, t, p, part);
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

// The most unknown topics one request queues for auto-creation. Kafka has no such
// bound; here it keeps one request from starting unbounded work (the topic store
// also bounds what all requests together may queue).
constexpr size_t max_auto_create_per_request = 1000;
// How long a request waits for the topics it has queued before answering.
constexpr auto auto_create_wait = std::chrono::milliseconds(500);

// Waits, at most auto_create_wait, until this shard's snapshot has every name.
awaitable<void> wait_for_topics(broker& b, const std::vector<std::string>& names) {
    auto deadline = std::chrono::steady_clock::now() + auto_create_wait;
    auto all_there = [&] {
        const auto& table = *b.topics();
        return std::all_of(names.begin(), names.end(),
                           [&](const std::string& n) { return table.find(n) != nullptr; });
    };
    while (!all_there()) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            co_return;
        }
        co_await b.topics_changed().wait_for(left);
    }
}

} // namespace

awaitable<metadata_handler::api::response> metadata_handler::handle(request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    response resp;
    for (auto& r : b.known_brokers()) {
        auto& node = resp.brokers.emplace_back();
        node.node_id = r.node();
        node.host = std::move(r.host);
        node.port = r.port;
        node.rack = std::move(r.rack);
    }
    resp.cluster_id = b.cluster_id();
    resp.controller_id = b.topic_store_on_shard0().controller_leader();

    bool all = !req.topics.has_value() || (ctx.api_version == 0 && req.topics->empty());
    if (all) {
        auto topics = b.topics();
        for (const auto* t : topics->all()) {
            resp.topics.push_back(describe(b, *t));
        }
        co_return resp;
    }
    bool may_create = req.allow_auto_topic_creation && b.auto_create_topics();
    // With default.replication.factor above the brokers there are, a topic cannot
    // be auto-created: it is answered INVALID_REPLICATION_FACTOR (as Kafka does).
    const int16_t rf = b.default_replication_factor();
    const bool placeable = size_t(rf) <= std::max<size_t>(1, b.topics()->brokers().size());
    // Names to auto-create, in request order. Each is answered LEADER_NOT_AVAILABLE
    // until it exists, as Kafka answers a topic it is creating: clients retry that
    // (librdkafka gives up on UNKNOWN_TOPIC_OR_PARTITION once
    // topic.metadata.propagation.max.ms has passed, so it would turn a deferred
    // creation into failed messages). Only the first max_auto_create_per_request
    // are queued; the rest are created by the clients' retries.
    std::vector<std::string> to_create;
    size_t creatable = 0;
    for (const auto& want : *req.topics) {
        if (want.name && may_create && placeable && b.topics()->find(*want.name) == nullptr &&
            !cluster::invalid_topic_name(*want.name)) {
            if (to_create.size() < max_auto_create_per_request) {
                to_create.push_back(*want.name);
            }
            ++creatable;
        }
    }
    if (!to_create.empty()) {
        std::vector<cluster::topic_info> topics;
        topics.reserve(to_create.size());
        for (const auto& name : to_create) {
            topics.push_back({ name, cluster::random_topic_id(), b.default_partitions(), {}, nullptr });
        }
        // Locals and a named lambda, not a temporary in the co_await (GCC 12; see
        // create_topic in topics.cc).
        cluster::topic_store* store = &b.topic_store_on_shard0();
        auto on_shard0 = [store, topics = std::move(topics)]() mutable {
            return store->queue_auto_create(std::move(topics), int16_t(-1)); // the controller's default
        };
        size_t coming = co_await b.shards().invoke_on(0, std::move(on_shard0));
        // When the whole creation is under way, wait for it briefly, so that a
        // client asking once (kcat -L -t new) gets the topic, not an error.
        if (coming == creatable) {
            co_await wait_for_topics(b, to_create);
        }
    }
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
        if (t == nullptr) {
            bool invalid = want.name && cluster::invalid_topic_name(*want.name);
            auto e = invalid                                 ? error_code::invalid_topic_exception
                     : want.name && may_create && !placeable ? error_code::invalid_replication_factor
                     : want.name && may_create               ? error_code::leader_not_available
                                                             : error_code::unknown_topic_or_partition;
            resp.topics.push_back(failed(want.name, {}, e));
            continue;
        }
        resp.topics.push_back(describe(b, *t));
    }
    co_return resp;
}

} // namespace chronik::kafka
