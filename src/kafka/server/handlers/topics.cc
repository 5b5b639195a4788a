#include "kafka/server/handlers/topics.h"

#include "cluster/config_catalog.h"
#include "kafka/server/handlers/storage_errors.h"

#include <fmt/format.h>

namespace chronik::kafka {

using protocol::error_code;

namespace {
constexpr int32_t max_partitions = 100'000;
} // namespace

awaitable<create_topic_result> create_topic(broker& b, std::string name, int32_t partitions,
                                            int16_t replication_factor,
                                            std::map<std::string, std::string> configs, bool validate_only,
                                            cluster::topic_store::replica_nodes replicas) {
    if (auto why = cluster::invalid_topic_name(name)) {
        co_return create_topic_result{ error_code::invalid_topic_exception, *why };
    }
    if (partitions == -1) {
        partitions = b.default_partitions();
    }
    if (partitions <= 0 || partitions > max_partitions) {
        co_return create_topic_result{ error_code::invalid_partitions,
                                       fmt::format("number of partitions must be in [1, {}]",
                                                   max_partitions) };
    }
    if (!replicas.empty()) {
        partitions = int32_t(replicas.size());
        replication_factor = int16_t(replicas.front().size());
    }
    // -1 goes to the controller as it is: it resolves the default where it places
    // the replicas (this node may not have seen every registration yet).
    const bool by_default = replication_factor == -1;
    if (by_default) {
        replication_factor = b.default_replication_factor();
    }
    // The controller checks against the brokers registered when it places the
    // replicas; this snapshot's count words the refusal of a plainly too-large one.
    const size_t brokers = std::max<size_t>(1, b.topics()->brokers().size());
    if (replicas.empty() && (replication_factor <= 0 || size_t(replication_factor) > brokers)) {
        co_return create_topic_result{ error_code::invalid_replication_factor,
                                       fmt::format("replication factor {} is larger than the number of "
                                                   "brokers ({})",
                                                   replication_factor, brokers) };
    }
    if (auto why = cluster::validate_topic_configs(configs)) {
        co_return create_topic_result{ error_code::invalid_config, *why };
    }
    const std::string name_copy = name;
    cluster::topic_info t{ std::move(name), cluster::random_topic_id(), partitions, std::move(configs),
                           nullptr };
    // Captures are built from locals, not from this coroutine's parameters, and the
    // lambda is named rather than a temporary in the co_await: both work around GCC 12
    // coroutine bugs (see remove_on_shard0 in delete_topics.cc and topic_store.cc).
    cluster::topic_store* store = &b.topic_store_on_shard0();
    bool dry_run = validate_only;
    int16_t rf = by_default ? int16_t(-1) : replication_factor;
    auto on_shard0 = [store, t = std::move(t), rf, dry_run, replicas = std::move(replicas)]() mutable {
        return store->create(std::move(t), rf, dry_run, std::move(replicas));
    };
    auto ec = co_await b.shards().invoke_on(0, std::move(on_shard0));
    create_topic_result r{ to_kafka_error(ec), std::nullopt, replication_factor };
    if (const auto* made = b.topics()->find(name_copy);
        by_default && !ec && made != nullptr && made->placement && !made->placement->empty()) {
        r.replication_factor = int16_t(made->placement->front().replicas.size()); // as placed
    }
    if (ec == cluster::errc::controller_unavailable) {
        r.message = "the topic could not be stored";
    } else if (ec) {
        r.message = ec.message();
    }
    co_return r;
}

} // namespace chronik::kafka
