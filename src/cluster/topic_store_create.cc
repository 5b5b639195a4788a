// The controller's topic creation (topic_store): placing partitions on the
// registered brokers, CreateTopics and auto-creation, and on a node that does not
// lead the controller, sending the creation to the leader.
#include "base/logger.h"
#include "cluster/controller_commands.h"
#include "cluster/topic_store.h"

#include <algorithm>

namespace chronik::cluster {

namespace {
logger log{ "cluster" };
} // namespace

result<assignments> topic_store::place(int32_t from, int32_t count, int16_t replication_factor,
                                       const replica_nodes& explicit_nodes) const {
    if (replication_factor == -1) {
        replication_factor = _ctl.default_replication_factor > 0
                               ? _ctl.default_replication_factor
                               : int16_t(std::clamp<size_t>(_table->brokers().size(), 1, 3));
    }
    struct node_load {
        model::node_id node;
        std::vector<int64_t> shards;
    };
    // The registered nodes, racks interleaved (rack a's first, rack b's first, ...,
    // rack a's second, ...; nodes without a rack form one more), so consecutive
    // replicas of a partition land in different racks while there are racks enough,
    // as Kafka's rack-aware assignment does.
    std::map<std::string, std::vector<const broker_registration*>> by_rack;
    for (const auto& [id, r] : _table->brokers()) {
        by_rack[r.rack ? "r:" + *r.rack : std::string("-")].push_back(&r);
    }
    std::vector<node_load> nodes;
    for (size_t i = 0; nodes.size() < _table->brokers().size(); ++i) {
        for (const auto& [rack, members] : by_rack) {
            if (i < members.size()) {
                nodes.push_back({ members[i]->node, std::vector<int64_t>(members[i]->shards, 0) });
            }
        }
    }
    if (nodes.empty()) {
        // Not registered yet (placing at start-up): this node, as it runs now.
        nodes.push_back({ _self, std::vector<int64_t>(_shards.size(), 0) });
    }
    // Explicit replicas: one list per new partition, each of replication_factor
    // distinct known nodes (so no longer than the nodes there are).
    if (!explicit_nodes.empty()) {
        if (explicit_nodes.size() != size_t(count)) {
            return errc::invalid_replica_assignment;
        }
        for (const auto& list : explicit_nodes) {
            if (list.size() != size_t(replication_factor) || list.size() > nodes.size()) {
                return errc::invalid_replica_assignment;
            }
            for (size_t i = 0; i < list.size(); ++i) {
                auto known = [&](const node_load& n) { return n.node == list[i]; };
                if (std::none_of(nodes.begin(), nodes.end(), known) ||
                    std::find(list.begin(), list.begin() + ptrdiff_t(i), list[i]) !=
                      list.begin() + ptrdiff_t(i)) {
                    return errc::invalid_replica_assignment;
                }
            }
        }
    }
    if (replication_factor <= 0 || size_t(replication_factor) > nodes.size()) {
        return errc::invalid_replication_factor;
    }
    for (auto& n : nodes) {
        if (auto it = _shard_load.find(n.node()); it != _shard_load.end()) {
            for (size_t s = 0; s < it->second.size(); ++s) {
                n.shards[s % n.shards.size()] += it->second[s];
            }
        }
    }
    // Replicas round robin over the nodes, each on its least loaded shard; the
    // starting node moves with the table's size, so topics' leaders spread.
    assignments out;
    out.reserve(size_t(count));
    const int64_t revision = next_revision();
    for (int32_t i = 0; i < count; ++i) {
        partition_assignment a;
        a.revision = revision;
        for (int16_t k = 0; k < replication_factor; ++k) {
            auto& n = explicit_nodes.empty()
                        ? nodes[(_table->size() + size_t(from + i) + size_t(k)) % nodes.size()]
                        : *std::find_if(nodes.begin(), nodes.end(), [&](const node_load& l) {
                              return l.node == explicit_nodes[size_t(i)][size_t(k)];
                          });
            auto least = std::min_element(n.shards.begin(), n.shards.end());
            ++*least;
            a.replicas.push_back({ n.node, model::shard_id{ uint32_t(least - n.shards.begin()) } });
        }
        out.push_back(std::move(a));
    }
    return out;
}

void topic_store::count_load(const topic_info& t, int sign) {
    if (!t.placement) {
        return;
    }
    for (const auto& a : *t.placement) {
        for (const auto& r : a.replicas) {
            auto& shards = _shard_load[r.node()];
            if (shards.size() <= r.shard()) {
                shards.resize(r.shard() + 1, 0);
            }
            shards[r.shard()] += sign;
        }
    }
}

std::set<uint64_t> topic_store::taken_group_prefixes() const {
    std::set<uint64_t> out;
    for (const auto* t : _table->all()) {
        out.insert(group_prefix(t->id));
    }
    return out;
}

void topic_store::take_group_prefix(topic_info& t, std::set<uint64_t>& taken) {
    // Two topics whose partitions shared Raft group ids would mix their replicas'
    // traffic; a fresh random id is a new prefix but for ~2^-43 odds per draw.
    while (!taken.insert(group_prefix(t.id)).second) {
        t.id = random_topic_id();
    }
}

int64_t topic_store::next_revision() const {
    return _group ? _group->log().log_end_offset() : 0;
}

awaitable<std::error_code> topic_store::create(topic_info t, int16_t replication_factor, bool validate_only,
                                               replica_nodes explicit_nodes) {
    _owner.check_owner("topic_store");
    if (_peers && !validate_only && explicit_nodes.empty() && controller_leader() != _self()) {
        std::vector<topic_info> one;
        one.push_back(std::move(t));
        auto sent = forward_create(std::move(one), replication_factor);
        auto answers = co_await std::move(sent);
        co_return answers.front();
    }
    auto here = create_here(std::move(t), replication_factor, validate_only, std::move(explicit_nodes));
    co_return co_await std::move(here);
}

awaitable<std::error_code> topic_store::create_here(topic_info t, int16_t replication_factor,
                                                    bool validate_only, replica_nodes explicit_nodes) {
    auto turn = co_await take_turn();
    if (_table->find(t.name) != nullptr) {
        co_return errc::topic_exists;
    }
    auto placed = place(0, t.partitions, replication_factor, explicit_nodes);
    if (!placed) {
        co_return placed.error();
    }
    if (validate_only) {
        co_return std::error_code();
    }
    t.placement = std::make_shared<const assignments>(std::move(placed).value());
    auto taken = taken_group_prefixes();
    take_group_prefix(t, taken);
    auto value = put_topics_value({ std::move(t) });
    if (auto ec = co_await install(command::put_topics, std::move(value))) {
        co_return ec;
    }
    co_return std::error_code();
}

size_t topic_store::queue_auto_create(std::vector<topic_info> topics, int16_t replication_factor) {
    _owner.check_owner("topic_store");
    if (_background.is_closed()) {
        return 0;
    }
    size_t on_their_way = 0;
    for (auto& t : topics) {
        if (_table->find(t.name) != nullptr || _auto_queued.contains(t.name)) {
            ++on_their_way;
            continue;
        }
        if (_auto_queue.size() >= max_auto_create_queue) {
            continue;
        }
        _auto_queued.insert(t.name);
        _auto_queue.push_back({ std::move(t), replication_factor });
        ++on_their_way;
    }
    if (!_auto_creating && !_auto_queue.empty()) {
        if (auto holder = _background.try_enter()) {
            _auto_creating = true;
            asio::co_spawn(_shards.at(0).executor(), auto_create(std::move(*holder)), asio::detached);
        }
    }
    return on_their_way;
}

awaitable<void> topic_store::auto_create(runtime::gate::holder) {
    // Shutdown waits for the batch being stored, never for the whole queue.
    while (!_auto_queue.empty() && !_background.is_closed()) {
        auto turn = co_await take_turn();
        std::vector<topic_info> batch;
        int16_t asked = -1; // the factor the batch's first topic asked for
        auto taken = taken_group_prefixes();
        while (!_auto_queue.empty() && batch.size() < auto_create_batch) {
            auto [t, rf] = std::move(_auto_queue.front());
            if (batch.empty()) {
                asked = rf;
            }
            _auto_queue.pop_front();
            _auto_queued.erase(t.name);
            // CreateTopics (or a delete and re-create) may have come first.
            if (_table->find(t.name) == nullptr) {
                auto placed = place(0, t.partitions, rf);
                if (!placed) {
                    log.warn("cannot auto-create topic {}: replication factor {} is more than the {} brokers",
                             t.name, rf, std::max<size_t>(1, _table->brokers().size()));
                    continue;
                }
                t.placement = std::make_shared<const assignments>(std::move(placed).value());
                take_group_prefix(t, taken);
                count_load(t, +1); // the next topic of the batch sees this one's load
                batch.push_back(std::move(t));
            }
        }
        if (batch.empty()) {
            continue;
        }
        for (const auto& t : batch) {
            count_load(t, -1); // counted again when the command is applied
        }
        if (_peers && controller_leader() != _self()) {
            // The controller's leader creates them (each with the factor asked for
            // the first: auto-creation asks for the default everywhere).
            auto sent = forward_create(std::move(batch), asked);
            (void)co_await std::move(sent);
            continue;
        }
        // One table change for the batch. A request naming one of these while it is
        // stored queues it again, and the batch that takes it finds it created.
        size_t n = batch.size();
        auto value = put_topics_value(std::move(batch));
        if (co_await install(command::put_topics, std::move(value))) {
            // The clients' retries queue them again.
            log.warn("could not store {} auto-created topics", n);
        }
    }
    _auto_creating = false;
}

} // namespace chronik::cluster
