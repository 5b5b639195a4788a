#include "kafka/server/broker.h"

#include "cluster/config_catalog.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace chronik::kafka {

namespace {

// max.incremental.fetch.session.cache.slots, per shard.
size_t session_slots(const runtime::config& cfg) {
    size_t n = 1000;
    if (auto it = cfg.kafka.find("max.incremental.fetch.session.cache.slots"); it != cfg.kafka.end()) {
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
    }
    return n;
}

// A leader's ISR as Kafka's node ids.
std::vector<int32_t> isr_ids(const cluster::partition& replica) {
    std::vector<int32_t> out;
    for (auto n : replica.in_sync()) {
        out.push_back(int32_t(n()));
    }
    return out;
}

} // namespace

broker::broker(const runtime::config& cfg, runtime::shard_group& shards, unsigned shard,
               cluster::topic_store& store, std::unique_ptr<storage::log_manager> logs,
               cluster::raft_service* raft)
  : _cfg(cfg), _shards(shards), _shard(shard), _store(store), _settings(cfg.kafka), _logs(std::move(logs)),
    _raft(raft), _partitions(*_logs, model::node_id{ cfg.node_id }, raft),
    _fetch_sessions(shard, session_slots(cfg)), _topics_changed(shards.at(shard).executor()), _owner(shard) {
    cache_settings();
}

broker::fetch_waiter::fetch_waiter(broker& b, uint64_t key)
  : _b(&b), _key(key), _event(b.shards().at(b.shard()).executor()) {
    _b->_owner.check_owner("broker fetch waiters");
    _b->_fetch_waiters[key].push_back(this);
}

broker::fetch_waiter::~fetch_waiter() {
    if (_b == nullptr) {
        return; // the broker went first (a fetch frame destroyed with its shard at exit)
    }
    auto it = _b->_fetch_waiters.find(_key);
    if (it == _b->_fetch_waiters.end()) {
        return;
    }
    std::erase(it->second, this);
    if (it->second.empty()) {
        _b->_fetch_waiters.erase(it);
    }
}

broker::~broker() {
    // A Fetch long-poll still suspended at shutdown is destroyed with the shard's
    // io_context, after the server has destroyed its brokers.
    for (auto& [key, ws] : _fetch_waiters) {
        for (fetch_waiter* w : ws) {
            w->_b = nullptr;
        }
    }
}

void broker::wake_fetchers(const std::vector<uint64_t>& keys) {
    _owner.check_owner("broker fetch waiters");
    auto wake = [](fetch_waiter* w) {
        ++w->_generation;
        w->_event.notify_all();
    };
    for (uint64_t k : keys) {
        if (k == 0) {
            for (auto& [key, ws] : _fetch_waiters) {
                std::for_each(ws.begin(), ws.end(), wake);
            }
            return;
        }
        if (auto it = _fetch_waiters.find(k); it != _fetch_waiters.end()) {
            std::for_each(it->second.begin(), it->second.end(), wake);
        }
    }
}

void broker::cache_settings() {
    _fetch_max_bytes = size_t(std::max<int64_t>(numeric_setting("fetch.max.bytes", 57'671'680), 1024));
}

void broker::set_topics(std::shared_ptr<const cluster::topic_table> t) {
    _owner.check_owner("broker");
    // Concurrent changes publish their snapshots shard by shard, so an older one can
    // arrive after a newer one; every snapshot holds all changes before it, so the
    // older one is dropped and each shard's table only moves forward.
    if (t->version() < _topics->version()) {
        return;
    }
    const auto& change = t->last_change();
    const bool whole = change.base == 0 || change.base != _topics->identity();
    auto previous = std::exchange(_topics, std::move(t));
    const auto& table = *_topics;
    if (_raft != nullptr && table.brokers() != previous->brokers()) {
        // A node that registered anew (started, or restarted) hears from this
        // shard's leaders of the partitions it holds no replica of.
        for (const auto& [node, r] : table.brokers()) {
            auto was = previous->brokers().find(node);
            if (node == node_id() ||
                (was != previous->brokers().end() && was->second.incarnation == r.incarnation)) {
                continue;
            }
            const int32_t joined = node; // (a lambda cannot capture a structured binding in clang 14)
            _partitions.for_each([&](const std::string& name, int32_t p, cluster::partition& replica) {
                const auto* info = table.find(name);
                if (info != nullptr && replica.is_leader() && replica.has_peers()) {
                    tell_other_nodes(
                      *info, { info->id, p, node_id(), replica.leader_epoch(), isr_ids(replica) }, joined);
                }
            });
        }
    }
    if (whole || change.settings) {
        _settings = _cfg.kafka;
        for (int32_t level : { cluster::topic_table::cluster_default, node_id() }) {
            for (const auto& [k, v] : table.broker_overrides(level)) {
                _settings[k] = v;
            }
        }
        cache_settings();
        _log_configs.clear();
    }
    auto alive = [&](std::string_view name, const protocol::uuid& id) {
        const auto* info = table.find(name);
        return info != nullptr && info->id == id;
    };
    // Topic and broker settings may have changed: open partitions take them now.
    auto reconfigure = [&](std::string_view name, storage::partition_log& p) {
        if (const auto* info = table.find(name)) {
            p.set_config(log_config_for(*info));
        }
    };
    if (whole) {
        _logs->retain_only(alive);
        _partitions.forget_closed();
        std::erase_if(_leadership, [&](const auto& kv) {
            model::uuid id;
            id.bytes = kv.first;
            return table.find(id) == nullptr;
        });
        _logs->for_each_open(reconfigure);
        std::vector<std::string> names;
        names.reserve(table.size());
        for (const auto* info : table.all()) {
            names.push_back(info->name);
        }
        reconcile(std::move(names));
    } else {
        for (const auto& name : change.topics) {
            _log_configs.erase(name);
            _logs->retain_only(alive, name);
            _partitions.forget_closed(name);
            const auto* was = previous->find(name);
            const auto* now = table.find(name);
            if (was != nullptr && (now == nullptr || now->id != was->id)) {
                _leadership.erase(was->id.bytes);
            }
            if (!change.settings) {
                _logs->for_each_open(reconfigure, name);
            }
        }
        if (change.settings) {
            _logs->for_each_open(reconfigure);
        }
        reconcile(change.topics);
    }
    _topics_changed.notify_all();
}

std::vector<cluster::broker_registration> broker::known_brokers() const {
    std::vector<cluster::broker_registration> out;
    for (const auto& [id, r] : topics()->brokers()) {
        out.push_back(r);
    }
    if (!topics()->brokers().contains(node_id())) {
        cluster::broker_registration self;
        self.node = model::node_id{ node_id() };
        self.host = _advertised.host;
        self.port = _advertised.port;
        out.push_back(std::move(self));
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
    }
    return out;
}

void broker::reconcile(std::vector<std::string> topics) {
    for (auto& name : topics) {
        _to_open.push_back(std::move(name));
    }
    if (_reconciling || _to_open.empty()) {
        return;
    }
    if (auto holder = _backend.try_enter()) {
        _reconciling = true;
        asio::co_spawn(_shards.at(_shard).executor(), reconcile_loop(std::move(*holder)), asio::detached);
    }
}

awaitable<void> broker::reconcile_loop(runtime::gate::holder) {
    while (!_to_open.empty() && !_backend.is_closed()) {
        std::string name = std::move(_to_open.front());
        _to_open.pop_front();
        // The snapshot is held while its partitions open: `info` lives in it.
        auto table = _topics;
        const auto* info = table->find(name);
        for (int32_t p = 0; info != nullptr && p < info->partitions && !_backend.is_closed(); ++p) {
            const bool here = info->placement == nullptr || info->shard_on(model::node_id{ node_id() }, p);
            if (!here || owner_of(*info, p) != _shard || _partitions.find(info->name, p)) {
                continue;
            }
            auto opened = partition(*info, p);
            co_await std::move(opened);
        }
        if (info != nullptr) {
            // Deleted (or replaced) while its partitions opened: close what opened.
            const auto* now = _topics->find(name);
            if (now == nullptr || now->id != info->id) {
                _logs->retain_only(
                  [&](std::string_view, const protocol::uuid& id) { return now != nullptr && now->id == id; },
                  name);
                _partitions.forget_closed(name);
            }
        }
    }
    _reconciling = false;
}

awaitable<void> broker::stop_reconciling() {
    _owner.check_owner("broker");
    co_await _backend.close();
    _to_open.clear();
}

cluster::effective_config broker::topic_config(const cluster::config_def& def,
                                               const std::map<std::string, std::string>& overrides) const {
    auto eff = cluster::resolve_topic_config(def, overrides, _settings);
    if (eff.source == cluster::config_source::static_broker) {
        eff.source = setting_source(eff.broker_key);
    }
    return eff;
}

cluster::config_source broker::setting_source(std::string_view name) const {
    std::string key(name);
    if (_topics->broker_overrides(node_id()).contains(key)) {
        return cluster::config_source::dynamic_broker;
    }
    if (_topics->broker_overrides(cluster::topic_table::cluster_default).contains(key)) {
        return cluster::config_source::dynamic_default_broker;
    }
    if (_cfg.kafka.contains(key)) {
        return cluster::config_source::static_broker;
    }
    return cluster::config_source::default_config;
}

const storage::log_config& broker::log_config_for(const cluster::topic_info& t) {
    _owner.check_owner("broker");
    if (auto it = _log_configs.find(t.name); it != _log_configs.end()) {
        return it->second;
    }
    auto p = cluster::make_topic_properties(t.configs, _settings);
    storage::log_config c;
    c.segment_bytes = uint64_t(std::max<int64_t>(p.segment_bytes, 1024));
    c.segment_ms = p.segment_ms;
    c.retention_ms = p.retention_ms;
    c.retention_bytes = p.retention_bytes;
    c.max_message_bytes = p.max_message_bytes;
    c.log_append_time = p.log_append_time;
    c.timestamp_before_max_ms = p.timestamp_before_max_ms;
    c.timestamp_after_max_ms = p.timestamp_after_max_ms;
    c.compact = p.cleanup_compact;
    c.delete_old = p.cleanup_delete;
    // flush.* relax durability only when set somewhere; unset, every append is synced.
    bool flush_set = t.configs.contains("flush.messages") || t.configs.contains("flush.ms") ||
                     _settings.contains("log.flush.interval.messages") ||
                     _settings.contains("log.flush.interval.ms");
    c.relaxed_flush = flush_set && p.flush_messages > 1 && p.flush_ms > 0;
    c.flush_messages = p.flush_messages;
    c.flush_ms = p.flush_ms;
    c.min_cleanable_dirty_ratio = p.min_cleanable_dirty_ratio;
    c.min_compaction_lag_ms = p.min_compaction_lag_ms;
    c.max_compaction_lag_ms = p.max_compaction_lag_ms;
    c.delete_retention_ms = p.delete_retention_ms;
    c.min_insync_replicas = p.min_insync_replicas;
    if (_topics->find(t.name) != &t) {
        // Not from the current snapshot (a copy, or an older table): do not cache.
        _uncached = c;
        return _uncached;
    }
    return _log_configs.emplace(t.name, c).first->second;
}

awaitable<std::shared_ptr<cluster::partition>> broker::partition(const cluster::topic_info& t, int32_t p) {
    _owner.check_owner("broker");
    if (auto found = _partitions.find(t.name, p)) {
        co_return found;
    }
    if (!holds_replica(t, p)) {
        co_return nullptr; // another node's partition: never a second copy here
    }
    cluster::group_spec spec;
    if (_raft != nullptr && t.placement && size_t(p) < t.placement->size()) {
        // With peers, a Raft group over the placed replicas; a sole voter otherwise.
        const auto& timing = _raft->timing();
        spec.group = cluster::partition_group(t.id, p);
        spec.replicas = (*t.placement)[size_t(p)].replicas;
        spec.election_ticks = timing.election_ticks;
        spec.heartbeat_ticks = timing.heartbeat_ticks;
        auto lag_ms = numeric_setting("replica.lag.time.max.ms", 30'000);
        const int64_t tick_ms = std::max<int64_t>(timing.tick.count(), 1);
        spec.lag_ticks = int(std::clamp<int64_t>(lag_ms / tick_ms, 1, INT32_MAX));
        if (broker_setting("auto.leader.rebalance.enable") == "true") {
            auto every_s = numeric_setting("leader.imbalance.check.interval.seconds", 300);
            spec.rebalance_ticks = int(std::clamp<int64_t>(every_s * 1000 / tick_ms, 1, INT32_MAX));
        }
    }
    auto opened = _partitions.get(t.name, t.id, p, log_config_for(t), std::move(spec));
    auto replica = co_await std::move(opened);
    if (replica && !replica->has_listener()) {
        // Every shard's Metadata follows this replica's view of the group.
        replica->set_listener([this, id = t.id, p, raw = replica.get()](cluster::partition::change c) {
            if (c == cluster::partition::change::leadership) {
                publish_leadership(id, p, *raw);
            }
        });
        publish_leadership(t.id, p, *replica);
    }
    co_return replica;
}

awaitable<std::shared_ptr<cluster::partition>> broker::leader_replica(const cluster::topic_info& t, int32_t p,
                                                                      protocol::error_code& why) {
    if (!holds_replica(t, p)) {
        why = protocol::error_code::not_leader_or_follower;
        co_return nullptr;
    }
    auto opened = partition(t, p);
    auto replica = co_await std::move(opened);
    if (!replica || replica->log().failure()) {
        why = protocol::error_code::kafka_storage_error;
        co_return nullptr;
    }
    if (!replica->is_leader()) {
        why = protocol::error_code::not_leader_or_follower;
        co_return nullptr;
    }
    why = protocol::error_code::none;
    co_return replica;
}

void broker::publish_leadership(const model::uuid& topic, int32_t p, const cluster::partition& replica) {
    leadership l;
    l.epoch = replica.leader_epoch();
    l.leader = replica.leader() != raft::no_node ? int32_t(replica.leader()()) : -1;
    l.isr = isr_ids(replica);
    if (l.leader == node_id() && replica.has_peers()) {
        if (const auto* t = _topics->find(topic)) {
            tell_other_nodes(*t, { topic, p, l.leader, l.epoch, l.isr });
        }
    }
    for (unsigned s = 0; s < _shards.size(); ++s) {
        asio::post(_shards.at(s).executor(),
                   [peer = &peer(s), topic, p, l] { peer->note_leadership(topic, p, l); });
    }
}

void broker::tell_other_nodes(const cluster::topic_info& t, cluster::leadership_notice n,
                              std::optional<int32_t> only) {
    if (_raft == nullptr || !t.placement || size_t(n.partition) >= t.placement->size()) {
        return;
    }
    const auto& replicas = (*t.placement)[size_t(n.partition)].replicas;
    for (const auto& [id, r] : _topics->brokers()) {
        const int32_t node = id;
        const bool holds = std::any_of(replicas.begin(), replicas.end(),
                                       [&](const cluster::replica_placement& p) { return p.node() == node; });
        if (holds || node == node_id() || (only && *only != node)) {
            continue;
        }
        auto& q = _notices[node];
        if (q.size() >= cluster::max_notices_per_frame * 4) {
            continue; // a node that takes none for long learns the next change
        }
        q.push_back(n);
    }
    if (!_notices_posted && !_notices.empty()) {
        if (auto holder = _backend.try_enter()) {
            _notices_posted = true;
            asio::co_spawn(_shards.at(_shard).executor(), send_notices(std::move(*holder)), asio::detached);
        }
    }
}

awaitable<void> broker::send_notices(runtime::gate::holder) {
    // After the turn that queued them: every change of the turn in one frame.
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    _notices_posted = false;
    auto all = std::exchange(_notices, {});
    for (auto& [node, notices] : all) {
        for (size_t at = 0; at < notices.size(); at += cluster::max_notices_per_frame) {
            const size_t n = std::min(cluster::max_notices_per_frame, notices.size() - at);
            auto frame = cluster::encode_notices(std::span(notices).subspan(at, n));
            iobuf body;
            body.append(frame.data(), frame.size());
            auto call = _raft->pool()->call(model::node_id{ node }, cluster::leadership_notice_method,
                                            std::move(body), std::chrono::seconds(5));
            (void)co_await std::move(call); // lost: the node asks its bootstrap again, or hears the next
        }
    }
}

const broker::leadership* broker::leadership_of(const model::uuid& topic, int32_t partition) const {
    _owner.check_owner("broker leadership");
    auto it = _leadership.find(topic.bytes);
    if (it == _leadership.end() || partition < 0 || size_t(partition) >= it->second.size()) {
        return nullptr;
    }
    const auto& l = it->second[size_t(partition)];
    return l.epoch >= 0 ? &l : nullptr;
}

void broker::note_leadership(const model::uuid& topic, int32_t partition, leadership l) {
    _owner.check_owner("broker leadership");
    const auto* info = _topics->find(topic);
    if (info == nullptr || partition < 0 || partition >= info->partitions) {
        return; // deleted meanwhile
    }
    auto& all = _leadership[topic.bytes];
    if (all.size() < size_t(info->partitions)) {
        all.resize(size_t(info->partitions));
    }
    // Posted in order from the one shard that holds this node's replica: a later
    // report replaces an earlier one unless it is of an older term.
    auto& known = all[size_t(partition)];
    if (l.epoch >= known.epoch) {
        known = std::move(l);
    }
}

std::string broker::broker_setting(std::string_view name) const {
    if (auto it = _settings.find(std::string(name)); it != _settings.end()) {
        return it->second;
    }
    const auto* d = cluster::find_broker_config(name);
    return d != nullptr ? std::string(d->default_value.value_or("")) : std::string();
}

int64_t broker::numeric_setting(std::string_view name, int64_t fallback) const {
    auto v = broker_setting(name);
    int64_t n = fallback;
    auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
    return err == std::errc() && end == v.data() + v.size() ? n : fallback;
}

int32_t broker::default_partitions() const {
    auto n = numeric_setting("num.partitions", 1);
    return n > 0 && n <= INT32_MAX ? int32_t(n) : 1;
}

int16_t broker::default_replication_factor() const {
    // Unset: three replicas where there are three brokers (fewer where not), so a
    // cluster replicates by default and a single node still creates topics.
    if (!_settings.contains("default.replication.factor")) {
        return int16_t(std::clamp<size_t>(_topics->brokers().size(), 1, 3));
    }
    auto n = numeric_setting("default.replication.factor", 1);
    return n > 0 && n <= INT16_MAX ? int16_t(n) : 1;
}

bool broker::auto_create_topics() const {
    return broker_setting("auto.create.topics.enable") == "true";
}

} // namespace chronik::kafka
