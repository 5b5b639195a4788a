#include "kafka/server/handlers/fetch.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/leader_hints.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"
#include "record/legacy.h"

#include <algorithm>
#include <chrono>

namespace chronik::kafka {

using protocol::error_code;

namespace {

constexpr size_t max_down_conversion = 256u << 20;

struct read_item : partition_ref {
    int64_t offset = 0;
    int32_t current_leader_epoch = -1;
    size_t max_bytes = 0;
    bool watch = false;
    bool zero_copy = false; // sent from the file (no down-conversion needed)
    storage::watcher watcher;
};

struct read_out {
    error_code error = error_code::none;
    int64_t high_watermark = -1;
    int64_t log_start = -1;
    byte_slice data;
};

awaitable<std::vector<read_out>> read_on_shard(broker& b, std::vector<read_item> items) {
    std::vector<read_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        auto& o = out[i];
        // Consumers read from the leader (no follower fetching: no replica selector).
        auto opened = b.leader_replica(it.topic, it.partition, o.error);
        auto replica = co_await std::move(opened);
        auto p = replica ? replica->log_ptr() : nullptr;
        if (!p) {
            continue;
        }
        if (auto e = check_leader_epoch(it.current_leader_epoch, replica->leader_epoch());
            e != error_code::none) {
            o.error = e;
            continue;
        }
        o.high_watermark = p->high_watermark();
        o.log_start = p->log_start_offset();
        auto r = p->read(it.offset, it.max_bytes, true, it.zero_copy);
        if (!r) {
            o.error = to_kafka_error(r.error());
            continue;
        }
        o.data = std::move(r.value().data);
        if (o.data.empty() && it.watch) {
            b.logs().watch(*p, it.watcher);
        }
    }
    co_return out;
}

// The partitions a request reads: its own list, or its session's.
std::vector<session_partition> requested(const fetch_handler::api::request& req,
                                         const cluster::topic_table& t, bool by_id) {
    std::vector<session_partition> out;
    for (const auto& topic : req.topics) {
        std::string name = topic.topic;
        if (by_id) {
            const auto* info = t.find(topic.topic_id);
            name = info != nullptr ? info->name : std::string();
        }
        for (const auto& p : topic.partitions) {
            session_partition sp;
            sp.topic = name;
            sp.topic_id = by_id ? topic.topic_id : protocol::uuid();
            sp.partition = p.partition;
            sp.fetch_offset = p.fetch_offset;
            sp.max_bytes = std::max(p.partition_max_bytes, 0);
            sp.current_leader_epoch = p.current_leader_epoch;
            out.push_back(std::move(sp));
        }
    }
    return out;
}

// A full fetch: the request's own partitions, kept as a new session if it asks
// for one (epoch 0) and the cache has room.
std::optional<error_code> full_fetch(fetch_session_cache& cache, const fetch_handler::api::request& req,
                                     const cluster::topic_table& topics, bool by_id,
                                     std::vector<session_partition>& wanted, int32_t& session_id) {
    wanted = requested(req, topics, by_id);
    if (req.session_epoch == 0 && !wanted.empty()) {
        if (auto* s = cache.create()) {
            s->partitions = wanted;
            session_id = s->id;
        }
    }
    return std::nullopt;
}

// Answers a session request before any read, or nothing if the request may go on.
// On success `wanted` holds what to read and `session_id` what to answer.
std::optional<error_code> open_session(broker& b, const fetch_handler::api::request& req, bool by_id,
                                       const cluster::topic_table& topics,
                                       std::vector<session_partition>& wanted, int32_t& session_id,
                                       bool& incremental) {
    auto& cache = b.fetch_sessions();
    if (req.session_id == 0) {
        if (req.session_epoch > 0) {
            return error_code::fetch_session_id_not_found; // an incremental fetch needs a session
        }
        return full_fetch(cache, req, topics, by_id, wanted, session_id);
    }
    if (req.session_epoch == -1 || req.session_epoch == 0) {
        // Closes the session; epoch 0 opens a new one in its place.
        cache.erase(req.session_id);
        return full_fetch(cache, req, topics, by_id, wanted, session_id);
    }
    auto* s = cache.find(req.session_id);
    if (s == nullptr) {
        return error_code::fetch_session_id_not_found;
    }
    if (s->epoch != req.session_epoch) {
        return error_code::invalid_fetch_session_epoch;
    }
    for (const auto& p : requested(req, topics, by_id)) {
        s->upsert(p);
    }
    for (const auto& f : req.forgotten_topics_data) {
        std::string name = f.topic;
        if (by_id) {
            const auto* info = topics.find(f.topic_id);
            name = info != nullptr ? info->name : std::string();
        }
        for (int32_t p : f.partitions) {
            s->forget(name, by_id ? f.topic_id : protocol::uuid(), p);
        }
    }
    s->advance_epoch();
    wanted = s->partitions;
    session_id = s->id;
    incremental = true;
    return std::nullopt;
}

} // namespace

awaitable<fetch_handler::api::response> fetch_handler::handle(request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    const bool by_id = ctx.api_version >= 13;
    auto topics = b.topics();
    std::vector<session_partition> wanted;
    int32_t session_id = 0;
    bool incremental = false;
    if (ctx.api_version >= 7) {
        if (auto refused = open_session(b, req, by_id, *topics, wanted, session_id, incremental)) {
            resp.error_code = +*refused;
            co_return resp;
        }
    } else {
        wanted = requested(req, *topics, false);
    }
    resp.session_id = session_id;

    // The response limit: what the request asks, capped by the broker's
    // fetch.max.bytes. Each partition reads at most that much too, so only the first
    // batch of the first non-empty partition can exceed it (KIP-74).
    const size_t max_bytes = std::min<size_t>(size_t(std::max(req.max_bytes, 0)), b.fetch_max_bytes());
    // Waits under the connection's key: one entry per connection in a partition's
    // watchers however often its consumer polls (a request's own key outside one).
    broker::fetch_waiter waiter(b, ctx.waiter_key != 0 ? ctx.waiter_key : b.new_waiter_key());
    // Item i of the fan-out reads wanted[slot.partition]; slot.topic is unused.
    partition_fanout<read_item> fan;
    for (size_t i = 0; i < wanted.size(); ++i) {
        const auto& w = wanted[i];
        const auto* info = w.topic.empty() ? nullptr : topics->find(w.topic);
        if (auto* it = fan.admit(b, info, w.partition, 0, i)) {
            it->offset = w.fetch_offset;
            it->current_leader_epoch = w.current_leader_epoch;
            it->max_bytes = std::min(size_t(w.max_bytes), max_bytes);
            it->watch = req.max_wait_ms > 0;
            it->zero_copy = ctx.api_version >= 4;
            it->watcher = { b.shard(), waiter.key() };
        }
    }

    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
    std::vector<read_out> results;
    while (!fan.items.empty()) {
        uint64_t generation = waiter.generation();
        auto reads = run_on_owners<read_out>(b, fan.items, &read_on_shard);
        results = co_await std::move(reads);
        // The response limit; the first non-empty partition always counts whole.
        size_t total = 0;
        bool error = false;
        for (auto& r : results) {
            error = error || r.error != error_code::none;
            if (r.data.empty()) {
                continue;
            }
            if (total > 0 && total + r.data.size() > max_bytes) {
                r.data = byte_slice();
                continue;
            }
            total += r.data.size();
        }
        if (error || total >= size_t(std::max(req.min_bytes, 1)) || clock::now() >= deadline) {
            break;
        }
        if (waiter.generation() != generation) {
            continue; // something committed while we read: look again at once
        }
        ctx.end_ordered_phase(); // only waiting remains (request_order.h)
        auto wait = waiter.wait_for(deadline - clock::now());
        if (!co_await std::move(wait)) {
            break;
        }
    }

    // One answer per wanted partition, in order; partitions of one topic in a row
    // share a topic entry.
    std::vector<std::optional<read_out>> answers(wanted.size());
    fan.each(results, [&](const auto& s, read_out& r) { answers[s.partition] = std::move(r); });
    std::vector<bool> sent(wanted.size(), false);
    for (size_t i = 0; i < wanted.size(); ++i) {
        const auto& w = wanted[i];
        protocol::fetch_response_data::PartitionData pr;
        pr.partition_index = w.partition;
        pr.high_watermark = -1;
        if (ctx.api_version >= 4) {
            pr.aborted_transactions.emplace();
        }
        pr.records = byte_slice();
        if (!answers[i]) {
            pr.error_code = +(w.topic.empty() && by_id ? error_code::unknown_topic_id
                                                       : error_code::unknown_topic_or_partition);
        } else {
            auto& r = *answers[i];
            pr.error_code = +r.error;
            if (const auto* info = topics->find(w.topic)) {
                hint_leader(b, *info, w.partition, pr.error_code, pr.current_leader, resp.node_endpoints);
            }
            pr.high_watermark = r.high_watermark;
            pr.last_stable_offset = r.high_watermark;
            pr.log_start_offset = r.log_start;
            if (r.error == error_code::none && !r.data.empty()) {
                if (ctx.api_version <= 3) {
                    // v0-v1 consumers read magic 0, v2-v3 magic 1.
                    auto legacy = record::convert_v2_to_legacy(r.data.span(), ctx.api_version <= 1 ? 0 : 1,
                                                               max_down_conversion);
                    if (legacy) {
                        pr.records = byte_slice::from(std::move(legacy).value());
                    } else {
                        pr.error_code = +error_code::kafka_storage_error;
                    }
                } else {
                    pr.records = std::move(r.data);
                }
            }
        }
        // An incremental response leaves out partitions with nothing new.
        bool news = pr.error_code != 0 || !pr.records->empty() ||
                    pr.high_watermark != w.sent_high_watermark || pr.log_start_offset != w.sent_log_start;
        if (incremental && !news) {
            continue;
        }
        sent[i] = true;
        if (resp.responses.empty() || resp.responses.back().topic != w.topic ||
            resp.responses.back().topic_id != w.topic_id) {
            auto& tr = resp.responses.emplace_back();
            tr.topic = w.topic;
            tr.topic_id = w.topic_id;
        }
        resp.responses.back().partitions.push_back(std::move(pr));
    }
    // Remember what the session's client now knows. The session may have been
    // closed or evicted while this fetch waited: then there is nothing to update.
    if (session_id != 0) {
        if (auto* s = b.fetch_sessions().find(session_id)) {
            for (size_t i = 0; i < wanted.size(); ++i) {
                if (!sent[i] || !answers[i]) {
                    continue;
                }
                for (auto& p : s->partitions) {
                    if (p.same(wanted[i].topic, wanted[i].topic_id, wanted[i].partition)) {
                        p.sent_high_watermark = answers[i]->high_watermark;
                        p.sent_log_start = answers[i]->log_start;
                    }
                }
            }
        }
    }
    co_return resp;
}

} // namespace chronik::kafka
