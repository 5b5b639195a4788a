#include "kafka/server/groups/coordinator.h"

#include "base/logger.h"
#include "kafka/server/groups/membership.h"
#include "kafka/server/groups/offsets_records.h"
#include "kafka/server/handlers/topics.h"
#include "record/batch.h"

#include <chrono>

namespace chronik::kafka::groups {

using protocol::error_code;

namespace {

logger log{ "groups" };

constexpr size_t load_chunk = 1u << 20;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int32_t offsets_partitions(const broker& b) {
    auto n = b.numeric_setting("offsets.topic.num.partitions", 50);
    return n > 0 && n <= INT32_MAX ? int32_t(n) : 50;
}

void restore(group_manager& gm, int32_t partition, const std::string& id,
             const std::optional<group_value>& v) {
    if (!v) {
        if (auto* g = gm.find(id)) {
            if (g->offsets.empty()) {
                gm.erase(id);
            } else {
                g->members.clear();
                g->static_ids.clear();
                g->state = group_state::empty;
            }
        }
        return;
    }
    auto& g = gm.get_or_create(id, partition);
    g.protocol_type = v->protocol_type;
    g.generation = v->generation;
    g.protocol_name = v->protocol;
    g.leader = v->leader.value_or("");
    g.members.clear();
    g.static_ids.clear();
    auto now = clock::now();
    for (const auto& m : v->members) {
        member& x = g.members[m.id];
        x.id = m.id;
        x.instance_id = m.instance_id;
        x.client_id = m.client_id;
        x.client_host = m.client_host;
        x.rebalance_timeout_ms = m.rebalance_timeout_ms;
        x.session_timeout_ms = m.session_timeout_ms;
        if (v->protocol) {
            x.protocols.emplace_back(*v->protocol, m.subscription);
        }
        x.assignment = m.assignment;
        x.join_order = g.next_join_order++;
        // Members get a whole session to find the restarted coordinator.
        x.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
        if (m.instance_id) {
            g.static_ids[*m.instance_id] = m.id;
        }
    }
    g.state = g.members.empty() ? group_state::empty : group_state::stable;
    if (g.members.empty() && !v->protocol_type.empty()) {
        g.empty_since_ms = v->state_timestamp; // it had members once
    }
}

void apply(group_manager& gm, int32_t partition, const record::record_view& r) {
    if (!r.key) {
        return;
    }
    auto key = decode_key(*r.key);
    if (!key) {
        log.warn("__consumer_offsets-{}: skipping a record with a malformed key", partition);
        return;
    }
    if (const auto* gk = std::get_if<group_key>(&key.value())) {
        std::optional<group_value> v;
        if (r.value) {
            auto decoded = decode_group_value(*r.value);
            if (!decoded) {
                log.warn("__consumer_offsets-{}: skipping malformed metadata of group {}", partition,
                         gk->group);
                return;
            }
            v = std::move(decoded).value();
        }
        restore(gm, partition, gk->group, v);
        return;
    }
    const auto* k = std::get_if<offset_key>(&key.value());
    if (k == nullptr) {
        return;
    }
    if (!r.value) {
        if (auto* g = gm.find(k->group)) {
            g->offsets.erase(std::make_pair(k->topic, k->partition));
            if (g->offsets.empty() && g->members.empty()) {
                gm.erase(k->group); // deleted (DeleteGroups), or nothing left to remember
            }
        }
        return;
    }
    auto v = decode_offset_value(*r.value);
    if (!v) {
        log.warn("__consumer_offsets-{}: skipping a malformed offset commit of group {}", partition,
                 k->group);
        return;
    }
    auto& g = gm.get_or_create(k->group, partition);
    g.offsets[std::make_pair(k->topic, k->partition)] =
      committed_offset{ v.value().offset, v.value().leader_epoch, v.value().metadata,
                        v.value().commit_timestamp };
}

} // namespace

namespace {

// On shard 0: creates __consumer_offsets once, however many requests ask at once.
awaitable<bool> create_offsets_topic(broker& b, int32_t partitions) {
    auto& gm = b.groups();
    if (!gm.offsets_topic_created) {
        gm.offsets_topic_created = std::make_shared<runtime::event>(co_await asio::this_coro::executor);
    }
    while (gm.creating_offsets_topic) {
        auto ev = gm.offsets_topic_created;
        auto wait = ev->wait();
        co_await std::move(wait);
    }
    if (b.topics()->find(offsets_topic) != nullptr) {
        co_return true;
    }
    gm.creating_offsets_topic = true;
    std::map<std::string, std::string> cfg{ { "cleanup.policy", "compact" },
                                            { "segment.bytes", "104857600" } };
    auto made = create_topic(b, std::string(offsets_topic), partitions, -1, std::move(cfg), false);
    auto r = co_await std::move(made);
    gm.creating_offsets_topic = false;
    gm.offsets_topic_created->notify_all();
    if (r.error != error_code::none && r.error != error_code::topic_already_exists) {
        log.warn("cannot create {}: {}", offsets_topic,
                 r.message ? *r.message : std::string(protocol::error_name(r.error)));
        co_return false;
    }
    co_return true;
}

} // namespace

awaitable<std::optional<placement>> place(broker& b, std::string group) {
    const auto* t = b.topics()->find(offsets_topic);
    if (t == nullptr) {
        // Created on shard 0, which publishes the new table to every shard before
        // it answers, so this shard sees the topic afterwards.
        broker* zero = &b.peer(0);
        int32_t partitions = offsets_partitions(b);
        auto work = [zero, partitions]() { return create_offsets_topic(*zero, partitions); };
        auto call = b.shards().invoke_on(0, std::move(work));
        if (!co_await std::move(call)) {
            co_return std::nullopt;
        }
        t = b.topics()->find(offsets_topic);
        if (t == nullptr) {
            co_return std::nullopt;
        }
    }
    placement p;
    p.offsets = *t;
    p.partition = offsets_partition_for(group, t->partitions);
    p.shard = b.owner_of(*t, p.partition);
    co_return p;
}

awaitable<error_code> ensure_loaded(broker& b, placement where) {
    auto& gm = b.groups();
    auto& loaded = gm.loaded_event(co_await asio::this_coro::executor);
    while (gm.state(where.partition) == group_manager::load_state::loading) {
        co_await loaded.wait();
    }
    error_code why = error_code::none;
    auto leading = b.leader_replica(where.offsets, where.partition, why);
    auto replica = co_await std::move(leading);
    if (!replica) {
        co_return why == error_code::not_leader_or_follower ? error_code::not_coordinator
                                                            : error_code::coordinator_not_available;
    }
    if (!replica->leader_ready()) {
        co_return error_code::coordinator_load_in_progress;
    }
    if (gm.state(where.partition) == group_manager::load_state::loading) {
        co_return error_code::coordinator_load_in_progress; // began while this waited
    }
    if (gm.state(where.partition) == group_manager::load_state::loaded) {
        if (gm.loaded_epoch(where.partition) == replica->leader_epoch()) {
            co_return error_code::none;
        }
        gm.unload(where.partition); // led it before: another leader wrote since
    }
    gm.set_state(where.partition, group_manager::load_state::loading);
    gm.set_loaded_epoch(where.partition, replica->leader_epoch());
    auto p = replica->log_ptr();
    bool ok = p != nullptr && !p->failure();
    size_t records = 0;
    int64_t at = ok ? p->log_start_offset() : 0;
    while (ok && at < p->high_watermark()) {
        auto r = p->read(at, load_chunk, true);
        if (!r || r.value().data.empty()) {
            ok = r.has_value();
            break;
        }
        auto walked = record::for_each_batch(
          r.value().data, [&](const record::batch_header& h, const byte_slice& batch) -> result<void> {
              if (h.control()) {
                  return outcome::success();
              }
              return record::for_each_record(batch.span(), 64u << 20, [&](const record::record_view& rv) {
                  if (h.offset_of(rv) >= at) {
                      apply(gm, where.partition, rv);
                      ++records;
                  }
              });
          });
        if (!walked) {
            log.warn("__consumer_offsets-{}: stopped loading at offset {}: {}", where.partition, at,
                     walked.error().message());
            break;
        }
        at = r.value().next_offset;
    }
    gm.set_state(where.partition,
                 ok ? group_manager::load_state::loaded : group_manager::load_state::unloaded);
    if (ok) {
        arm_offsets_expiry(b);
        for (auto& [id, g] : gm.all()) {
            if (g.partition == where.partition && !g.members.empty()) {
                resume_restored(b, g);
            }
        }
    }
    loaded.notify_all();
    if (records > 0) {
        log.debug("__consumer_offsets-{}: loaded {} record(s)", where.partition, records);
    }
    co_return ok ? error_code::none : error_code::coordinator_not_available;
}

namespace {

// Appends one batch of records (null value: a tombstone) to the group's partition
// and waits until it is durable.
awaitable<error_code> append_durably(broker& b, placement where, std::string group,
                                     std::vector<record::record_input> recs) {
    auto opened = b.partition(where.offsets, where.partition);
    auto replica = co_await std::move(opened);
    auto p = replica ? replica->log_ptr() : nullptr;
    if (!p || p->failure()) {
        co_return error_code::coordinator_not_available;
    }
    auto built = record::build_batch(recs, {});
    if (!built) {
        co_return error_code::unknown_server_error;
    }
    bytes batch = std::move(built).value();
    // A write that cannot be stored is retriable for the client, as in Kafka.
    auto appended = replica->replicate(std::span<uint8_t>(batch), now_ms());
    if (!appended) {
        log.warn("cannot store offsets of group {}: {}", group, appended.error().message());
        co_return error_code::coordinator_not_available;
    }
    auto durable = replica->wait_committed(appended.value().last_offset);
    if (auto ec = co_await std::move(durable)) {
        co_return error_code::coordinator_not_available;
    }
    co_return error_code::none;
}

} // namespace

awaitable<error_code> commit_offsets(broker& b, placement where, std::string group,
                                     std::vector<offset_commit> commits) {
    if (commits.empty()) {
        co_return error_code::none;
    }
    std::vector<record::record_input> recs;
    recs.reserve(commits.size());
    int64_t now = now_ms();
    for (const auto& c : commits) {
        auto& r = recs.emplace_back();
        r.key = encode_offset_key({ group, c.topic, c.partition });
        r.value = encode_offset_value(
          { c.value.offset, c.value.leader_epoch, c.value.metadata, c.value.commit_timestamp });
        r.timestamp = now;
    }
    auto stored = append_durably(b, where, group, std::move(recs));
    if (auto e = co_await std::move(stored); e != error_code::none) {
        co_return e;
    }
    auto& g = b.groups().get_or_create(group, where.partition);
    for (const auto& c : commits) {
        g.offsets[std::make_pair(c.topic, c.partition)] = c.value;
    }
    arm_offsets_expiry(b);
    co_return error_code::none;
}

namespace {

awaitable<void> expiry_loop(broker& b) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
        auto interval = std::chrono::milliseconds(
          std::max<int64_t>(b.numeric_setting("offsets.retention.check.interval.ms", 600000), 1));
        asio::steady_timer t(ex, interval);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        auto& gm = b.groups();
        if (gm.all().empty()) {
            gm.expiry_armed = false;
            co_return;
        }
        int64_t retention_ms = b.numeric_setting("offsets.retention.minutes", 10080) * 60'000;
        int64_t now = now_ms();
        const auto* topic = b.topics()->find(offsets_topic);
        if (topic == nullptr) {
            continue;
        }
        // What expires, decided first: the table may change while tombstones are stored.
        std::vector<std::pair<std::string, std::vector<std::pair<std::string, int32_t>>>> doomed;
        std::vector<int32_t> partitions;
        for (const auto& [id, g] : gm.all()) {
            if (!g.members.empty() || g.state != group_state::empty) {
                continue;
            }
            std::vector<std::pair<std::string, int32_t>> old;
            for (const auto& [tp, c] : g.offsets) {
                int64_t since = std::max(c.commit_timestamp, g.empty_since_ms);
                if (since + retention_ms <= now) {
                    old.push_back(tp);
                }
            }
            if (!old.empty()) {
                doomed.emplace_back(id, std::move(old));
                partitions.push_back(g.partition);
            }
        }
        for (size_t i = 0; i < doomed.size(); ++i) {
            auto& [id, tps] = doomed[i];
            placement where{ *topic, partitions[i], b.shard() };
            log.info("group {}: {} committed offset(s) expired", id, tps.size());
            auto deleting = delete_offsets(b, where, id, tps);
            auto deleted = co_await std::move(deleting);
            if (deleted != error_code::none) {
                continue;
            }
            auto* g = gm.find(id);
            if (g != nullptr && g->offsets.empty() && g->members.empty()) {
                auto forgetting = store_group(b, where, id, std::nullopt);
                co_await std::move(forgetting);
                if ((g = gm.find(id)) != nullptr && g->offsets.empty() && g->members.empty()) {
                    gm.erase(id);
                }
            }
        }
    }
}

} // namespace

void arm_offsets_expiry(broker& b) {
    auto& gm = b.groups();
    if (gm.expiry_armed || gm.all().empty()) {
        return;
    }
    gm.expiry_armed = true;
    asio::co_spawn(b.shards().at(b.shard()).executor(), expiry_loop(b), asio::detached);
}

group_value snapshot(const group& g) {
    group_value v;
    v.protocol_type = g.protocol_type;
    v.generation = g.generation;
    v.protocol = g.protocol_name;
    if (!g.leader.empty()) {
        v.leader = g.leader;
    }
    v.state_timestamp = now_ms();
    for (const auto& [id, m] : g.members) {
        auto& out = v.members.emplace_back();
        out.id = id;
        out.instance_id = m.instance_id;
        out.client_id = m.client_id;
        out.client_host = m.client_host;
        out.rebalance_timeout_ms = m.rebalance_timeout_ms;
        out.session_timeout_ms = m.session_timeout_ms;
        for (const auto& [name, meta] : m.protocols) {
            if (g.protocol_name && name == *g.protocol_name) {
                out.subscription = meta;
            }
        }
        out.assignment = m.assignment;
    }
    return v;
}

awaitable<error_code> store_group(broker& b, placement where, std::string group,
                                  std::optional<group_value> value) {
    std::vector<record::record_input> recs(1);
    recs[0].key = encode_group_key({ group });
    if (value) {
        recs[0].value = encode_group_value(*value);
    }
    recs[0].timestamp = now_ms();
    auto stored = append_durably(b, where, group, std::move(recs));
    co_return co_await std::move(stored);
}

awaitable<error_code> delete_offsets(broker& b, placement where, std::string group,
                                     std::vector<std::pair<std::string, int32_t>> which) {
    if (which.empty()) {
        co_return error_code::none;
    }
    std::vector<record::record_input> recs;
    int64_t now = now_ms();
    for (const auto& [topic, partition] : which) {
        auto& r = recs.emplace_back();
        r.key = encode_offset_key({ group, topic, partition });
        r.timestamp = now;
    }
    auto stored = append_durably(b, where, group, std::move(recs));
    if (auto e = co_await std::move(stored); e != error_code::none) {
        co_return e;
    }
    if (auto* g = b.groups().find(group)) {
        for (const auto& tp : which) {
            g->offsets.erase(tp);
        }
    }
    co_return error_code::none;
}

} // namespace chronik::kafka::groups
