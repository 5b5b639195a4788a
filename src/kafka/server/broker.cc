#include "kafka/server/broker.h"

#include "cluster/config_catalog.h"

#include <charconv>

namespace chronik::kafka {

broker::broker(const runtime::config& cfg, runtime::shard_group& shards, unsigned shard,
               cluster::topic_store& store, std::unique_ptr<storage::log_manager> logs)
  : _cfg(cfg), _shards(shards), _shard(shard), _store(store), _logs(std::move(logs)),
    _fetch_event(shards.at(shard).executor()) {}

void broker::set_topics(std::shared_ptr<const cluster::topic_table> t) {
    _topics = std::move(t);
    const auto& table = *_topics;
    _logs->retain_only([&](std::string_view name, const protocol::uuid& id) {
        const auto* info = table.find(name);
        return info != nullptr && info->id == id;
    });
}

storage::log_config broker::log_config_for(const cluster::topic_info& t) const {
    auto p = cluster::make_topic_properties(t.configs, _cfg.kafka);
    storage::log_config c;
    c.segment_bytes = uint64_t(std::max<int64_t>(p.segment_bytes, 1024));
    c.segment_ms = p.segment_ms;
    c.retention_ms = p.retention_ms;
    c.retention_bytes = p.retention_bytes;
    c.max_message_bytes = p.max_message_bytes;
    c.log_append_time = p.log_append_time;
    c.compact = p.cleanup_compact;
    c.delete_old = p.cleanup_delete;
    return c;
}

awaitable<std::shared_ptr<storage::partition_log>> broker::partition(const cluster::topic_info& t,
                                                                     int32_t p) {
    if (auto found = _logs->find(t.name, p)) {
        co_return found;
    }
    auto opened = _logs->get(t.name, t.id, p, log_config_for(t));
    co_return co_await std::move(opened);
}

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
