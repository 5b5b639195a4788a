#include "kafka/server/handlers/describe_configs.h"

#include "cluster/config_catalog.h"
#include "kafka/server/broker.h"

#include <algorithm>

#include <fmt/format.h>

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

// What the documentation field says of configs Chronik does not simply apply.
std::optional<std::string> chronik_note(const cluster::config_def& def) {
    if (auto own = cluster::chronik_setting(def); !own.empty()) {
        return fmt::format("Chronik's {} setting supplies this value.", own);
    }
    if (!cluster::chronik_applies(def)) {
        return std::string("Chronik validates and stores this config but does not act on it.");
    }
    return std::nullopt;
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
                    const std::optional<std::vector<std::string>>& keys, bool synonyms, bool docs,
                    result_t& out) {
    for (const auto& def : cluster::topic_config_defs()) {
        if (!wanted(keys, def.name)) {
            continue;
        }
        auto eff = b.topic_config(def, t.configs);
        auto& e = out.configs.emplace_back();
        e.name = std::string(def.name);
        e.value = eff.value;
        e.read_only = false;
        e.is_default = eff.source == cluster::config_source::default_config;
        e.config_source = int8_t(eff.source);
        e.is_sensitive = def.sensitive();
        e.config_type = int8_t(def.type);
        if (docs) {
            e.documentation = chronik_note(def);
        }
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
        if (!eff.broker_key.empty() && eff.broker_key != def.broker_key) {
            broker_synonyms(b, eff.broker_key, e.synonyms); // log.retention.hours, ...
        }
        e.synonyms.push_back({ std::string(def.broker_key.empty() ? def.name : def.broker_key),
                               std::string(def.default_value.value_or("")),
                               int8_t(cluster::config_source::default_config),
                               {} });
    }
}

// This broker's value of a broker config: Chronik's own where its settings supply
// it, else the setting in effect, else Kafka's default; never a secret.
std::optional<std::string> broker_value(const broker& b, const cluster::config_def& def) {
    auto own = cluster::chronik_setting(def);
    auto endpoint = [](const advertised_address& a) {
        return fmt::format("PLAINTEXT://{}:{}", a.host, a.port);
    };
    if (own == "node_id") {
        return std::to_string(b.node_id());
    }
    if (own == "listen") {
        return endpoint(b.listener());
    }
    if (own == "advertised_listener") {
        return endpoint(b.advertised());
    }
    if (own == "data_dir") {
        return b.config().data_dir + "/logs";
    }
    if (def.sensitive()) {
        return std::nullopt;
    }
    if (auto it = b.settings().find(std::string(def.name)); it != b.settings().end()) {
        return it->second;
    }
    if (def.default_value) {
        return std::string(*def.default_value);
    }
    return std::nullopt;
}

void describe_broker(const broker& b, const std::optional<std::vector<std::string>>& keys, bool synonyms,
                     bool docs, result_t& out) {
    for (const auto& def : cluster::broker_config_defs()) {
        if (!wanted(keys, def.name)) {
            continue;
        }
        auto& e = out.configs.emplace_back();
        e.name = std::string(def.name);
        bool own = !cluster::chronik_setting(def).empty();
        auto source = own ? cluster::config_source::static_broker : b.setting_source(def.name);
        e.value = broker_value(b, def);
        e.read_only = !cluster::dynamic_broker_config(def);
        e.is_default = source == cluster::config_source::default_config;
        e.config_source = int8_t(source);
        e.is_sensitive = def.sensitive();
        e.config_type = int8_t(def.type);
        if (docs) {
            e.documentation = chronik_note(def);
        }
        if (synonyms && !own) {
            broker_synonyms(b, def.name, e.synonyms);
            if (def.default_value) {
                e.synonyms.push_back({ std::string(def.name),
                                       std::string(*def.default_value),
                                       int8_t(cluster::config_source::default_config),
                                       {} });
            }
        }
        if (def.sensitive()) {
            for (auto& s : e.synonyms) {
                s.value.reset();
            }
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
            describe_topic(b, *t, r.configuration_keys, req.include_synonyms, req.include_documentation, out);
        } else if (r.resource_type == resource_broker) {
            if (!r.resource_name.empty() && r.resource_name != std::to_string(b.node_id())) {
                out.error_code = +error_code::invalid_request;
                out.error_message = "unexpected broker id " + r.resource_name;
                continue;
            }
            describe_broker(b, r.configuration_keys, req.include_synonyms, req.include_documentation, out);
        } else {
            out.error_code = +error_code::invalid_request;
            out.error_message = "unsupported resource type";
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
