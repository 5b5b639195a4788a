#include "kafka/server/handlers/topic_admin.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"

#include <set>

namespace chronik::kafka {

using protocol::error_code;

namespace {

awaitable<std::error_code> remove_topic(cluster::topic_store& s, std::string name) {
    auto r = s.remove(std::move(name));
    co_return co_await std::move(r);
}

awaitable<std::error_code> grow_topic(cluster::topic_store& s, std::string name, int32_t count,
                                      bool validate_only, cluster::topic_store::replica_nodes replicas) {
    auto r = s.add_partitions(std::move(name), count, validate_only, std::move(replicas));
    co_return co_await std::move(r);
}

} // namespace

awaitable<delete_topics_handler::api::response> delete_topics_handler::handle(request_context& ctx,
                                                                              api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    // v0-5 name topics; v6 names or ids.
    struct target {
        std::optional<std::string> name;
        protocol::uuid id;
    };
    std::vector<target> targets;
    for (auto& n : req.topic_names) {
        targets.push_back({ n, {} });
    }
    for (auto& t : req.topics) {
        targets.push_back({ t.name, t.topic_id });
    }
    std::set<std::string> seen;
    for (auto& t : targets) {
        auto& r = resp.responses.emplace_back();
        r.name = t.name;
        r.topic_id = t.id;
        const cluster::topic_info* info = nullptr;
        if (t.name) {
            info = b.topics()->find(*t.name);
        } else if (!t.id.is_zero()) {
            info = b.topics()->find(t.id);
        }
        if (info == nullptr) {
            r.error_code = +(t.name || t.id.is_zero() ? error_code::unknown_topic_or_partition
                                                      : error_code::unknown_topic_id);
            continue;
        }
        if (!seen.insert(info->name).second) {
            r.error_code = +error_code::invalid_request;
            r.error_message = "topic listed more than once";
            continue;
        }
        r.name = info->name;
        r.topic_id = info->id;
        auto removal = on_store<std::error_code, std::string>(b, &remove_topic, info->name);
        r.error_code = +to_kafka_error(co_await std::move(removal));
    }
    co_return resp;
}

awaitable<create_partitions_handler::api::response> create_partitions_handler::handle(request_context& ctx,
                                                                                      api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    std::set<std::string> seen;
    for (auto& t : req.topics) {
        auto& r = resp.results.emplace_back();
        r.name = t.name;
        if (!seen.insert(t.name).second) {
            r.error_code = +error_code::invalid_request;
            r.error_message = "topic listed more than once";
            continue;
        }
        const auto* info = b.topics()->find(t.name);
        if (info == nullptr) {
            r.error_code = +error_code::unknown_topic_or_partition;
            continue;
        }
        // Explicit replicas for the new partitions: one list each, as many as the
        // topic's replication factor; the controller checks the brokers they name.
        cluster::topic_store::replica_nodes replicas;
        if (t.assignments) {
            if (int64_t(t.assignments->size()) != int64_t(t.count) - info->partitions) {
                r.error_code = +error_code::invalid_replica_assignment;
                r.error_message = "one assignment is needed per new partition";
                continue;
            }
            for (const auto& a : *t.assignments) {
                auto& nodes = replicas.emplace_back();
                for (int32_t id : a.broker_ids) {
                    nodes.push_back(model::node_id{ id });
                }
            }
        }
        if (t.count <= info->partitions) {
            r.error_code = +error_code::invalid_partitions;
            r.error_message = "topic has " + std::to_string(info->partitions) + " partitions; " +
                              std::to_string(t.count) + " would not add any";
            continue;
        }
        auto growth =
          on_store<std::error_code, std::string, int32_t, bool, cluster::topic_store::replica_nodes>(
            b, &grow_topic, t.name, t.count, req.validate_only, std::move(replicas));
        auto ec = co_await std::move(growth);
        r.error_code = +to_kafka_error(ec);
        if (ec == cluster::errc::invalid_replication_factor) {
            r.error_message = "not enough brokers for the topic's replication factor";
        } else if (ec == cluster::errc::invalid_replica_assignment) {
            r.error_message = ec.message();
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
