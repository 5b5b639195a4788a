#include "kafka/server/handlers/describe_cluster.h"

#include "kafka/server/broker.h"
#include "kafka/server/handlers/routing.h"

#include <filesystem>

#include <sys/statvfs.h>

namespace chronik::kafka {

using protocol::error_code;

namespace {

// Kafka's AclOperation codes that apply to the CLUSTER resource. Chronik has no
// authorizer yet, so every client may do all of them.
constexpr int32_t cluster_operations =
  (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
constexpr int8_t endpoint_brokers = 1;

} // namespace

awaitable<describe_cluster_handler::api::response> describe_cluster_handler::handle(request_context& ctx,
                                                                                    api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    resp.endpoint_type = req.endpoint_type;
    if (req.endpoint_type != endpoint_brokers) {
        resp.error_code = +error_code::unsupported_endpoint_type;
        resp.error_message = "this is a broker; it describes broker endpoints only";
        co_return resp;
    }
    resp.cluster_id = b.cluster_id();
    resp.controller_id = b.topic_store_on_shard0().controller_leader();
    for (auto& r : b.known_brokers()) {
        auto& node = resp.brokers.emplace_back();
        node.broker_id = r.node();
        node.host = std::move(r.host);
        node.port = r.port;
        node.rack = std::move(r.rack);
    }
    if (req.include_cluster_authorized_operations) {
        resp.cluster_authorized_operations = cluster_operations;
    }
    co_return resp;
}

namespace {

struct size_out {
    bool ok = false;
    int64_t bytes = 0;
};

awaitable<std::vector<size_out>> sizes_on_shard(broker& b, std::vector<partition_ref> items) {
    std::vector<size_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto opened = b.partition(items[i].topic, items[i].partition);
        auto replica = co_await std::move(opened);
        auto p = replica ? replica->log_ptr() : nullptr;
        if (p && !p->failure()) {
            out[i] = { true, int64_t(p->size_bytes()) };
        }
    }
    co_return out;
}

struct space {
    int64_t total = -1;
    int64_t usable = -1;
};

} // namespace

awaitable<describe_log_dirs_handler::api::response> describe_log_dirs_handler::handle(request_context& ctx,
                                                                                      api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto& dir = resp.results.emplace_back();
    std::error_code ec;
    auto logs = std::filesystem::absolute(std::filesystem::path(b.logs().data_dir()) / "logs", ec);
    dir.log_dir = logs.lexically_normal().string();

    // Every partition of the named topics (all topics if none are named); names
    // this broker does not host are left out, as Kafka does.
    auto topics = b.topics();
    std::vector<std::pair<const cluster::topic_info*, std::vector<int32_t>>> wanted;
    if (!req.topics) {
        for (const auto* t : topics->all()) {
            std::vector<int32_t> all(size_t(t->partitions));
            for (int32_t p = 0; p < t->partitions; ++p) {
                all[size_t(p)] = p;
            }
            wanted.emplace_back(t, std::move(all));
        }
    } else {
        for (const auto& t : *req.topics) {
            if (const auto* info = topics->find(t.topic)) {
                wanted.emplace_back(info, t.partitions);
            }
        }
    }
    partition_fanout<partition_ref> fan;
    for (const auto& [info, parts] : wanted) {
        auto& tr = dir.topics.emplace_back();
        tr.name = info->name;
        for (int32_t p : parts) {
            if (fan.admit(b, info, p, dir.topics.size() - 1, tr.partitions.size()) != nullptr) {
                tr.partitions.emplace_back().partition_index = p;
            }
        }
    }
    auto sizing = run_on_owners<size_out>(b, std::move(fan.items), &sizes_on_shard);
    auto sizes = co_await std::move(sizing);
    fan.each(sizes, [&](const auto& s, const size_out& r) {
        auto& pr = dir.topics[s.topic].partitions[s.partition];
        pr.partition_size = r.bytes;
        pr.offset_lag = 0; // the only replica is the leader
        if (!r.ok) {
            dir.error_code = +error_code::kafka_storage_error;
        }
    });
    std::erase_if(dir.topics, [](const auto& t) { return t.partitions.empty(); });

    if (ctx.api_version >= 4) {
        auto stat = [path = dir.log_dir] {
            struct statvfs st {};
            if (::statvfs(path.c_str(), &st) != 0) {
                return space{};
            }
            return space{ int64_t(st.f_blocks) * int64_t(st.f_frsize),
                          int64_t(st.f_bavail) * int64_t(st.f_frsize) };
        };
        try {
            auto query = b.logs().io().run(std::move(stat));
            auto s = co_await std::move(query);
            dir.total_bytes = s.total;
            dir.usable_bytes = s.usable;
        } catch (const runtime::io_worker::queue_full&) {
            // Sizes unknown (-1) under I/O overload; the partitions are still listed.
        }
    }
    co_return resp;
}

namespace {

using producer_t = protocol::describe_producers_response_data::ProducerState;

struct producers_out {
    error_code error = error_code::none;
    std::vector<producer_t> producers;
};

awaitable<std::vector<producers_out>> producers_on_shard(broker& b, std::vector<partition_ref> items) {
    std::vector<producers_out> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        auto opened = b.partition(items[i].topic, items[i].partition);
        auto replica = co_await std::move(opened);
        auto p = replica ? replica->log_ptr() : nullptr;
        if (!p || p->failure()) {
            out[i].error = error_code::kafka_storage_error;
            continue;
        }
        p->producers().for_each([&](int64_t id, int16_t epoch, const storage::producer_batch& last) {
            auto& ps = out[i].producers.emplace_back();
            ps.producer_id = id;
            ps.producer_epoch = epoch;
            ps.last_sequence = last.last_seq;
            ps.last_timestamp = last.max_timestamp;
            ps.coordinator_epoch = -1;
            ps.current_txn_start_offset = -1;
        });
    }
    co_return out;
}

} // namespace

awaitable<describe_producers_handler::api::response> describe_producers_handler::handle(request_context& ctx,
                                                                                        api::request req) {
    broker& b = *ctx.owner;
    api::response resp;
    auto topics = b.topics();
    partition_fanout<partition_ref> fan;
    for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        const auto* info = topics->find(t.name);
        for (int32_t p : t.partition_indexes) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p;
            if (fan.admit(b, info, p, resp.topics.size() - 1, tr.partitions.size() - 1) == nullptr) {
                pr.error_code = +error_code::unknown_topic_or_partition;
            }
        }
    }
    auto lookups = run_on_owners<producers_out>(b, std::move(fan.items), &producers_on_shard);
    auto results = co_await std::move(lookups);
    fan.each(results, [&](const auto& s, producers_out& r) {
        auto& pr = resp.topics[s.topic].partitions[s.partition];
        pr.error_code = +r.error;
        pr.active_producers = std::move(r.producers);
    });
    co_return resp;
}

} // namespace chronik::kafka
