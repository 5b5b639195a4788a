#include "kafka/server/broker.h"

#include "cluster/config_catalog.h"

#include <charconv>

namespace chronik::kafka {

std::string broker::broker_setting(std::string_view name) const {
    if (auto it = _cfg.kafka.find(std::string(name)); it != _cfg.kafka.end()) {
        return it->second;
    }
    const auto* d = cluster::find_broker_config(name);
    return d != nullptr ? std::string(d->default_value) : std::string();
}

int32_t broker::default_partitions() const {
    auto v = broker_setting("num.partitions");
    int32_t n = 1;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n > 0 ? n : 1;
}

bool broker::auto_create_topics() const {
    return broker_setting("auto.create.topics.enable") == "true";
}

} // namespace chronik::kafka
