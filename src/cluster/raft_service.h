#pragma once
// A shard's Raft groups that have peers, and their traffic (CLUSTER.md "Transport").
//
// Outgoing: every message a group hands over is queued for its destination (a
// node and the shard there that holds the replica); once per turn of the event
// loop each destination's queue leaves as one rpc frame (raft_wire), so one
// tick's heartbeats of every group cost one frame per node pair and shard. At
// most `max_frames_in_flight` frames to one destination wait for their answers;
// more are dropped, as Raft tolerates (the core resends), so a dead or slow peer
// costs bounded memory.
//
// Incoming: the node's rpc server hands a frame addressed to this shard to
// deliver(), which decodes it and steps each message's group.
//
// Ticks: one timer for the shard, armed while it holds groups; each tick ticks
// every group. Owned by, and used on, one shard.
#include "base/bytes.h"
#include "base/result.h"
#include "cluster/partition.h"
#include "cluster/raft_wire.h"
#include "rpc/client.h"
#include "runtime/asio.h"
#include "runtime/gate.h"
#include "runtime/owner.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace chronik::cluster {

// Every group of a shard ticks at once, so the tick is what an idle node spends:
// with 100 ms ticks and 300 ms heartbeats an idle node with 300 replicas uses
// under 1% of a core; a leader that dies is replaced within 1 to 2 s.
struct raft_timing {
    std::chrono::milliseconds tick{ 100 };
    int election_ticks = 10; // an election timeout in [10, 20) ticks: 1 to 2 s
    int heartbeat_ticks = 3;
    std::chrono::milliseconds call_timeout{ 2'000 };
};

class raft_service final : public raft_transport {
public:
    // The rpc method carrying Raft frames for shard s of the receiving node.
    static constexpr uint16_t method_base = 0x100;
    static constexpr uint16_t method_for(model::shard_id s) { return uint16_t(method_base + s()); }
    static constexpr size_t max_frames_in_flight = 32;

    raft_service(asio::any_io_executor ex, model::node_id self, rpc::connection_pool* pool, raft_timing t);
    ~raft_service() override;
    raft_service(const raft_service&) = delete;
    raft_service& operator=(const raft_service&) = delete;

    // The partition's group is ticked and receives its messages until removed (or
    // destroyed: the service holds it weakly).
    void add(const std::shared_ptr<partition>& p);
    void remove(int64_t group, const partition* p);

    // raft_transport: queues `m` for `to`.
    void send(replica_placement to, int64_t group, raft::message m) override;

    // A frame from a peer, for this shard: each message steps its group (messages
    // for groups not here, or not for this node, are dropped). invalid_request for
    // a frame a correct peer never sends.
    result<void> deliver(byte_slice frame);

    // Stops ticking and sending, and waits for frames in flight to end.
    awaitable<void> stop();

    const raft_timing& timing() const noexcept { return _timing; }
    // The shard's connection pool, for the other traffic between nodes.
    rpc::connection_pool* pool() const noexcept { return _pool; }
    size_t groups() const noexcept { return _groups.size(); }
    // For tests and metrics.
    uint64_t frames_sent() const noexcept { return _frames_sent; }
    uint64_t frames_dropped() const noexcept { return _frames_dropped; }

private:
    using destination = std::pair<model::node_id, model::shard_id>;
    void flush();
    awaitable<void> flush_soon(runtime::gate::holder);
    awaitable<void> send_frame(destination to, iobuf frame, runtime::gate::holder);
    awaitable<void> tick_loop(runtime::gate::holder);

    asio::any_io_executor _ex;
    model::node_id _self;
    rpc::connection_pool* _pool;
    raft_timing _timing;
    std::map<int64_t, std::weak_ptr<partition>> _groups;
    std::map<destination, std::vector<addressed_message>> _out;
    std::map<destination, size_t> _in_flight;
    bool _flush_posted = false;
    bool _ticking = false;
    bool _stopped = false;
    std::unique_ptr<asio::steady_timer> _tick_timer;
    uint64_t _frames_sent = 0;
    uint64_t _frames_dropped = 0;
    runtime::gate _gate;
    runtime::shard_owned _owner;
};

} // namespace chronik::cluster
