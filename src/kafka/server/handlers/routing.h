#pragma once
// Partition requests fan out to the shards that own the partitions: items are
// grouped by owner shard, each group runs there as one call, and the results come
// back in the order the items were given. `fn` is a plain coroutine function
// taking (broker& owner, std::vector<Item>) by value, so nothing it uses lives in
// a lambda's captures across a suspension (see runtime/shard.h on GCC 12).
#include "kafka/server/broker.h"
#include "runtime/event.h"

#include <cstdint>
#include <memory>
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

// Items grouped by owner shard: per[s] are shard s's, where[s][k] is the place of
// per[s][k] in the list they came from.
template<class Item>
struct owner_groups {
    std::vector<std::vector<Item>> per;
    std::vector<std::vector<size_t>> where;

    owner_groups(unsigned shards, std::vector<Item>& items) : per(shards), where(shards) {
        for (size_t i = 0; i < items.size(); ++i) {
            unsigned s = items[i].shard;
            where[s].push_back(i);
            per[s].push_back(std::move(items[i]));
        }
    }
};

template<class R, class Item>
awaitable<std::vector<R>> run_on_owners(broker& b, std::vector<Item> items,
                                        awaitable<std::vector<R>> (*fn)(broker&, std::vector<Item>)) {
    unsigned n = b.shards().size();
    owner_groups<Item> g(n, items);
    auto& per = g.per;
    auto& where = g.where;
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

// A fan-out in two stages, one hop per owner shard (Produce: appended, then
// durable). Each owner's call reports a first result for each of its items as soon
// as it has them and a second when its wait ends; the caller acts between the two
// (ends its ordered phase) without a second round trip to the owners. `fn` is a
// plain coroutine function taking (broker&, std::vector<Item>, reporter*) by value
// (the reporter outlives the call), and calls first() once, then second() once. R::failed() is
// what an item gets when its owner's call throws.
template<class R>
class staged_fanout {
    struct state {
        explicit state(asio::any_io_executor ex) : home(ex), changed(ex) {}
        asio::any_io_executor home;
        runtime::event changed; // on the home shard
        std::vector<std::vector<size_t>> where;
        std::vector<R> first, second;
        size_t first_pending = 0, second_pending = 0;
    };

public:
    // An owner's handle on its group's answers, in the order of its items. Used on
    // the owner shard; the answers travel to the home shard by post.
    class reporter {
    public:
        void first(std::vector<R> rs) { report(std::move(rs), true); }
        void second(std::vector<R> rs) { report(std::move(rs), false); }
        bool first_sent() const noexcept { return _first_sent; }
        size_t size() const noexcept { return _size; }

    private:
        friend class staged_fanout;
        reporter(std::shared_ptr<state> s, size_t group, size_t size)
          : _s(std::move(s)), _group(group), _size(size) {}
        void report(std::vector<R> rs, bool first) {
            _first_sent = _first_sent || first;
            asio::post(_s->home, [s = _s, group = _group, first, rs = std::move(rs)]() mutable {
                auto& out = first ? s->first : s->second;
                for (size_t k = 0; k < rs.size() && k < s->where[group].size(); ++k) {
                    out[s->where[group][k]] = std::move(rs[k]);
                }
                --(first ? s->first_pending : s->second_pending);
                s->changed.notify_all();
            });
        }
        std::shared_ptr<state> _s;
        size_t _group;
        size_t _size;
        bool _first_sent = false;
    };

    // Starts fn on every owner shard of `items` at once.
    template<class Item>
    staged_fanout(broker& b, std::vector<Item> items,
                  awaitable<void> (*fn)(broker&, std::vector<Item>, reporter*))
      : _s(std::make_shared<state>(b.shards().at(runtime::this_shard_id()).executor())) {
        unsigned n = b.shards().size();
        owner_groups<Item> g(n, items);
        auto& per = g.per;
        auto& where = g.where;
        _s->first.resize(items.size());
        _s->second.resize(items.size());
        for (unsigned sh = 0; sh < n; ++sh) {
            if (per[sh].empty()) {
                continue;
            }
            size_t group = _s->where.size();
            _s->where.push_back(std::move(where[sh]));
            ++_s->first_pending;
            ++_s->second_pending;
            reporter rep(_s, group, per[sh].size());
            b.shards().spawn_on(sh, run<Item>(&b.peer(sh), fn, std::move(per[sh]), std::move(rep)));
        }
    }

    // Every owner's first answers, in the order of the items.
    awaitable<std::vector<R>*> first() {
        while (_s->first_pending > 0) {
            co_await _s->changed.wait();
        }
        co_return &_s->first;
    }
    // Every owner's second answers (all calls have ended).
    awaitable<std::vector<R>*> second() {
        while (_s->second_pending > 0) {
            co_await _s->changed.wait();
        }
        co_return &_s->second;
    }

private:
    template<class Item>
    static awaitable<void> run(broker* owner, awaitable<void> (*fn)(broker&, std::vector<Item>, reporter*),
                               std::vector<Item> items, reporter rep) {
        bool failed = false;
        try {
            auto call = fn(*owner, std::move(items), &rep);
            co_await std::move(call);
        } catch (...) {
            failed = true;
        }
        if (failed) {
            std::vector<R> bad(rep.size(), R::failed());
            if (!rep.first_sent()) {
                rep.first(bad);
            }
            rep.second(std::move(bad));
        }
    }

    std::shared_ptr<state> _s;
};

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
        it.shard = b.owner_of(*info, index);
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
