#pragma once
// Partition requests fan out to the shards that own the partitions: items are
// grouped by owner shard, each group runs there as one call, and the results come
// back in the order the items were given. `fn` is a plain coroutine function
// taking (broker& owner, std::vector<Item>) by value, so nothing it uses lives in
// a lambda's captures across a suspension (see runtime/shard.h on GCC 12).
#include "kafka/server/broker.h"

#include <cstdint>
#include <vector>

namespace chronik::kafka {

// What every per-partition item needs to find its partition on the owner shard.
struct partition_ref {
    unsigned shard = 0;
    cluster::topic_info topic;
    int32_t partition = 0;
};

// KIP-320: a request naming the leader epoch it believes in. -1: no check. An
// older epoch than the partition's is fenced (the client refreshes its metadata);
// a newer one is not known here yet (the client retries).
inline protocol::error_code check_leader_epoch(int32_t client, int32_t current) noexcept {
    if (client < 0 || client == current) {
        return protocol::error_code::none;
    }
    return client < current ? protocol::error_code::fenced_leader_epoch
                            : protocol::error_code::unknown_leader_epoch;
}

// Runs fn(that shard's broker, args...) on `shard`. `fn` is a plain coroutine
// function, so its arguments live in its own frame (see runtime/shard.h on GCC 12).
template<class R, class... A>
awaitable<R> on_shard(broker& b, unsigned shard, awaitable<R> (*fn)(broker&, A...), A... args) {
    broker* owner = &b.peer(shard);
    auto work = [owner, fn, args...]() { return fn(*owner, args...); };
    auto call = b.shards().invoke_on(shard, std::move(work));
    co_return co_await std::move(call);
}

// Runs a topic-store operation on shard 0. `op` is a plain coroutine function, so
// its arguments live in its own frame (see runtime/shard.h on GCC 12).
template<class R, class... A>
awaitable<R> on_store(broker& b, awaitable<R> (*op)(cluster::topic_store&, A...), A... args) {
    cluster::topic_store* store = &b.topic_store_on_shard0();
    auto work = [store, op, args...]() { return op(*store, args...); };
    auto call = b.shards().invoke_on(0, std::move(work));
    co_return co_await std::move(call);
}

template<class R, class Item>
awaitable<std::vector<R>> run_on_owners(broker& b, std::vector<Item> items,
                                        awaitable<std::vector<R>> (*fn)(broker&, std::vector<Item>)) {
    unsigned n = b.shards().size();
    std::vector<std::vector<Item>> per(n);
    std::vector<std::vector<size_t>> where(n);
    for (size_t i = 0; i < items.size(); ++i) {
        unsigned s = items[i].shard;
        where[s].push_back(i);
        per[s].push_back(std::move(items[i]));
    }
    std::vector<R> out(items.size());
    for (unsigned s = 0; s < n; ++s) {
        if (per[s].empty()) {
            continue;
        }
        broker* owner = &b.peer(s);
        auto work = [owner, fn, group = std::move(per[s])]() mutable { return fn(*owner, std::move(group)); };
        auto call = b.shards().invoke_on(s, std::move(work));
        std::vector<R> rs = co_await std::move(call);
        for (size_t k = 0; k < rs.size() && k < where[s].size(); ++k) {
            out[where[s][k]] = std::move(rs[k]);
        }
    }
    co_return out;
}

// The common walk of a partition request: the caller builds every response entry;
// each partition that exists gets an Item routed to its owner shard, remembered
// with its entry's place (topic and partition index: the response vectors grow
// while they are built). After the owners answer, `each` visits every routed entry
// with its result.
template<class Item>
struct partition_fanout {
    struct slot {
        size_t topic = 0, partition = 0;
    };
    std::vector<slot> slots; // slots[i] is where items[i]'s answer goes
    std::vector<Item> items;

    // Returns the item to fill in if `info` names a topic that has `index`, else
    // null (the caller answers the entry itself).
    Item* admit(const broker& b, const cluster::topic_info* info, int32_t index, size_t topic,
                size_t partition) {
        if (info == nullptr || index < 0 || index >= info->partitions) {
            return nullptr;
        }
        slots.push_back({ topic, partition });
        Item& it = items.emplace_back();
        it.shard = b.owner_of(info->name, index);
        it.topic = *info;
        it.partition = index;
        return &it;
    }

    // Drops the item admit() just returned: the caller answered the entry itself.
    void refuse_last() {
        items.pop_back();
        slots.pop_back();
    }

    template<class R, class F>
    void each(std::vector<R>& results, F&& visit) const {
        for (size_t i = 0; i < slots.size() && i < results.size(); ++i) {
            visit(slots[i], results[i]);
        }
    }
};

} // namespace chronik::kafka
