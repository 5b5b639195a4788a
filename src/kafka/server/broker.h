#pragma once
// The broker's services on one shard. Every shard has its own instance; state that
// belongs to one shard (a partition, a group) is reached from another shard only
// through shards().invoke_on. The topic store lives on shard 0.
#include "cluster/topic_store.h"
#include "cluster/topic_table.h"
#include "runtime/config.h"
#include "runtime/shard.h"

#include <cstdint>
#include <memory>
#include <string>

namespace chronik::kafka {

struct advertised_address {
    std::string host;
    int32_t port = 0;
};

class broker {
public:
    broker(const runtime::config& cfg, runtime::shard_group& shards, unsigned shard,
           cluster::topic_store& store)
      : _cfg(cfg), _shards(shards), _shard(shard), _store(store) {}

    const runtime::config& config() const noexcept { return _cfg; }
    runtime::shard_group& shards() noexcept { return _shards; }
    unsigned shard() const noexcept { return _shard; }
    int32_t node_id() const noexcept { return _cfg.node_id; }

    // This shard's snapshot of the topics; replaced by the topic store on changes.
    const std::shared_ptr<const cluster::topic_table>& topics() const noexcept { return _topics; }
    void set_topics(std::shared_ptr<const cluster::topic_table> t) { _topics = std::move(t); }
    // The store itself: touch it only on shard 0 (invoke_on(0, ...)).
    cluster::topic_store& topic_store_on_shard0() noexcept { return _store; }

    const advertised_address& advertised() const noexcept { return _advertised; }
    void set_advertised(advertised_address a) { _advertised = std::move(a); }

    // A broker setting by its Kafka name, or the catalogue default.
    std::string broker_setting(std::string_view name) const;
    int32_t default_partitions() const;
    bool auto_create_topics() const;

private:
    const runtime::config& _cfg;
    runtime::shard_group& _shards;
    unsigned _shard;
    cluster::topic_store& _store;
    std::shared_ptr<const cluster::topic_table> _topics = std::make_shared<cluster::topic_table>();
    advertised_address _advertised;
};

} // namespace chronik::kafka
