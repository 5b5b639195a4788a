#pragma once
// Incremental fetch sessions (KIP-227). A consumer that fetches many partitions
// sends the full list once; the broker remembers it as a session, and later
// requests name only what changed (new fetch offsets, partitions added or
// forgotten). Responses then carry only partitions with news: records, an error,
// or a moved high watermark or log start offset.
//
// Sessions live on the shard that created them (a connection stays on one shard)
// and the shard is encoded in the id, so an id shown to another shard is simply
// unknown there, never confused with a local session. The cache is bounded; when
// full, the least recently used session is evicted and its client falls back to a
// full fetch on FETCH_SESSION_ID_NOT_FOUND, as Kafka's clients do.
#include "kafka/protocol/types.h"

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace chronik::kafka {

struct session_partition {
    std::string topic;       // the name (empty if a v13+ topic id is unknown)
    protocol::uuid topic_id; // zero before v13
    int32_t partition = 0;
    int64_t fetch_offset = 0;
    int32_t max_bytes = 0;
    int32_t current_leader_epoch = -1; // the client's view (v9+), checked on every read
    // What the last response said, to leave out partitions with nothing new.
    int64_t sent_high_watermark = -2;
    int64_t sent_log_start = -2;

    // v13+ name topics by id, older versions by name.
    bool same(std::string_view name, const protocol::uuid& id, int32_t p) const {
        return partition == p && (!id.is_zero() || !topic_id.is_zero() ? topic_id == id : topic == name);
    }
};

struct fetch_session {
    int32_t id = 0;
    int32_t epoch = 1; // the epoch the next incremental request must carry
    std::vector<session_partition> partitions;
    uint64_t last_used = 0;

    // Adds or updates a partition (offset and size limit from the request).
    void upsert(const session_partition& p);
    void forget(std::string_view topic, const protocol::uuid& id, int32_t partition);
    void advance_epoch() { epoch = epoch == INT32_MAX ? 1 : epoch + 1; }
};

class fetch_session_cache {
public:
    static constexpr unsigned max_shards = 64;

    fetch_session_cache(unsigned shard, size_t capacity);

    // A new, empty session; the least recently used one is evicted if the cache is
    // full. Null if the cache holds no sessions at all (capacity 0).
    fetch_session* create();
    // The session with this id on this shard, or null.
    fetch_session* find(int32_t id);
    void erase(int32_t id) { _sessions.erase(id); }
    size_t size() const noexcept { return _sessions.size(); }

private:
    unsigned _shard;
    size_t _capacity;
    uint64_t _clock = 0;
    std::mt19937 _rng;
    std::unordered_map<int32_t, fetch_session> _sessions;
};

} // namespace chronik::kafka
