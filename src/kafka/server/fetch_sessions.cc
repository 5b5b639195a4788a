#include "kafka/server/fetch_sessions.h"

#include <algorithm>

namespace chronik::kafka {

void fetch_session::upsert(const session_partition& p) {
    for (auto& q : partitions) {
        if (q.same(p.topic, p.topic_id, p.partition)) {
            q.fetch_offset = p.fetch_offset;
            q.max_bytes = p.max_bytes;
            q.current_leader_epoch = p.current_leader_epoch;
            return;
        }
    }
    partitions.push_back(p);
}

void fetch_session::forget(std::string_view topic, const protocol::uuid& id, int32_t partition) {
    std::erase_if(partitions, [&](const session_partition& q) { return q.same(topic, id, partition); });
}

fetch_session_cache::fetch_session_cache(unsigned shard, size_t capacity)
  : _shard(shard % max_shards), _capacity(capacity), _rng(std::random_device{}()) {}

fetch_session* fetch_session_cache::create() {
    if (_capacity == 0) {
        return nullptr;
    }
    if (_sessions.size() >= _capacity) {
        auto lru = std::min_element(_sessions.begin(), _sessions.end(), [](const auto& a, const auto& b) {
            return a.second.last_used < b.second.last_used;
        });
        _sessions.erase(lru);
    }
    int32_t id = 0;
    do {
        // Positive, non-zero, and carrying this shard in its low bits.
        id = int32_t((_rng() & 0x7fffffc0u) | _shard);
    } while (id <= 0 || _sessions.contains(id));
    auto& s = _sessions[id];
    s.id = id;
    s.last_used = ++_clock;
    return &s;
}

fetch_session* fetch_session_cache::find(int32_t id) {
    if (id <= 0 || unsigned(id) % max_shards != _shard) {
        return nullptr;
    }
    auto it = _sessions.find(id);
    if (it == _sessions.end()) {
        return nullptr;
    }
    it->second.last_used = ++_clock;
    return &it->second;
}

} // namespace chronik::kafka
