#pragma once
// The broker's services on one shard. Every shard has its own instance; state that
// belongs to one shard (a partition, a group) is reached from another shard only
// through shards().invoke_on.
#include "runtime/config.h"
#include "runtime/shard.h"

#include <cstdint>
#include <string>

namespace chronik::kafka {

class broker {
public:
    broker(const runtime::config& cfg, runtime::shard_group& shards, unsigned shard)
      : _cfg(cfg), _shards(shards), _shard(shard) {}

    const runtime::config& config() const noexcept { return _cfg; }
    runtime::shard_group& shards() noexcept { return _shards; }
    unsigned shard() const noexcept { return _shard; }
    int32_t node_id() const noexcept { return _cfg.node_id; }

private:
    const runtime::config& _cfg;
    runtime::shard_group& _shards;
    unsigned _shard;
};

} // namespace chronik::kafka
