#include "kafka/server/handlers/create_topics.h"

#include "cluster/config_catalog.h"
#include "kafka/server/broker.h"
#include "kafka/server/handlers/topics.h"

#include <set>

namespace chronik::kafka {

using protocol::error_code;

namespace {

// CreateTopics' assignments as node lists in partition order, or why they are refused.
template<class Assignments>
std::optional<std::string> replica_lists(const Assignments& in, cluster::topic_store::replica_nodes& out) {
    constexpr size_t max_partitions = 100'000; // as create_topic allows
    if (in.size() > max_partitions) {
        return "more than 100000 partitions";
    }
    out.assign(in.size(), {});
    std::vector<bool> seen(in.size(), false);
    for (const auto& a : in) {
        if (a.partition_index < 0 || size_t(a.partition_index) >= in.size() ||
            seen[size_t(a.partition_index)]) {
            return "partition indexes must be 0 to n-1, each once";
        }
        if (a.broker_ids.empty() || a.broker_ids.size() != in.front().broker_ids.size() ||
            a.broker_ids.size() > size_t(INT16_MAX)) {
            return "every partition must have the same, non-zero, number of replicas";
        }
        seen[size_t(a.partition_index)] = true;
        auto& nodes = out[size_t(a.partition_index)];
        for (int32_t id : a.broker_ids) {
            nodes.push_back(model::node_id{ id });
        }
    }
    return std::nullopt;
}

} // namespace

awaitable<create_topics_handler::api::response> create_topics_handler::handle(request_context& ctx,
                                                                              api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    std::set<std::string> seen;
    for (auto& t : req.topics) {
        auto& out = resp.topics.emplace_back();
        out.name = t.name;
        if (!seen.insert(t.name).second) {
            out.error_code = +error_code::invalid_request;
            out.error_message = "topic listed more than once";
            continue;
        }
        cluster::topic_store::replica_nodes replicas;
        if (!t.assignments.empty()) {
            // Manual assignment: partitions 0..n-1, each once, every list the same
            // size; the controller checks the brokers they name.
            if (t.num_partitions != -1 || t.replication_factor != -1) {
                out.error_code = +error_code::invalid_request;
                out.error_message =
                  "both the partition count or replication factor and assignments were given";
                continue;
            }
            if (auto why = replica_lists(t.assignments, replicas)) {
                out.error_code = +error_code::invalid_replica_assignment;
                out.error_message = std::move(why);
                continue;
            }
        }
        std::map<std::string, std::string> configs;
        bool null_value = false;
        for (const auto& c : t.configs) {
            if (!c.value) {
                null_value = true;
                break;
            }
            configs[c.name] = *c.value;
        }
        if (null_value) {
            out.error_code = +error_code::invalid_config;
            out.error_message = "a config value is null";
            continue;
        }
        auto r = co_await create_topic(b, t.name, t.num_partitions, t.replication_factor, configs,
                                       req.validate_only, std::move(replicas));
        out.error_code = +r.error;
        out.error_message = r.message;
        if (r.error != error_code::none) {
            continue;
        }
        if (const auto* created = b.topics()->find(t.name)) {
            out.topic_id = created->id;
            out.num_partitions = created->partitions;
        } else { // validate_only
            out.num_partitions = !t.assignments.empty()   ? int32_t(t.assignments.size())
                                 : t.num_partitions == -1 ? b.default_partitions()
                                                          : t.num_partitions;
        }
        out.replication_factor = r.replication_factor;
        auto& described = out.configs.emplace();
        for (const auto& def : cluster::topic_config_defs()) {
            auto eff = b.topic_config(def, configs);
            auto& c = described.emplace_back();
            c.name = std::string(def.name);
            c.value = eff.value; // no topic config is a password
            c.read_only = false;
            c.config_source = int8_t(eff.source);
            c.is_sensitive = def.sensitive();
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
