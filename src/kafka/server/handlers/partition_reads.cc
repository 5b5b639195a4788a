#include "kafka/server/handlers/partition_reads.h"

#include "kafka/record/legacy.h"
#include "kafka/server/broker.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"

#include <chrono>

namespace chronik::kafka {

using protocol::error_code;

namespace {

constexpr size_t max_down_conversion = 256u << 20;

struct read_item : partition_ref {
    int64_t offset = 0;
    size_t max_bytes = 0;
    bool watch = false;
    unsigned watcher = 0;
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
        auto opened = b.partition(it.topic, it.partition);
        auto p = co_await std::move(opened);
        if (!p) {
            o.error = error_code::kafka_storage_error;
            continue;
        }
        o.high_watermark = p->high_watermark();
        o.log_start = p->log_start_offset();
        auto r = p->read(it.offset, it.max_bytes, true);
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

const cluster::topic_info* find_topic(const cluster::topic_table& t, const std::string& name,
                                      const protocol::uuid& id, bool by_id) {
    return by_id ? t.find(id) : t.find(name);
}

} // namespace

awaitable<fetch_handler::api::response> fetch_handler::handle(request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    const bool by_id = ctx.api_version >= 13;
    if (req.session_epoch > 0 || (req.session_id != 0 && req.session_epoch != -1)) {
        // We never created a session, so an incremental fetch cannot name one.
        resp.error_code = +error_code::fetch_session_id_not_found;
        co_return resp;
    }
    auto topics = b.topics();
    partition_fanout<read_item> fan;
    for (const auto& t : req.topics) {
        auto& tr = resp.responses.emplace_back();
        tr.topic = t.topic;
        tr.topic_id = t.topic_id;
        const auto* info = find_topic(*topics, t.topic, t.topic_id, by_id);
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition;
            pr.high_watermark = -1;
            auto* it = fan.admit(b, info, p.partition, resp.responses.size() - 1, tr.partitions.size() - 1);
            if (it == nullptr) {
                pr.error_code = +(info == nullptr && by_id ? error_code::unknown_topic_id
                                                           : error_code::unknown_topic_or_partition);
                continue;
            }
            it->offset = p.fetch_offset;
            it->max_bytes = size_t(std::max(p.partition_max_bytes, 0));
            it->watch = req.max_wait_ms > 0;
            it->watcher = b.shard();
        }
    }

    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
    size_t max_bytes = size_t(std::max(req.max_bytes, 0));
    std::vector<read_out> results;
    while (!fan.items.empty()) {
        uint64_t epoch = b.fetch_epoch();
        auto reads = run_on_owners<read_out>(b, fan.items, &read_on_shard);
        results = co_await std::move(reads);
        // The response limit: the first non-empty partition always counts whole (KIP-74).
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
        if (b.fetch_epoch() != epoch) {
            continue; // something committed while we read: look again at once
        }
        auto wait = b.fetch_event().wait_for(deadline - clock::now());
        if (!co_await std::move(wait)) {
            break;
        }
    }

    for (auto& r : resp.responses) {
        for (auto& pr : r.partitions) {
            if (ctx.api_version >= 4) {
                pr.aborted_transactions.emplace();
            }
            pr.records = byte_slice();
        }
    }
    fan.each(results, [&](const auto& s, read_out& r) {
        auto& pr = resp.responses[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.high_watermark = r.high_watermark;
        pr.last_stable_offset = r.high_watermark;
        pr.log_start_offset = r.log_start;
        if (r.error != error_code::none || r.data.empty()) {
            return;
        }
        if (ctx.api_version <= 3) {
            // v0-v1 consumers read magic 0, v2-v3 magic 1.
            auto legacy =
              record::convert_v2_to_legacy(r.data.span(), ctx.api_version <= 1 ? 0 : 1, max_down_conversion);
            if (!legacy) {
                pr.error_code = +error_code::kafka_storage_error;
                return;
            }
            pr.records = byte_slice::from(std::move(legacy).value());
        } else {
            pr.records = std::move(r.data);
        }
    });
    co_return resp;
}

namespace {

struct offset_item : partition_ref {
    int64_t timestamp = 0;
};

struct offset_out {
    error_code error = error_code::none;
    int64_t offset = -1;
    int64_t timestamp = -1;
};

constexpr int64_t latest = -1, earliest = -2, max_timestamp = -3, earliest_local = -4, earliest_tiered = -5;

awaitable<std::vector<offset_out>> list_on_shard(broker& b, std::vector<offset_item> items) {
    std::vector<offset_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        auto& o = out[i];
        auto opened = b.partition(it.topic, it.partition);
        auto p = co_await std::move(opened);
        if (!p || p->failure()) {
            o.error = error_code::kafka_storage_error;
            continue;
        }
        switch (it.timestamp) {
            case latest:
                o.offset = p->high_watermark();
                break;
            case earliest:
            case earliest_local:
            case earliest_tiered:
                o.offset = p->log_start_offset();
                break;
            case max_timestamp: {
                auto r = p->max_timestamp();
                if (!r) {
                    o.error = to_kafka_error(r.error());
                } else if (r.value()) {
                    o.offset = r.value()->offset;
                    o.timestamp = r.value()->timestamp;
                }
                break;
            }
            default: {
                if (it.timestamp < 0) {
                    o.error = error_code::invalid_request;
                    break;
                }
                auto r = p->offset_for_timestamp(it.timestamp);
                if (!r) {
                    o.error = to_kafka_error(r.error());
                } else if (r.value()) {
                    o.offset = r.value()->offset;
                    o.timestamp = r.value()->timestamp;
                }
            }
        }
    }
    co_return out;
}

} // namespace

awaitable<list_offsets_handler::api::response> list_offsets_handler::handle(request_context& ctx,
                                                                            api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    partition_fanout<offset_item> fan;
    for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        const auto* info = topics->find(t.name);
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            auto* it =
              fan.admit(b, info, p.partition_index, resp.topics.size() - 1, tr.partitions.size() - 1);
            if (it == nullptr) {
                pr.error_code = +error_code::unknown_topic_or_partition;
                continue;
            }
            it->timestamp = p.timestamp;
        }
    }
    auto lookups = run_on_owners<offset_out>(b, std::move(fan.items), &list_on_shard);
    auto results = co_await std::move(lookups);
    fan.each(results, [&](const auto& s, const offset_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.offset = r.offset;
        pr.timestamp = r.timestamp;
        pr.leader_epoch = r.error == error_code::none ? 0 : -1;
        if (ctx.api_version == 0 && r.error == error_code::none && r.offset >= 0) {
            pr.old_style_offsets.push_back(r.offset);
        }
    });
    co_return resp;
}

namespace {

struct epoch_item : partition_ref {
    int32_t epoch = 0;
};

awaitable<std::vector<offset_out>> end_offset_on_shard(broker& b, std::vector<epoch_item> items) {
    std::vector<offset_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto opened = b.partition(items[i].topic, items[i].partition);
        auto p = co_await std::move(opened);
        if (!p) {
            out[i].error = error_code::kafka_storage_error;
        } else if (items[i].epoch == 0) {
            out[i].offset = p->log_end_offset(); // the only epoch ends at the log end
            out[i].timestamp = 0;
        }
    }
    co_return out;
}

} // namespace

awaitable<offset_for_leader_epoch_handler::api::response> offset_for_leader_epoch_handler::handle(
  request_context& ctx, api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    partition_fanout<epoch_item> fan;
    for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.topic = t.topic;
        const auto* info = topics->find(t.topic);
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition = p.partition;
            auto* it = fan.admit(b, info, p.partition, resp.topics.size() - 1, tr.partitions.size() - 1);
            if (it == nullptr) {
                pr.error_code = +error_code::unknown_topic_or_partition;
                continue;
            }
            if (p.current_leader_epoch > 0) {
                fan.refuse_last();
                pr.error_code = +error_code::unknown_leader_epoch;
                continue;
            }
            it->epoch = p.leader_epoch;
        }
    }
    (void)ctx;
    auto lookups = run_on_owners<offset_out>(b, std::move(fan.items), &end_offset_on_shard);
    auto results = co_await std::move(lookups);
    fan.each(results, [&](const auto& s, const offset_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.end_offset = r.offset;
        pr.leader_epoch = r.offset >= 0 ? 0 : -1;
    });
    co_return resp;
}

namespace {

struct delete_item : partition_ref {
    int64_t offset = 0;
};

awaitable<std::vector<offset_out>> delete_on_shard(broker& b, std::vector<delete_item> items) {
    std::vector<offset_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto opened = b.partition(items[i].topic, items[i].partition);
        auto p = co_await std::move(opened);
        if (!p || p->failure()) {
            out[i].error = error_code::kafka_storage_error;
            continue;
        }
        auto raised = p->delete_records_before(items[i].offset);
        if (!raised) {
            out[i].error = to_kafka_error(raised.error());
            continue;
        }
        auto checkpoint = b.logs().checkpoint_log_start(p);
        out[i].error = to_kafka_error(co_await std::move(checkpoint));
        out[i].offset = p->log_start_offset();
    }
    co_return out;
}

} // namespace

awaitable<delete_records_handler::api::response> delete_records_handler::handle(request_context& ctx,
                                                                                api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    partition_fanout<delete_item> fan;
    for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        const auto* info = topics->find(t.name);
        for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            auto* it =
              fan.admit(b, info, p.partition_index, resp.topics.size() - 1, tr.partitions.size() - 1);
            if (it == nullptr) {
                pr.error_code = +error_code::unknown_topic_or_partition;
                continue;
            }
            it->offset = p.offset;
        }
    }
    (void)ctx;
    auto deletions = run_on_owners<offset_out>(b, std::move(fan.items), &delete_on_shard);
    auto results = co_await std::move(deletions);
    fan.each(results, [&](const auto& s, const offset_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.low_watermark = r.offset;
    });
    co_return resp;
}

} // namespace chronik::kafka
