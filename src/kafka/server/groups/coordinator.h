#pragma once
// Group coordination on the shard that owns a group's `__consumer_offsets`
// partition: where a group lives, loading a partition's groups, and committing
// offsets durably. Handlers call these through `on_coordinator`, which runs them on
// that shard.
#include "kafka/protocol/error_code.h"
#include "kafka/server/broker.h"
#include "kafka/server/groups/group_manager.h"
#include "kafka/server/groups/offsets_records.h"
#include "kafka/server/handlers/routing.h"

#include <optional>
#include <string>
#include <vector>

namespace chronik::kafka::groups {

// Where a group is coordinated.
struct placement {
    cluster::topic_info offsets; // the __consumer_offsets topic
    int32_t partition = 0;
    unsigned shard = 0;
};

// Creates __consumer_offsets if it does not exist yet (offsets.topic.num.partitions,
// compacted) and says where `group` lives; nullopt if the topic cannot be made.
awaitable<std::optional<placement>> place(broker& b, std::string group);

// Runs fn(coordinator's broker, placement, args...) on the shard that coordinates
// `group`; nullopt if __consumer_offsets cannot be made (the caller answers
// COORDINATOR_NOT_AVAILABLE).
template<class R, class... A>
awaitable<std::optional<R>> at_coordinator(broker& b, std::string group,
                                           awaitable<R> (*fn)(broker&, placement, A...), A... args) {
    auto placed = place(b, std::move(group));
    auto where = co_await std::move(placed);
    if (!where) {
        co_return std::nullopt;
    }
    auto call = on_shard<R, placement, A...>(b, where->shard, fn, *where, args...);
    R r = co_await std::move(call);
    co_return std::optional<R>(std::move(r));
}

// On the coordinator shard: the coordinator of a group is the leader of its
// offsets partition, which replays the partition once per term it leads (what an
// earlier term left in memory is dropped first). NOT_COORDINATOR where this node's
// replica does not lead (or there is none), COORDINATOR_LOAD_IN_PROGRESS while a
// new leader has not yet committed in its term (its high watermark may still be
// behind the old leader's), COORDINATOR_NOT_AVAILABLE if the partition cannot be
// read.
awaitable<protocol::error_code> ensure_loaded(broker& b, placement where);

struct offset_commit {
    std::string topic;
    int32_t partition = 0;
    committed_offset value;
};

// On the coordinator shard: appends the commits to the group's partition, waits
// until they are durable, then records them in memory.
awaitable<protocol::error_code> commit_offsets(broker& b, placement where, std::string group,
                                               std::vector<offset_commit> commits);

// On the coordinator shard: durably stores a group's membership (its generation,
// protocol, leader, members with subscriptions and assignments), or with nullopt
// a tombstone for it, so a restarted broker resumes the group where it stood.
awaitable<protocol::error_code> store_group(broker& b, placement where, std::string group,
                                            std::optional<group_value> value);
// The stored form of a group as it stands now.
group_value snapshot(const group& g);

// Starts this shard's offsets-expiry timer if it coordinates groups and it is not
// running: every offsets.retention.check.interval.ms, the offsets of groups without
// members older than offsets.retention.minutes are deleted (as Kafka does since
// KIP-211: from when the group emptied, or from the commit for a group that never
// had members), and groups left with nothing are forgotten.
void arm_offsets_expiry(broker& b);

// On the coordinator shard: durably deletes commits (tombstones), then forgets them.
awaitable<protocol::error_code> delete_offsets(broker& b, placement where, std::string group,
                                               std::vector<std::pair<std::string, int32_t>> which);

} // namespace chronik::kafka::groups
