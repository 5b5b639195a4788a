#include "kafka/server/handlers/describe_configs.h"

#include "cluster/config_catalog.h"
#include "kafka/server/broker.h"

#include <algorithm>

namespace chronik::kafka {

using protocol::error_code;
using result_t = protocol::describe_configs_response_data::DescribeConfigsResult;
using entry_t = protocol::describe_configs_response_data::DescribeConfigsResourceResult;

namespace {

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;

bool wanted(const std::optional<std::vector<std::string>>& keys, std::string_view name) {
    return !keys || keys->empty() || std::find(keys->begin(), keys->end(), name) != keys->end();
}

using synonym_t = protocol::describe_configs_response_data::DescribeConfigsSynonym;

// Every level that sets broker setting `key`, most specific first.
void broker_synonyms(const broker& b, std::string_view key, std::vector<synonym_t>& out) {
    const auto& table = *b.topics();
    std::string k(key);
    auto add = [&](const std::map<std::string, std::string>& level, cluster::config_source source) {
        if (auto it = level.find(k); it != level.end()) {
            out.push_back({ k, it->second, int8_t(source), {} });
        }
    };
    add(table.broker_overrides(b.node_id()), cluster::config_source::dynamic_broker);
    add(table.broker_overrides(cluster::topic_table::cluster_default),
        cluster::config_source::dynamic_default_broker);
    add(b.config().kafka, cluster::config_source::static_broker);
}

void describe_topic(const broker& b, const cluster::topic_info& t,
                    const std::optional<std::vector<std::string>>& keys, bool synonyms, result_t& out) {
    for (const auto& def : cluster::topic_config_defs()) {
        if (!wanted(keys, def.name)) {
            continue;
        }
        auto eff = cluster::resolve_topic_config(def, t.configs, b.settings());
        if (eff.source == cluster::config_source::static_broker) {
            eff.source = b.setting_source(def.broker_key); // or a dynamic level
        }
        auto& e = out.configs.emplace_back();
        e.name = std::string(def.name);
        e.value = eff.value;
        e.read_only = false;
        e.is_default = eff.source == cluster::config_source::default_config;
        e.config_source = int8_t(eff.source);
        e.is_sensitive = def.sensitive;
        e.config_type = int8_t(def.type);
        if (!synonyms) {
            continue;
        }
        if (auto it = t.configs.find(std::string(def.name)); it != t.configs.end()) {
            e.synonyms.push_back(
              { std::string(def.name), it->second, int8_t(cluster::config_source::dynamic_topic), {} });
        }
        if (!def.broker_key.empty()) {
            broker_synonyms(b, def.broker_key, e.synonyms);
        }
        e.synonyms.push_back({ std::string(def.broker_key.empty() ? def.name : def.broker_key),
                               std::string(def.default_value),
                               int8_t(cluster::config_source::default_config),
                               {} });
    }
}

void describe_broker(const broker& b, const std::optional<std::vector<std::string>>& keys, bool synonyms,
                     result_t& out) {
    for (const auto& def : cluster::broker_config_defs()) {
        if (!wanted(keys, def.name)) {
            continue;
        }
        auto& e = out.configs.emplace_back();
        e.name = std::string(def.name);
        auto source = b.setting_source(def.name);
        e.value = def.name == "broker.id" ? std::to_string(b.node_id()) : b.broker_setting(def.name);
        e.read_only = !cluster::dynamic_broker_config(def.name);
        e.is_default = source == cluster::config_source::default_config;
        e.config_source = int8_t(source);
        e.is_sensitive = def.sensitive;
        e.config_type = int8_t(def.type);
        if (synonyms) {
            broker_synonyms(b, def.name, e.synonyms);
            e.synonyms.push_back({ std::string(def.name),
                                   std::string(def.default_value),
                                   int8_t(cluster::config_source::default_config),
                                   {} });
        }
    }
}

} // namespace

awaitable<describe_configs_handler::api::response> describe_configs_handler::handle(request_context& ctx,
                                                                                    api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    for (const auto& r : req.resources) {
        auto& out = resp.results.emplace_back();
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        out.error_code = +error_code::none;
        if (r.resource_type == resource_topic) {
            const auto* t = b.topics()->find(r.resource_name);
            if (t == nullptr) {
                out.error_code = +error_code::unknown_topic_or_partition;
                out.error_message = "unknown topic " + r.resource_name;
                continue;
            }
            describe_topic(b, *t, r.configuration_keys, req.include_synonyms, out);
        } else if (r.resource_type == resource_broker) {
            if (!r.resource_name.empty() && r.resource_name != std::to_string(b.node_id())) {
                out.error_code = +error_code::invalid_request;
                out.error_message = "unexpected broker id " + r.resource_name;
                continue;
            }
            describe_broker(b, r.configuration_keys, req.include_synonyms, out);
        } else {
            out.error_code = +error_code::invalid_request;
            out.error_message = "unsupported resource type";
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
