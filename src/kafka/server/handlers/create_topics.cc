#include "kafka/server/handlers/create_topics.h"

#include "cluster/config_catalog.h"
#include "kafka/server/broker.h"
#include "kafka/server/handlers/topics.h"

#include <set>

namespace chronik::kafka {

using protocol::error_code;

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
        if (!t.assignments.empty()) {
            // Manual assignment on one broker: every replica list must be exactly {us}.
            bool ok = t.num_partitions == -1 && t.replication_factor == -1;
            for (const auto& a : t.assignments) {
                ok = ok && a.broker_ids == std::vector<int32_t>{ b.node_id() };
            }
            if (!ok) {
                out.error_code = +error_code::invalid_replica_assignment;
                out.error_message = "replica assignments must name only this broker";
                continue;
            }
            t.num_partitions = int32_t(t.assignments.size());
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
                                       req.validate_only);
        out.error_code = +r.error;
        out.error_message = r.message;
        if (r.error != error_code::none) {
            continue;
        }
        if (const auto* created = b.topics()->find(t.name)) {
            out.topic_id = created->id;
        }
        out.num_partitions = t.num_partitions == -1 ? b.default_partitions() : t.num_partitions;
        out.replication_factor = 1;
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
