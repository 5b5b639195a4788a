#pragma once
// The Kafka listener: one acceptor per shard on the same address (SO_REUSEPORT, so
// the kernel spreads connections over shards), each serving its connections on its
// own shard. stop() stops accepting, lets in-flight requests finish and closes.
#include "kafka/server/broker.h"
#include "runtime/config.h"
#include "runtime/io_worker.h"
#include "runtime/shard.h"
#include "runtime/uring.h"

#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace chronik::kafka {

class server {
public:
    // Each shard gets its own I/O worker for its partitions' blocking file work, so
    // one shard's slow fsync never queues behind another's.
    // `raft`: each shard's Raft transport on a cluster (empty on a single node).
    server(const runtime::config& cfg, runtime::shard_group& shards, cluster::topic_store& store,
           std::vector<cluster::raft_service*> raft = {});
    ~server();

    // Binds every shard's acceptor and starts accepting. With port 0 the first shard
    // picks a free port and the others share it. A port that another process
    // listens on is refused, even though SO_REUSEPORT would let us share it.
    // Returns the bound port, or an error message.
    result<uint16_t> start(std::string& error);
    // Drains and closes every connection, then runs each shard's final group commit;
    // blocks the calling (non-shard) thread.
    void stop();
    // Starts loading the consumer groups of the offsets partitions in the
    // background, each on its owner shard.
    void load_groups();

    broker& broker_on(unsigned shard) { return *_brokers[shard]; }

private:
    struct per_shard;
    void wait_or_force_close(std::future<void>& f);
    const runtime::config& _cfg;
    int _port_claim = -1; // see claim_port in server.cc; closed when the server is destroyed
    runtime::shard_group& _shards;
    std::vector<std::unique_ptr<runtime::io_worker>> _io; // outlive the brokers' logs
    std::vector<std::unique_ptr<runtime::uring>> _rings;  // likewise; an entry is null without io_uring
    std::vector<std::unique_ptr<broker>> _brokers;
    std::vector<std::unique_ptr<per_shard>> _per_shard;
};

} // namespace chronik::kafka
