#include "cluster/topic_store.h"
#include "kafka/server/broker.h"
#include "runtime/io_worker.h"
#include "runtime/shard.h"
#include "storage/file_ops.h"
#include "storage/log_manager.h"

#include <cstdlib>
#include <filesystem>
#include <future>

#include <gtest/gtest.h>

namespace chronik::kafka {
namespace {

// Concurrent topic changes publish their snapshots shard by shard; an older one
// can reach a shard after a newer one. Every shard's table must only move forward,
// or connections on that shard lose topics others see (issue 11, item B).
TEST(broker, a_shard_never_installs_an_older_topic_table) {
    char tmpl[] = "/tmp/chronik-broker-test-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    runtime::config cfg;
    cfg.data_dir = dir;
    runtime::shard_group shards(1);
    runtime::io_worker io;
    cluster::topic_store store(dir + "/cluster", io, shards, [](unsigned, auto) {});
    auto logs = std::make_unique<storage::log_manager>(dir, io, storage::file_ops::real(),
                                                       shards.at(0).executor(), [](unsigned) {});
    broker b(cfg, shards, 0, store, std::move(logs));

    auto v0 = std::make_shared<const cluster::topic_table>();
    auto v1 = v0->with(cluster::topic_info{ "first", cluster::random_topic_id(), 1, {} });
    auto v2 = v1->with(cluster::topic_info{ "second", cluster::random_topic_id(), 1, {} });
    std::promise<std::pair<uint64_t, bool>> seen;
    asio::post(shards.at(0).executor(), [&] {
        b.set_topics(v2);
        b.set_topics(v1); // late: dropped
        seen.set_value({ b.topics()->version(), b.topics()->find("second") != nullptr });
    });
    auto [version, has_second] = seen.get_future().get();
    EXPECT_EQ(version, v2->version());
    EXPECT_TRUE(has_second);
    shards.stop();
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace chronik::kafka
