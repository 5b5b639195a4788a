#include "kafka/server/handlers/alter_configs.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"

#include <set>

namespace chronik::kafka {

using outcome_t = cluster::topic_store::alter_outcome;

namespace {

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;

awaitable<outcome_t> alter_topic(cluster::topic_store& s, std::string name,
                                 std::vector<cluster::config_change> changes, bool replace_all,
                                 bool validate_only) {
    auto r = s.alter_topic_configs(std::move(name), std::move(changes), replace_all, validate_only);
    co_return co_await std::move(r);
}

awaitable<outcome_t> alter_broker(cluster::topic_store& s, int32_t node,
                                  std::vector<cluster::config_change> changes, bool replace_all,
                                  bool validate_only) {
    auto r = s.alter_broker_configs(node, std::move(changes), replace_all, validate_only);
    co_return co_await std::move(r);
}

// One resource of either request: checks what it names, then applies the changes
// on shard 0. Duplicate resources in one request are refused, as Kafka does.
awaitable<outcome_t> alter_resource(broker& b, int8_t type, std::string name,
                                    std::vector<cluster::config_change> changes, bool replace_all,
                                    bool validate_only) {
    if (type == resource_topic) {
        if (b.topics()->find(name) == nullptr) {
            co_return outcome_t{ cluster::errc::unknown_topic, "unknown topic " + name };
        }
        auto call = on_store<outcome_t, std::string, std::vector<cluster::config_change>, bool, bool>(
          b, &alter_topic, std::move(name), std::move(changes), replace_all, validate_only);
        co_return co_await std::move(call);
    }
    if (type == resource_broker) {
        int32_t node = cluster::topic_table::cluster_default;
        if (!name.empty()) {
            if (name != std::to_string(b.node_id())) {
                co_return outcome_t{ cluster::errc::invalid_request,
                                     "broker " + name + " is not this broker" };
            }
            node = b.node_id();
        }
        auto call = on_store<outcome_t, int32_t, std::vector<cluster::config_change>, bool, bool>(
          b, &alter_broker, node, std::move(changes), replace_all, validate_only);
        co_return co_await std::move(call);
    }
    co_return outcome_t{ cluster::errc::invalid_request,
                         "unsupported resource type " + std::to_string(type) };
}

template<class Resp, class Req, class ToChange>
awaitable<Resp> alter_all(broker& b, Req req, bool replace_all, ToChange to_change) {
    Resp resp;
    std::set<std::pair<int8_t, std::string>> seen, repeated;
    for (const auto& r : req.resources) {
        if (!seen.emplace(r.resource_type, r.resource_name).second) {
            repeated.emplace(r.resource_type, r.resource_name);
        }
    }
    for (auto& r : req.resources) {
        auto& out = resp.responses.emplace_back();
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        outcome_t o;
        if (repeated.contains({ r.resource_type, r.resource_name })) {
            o = { cluster::errc::invalid_request, "resource named more than once" };
        } else {
            std::vector<cluster::config_change> changes;
            for (auto& c : r.configs) {
                changes.push_back(to_change(c));
            }
            auto applied = alter_resource(b, r.resource_type, r.resource_name, std::move(changes),
                                          replace_all, req.validate_only);
            o = co_await std::move(applied);
        }
        out.error_code = +to_kafka_error(o.error);
        if (o.error) {
            out.error_message = o.message;
        }
    }
    co_return resp;
}

} // namespace

awaitable<alter_configs_handler::api::response> alter_configs_handler::handle(request_context& ctx,
                                                                              api::request req) {
    auto all = alter_all<api::response>(*ctx.owner, std::move(req), true, [](const auto& c) {
        return cluster::config_change{ c.name, cluster::config_change::op::set, c.value };
    });
    co_return co_await std::move(all);
}

awaitable<incremental_alter_configs_handler::api::response> incremental_alter_configs_handler::handle(
  request_context& ctx, api::request req) {
    auto all = alter_all<api::response>(*ctx.owner, std::move(req), false, [](const auto& c) {
        return cluster::config_change{ c.name, cluster::config_change::op(c.config_operation), c.value };
    });
    co_return co_await std::move(all);
}

} // namespace chronik::kafka
