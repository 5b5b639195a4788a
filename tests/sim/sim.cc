#include "sim.h"

#include "base/endian.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <sstream>

namespace chronik::sim {

namespace {

using raft::log_index;
using raft::node_id;
using raft::term_id;

constexpr int64_t tick_us = 1000; // one Raft tick of simulated time
constexpr int max_nodes = 7;      // up to 5 voters and 2 spares for membership changes

struct prng {
    std::mt19937_64 g;
    explicit prng(uint64_t seed) : g(seed) {}
    int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(g() % uint64_t(hi - lo + 1)); } // [lo, hi]
    bool chance(double p) { return double(g() % 1000000) < p * 1e6; }
};

uint64_t hash_entry(const raft::entry& e) {
    uint64_t h = (1469598103934665603ULL ^ uint64_t(e.type)) * 1099511628211ULL ^ uint64_t(e.count);
    if (e.data) {
        for (auto b : *e.data) {
            h = (h ^ b) * 1099511628211ULL;
        }
    }
    return h;
}

// The replicated state machine: how many entries were applied and a chained hash
// of them, so two nodes' states at the same index compare in O(1).
struct sm_state {
    log_index index{ 0 };
    uint64_t hash = 0;
};
constexpr size_t sm_image_size = 48; // padded so snapshots travel in several chunks
bytes encode_sm(const sm_state& s) {
    bytes b(sm_image_size, 0xab);
    store_be<int64_t>(b.data(), s.index());
    store_be<uint64_t>(b.data() + 8, s.hash);
    return b;
}
sm_state decode_sm(const raft::payload& p) {
    if (!p || p->size() != sm_image_size) {
        return {};
    }
    return { log_index{ load_be<int64_t>(p->data()) }, load_be<uint64_t>(p->data() + 8) };
}

struct write_op {
    enum class kind { hard_state, snapshot, entries } k;
    raft::hard_state hs;
    raft::snapshot snap;
    bool resets = false;
    std::vector<raft::entry> es;
    uint64_t seq = 0;

    static write_op of(const raft::hard_state& h) { return { kind::hard_state, h, {}, false, {}, 0 }; }
    static write_op of(const raft::snapshot& s, bool resets) {
        return { kind::snapshot, {}, s, resets, {}, 0 };
    }
    static write_op of(const std::vector<raft::entry>& es) { return { kind::entries, {}, {}, false, es, 0 }; }
};

// What a node's disk holds durably.
struct image {
    raft::hard_state hs;
    raft::snapshot snap;
    std::vector<raft::entry> log; // contiguous after snap.meta.index

    log_index last_index() const { return log.empty() ? snap.meta.index : log.back().index; }
    term_id last_term() const { return log.empty() ? snap.meta.term : log.back().term; }

    // `keep`: how many of an entries write survive (a torn write keeps a prefix).
    void apply(const write_op& w, size_t keep = SIZE_MAX) {
        switch (w.k) {
            case write_op::kind::hard_state:
                hs = w.hs;
                break;
            case write_op::kind::snapshot:
                snap = w.snap;
                if (w.resets) {
                    log.clear();
                } else {
                    std::erase_if(log, [&](const raft::entry& e) { return e.index <= snap.meta.index; });
                    if (!log.empty() && log.front().base() != snap.meta.index + 1) {
                        log.clear();
                    }
                }
                break;
            case write_op::kind::entries: {
                if (w.es.empty() || keep == 0) {
                    break;
                }
                log_index from = w.es.front().base();
                std::erase_if(log, [&](const raft::entry& e) { return e.index >= from; });
                if (from != last_index() + 1) {
                    break; // a gap can only follow an earlier torn write: nothing after it survives
                }
                for (size_t k = 0; k < w.es.size() && k < keep; ++k) {
                    log.push_back(w.es[k]);
                }
                break;
            }
        }
    }
};

// The node's stored log as the core reads it back (the partition log's role):
// whatever the disk holds durably now.
struct disk_reader final : raft::entry_reader {
    const image* disk = nullptr;
    uint64_t reads = 0;
    std::vector<raft::entry> read(log_index from, size_t max_bytes, size_t max_count) override {
        ++reads;
        std::vector<raft::entry> out;
        auto it = std::lower_bound(disk->log.begin(), disk->log.end(), from,
                                   [](const raft::entry& e, log_index v) { return e.index < v; });
        size_t bytes = 0;
        for (; it != disk->log.end() && out.size() < max_count; ++it) {
            if (!out.empty() && bytes + it->size_bytes() > max_bytes) {
                break;
            }
            bytes += it->size_bytes();
            out.push_back(*it);
        }
        return out;
    }
};

struct sim_node {
    node_id id{ 0 };
    bool created = false;
    bool up = false;
    uint64_t epoch = 0;
    std::unique_ptr<raft::node> core;
    image durable;
    disk_reader reader;
    std::deque<write_op> pending; // written, not yet synced
    uint64_t written = 0;
    uint64_t synced = 0;
    bool syncing = false;
    std::deque<std::pair<uint64_t, std::vector<raft::message>>> deferred; // (write seq, messages)
    sm_state sm;
    log_index last_commit{ 0 };
    std::map<uint64_t, log_index> reads_waiting; // context -> read index
    raft::role last_role = raft::role::follower;
};

enum class ev_kind { tick, deliver, sync, nemesis, client, heal_all };

struct event {
    int64_t at = 0;
    uint64_t seq = 0;
    ev_kind k = ev_kind::tick;
    int node = 0;
    uint64_t epoch = 0;
    uint64_t cover = 0;
    raft::message msg;
};
event make_event(int64_t at, ev_kind k, int node, uint64_t epoch, uint64_t cover, raft::message m = {}) {
    event e;
    e.at = at;
    e.k = k;
    e.node = node;
    e.epoch = epoch;
    e.cover = cover;
    e.msg = std::move(m);
    return e;
}
struct later {
    bool operator()(const event& a, const event& b) const {
        return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
};

struct op_record {
    bool read = false;
    int node = 0;
    uint64_t epoch = 0;
    int64_t invoke = 0;
    int64_t complete = -1;
    log_index index{ 0 }; // write: where it was applied; read: the state it observed
};

class simulation {
public:
    explicit simulation(const scenario& s) : _s(s), _rng(s.seed * 0x2545F4914F6CDD1DULL + 7) {
        _voters = s.voters ? s.voters : (_rng.chance(0.5) ? 3 : 5);
        if (s.leader_hunt) {
            _voters = 3;
        }
        // Raft needs broadcast time << election timeout (§5.6): the worst round trip
        // here (persist, send, persist, send) is about 8 ticks.
        _opts.election_timeout = int(_rng.range(10, 20));
        _opts.heartbeat_interval = 1;
        _opts.pre_vote = _rng.chance(0.7);
        _opts.check_quorum = _rng.chance(0.8);
        _opts.read_mode =
          _opts.check_quorum && _rng.chance(0.4) ? raft::read_mode::lease : raft::read_mode::read_index;
        // Small windows exercise flow control, yet let a follower outpace the clients.
        _opts.max_inflight = size_t(_rng.range(1, 8));
        _opts.max_msg_entries = size_t(_rng.range(1, 16));
        _opts.max_msg_bytes = size_t(_rng.range(128, 1024));
        _opts.snapshot_chunk_bytes = size_t(_rng.range(8, 64));
        // Entries leave memory once durable and applied beyond this: lagging
        // followers are fed from the disk.
        _opts.cache_bytes = size_t(_rng.range(0, 4096));
        _opts.faults = s.faults;
        if (s.leader_hunt) {
            _opts.max_msg_entries = 1;
        }
        _drop = _rng.chance(0.5) ? double(_rng.range(0, 100)) / 1000.0 : 0.0;
        _dup = _rng.chance(0.3) ? double(_rng.range(0, 50)) / 1000.0 : 0.0;
        _max_delay = _rng.range(200, 2000);
        _max_disk = _rng.range(100, 2000);
        _compact_every = _rng.range(4, 40);
        _crash_rate = double(_rng.range(2, 20)) / 100.0;
    }

    outcome run() {
        raft::configuration initial;
        for (int i = 1; i <= _voters; ++i) {
            initial.voters.insert(node_id{ i });
        }
        for (int i = 1; i <= max_nodes; ++i) {
            _nodes[i].id = node_id{ i };
        }
        for (int i = 1; i <= _voters; ++i) {
            _nodes[i].durable.snap.meta.config = initial;
            start(i);
        }
        _fault_end = int64_t(_s.fault_ticks) * tick_us;
        _deadline = _fault_end + int64_t(_s.liveness_timeouts) * _opts.election_timeout * tick_us;
        schedule(make_event(_rng.range(1, 3) * tick_us, ev_kind::nemesis, 0, 0, 0));
        schedule(make_event(_rng.range(100, 800), ev_kind::client, 0, 0, 0));
        schedule(make_event(_fault_end, ev_kind::heal_all, 0, 0, 0));

        while (!_q.empty() && _out.ok && !_live) {
            event e = _q.top();
            _q.pop();
            _now = e.at;
            if (_now > _deadline) {
                fail("liveness: no new proposal committed within " + std::to_string(_s.liveness_timeouts) +
                     " election timeouts after faults stopped");
                break;
            }
            ++_out.events;
            handle(std::move(e));
        }
        for (int n = 1; n <= max_nodes && _out.ok; ++n) {
            check_log_matching(n);
        }
        if (_out.ok) {
            check_linearizable();
        }
        if (_out.ok && !_live) {
            fail("liveness: the simulation ran out of events");
        }
        for (int n = 1; n <= max_nodes; ++n) {
            _out.disk_reads += _nodes[n].reader.reads;
        }
        return _out;
    }

private:
    // ---- plumbing ------------------------------------------------------------------
    void schedule(event e) {
        e.seq = ++_seq;
        _q.push(std::move(e));
    }

    void trace(const std::string& what) {
        if (_s.verbose) {
            std::printf("%9lld  %s\n", (long long)_now, what.c_str());
        }
    }

    void fail(const std::string& what) {
        if (!_out.ok) {
            return;
        }
        _out.ok = false;
        std::ostringstream o;
        o << "seed " << _s.seed << " at t=" << _now << "us: " << what;
        _out.failure = o.str();
        trace("FAIL " + what);
    }

    raft::options options_for(int n) {
        raft::options o = _opts;
        o.id = node_id{ n };
        o.seed = _s.seed * 31 + uint64_t(n) + 1000 * _nodes[n].epoch;
        return o;
    }

    void start(int n) {
        auto& sn = _nodes[n];
        sn.created = true;
        sn.up = true;
        ++sn.epoch;
        // Restarted as a partition's group is: term starts, the last index and the
        // config entries from the disk, a random tail of it in memory, the rest read
        // back through the reader when needed.
        raft::restored_state st;
        st.hard_state = sn.durable.hs;
        st.snapshot = sn.durable.snap;
        st.reader = &sn.reader;
        sn.reader.disk = &sn.durable;
        st.last_index = sn.durable.last_index();
        for (const auto& e : sn.durable.log) {
            if (st.terms.empty() || e.term > st.terms.back().term) {
                st.terms.push_back({ e.term, e.base() });
            }
            if (e.type == raft::entry_type::config) {
                st.configs.push_back(e);
            }
        }
        size_t tail = size_t(_rng.range(0, int64_t(sn.durable.log.size())));
        st.entries.assign(sn.durable.log.end() - ptrdiff_t(tail), sn.durable.log.end());
        sn.core = std::make_unique<raft::node>(options_for(n), std::move(st));
        sn.sm = decode_sm(sn.durable.snap.data);
        sn.sm.index = sn.durable.snap.meta.index; // index 0 has no image
        sn.last_commit = sn.core->commit();
        sn.pending.clear();
        sn.deferred.clear();
        sn.written = sn.synced = 0;
        sn.syncing = false;
        sn.reads_waiting.clear();
        sn.last_role = raft::role::follower;
        trace("node " + std::to_string(n) + " starts at term " + std::to_string(sn.core->term()()) +
              ", log " + std::to_string(sn.core->log().last_index()()));
        schedule(make_event(_now + _rng.range(1, tick_us), ev_kind::tick, n, sn.epoch, 0));
    }

    void crash(int n) {
        auto& sn = _nodes[n];
        // The disk may have written some of what was not yet synced: a prefix, the
        // last write possibly torn.
        size_t keep = size_t(_rng.range(0, int64_t(sn.pending.size())));
        for (size_t k = 0; k < keep && k < sn.pending.size(); ++k) {
            bool last = k + 1 == keep;
            const auto& w = sn.pending[k];
            size_t torn = last && w.k == write_op::kind::entries && _rng.chance(0.5)
                            ? size_t(_rng.range(0, int64_t(w.es.size())))
                            : SIZE_MAX;
            sn.durable.apply(w, torn);
        }
        sn.pending.clear();
        sn.deferred.clear();
        sn.core.reset();
        sn.up = false;
        ++sn.epoch;
        ++_out.crashes;
        trace("node " + std::to_string(n) + " crashes (kept " + std::to_string(keep) + " unsynced writes)");
    }

    void send_all(std::vector<raft::message>& ms) {
        for (auto& m : ms) {
            int from = m.from(), to = m.to();
            if (to < 1 || to > max_nodes || _blocked[from][to] || _rng.chance(_drop)) {
                continue;
            }
            int copies = _rng.chance(_dup) ? 2 : 1;
            for (int c = 0; c < copies; ++c) {
                schedule(make_event(_now + _rng.range(50, _max_delay), ev_kind::deliver, to, 0, 0, m));
            }
        }
    }

    // ---- events ---------------------------------------------------------------------
    void handle(event e) {
        switch (e.k) {
            case ev_kind::tick: {
                auto& sn = _nodes[e.node];
                if (!sn.up || sn.epoch != e.epoch) {
                    return;
                }
                sn.core->tick();
                drain(e.node);
                schedule(make_event(_now + tick_us, ev_kind::tick, e.node, e.epoch, 0));
                if (_now >= _fault_end) {
                    liveness_probe();
                }
                return;
            }
            case ev_kind::deliver: {
                auto& sn = _nodes[e.node];
                if (!sn.up) {
                    return;
                }
                if (_s.verbose) {
                    trace("node " + std::to_string(e.node) + " <- " + std::to_string(e.msg.from()) + " " +
                          raft::to_string(e.msg.type) + " term " + std::to_string(e.msg.term()) + " idx " +
                          std::to_string(e.msg.index()) + " n " + std::to_string(e.msg.entries.size()) +
                          (e.msg.reject ? " reject" : ""));
                }
                sn.core->step(std::move(e.msg));
                drain(e.node);
                return;
            }
            case ev_kind::sync:
                on_sync(e.node, e.epoch, e.cover);
                return;
            case ev_kind::nemesis:
                if (_now < _fault_end) {
                    nemesis();
                    int64_t gap = _s.leader_hunt ? _rng.range(1, 3) : _rng.range(1, 6);
                    schedule(make_event(_now + gap * tick_us, ev_kind::nemesis, 0, 0, 0));
                }
                return;
            case ev_kind::client:
                client();
                schedule(make_event(_now + _rng.range(100, 1500), ev_kind::client, 0, 0, 0));
                return;
            case ev_kind::heal_all:
                trace("faults stop: heal, restart every node");
                for (auto& row : _blocked) {
                    std::fill(std::begin(row), std::end(row), false);
                }
                _drop = _dup = 0;
                for (int n = 1; n <= max_nodes; ++n) {
                    if (_nodes[n].created && !_nodes[n].up) {
                        start(n);
                    }
                }
                return;
        }
    }

    void on_sync(int n, uint64_t epoch, uint64_t cover) {
        auto& sn = _nodes[n];
        if (!sn.up || sn.epoch != epoch) {
            return;
        }
        while (!sn.pending.empty() && sn.pending.front().seq <= cover) {
            sn.durable.apply(sn.pending.front());
            sn.pending.pop_front();
        }
        sn.synced = cover;
        sn.syncing = false;
        sn.core->persisted(sn.durable.last_index(), sn.durable.last_term());
        while (!sn.deferred.empty() && sn.deferred.front().first <= sn.synced) {
            send_all(sn.deferred.front().second);
            sn.deferred.pop_front();
        }
        drain(n);
    }

    void write(sim_node& sn, write_op w) {
        w.seq = ++sn.written;
        sn.pending.push_back(std::move(w));
    }

    void drain(int n) {
        auto& sn = _nodes[n];
        while (_out.ok && sn.core->has_ready()) {
            raft::ready r = sn.core->take_ready();
            if (r.hard_state) {
                write(sn, write_op::of(*r.hard_state));
            }
            if (r.snapshot) {
                ++_out.snapshots_installed;
                check_snapshot(n, *r.snapshot);
                write(sn, write_op::of(*r.snapshot, r.snapshot_resets_log));
                sn.sm = decode_sm(r.snapshot->data);
            }
            if (!r.entries.empty()) {
                check_entries(n, r.entries);
                check_log_matching(n);
                write(sn, write_op::of(r.entries));
            }
            send_all(r.messages);
            if (!r.messages_after_persist.empty()) {
                if (sn.written <= sn.synced) {
                    send_all(r.messages_after_persist);
                } else {
                    sn.deferred.emplace_back(sn.written, std::move(r.messages_after_persist));
                }
            }
            if (sn.written > sn.synced && !sn.syncing) {
                sn.syncing = true;
                schedule(
                  make_event(_now + _rng.range(20, _max_disk), ev_kind::sync, n, sn.epoch, sn.written));
            }
            for (auto& e : r.committed) {
                apply(n, e);
            }
            for (auto& rs : r.reads) {
                on_read_state(n, rs);
            }
            finish_reads(n);
            check_node(n);
        }
        // Snapshot the state machine now and then, so lagging nodes need InstallSnapshot.
        if (_out.ok && sn.sm.index() - sn.core->log().snapshot().index() >= _compact_every &&
            sn.sm.index <= sn.core->log().stable()) {
            sn.core->compact(sn.sm.index, raft::make_payload(encode_sm(sn.sm)));
            write(sn, write_op::of(
                        raft::snapshot{ sn.core->log().snapshot(), raft::make_payload(encode_sm(sn.sm)) },
                        false));
            if (!sn.syncing) {
                sn.syncing = true;
                schedule(
                  make_event(_now + _rng.range(20, _max_disk), ev_kind::sync, n, sn.epoch, sn.written));
            }
        }
    }

    // ---- the state machine and the clients --------------------------------------------
    void apply(int n, const raft::entry& e) {
        auto& sn = _nodes[n];
        if (e.base() != sn.sm.index + 1) {
            fail("node " + std::to_string(n) + " applied an entry starting at " + std::to_string(e.base()()) +
                 " after " + std::to_string(sn.sm.index()));
            return;
        }
        uint64_t h = hash_entry(e);
        auto [it, fresh] = _applied.try_emplace(e.index, std::make_pair(e.term, h));
        if (!fresh && (it->second.first != e.term || it->second.second != h)) {
            fail("state machine safety: node " + std::to_string(n) + " applied a different entry at index " +
                 std::to_string(e.index()) + " (term " + std::to_string(e.term()) + " vs " +
                 std::to_string(it->second.first()) + ")");
            return;
        }
        if (fresh) {
            ++_out.commits;
            _out.wide_entries += e.count > 1 ? 1 : 0;
            if (e.type == raft::entry_type::config) {
                ++_out.config_changes;
            }
        }
        sn.sm.index = e.index;
        sn.sm.hash = sn.sm.hash * 1000003ULL ^ h;
        auto [hit, hfresh] = _sm_hash.try_emplace(e.index, sn.sm.hash);
        if (!hfresh && hit->second != sn.sm.hash) {
            fail("state machine safety: node " + std::to_string(n) + " state differs at index " +
                 std::to_string(e.index()));
            return;
        }
        if (e.type == raft::entry_type::normal && e.data && e.data->size() >= 8) {
            uint64_t id = load_be<uint64_t>(e.data->data());
            if (id == _probe_id && _probe_id != 0 && n == _probe_node) {
                _live = true;
                trace("liveness probe committed at index " + std::to_string(e.index()));
            }
            auto op = _ops.find(id);
            if (op != _ops.end() && !op->second.read && op->second.node == n &&
                op->second.epoch == sn.epoch && op->second.complete < 0) {
                op->second.complete = _now;
                op->second.index = e.index;
                ++_out.writes_acked;
            }
        }
    }

    void on_read_state(int n, const raft::read_state& rs) {
        auto& sn = _nodes[n];
        auto op = _ops.find(rs.context);
        if (op == _ops.end() || op->second.node != n || op->second.epoch != sn.epoch || !rs.ok) {
            return;
        }
        sn.reads_waiting[rs.context] = rs.index;
    }

    void finish_reads(int n) {
        auto& sn = _nodes[n];
        for (auto it = sn.reads_waiting.begin(); it != sn.reads_waiting.end();) {
            if (it->second <= sn.sm.index) {
                auto& op = _ops[it->first];
                op.complete = _now;
                op.index = sn.sm.index;
                ++_out.reads_done;
                it = sn.reads_waiting.erase(it);
            } else {
                ++it;
            }
        }
    }

    int random_up_node() {
        std::vector<int> up;
        for (int n = 1; n <= max_nodes; ++n) {
            if (_nodes[n].up) {
                up.push_back(n);
            }
        }
        return up.empty() ? 0 : up[size_t(_rng.range(0, int64_t(up.size()) - 1))];
    }

    int leader_node() {
        int best = 0;
        for (int n = 1; n <= max_nodes; ++n) {
            auto& sn = _nodes[n];
            if (sn.up && sn.core->role() == raft::role::leader &&
                (best == 0 || sn.core->term() > _nodes[best].core->term())) {
                best = n;
            }
        }
        return best;
    }

    raft::payload command(uint64_t id) {
        bytes b(8 + size_t(_rng.range(0, 24)), 0x5a);
        store_be<uint64_t>(b.data(), id);
        return raft::make_payload(std::move(b));
    }

    void client() {
        int n = _rng.chance(0.6) ? leader_node() : random_up_node();
        if (n == 0) {
            return;
        }
        auto& sn = _nodes[n];
        uint64_t id = ++_next_op;
        if (_rng.chance(0.6) && _now < _fault_end) { // then only reads, and the liveness probe
            // An entry covers 1-4 indexes, as a batch covers its records' offsets.
            if (sn.core->propose(command(id), _rng.range(1, 4))) {
                _ops[id] = op_record{ false, n, sn.epoch, _now, -1, log_index{ 0 } };
            }
        } else if (sn.core->read_index(id)) {
            _ops[id] = op_record{ true, n, sn.epoch, _now, -1, log_index{ 0 } };
        }
        drain(n);
    }

    void liveness_probe() {
        if (_probe_id != 0 && _now - _probe_at < 3 * _opts.election_timeout * tick_us) {
            return;
        }
        int n = leader_node();
        if (n == 0) {
            return;
        }
        uint64_t id = ++_next_op;
        if (_nodes[n].core->propose(command(id))) {
            _probe_id = id;
            _probe_node = n;
            _probe_at = _now;
            trace("liveness probe proposed at node " + std::to_string(n));
            drain(n);
        }
    }

    // ---- faults ----------------------------------------------------------------------
    void nemesis() {
        int what = int(_rng.range(0, 99));
        if (_s.leader_hunt && what < 50) {
            int l = leader_node();
            for (int a = 1; a <= max_nodes; ++a) {
                for (int b = 1; b <= max_nodes; ++b) {
                    _blocked[a][b] = l != 0 && (a == l) != (b == l);
                }
            }
            trace(l ? "isolate leader " + std::to_string(l) : "heal");
            return;
        }
        if (what < 14) { // two-way partition: a random side (often the leader alone) against the rest
            int side = int(_rng.range(1, (1 << max_nodes) - 2));
            if (int l = leader_node(); l != 0 && _rng.chance(0.4)) {
                side = 1 << (l - 1);
            }
            for (int a = 1; a <= max_nodes; ++a) {
                for (int b = 1; b <= max_nodes; ++b) {
                    bool sa = (side >> (a - 1)) & 1, sb = (side >> (b - 1)) & 1;
                    _blocked[a][b] = sa != sb;
                }
            }
            trace("partition " + std::to_string(side));
        } else if (what < 22) { // one-way: a cannot reach b
            int a = int(_rng.range(1, max_nodes)), b = int(_rng.range(1, max_nodes));
            _blocked[a][b] = true;
            trace("one-way block " + std::to_string(a) + " -> " + std::to_string(b));
        } else if (what < 40) {
            for (auto& row : _blocked) {
                std::fill(std::begin(row), std::end(row), false);
            }
            trace("heal");
        } else if (what < 40 + int(_crash_rate * 100)) {
            int n = _rng.chance(0.4) ? leader_node() : 0;
            n = n != 0 ? n : random_up_node();
            if (n != 0) {
                crash(n);
            }
        } else if (what < 75) {
            std::vector<int> down;
            for (int n = 1; n <= max_nodes; ++n) {
                if (_nodes[n].created && !_nodes[n].up) {
                    down.push_back(n);
                }
            }
            if (!down.empty()) {
                start(down[size_t(_rng.range(0, int64_t(down.size()) - 1))]);
            }
        } else if (what < 84) {
            change_membership();
        } else if (what < 91) {
            int l = leader_node();
            if (l != 0) {
                auto voters = _nodes[l].core->config().voters;
                auto target = *std::next(voters.begin(), _rng.range(0, int64_t(voters.size()) - 1));
                trace("transfer leadership " + std::to_string(l) + " -> " + std::to_string(target()));
                (void)_nodes[l].core->transfer_leadership(target);
                drain(l);
            }
        } else {
            _drop = _rng.chance(0.5) ? double(_rng.range(0, 150)) / 1000.0 : 0.0;
            _dup = _rng.chance(0.3) ? double(_rng.range(0, 80)) / 1000.0 : 0.0;
        }
    }

    void change_membership() {
        int l = leader_node();
        if (l == 0) {
            return;
        }
        auto cfg = _nodes[l].core->config();
        int choice = int(_rng.range(0, 3));
        std::vector<node_id> outside;
        for (int n = 1; n <= max_nodes; ++n) {
            if (!cfg.is_member(node_id{ n })) {
                outside.push_back(node_id{ n });
            }
        }
        auto pick = [&](const auto& s) {
            return *std::next(s.begin(), _rng.range(0, int64_t(s.size()) - 1));
        };
        if (choice == 0 && !outside.empty()) {
            cfg.learners.insert(pick(outside));
        } else if (choice == 1 && !cfg.learners.empty() && cfg.voters.size() < 5) {
            auto n = pick(cfg.learners);
            cfg.learners.erase(n);
            cfg.voters.insert(n);
        } else if (choice == 2 && cfg.voters.size() > 3) {
            cfg.voters.erase(pick(cfg.voters));
        } else if (choice == 3 && cfg.voters.size() > 3) {
            auto n = pick(cfg.voters);
            cfg.voters.erase(n);
            cfg.learners.insert(n);
        } else {
            return;
        }
        if (_nodes[l].core->propose_config(cfg)) {
            std::string v, le;
            for (auto x : cfg.voters) {
                v += std::to_string(x()) + " ";
            }
            for (auto x : cfg.learners) {
                le += std::to_string(x()) + " ";
            }
            trace("node " + std::to_string(l) + " proposes voters [" + v + "] learners [" + le + "]");
            for (auto x : cfg.learners) {
                if (!_nodes[x()].created) {
                    start(x()); // a brand-new server: empty log, empty configuration
                }
            }
            drain(l);
        }
    }

    // ---- checkers ----------------------------------------------------------------------
    void check_entries(int n, const std::vector<raft::entry>& es) {
        for (const auto& e : es) {
            auto [it, fresh] = _entries.try_emplace({ e.index(), e.term() }, hash_entry(e));
            if (!fresh && it->second != hash_entry(e)) {
                fail("log matching: node " + std::to_string(n) + " holds a different entry at index " +
                     std::to_string(e.index()) + " term " + std::to_string(e.term()));
                return;
            }
        }
    }

    void check_snapshot(int n, const raft::snapshot& s) {
        auto sm = decode_sm(s.data);
        auto it = _sm_hash.find(s.meta.index);
        if (sm.index != s.meta.index || (it != _sm_hash.end() && it->second != sm.hash)) {
            fail("state machine safety: node " + std::to_string(n) + " installed a snapshot at index " +
                 std::to_string(s.meta.index()) + " that differs from the applied state there");
        }
    }

    void check_node(int n) {
        auto& sn = _nodes[n];
        const auto& c = *sn.core;
        if (c.commit() < sn.last_commit) {
            fail("commit index of node " + std::to_string(n) + " went back from " +
                 std::to_string(sn.last_commit()) + " to " + std::to_string(c.commit()()));
            return;
        }
        sn.last_commit = c.commit();
        if (c.role() == raft::role::leader) {
            auto [it, fresh] = _leaders.try_emplace(c.term(), c.id());
            if (!fresh && it->second != c.id()) {
                fail("election safety: nodes " + std::to_string(it->second()) + " and " + std::to_string(n) +
                     " both lead term " + std::to_string(c.term()()));
                return;
            }
            if (sn.last_role != raft::role::leader) {
                ++_out.elections;
                trace("node " + std::to_string(n) + " leads term " + std::to_string(c.term()()));
                // Leader completeness (§5.4): every committed entry is in the new leader's log.
                for (auto& [idx, te] : _applied) {
                    if (idx > c.log().snapshot().index && c.log().term_at(idx) != te.first) {
                        fail("leader completeness: node " + std::to_string(n) + " leads term " +
                             std::to_string(c.term()()) + " without committed entry " +
                             std::to_string(idx()));
                        return;
                    }
                }
            }
        }
        sn.last_role = c.role();
    }

    // Log matching (§5.3): where two logs hold an entry with the same index and
    // term, they agree on everything before it. Run whenever node a's log changed.
    void check_log_matching(int a) {
        if (!_nodes[a].up) {
            return;
        }
        for (int b = 1; b <= max_nodes; ++b) {
            if (b == a || !_nodes[b].up) {
                continue;
            }
            const auto& la = _nodes[a].core->log();
            const auto& lb = _nodes[b].core->log();
            log_index lo = std::max(la.first_index(), lb.first_index());
            log_index hi = std::min(la.last_index(), lb.last_index());
            bool agree = false;
            for (log_index i = hi; i >= lo; i = i - 1) {
                bool same = la.term_at(i) == lb.term_at(i);
                if (agree && !same) {
                    fail("log matching: nodes " + std::to_string(a) + " and " + std::to_string(b) +
                         " agree on a later entry but differ at index " + std::to_string(i()));
                    return;
                }
                agree = agree || same;
            }
        }
    }

    // Every completed operation is linearizable against this history: an op that
    // completed before another was invoked is ordered before it. A write is placed
    // at its log index; a read at the index of the state it saw.
    void check_linearizable() {
        std::vector<const op_record*> done;
        for (auto& [id, op] : _ops) {
            if (op.complete >= 0) {
                done.push_back(&op);
            }
        }
        std::sort(done.begin(), done.end(), [](auto* a, auto* b) { return a->complete < b->complete; });
        std::vector<log_index> prefix_max(done.size());
        log_index m{ 0 };
        for (size_t k = 0; k < done.size(); ++k) {
            m = std::max(m, done[k]->index);
            prefix_max[k] = m;
        }
        for (auto& [id, op] : _ops) {
            if (op.complete < 0 || !op.read) {
                continue;
            }
            // Ops completed strictly before this read was invoked.
            auto end = std::lower_bound(done.begin(), done.end(), op.invoke,
                                        [](auto* a, int64_t t) { return a->complete < t; });
            if (end == done.begin()) {
                continue;
            }
            log_index must_see = prefix_max[size_t(end - done.begin()) - 1];
            if (op.index < must_see) {
                fail("linearizability: read " + std::to_string(id) + " at node " + std::to_string(op.node) +
                     " saw index " + std::to_string(op.index()) + " but an operation at index " +
                     std::to_string(must_see()) + " completed before it was invoked");
                return;
            }
        }
    }

    scenario _s;
    prng _rng;
    int _voters = 3;
    raft::options _opts;
    double _drop = 0, _dup = 0;
    int64_t _max_delay = 1000, _max_disk = 1000, _compact_every = 20;
    double _crash_rate = 0.1;

    sim_node _nodes[max_nodes + 1];
    bool _blocked[max_nodes + 1][max_nodes + 1] = {};
    std::priority_queue<event, std::vector<event>, later> _q;
    uint64_t _seq = 0;
    int64_t _now = 0, _fault_end = 0, _deadline = 0;

    std::map<std::pair<int64_t, int64_t>, uint64_t> _entries;   // (index, term) -> entry hash
    std::map<log_index, std::pair<term_id, uint64_t>> _applied; // index -> (term, entry hash)
    std::map<log_index, uint64_t> _sm_hash;                     // index -> state hash
    std::map<term_id, node_id> _leaders;
    std::map<uint64_t, op_record> _ops;
    uint64_t _next_op = 0;
    uint64_t _probe_id = 0;
    int _probe_node = 0;
    int64_t _probe_at = 0;
    bool _live = false;
    outcome _out;
};

} // namespace

outcome run(const scenario& s) {
    simulation sim(s);
    return sim.run();
}

std::string replay_command(const scenario& s) {
    std::string cmd = "build/bin/raft-sim --seed " + std::to_string(s.seed);
    if (s.faults.vote_without_log_check) {
        cmd += " --fault vote_without_log_check";
    }
    if (s.faults.commit_previous_term_by_count) {
        cmd += " --fault commit_previous_term_by_count";
    }
    if (s.faults.ack_before_persist) {
        cmd += " --fault ack_before_persist";
    }
    if (s.faults.read_without_quorum) {
        cmd += " --fault read_without_quorum";
    }
    if (s.voters) {
        cmd += " --voters " + std::to_string(s.voters);
    }
    if (s.leader_hunt) {
        cmd += " --leader-hunt";
    }
    return cmd + " --verbose";
}

} // namespace chronik::sim
