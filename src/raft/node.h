#pragma once
// One member of one Raft group, as a pure state machine (DESIGN.md principle 7):
// it does no I/O, reads no clock and holds no global state. The driver feeds it
// ticks, peer messages, proposals and "persisted up to N" reports, and drains a
// `ready` after each (see types.h for the driver's duties, in order).
//
// Implemented (Ongaro & Ousterhout 2014, "In Search of an Understandable Consensus
// Algorithm", and Ongaro's thesis 2014):
//   - election with randomized timeouts (§5.2), pre-vote (thesis §9.6) and
//     check-quorum (§6.2: a leader that has not heard from a majority within an
//     election timeout steps down; followers ignore votes while they hear a leader);
//   - replication (§5.3) with pipelining and per-follower flow control, fast
//     conflict back-off by term, commit only of current-term entries (§5.4.2);
//   - durability: votes and acks leave only after the driver made their state
//     durable; the leader counts itself in a quorum only up to what it persisted
//     (thesis §10.2.1: it may write its own disk in parallel with replication);
//   - snapshots (§7) sent in bounded chunks;
//   - single-server membership changes with learners (thesis §4.1, §4.2.1);
//   - leadership transfer with TimeoutNow (thesis §3.10);
//   - linearizable reads by ReadIndex (thesis §6.4) or leader lease (§6.4.1),
//     forwarded to the leader from followers.
#include "raft/errc.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/types.h"

#include <map>
#include <random>

namespace chronik::raft {

#ifdef CHRONIK_RAFT_FAULT_POINTS
inline constexpr bool fault_points_compiled = true;
#else
inline constexpr bool fault_points_compiled = false;
#endif

// Deliberate protocol bugs, for proving that the simulator's checkers can fail.
// They exist only in the build the simulator links (CHRONIK_RAFT_FAULT_POINTS);
// elsewhere every check below is `if constexpr (false)`.
struct fault_points {
    bool vote_without_log_check = false;        // grant votes to candidates with stale logs
    bool commit_previous_term_by_count = false; // commit an old-term entry by counting replicas
    bool ack_before_persist = false;            // ack entries (and count itself) before they are durable
    bool read_without_quorum = false;           // serve reads without confirming leadership
};

enum class read_mode : uint8_t {
    read_index, // confirm leadership with a heartbeat round per batch of reads
    lease,      // serve from the leader's lease (needs check_quorum; assumes bounded clock drift)
};

struct options {
    node_id id = no_node;
    int election_timeout = 10;  // ticks; the randomized timeout is in [this, 2 * this)
    int heartbeat_interval = 1; // ticks
    bool pre_vote = true;
    bool check_quorum = true;
    raft::read_mode read_mode = read_mode::read_index;
    size_t max_inflight = 64;                // appends in flight to one follower
    size_t max_msg_bytes = 1 << 20;          // entries per append, in bytes
    size_t max_msg_entries = 4096;           // ... and in count
    size_t max_uncommitted_bytes = 64 << 20; // proposals beyond this are dropped
    size_t snapshot_chunk_bytes = 1 << 20;
    // With an entry_reader: durable, applied entries kept in memory beyond this go
    // (followers that fall behind are fed from the reader).
    size_t cache_bytes = 4 << 20;
    // Off: ready.committed stays empty and only ready.applied says how far the log
    // may be applied (a partition's state is its log: nothing to read back).
    bool apply_entries = true;
    uint64_t seed = 0; // randomized election timeouts; the core reads no other randomness
    fault_points faults;
};

struct restored_state {
    raft::hard_state hard_state;
    raft::snapshot snapshot; // index 0 and the initial configuration for a new group
    // Without a reader: everything durable after the snapshot. With one: a tail of
    // it to hold in memory (possibly empty); the rest is described below.
    std::vector<entry> entries;
    entry_reader* reader = nullptr;
    std::vector<term_start> terms; // with a reader: where each term after the snapshot starts
    log_index last_index{ 0 };     // with a reader: the last durable index
    std::vector<entry> configs;    // with a reader: the config entries after the snapshot
};

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
const char* to_string(role r) noexcept;

struct status {
    node_id id = no_node;
    raft::role role = role::follower;
    term_id term{ 0 };
    node_id leader = no_node;
    log_index commit{ 0 };
    log_index applied{ 0 };
    log_index last_index{ 0 };
    log_index stable{ 0 };
    uint64_t elections = 0;      // campaigns started (pre-vote or vote)
    uint64_t leader_changes = 0; // times the known leader changed
};

class node {
public:
    node(options opts, restored_state state);

    // One logical clock tick: election and heartbeat timers.
    void tick();
    // A message from a peer. Malformed or stale messages are dropped.
    void step(message m);

    // Leader only: appends a command covering `count` indexes (a batch of `count`
    // records: its offsets are the returned index's last `count`); the entry's
    // (last) index, or not_leader / transfer_in_progress / proposal_dropped.
    result<log_index> propose(payload data, int64_t count = 1);
    // Whether a proposal of `bytes` would be taken now (not dropped for
    // max_uncommitted_bytes), so a driver can check before it writes the entry.
    bool takes_proposal(size_t bytes) const noexcept {
        return _uncommitted_bytes == 0 || _uncommitted_bytes + bytes <= _opts.max_uncommitted_bytes;
    }
    // Leader only: the next membership (at most one voter added or removed).
    result<log_index> propose_config(configuration next);
    // A linearizable read; its read_state arrives in a later ready.
    result<void> read_index(uint64_t context);
    // Leader only: hands leadership to `target` once it is caught up.
    result<void> transfer_leadership(node_id target);
    // A transfer is under way: proposals are refused until it ends.
    bool transferring() const noexcept { return _transfer_target != no_node; }
    // Starts an election now rather than at the election timeout (a group that
    // has just been opened, or a preferred leader). A sole voter leads at once.
    result<void> campaign();

    // The driver made the log durable up to `index` (which has term `term`).
    void persisted(log_index index, term_id term);
    // The state machine's image at `index` (<= applied): entries up to it may go.
    void compact(log_index index, payload data);

    bool has_ready() const noexcept;
    ready take_ready();

    node_id id() const noexcept { return _opts.id; }
    raft::role role() const noexcept { return _role; }
    term_id term() const noexcept { return _hs.term; }
    node_id leader() const noexcept { return _leader; }
    log_index commit() const noexcept { return _commit; }
    log_index applied() const noexcept { return _applied; }
    const configuration& config() const noexcept { return _config; }
    const raft_log& log() const noexcept { return _log; }
    raft::status status() const noexcept;
    // Leader: its view of a follower (null for itself, a non-member, or when not leading).
    const progress* progress_of(node_id n) const noexcept {
        auto it = _peers.find(n);
        return _role == role::leader && it != _peers.end() ? &it->second : nullptr;
    }

private:
    bool faulty(bool fault_points::*f) const noexcept {
        if constexpr (fault_points_compiled) {
            return _opts.faults.*f;
        } else {
            return false;
        }
    }

    void become_follower(term_id term, node_id leader);
    void become_pre_candidate();
    void become_candidate(bool transfer);
    void become_leader();
    void campaign(bool pre, bool transfer);
    void set_term(term_id t);
    void set_leader(node_id n);
    void reset_timers();

    void send(message m);
    void heard_from_leader(node_id leader);
    progress* responding_peer(const message& m);
    void deliver_read(node_id from, uint64_t context, log_index index);
    void on_vote_request(const message& m);
    void on_vote_response(const message& m);
    void on_append(message m);
    void on_append_response(const message& m);
    void on_heartbeat(const message& m);
    void on_heartbeat_response(const message& m);
    void on_snapshot(const message& m);
    void on_snapshot_response(const message& m);
    void on_read_index(const message& m);
    void on_read_index_response(const message& m);
    void on_timeout_now(const message& m);

    void append_local(std::vector<entry> es);
    void maybe_send_append(node_id to, bool send_empty);
    void send_snapshot_chunk(node_id to, progress& p);
    void broadcast_append();
    void broadcast_heartbeat();
    bool maybe_commit();
    void advance_commit(log_index c);
    void release_reads();
    void serve_read(node_id from, uint64_t context, log_index index);
    void fail_pending_reads();
    bool lease_valid() const noexcept;
    bool committed_in_current_term() const noexcept;
    // The configuration has one voter, this node.
    bool sole_voter() const noexcept { return _config.voters.size() == 1 && _config.is_voter(_opts.id); }
    log_index self_match() const noexcept;

    void apply_config_from_log();
    void set_config(const configuration& c);
    configuration config_at(log_index i) const;

    options _opts;
    std::mt19937_64 _rng;
    hard_state _hs;
    hard_state _handed_hs; // the hard state last handed to the driver in a ready
    raft_log _log;
    raft::role _role = role::follower;
    node_id _leader = no_node;
    log_index _commit{ 0 };
    log_index _applied{ 0 };
    configuration _config;
    // Config entries still in the log (index -> config), above the snapshot's.
    std::map<log_index, configuration> _config_log;
    log_index _pending_config{ 0 }; // leader: the last config entry it appended

    int _election_elapsed = 0;
    int _heartbeat_elapsed = 0;
    int _randomized_timeout = 0;
    int64_t _now = 0; // ticks since start, for the lease

    std::map<node_id, progress> _peers; // leader: every member but itself
    std::map<node_id, bool> _votes;
    node_id _transfer_target = no_node;
    int _transfer_elapsed = 0;
    bool _lease_disabled = false; // this term, after a TimeoutNow went out
    size_t _uncommitted_bytes = 0;
    bool _need_broadcast = false;  // leader: new entries or commit to send, at take_ready
    bool _need_read_round = false; // leader: reads wait for a heartbeat round

    // ReadIndex (leader): heartbeat rounds and the reads waiting on them.
    struct pending_read {
        node_id from;
        uint64_t context;
        log_index index;
        uint64_t round;
    };
    uint64_t _round = 0;
    std::map<uint64_t, int64_t> _round_sent; // round -> tick it was sent (for the lease)
    std::deque<pending_read> _reads;         // in round order
    std::vector<std::pair<node_id, uint64_t>> _reads_before_commit; // until a current-term commit

    // Snapshot: ours (to send) and one being received.
    snapshot _snapshot;
    bytes _incoming;
    snapshot_meta _incoming_meta;

    ready _ready;
    uint64_t _elections = 0;
    uint64_t _leader_changes = 0;
};

} // namespace chronik::raft
