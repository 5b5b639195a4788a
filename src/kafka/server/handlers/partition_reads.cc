#include "kafka/server/handlers/partition_reads.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/routing.h"
#include "kafka/server/handlers/storage_errors.h"

namespace chronik::kafka {

using protocol::error_code;

namespace {

struct offset_item : partition_ref {
    int64_t timestamp = 0;
    int32_t current_leader_epoch = -1;
};

struct offset_out {
    error_code error = error_code::none;
    int64_t offset = -1;
    int64_t timestamp = -1;
    int32_t leader_epoch = -1;
};

constexpr int64_t latest = -1, earliest = -2, max_timestamp = -3, earliest_local = -4, earliest_tiered = -5;

awaitable<std::vector<offset_out>> list_on_shard(broker& b, std::vector<offset_item> items) {
    std::vector<offset_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto& it = items[i];
        auto& o = out[i];
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
        if (o.error == error_code::none && o.offset >= 0) {
            o.leader_epoch =
              it.timestamp == latest ? p->epochs().latest_epoch() : p->epochs().epoch_at(o.offset);
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
            it->current_leader_epoch = p.current_leader_epoch;
        }
    }
    auto lookups = run_on_owners<offset_out>(b, std::move(fan.items), &list_on_shard);
    auto results = co_await std::move(lookups);
    fan.each(results, [&](const auto& s, const offset_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.offset = r.offset;
        pr.timestamp = r.timestamp;
        pr.leader_epoch = r.error == error_code::none ? r.leader_epoch : -1;
        if (ctx.api_version == 0 && r.error == error_code::none && r.offset >= 0) {
            pr.old_style_offsets.push_back(r.offset);
        }
    });
    co_return resp;
}

namespace {

struct epoch_item : partition_ref {
    int32_t epoch = 0;
    int32_t current_leader_epoch = -1;
};

awaitable<std::vector<offset_out>> end_offset_on_shard(broker& b, std::vector<epoch_item> items) {
    std::vector<offset_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto opened = b.leader_replica(items[i].topic, items[i].partition, out[i].error);
        auto replica = co_await std::move(opened);
        auto p = replica ? replica->log_ptr() : nullptr;
        if (!p) {
            continue;
        }
        if (auto e = check_leader_epoch(items[i].current_leader_epoch, replica->leader_epoch());
            e != error_code::none) {
            out[i].error = e;
        } else {
            // From the leader-epoch checkpoint.
            auto end = replica->last_offset_of_epoch(items[i].epoch);
            out[i].offset = end.end_offset;
            out[i].leader_epoch = end.epoch;
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
            it->epoch = p.leader_epoch;
            it->current_leader_epoch = p.current_leader_epoch;
        }
    }
    auto lookups = run_on_owners<offset_out>(b, std::move(fan.items), &end_offset_on_shard);
    auto results = co_await std::move(lookups);
    fan.each(results, [&](const auto& s, const offset_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.end_offset = r.offset;
        pr.leader_epoch = r.leader_epoch;
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
        auto opened = b.leader_replica(items[i].topic, items[i].partition, out[i].error);
        auto replica = co_await std::move(opened);
        auto p = replica ? replica->log_ptr() : nullptr;
        if (!p) {
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
