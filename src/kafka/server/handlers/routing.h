#pragma once
// Partition requests fan out to the shards that own the partitions: items are
// grouped by owner shard, each group runs there as one call, and the results come
// back in the order the items were given. `fn` is a plain coroutine function
// taking (broker& owner, std::vector<Item>) by value, so nothing it uses lives in
// a lambda's captures across a suspension (see runtime/shard.h on GCC 12).
#include "kafka/server/broker.h"

#include <vector>

namespace chronik::kafka {

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

} // namespace chronik::kafka
