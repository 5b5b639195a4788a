#include "raft_group.h"

#include <stdexcept>

namespace chronik::bench {

raft_group::raft_group() {
    raft::configuration c;
    for (int i = 1; i <= 3; ++i) {
        c.voters.insert(raft::node_id{ i });
    }
    for (int i = 1; i <= 3; ++i) {
        raft::options o;
        o.id = raft::node_id{ i };
        o.seed = uint64_t(i);
        o.max_inflight = 256;
        raft::restored_state st;
        st.snapshot.meta.config = c;
        _nodes[i] = std::make_unique<raft::node>(o, st);
    }
    for (int t = 0; t < 100 && _leader == 0; ++t) {
        _nodes[1]->tick(); // only node 1's clock runs: it campaigns first, deterministically
        pump();
        if (_nodes[1]->role() == raft::role::leader) {
            _leader = 1;
        }
    }
    if (_leader == 0) {
        throw std::runtime_error("raft_group: no leader");
    }
}

void raft_group::pump() {
    for (bool busy = true; busy;) {
        busy = false;
        for (auto& [id, n] : _nodes) {
            while (n->has_ready()) {
                busy = true;
                auto r = n->take_ready();
                if (!r.entries.empty()) {
                    n->persisted(r.entries.back().index, r.entries.back().term);
                }
                for (auto& m : r.messages) {
                    _wire.push_back(std::move(m));
                }
                for (auto& m : r.messages_after_persist) {
                    _wire.push_back(std::move(m));
                }
                if (id == _leader) {
                    _applied += r.committed.size();
                }
            }
        }
        auto wire = std::move(_wire);
        _wire.clear();
        for (auto& m : wire) {
            busy = true;
            const auto to = m.to();
            _nodes[to]->step(std::move(m));
        }
    }
}

uint64_t raft_group::commit(size_t n, size_t size) {
    uint64_t before = _applied;
    auto payload = raft::make_payload(bytes(size, 0x42));
    auto& l = *_nodes[_leader];
    for (size_t k = 0; k < n; ++k) {
        if (!l.propose(payload)) {
            throw std::runtime_error("raft_group: proposal refused");
        }
    }
    pump();
    auto last = l.log().last_index();
    for (auto& [id, node] : _nodes) {
        if (node->applied() < last) {
            throw std::runtime_error("raft_group: not applied everywhere");
        }
        // Keep the in-memory log short, as a driver with snapshots would.
        node->compact(node->applied(), nullptr);
    }
    return _applied - before;
}

} // namespace chronik::bench
