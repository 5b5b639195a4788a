#pragma once
// One in-memory three-node Raft group for chronik-microbench: a perfect network
// and instant disks, so what is measured is the core's own cost per entry
// (proposal, replication messages, acks, commit, apply) on all three nodes.
#include "raft/node.h"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace chronik::bench {

class raft_group {
public:
    raft_group();
    // Proposes `n` entries of `size` bytes at the leader and runs the group until
    // every node applied them. Returns the entries applied by the leader.
    uint64_t commit(size_t n, size_t size);

private:
    void pump();
    std::map<int, std::unique_ptr<raft::node>> _nodes;
    int _leader = 0;
    uint64_t _applied = 0;
    std::vector<raft::message> _wire;
};

} // namespace chronik::bench
