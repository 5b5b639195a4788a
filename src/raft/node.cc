#include "raft/node.h"

#include "base/assert.h"

#include <algorithm>

namespace chronik::raft {

namespace {
bool is_vote(msg_type t) {
    return t == msg_type::vote || t == msg_type::pre_vote;
}
bool from_leader(msg_type t) {
    return t == msg_type::append || t == msg_type::heartbeat || t == msg_type::snapshot;
}
raft_log make_log(const options& o, restored_state& st) {
    if (st.reader == nullptr) {
        return raft_log(st.snapshot.meta, std::move(st.entries));
    }
    return raft_log(st.snapshot.meta, std::move(st.terms), st.last_index, std::move(st.entries), st.reader,
                    o.cache_bytes);
}
} // namespace

const char* to_string(role r) noexcept {
    switch (r) {
        case role::follower:
            return "follower";
        case role::pre_candidate:
            return "pre-candidate";
        case role::candidate:
            return "candidate";
        case role::leader:
            return "leader";
    }
    return "?";
}

node::node(options opts, restored_state st)
  : _opts(opts), _rng(opts.seed ^ (uint64_t(uint32_t(opts.id())) * 0x9E3779B97F4A7C15ULL)),
    _hs(st.hard_state), _handed_hs(st.hard_state), _log(make_log(opts, st)),
    _snapshot(std::move(st.snapshot)) {
    CHRONIK_ASSERT(_opts.election_timeout > 2 && _opts.heartbeat_interval > 0 &&
                   _opts.heartbeat_interval < _opts.election_timeout);
    _commit = _applied = _log.snapshot().index;
    auto configs = st.reader == nullptr ? _log.between(_log.snapshot().index, _log.last_index()) : st.configs;
    for (const auto& e : configs) {
        if (e.type == entry_type::config && e.index > _log.snapshot().index && e.index <= _log.last_index()) {
            auto c = decode_config(e.data ? std::span<const uint8_t>(*e.data) : std::span<const uint8_t>());
            CHRONIK_ASSERT(c.has_value(), "a config entry in our own log does not decode");
            _config_log[e.index] = std::move(c.value());
        }
    }
    apply_config_from_log();
    reset_timers();
}

// ---- roles ------------------------------------------------------------------------

void node::set_term(term_id t) {
    if (t != _hs.term) {
        CHRONIK_ASSERT(t > _hs.term, "terms only grow");
        _hs.term = t;
        _hs.vote = no_node;
    }
}

void node::set_leader(node_id n) {
    if (n != _leader) {
        _leader = n;
        if (n != no_node) {
            ++_leader_changes;
        }
    }
}

void node::reset_timers() {
    _election_elapsed = 0;
    _heartbeat_elapsed = 0;
    _randomized_timeout = _opts.election_timeout + int(_rng() % uint64_t(_opts.election_timeout));
}

void node::become_follower(term_id term, node_id leader) {
    if (_role == role::leader) {
        fail_pending_reads();
    }
    set_term(term);
    _role = role::follower;
    set_leader(leader);
    reset_timers();
    _peers.clear();
    _votes.clear();
    _transfer_target = no_node;
    _lease_disabled = false;
    _need_broadcast = false;
    _need_read_round = false;
}

void node::campaign(bool pre, bool transfer) {
    ++_elections;
    _votes.clear();
    term_id t = _hs.term + 1;
    if (pre) {
        _role = role::pre_candidate; // the term moves only once a majority would vote (§9.6)
    } else {
        set_term(t);
        _hs.vote = _opts.id;
        _role = role::candidate;
    }
    set_leader(no_node);
    reset_timers();
    _votes[_opts.id] = true;
    if (_config.quorum() <= 1 && _config.is_voter(_opts.id)) {
        if (pre) {
            campaign(false, transfer);
        } else {
            become_leader();
        }
        return;
    }
    for (auto v : _config.voters) {
        if (v == _opts.id) {
            continue;
        }
        message m;
        m.type = pre ? msg_type::pre_vote : msg_type::vote;
        m.to = v;
        m.term = t;
        m.index = _log.last_index();
        m.log_term = _log.last_term();
        m.transfer = transfer;
        send(std::move(m));
    }
}

void node::become_leader() {
    _role = role::leader;
    set_leader(_opts.id);
    reset_timers();
    _peers.clear();
    _transfer_target = no_node;
    _lease_disabled = false;
    _round = 0;
    _round_sent.clear();
    _reads.clear();
    _uncommitted_bytes = 0;
    set_config(_config); // progress for every member
    // No config change until everything before our term is committed.
    _pending_config = _log.last_index();
    if (sole_voter()) {
        // One voter: what it holds durably is on every majority there can be, so
        // it is committed as it stands and no no-op is needed (a restarted
        // single-node partition keeps its log end where it was).
        maybe_commit();
        return;
    }
    // A no-op of our term: commits the entries of earlier terms (§5.4.2) and makes
    // ReadIndex possible (thesis §6.4).
    append_local({ entry{ _hs.term, _log.last_index() + 1, entry_type::normal, nullptr } });
    _need_broadcast = true;
}

// ---- the clock --------------------------------------------------------------------

void node::tick() {
    ++_now;
    ++_election_elapsed;
    if (_role != role::leader) {
        if (_election_elapsed >= _randomized_timeout) {
            _election_elapsed = 0;
            if (_config.is_voter(_opts.id)) {
                campaign(_opts.pre_vote, false);
            }
        }
        return;
    }
    if (_transfer_target != no_node && ++_transfer_elapsed >= _opts.election_timeout) {
        _transfer_target = no_node; // the target did not take over in time: abort
    }
    if (_election_elapsed >= _opts.election_timeout) {
        _election_elapsed = 0;
        if (_opts.check_quorum) {
            size_t active = _config.is_voter(_opts.id) ? 1 : 0;
            for (auto& [id, p] : _peers) {
                if (_config.is_voter(id) && p.recent_active) {
                    ++active;
                }
                p.recent_active = false;
            }
            if (active < _config.quorum()) {
                become_follower(_hs.term, no_node); // §6.2: we may be partitioned away
                return;
            }
        }
    }
    if (++_heartbeat_elapsed >= _opts.heartbeat_interval) {
        _heartbeat_elapsed = 0;
        broadcast_heartbeat();
    }
}

// ---- messages in ------------------------------------------------------------------

void node::step(message m) {
    if (m.to != _opts.id) {
        return;
    }
    if (m.term > _hs.term) {
        if (is_vote(m.type) && !m.transfer && _opts.check_quorum && _leader != no_node &&
            _election_elapsed < _opts.election_timeout) {
            return; // we hear from a leader: do not help depose it (thesis §4.2.3)
        }
        if (m.type == msg_type::pre_vote || (m.type == msg_type::pre_vote_response && !m.reject)) {
            // A pre-vote changes no term: neither ours nor the asker's.
        } else {
            become_follower(m.term, from_leader(m.type) ? m.from : no_node);
        }
    } else if (m.term < _hs.term) {
        if (m.type == msg_type::append || m.type == msg_type::heartbeat) {
            // A stale leader: tell it our term so it steps down.
            message r;
            r.type = msg_type::append_response;
            r.to = m.from;
            r.index = m.index;
            r.reject = true;
            send(std::move(r));
        } else if (m.type == msg_type::pre_vote) {
            message r;
            r.type = msg_type::pre_vote_response;
            r.to = m.from;
            r.term = _hs.term;
            r.reject = true;
            send(std::move(r));
        }
        return;
    }
    switch (m.type) {
        case msg_type::vote:
        case msg_type::pre_vote:
            on_vote_request(m);
            break;
        case msg_type::vote_response:
        case msg_type::pre_vote_response:
            on_vote_response(m);
            break;
        case msg_type::append:
            on_append(std::move(m));
            break;
        case msg_type::append_response:
            on_append_response(m);
            break;
        case msg_type::heartbeat:
            on_heartbeat(m);
            break;
        case msg_type::heartbeat_response:
            on_heartbeat_response(m);
            break;
        case msg_type::snapshot:
            on_snapshot(m);
            break;
        case msg_type::snapshot_response:
            on_snapshot_response(m);
            break;
        case msg_type::timeout_now:
            on_timeout_now(m);
            break;
        case msg_type::read_index:
            on_read_index(m);
            break;
        case msg_type::read_index_response:
            on_read_index_response(m);
            break;
    }
}

// A message from the leader of our term: follow it and restart the election timer.
void node::heard_from_leader(node_id leader) {
    if (_role != role::follower) {
        become_follower(_hs.term, leader);
    }
    set_leader(leader);
    _election_elapsed = 0;
}

// The leader's progress entry for the sender of a response (marked active), or null
// if we no longer lead or it is no longer a member.
progress* node::responding_peer(const message& m) {
    if (_role != role::leader) {
        return nullptr;
    }
    auto it = _peers.find(m.from);
    if (it == _peers.end()) {
        return nullptr;
    }
    it->second.recent_active = true;
    return &it->second;
}

void node::on_vote_request(const message& m) {
    bool pre = m.type == msg_type::pre_vote;
    bool can_vote =
      _hs.vote == m.from || (_hs.vote == no_node && _leader == no_node) || (pre && m.term > _hs.term);
    bool log_ok = faulty(&fault_points::vote_without_log_check) || _log.is_up_to_date(m.index, m.log_term);
    message r;
    r.type = pre ? msg_type::pre_vote_response : msg_type::vote_response;
    r.to = m.from;
    if (can_vote && log_ok) {
        r.term = m.term;
        if (!pre) {
            _hs.vote = m.from; // leaves only once durable: the response waits for it
            _election_elapsed = 0;
        }
    } else {
        r.term = _hs.term;
        r.reject = true;
    }
    send(std::move(r));
}

void node::on_vote_response(const message& m) {
    bool pre = m.type == msg_type::pre_vote_response;
    if ((pre && (_role != role::pre_candidate || m.term != _hs.term + 1)) ||
        (!pre && _role != role::candidate)) {
        return;
    }
    if (!_config.is_voter(m.from)) {
        return;
    }
    _votes[m.from] = !m.reject;
    size_t granted = 0, rejected = 0;
    for (auto [id, g] : _votes) {
        if (_config.is_voter(id)) {
            (g ? granted : rejected) += 1;
        }
    }
    if (granted >= _config.quorum()) {
        if (pre) {
            campaign(false, false);
        } else {
            become_leader();
        }
    } else if (rejected > _config.voters.size() - _config.quorum()) {
        become_follower(_hs.term, no_node);
    }
}

void node::on_append(message m) {
    // Entries must continue `prev` and each other; anything else is malformed.
    log_index expect = m.index + 1;
    for (const auto& e : m.entries) {
        if (e.count < 1 || e.base() != expect) {
            return;
        }
        expect = e.index + 1;
    }
    heard_from_leader(m.from);
    message r;
    r.type = msg_type::append_response;
    r.to = m.from;
    if (m.index < _commit) {
        // Everything up to our commit is already ours; the response waits for it to
        // be durable like any ack.
        r.index = _commit;
        send(std::move(r));
        return;
    }
    if (!_log.matches(m.index, m.log_term)) {
        r.reject = true;
        r.index = m.index;
        if (m.index > _log.last_index()) {
            r.hint_index = _log.last_index() + 1;
        } else {
            r.hint_term = *_log.term_at(m.index);
            r.hint_index = _log.first_index_of_term(m.index);
        }
        send(std::move(r));
        return;
    }
    log_index last_new = m.entries.empty() ? m.index : m.entries.back().index;
    bool has_config = std::any_of(m.entries.begin(), m.entries.end(),
                                  [](const entry& e) { return e.type == entry_type::config; });
    auto changed = _log.merge(std::move(m.entries));
    if (changed) {
        CHRONIK_ASSERT(*changed > _commit, "a committed entry was overwritten");
        if (has_config || _config_log.lower_bound(*changed) != _config_log.end()) {
            _config_log.erase(_config_log.lower_bound(*changed), _config_log.end());
            for (const auto& e : _log.between(*changed - 1, _log.last_index())) {
                if (e.type == entry_type::config) {
                    auto c =
                      decode_config(e.data ? std::span<const uint8_t>(*e.data) : std::span<const uint8_t>());
                    if (c) {
                        _config_log[e.index] = std::move(c.value());
                    }
                }
            }
            apply_config_from_log();
        }
    }
    log_index c = std::min(m.commit, last_new);
    if (c > _commit) {
        _commit = c;
    }
    r.index = last_new;
    send(std::move(r));
}

void node::on_append_response(const message& m) {
    auto* peer = responding_peer(m);
    if (!peer) {
        return;
    }
    auto& p = *peer;
    if (p.st == progress::state::snapshot) {
        return;
    }
    if (m.reject) {
        if (m.index <= p.match || (p.st == progress::state::probe && m.index != p.next - 1)) {
            return; // stale
        }
        // Thesis §5.3 back-off: skip the follower's whole conflicting term.
        log_index n = m.hint_index;
        if (m.hint_term > term_id{ 0 }) {
            auto last = _log.last_index_of_term_at_most(m.hint_term);
            if (last && _log.term_at(*last) == m.hint_term) {
                n = *last + 1;
            }
        }
        n = std::max(std::min(n, m.index), p.match + 1);
        p.st = progress::state::probe;
        p.paused = false;
        p.inflight.clear();
        p.next = n;
        maybe_send_append(m.from, true);
        return;
    }
    size_t inflight_before = p.inflight.size();
    bool advanced = p.acked(m.index);
    if (advanced || p.inflight.size() != inflight_before) {
        p.last_progress = _now;
    }
    if (advanced) {
        if (p.st == progress::state::probe) {
            p.become_replicate();
        }
        if (maybe_commit()) {
            _need_broadcast = true;
        }
        if (_role != role::leader) {
            return;
        }
        if (m.from == _transfer_target && p.match == _log.last_index()) {
            message t;
            t.type = msg_type::timeout_now;
            t.to = m.from;
            _lease_disabled = true;
            send(std::move(t));
        }
    }
    maybe_send_append(m.from, false);
}

void node::on_heartbeat(const message& m) {
    heard_from_leader(m.from);
    // m.commit is at most what the leader knows we hold (thesis §3.5: min(match, commit)).
    log_index c = std::min(m.commit, _log.last_index());
    if (c > _commit) {
        _commit = c;
    }
    message r;
    r.type = msg_type::heartbeat_response;
    r.to = m.from;
    r.context = m.context;
    send(std::move(r));
}

void node::on_heartbeat_response(const message& m) {
    auto* peer = responding_peer(m);
    if (!peer) {
        return;
    }
    auto& p = *peer;
    if (m.context > p.read_acked) {
        p.read_acked = m.context;
        release_reads();
    }
    if (p.st == progress::state::snapshot) {
        send_snapshot_chunk(m.from, p); // the last chunk may be lost: resend it
        return;
    }
    p.paused = false;
    if (p.st == progress::state::replicate && p.match < _log.last_index() && !p.inflight.empty() &&
        _now - p.last_progress >= 2 * _opts.heartbeat_interval + 1) {
        p.become_probe(); // appends in flight went unanswered: resend from match
    }
    if (p.match < _log.last_index()) {
        maybe_send_append(m.from, false);
    }
}

void node::on_snapshot(const message& m) {
    heard_from_leader(m.from);
    message r;
    r.type = msg_type::snapshot_response;
    r.to = m.from;
    r.snap = m.snap;
    r.snap_size = m.snap_size;
    if (m.snap.index <= _commit) {
        r.index = _commit; // we have it all already
        r.snap_offset = m.snap_size;
        send(std::move(r));
        return;
    }
    if (m.snap_offset == 0) {
        _incoming.clear();
        _incoming_meta = m.snap;
    }
    bool same = _incoming_meta.index == m.snap.index && _incoming_meta.term == m.snap.term;
    size_t chunk = m.snap_chunk ? m.snap_chunk->size() : 0;
    if (!same || m.snap_offset != _incoming.size() || _incoming.size() + chunk > m.snap_size) {
        r.reject = true;
        r.snap_offset = same ? _incoming.size() : 0;
        send(std::move(r));
        return;
    }
    if (chunk > 0) {
        _incoming.insert(_incoming.end(), m.snap_chunk->begin(), m.snap_chunk->end());
    }
    if (_incoming.size() < m.snap_size) {
        r.snap_offset = _incoming.size();
        send(std::move(r));
        return;
    }
    // Install (§7): the state machine is replaced; the log keeps only what follows.
    snapshot s{ m.snap, make_payload(std::move(_incoming)) };
    _incoming = {};
    bool reset = _log.restore(s.meta);
    _ready.snapshot = s;
    _ready.snapshot_resets_log = _ready.snapshot_resets_log || reset;
    _snapshot = s;
    _commit = std::max(_commit, s.meta.index);
    _applied = s.meta.index;
    if (reset) {
        _config_log.clear();
    } else {
        _config_log.erase(_config_log.begin(), _config_log.upper_bound(s.meta.index));
    }
    apply_config_from_log();
    r.index = s.meta.index;
    r.snap_offset = m.snap_size;
    send(std::move(r));
}

void node::on_snapshot_response(const message& m) {
    auto* peer = responding_peer(m);
    if (!peer) {
        return;
    }
    auto& p = *peer;
    if (p.st != progress::state::snapshot) {
        return;
    }
    if (m.snap.index != _snapshot.meta.index) {
        p.snap_offset = 0; // we compacted again meanwhile: start over with the new image
        send_snapshot_chunk(m.from, p);
        return;
    }
    if (!m.reject && m.snap_offset >= m.snap_size) {
        p.acked(m.index);
        p.become_probe();
        p.last_progress = _now;
        maybe_send_append(m.from, true);
        return;
    }
    p.snap_offset = m.snap_offset;
    send_snapshot_chunk(m.from, p);
}

void node::on_timeout_now(const message& m) {
    if (_role == role::leader || !_config.is_voter(_opts.id) || m.from != _leader) {
        return;
    }
    campaign(false, true); // leadership transfer: no pre-vote, and peers ignore the lease
}

// ---- replication --------------------------------------------------------------------

void node::send(message m) {
    m.from = _opts.id;
    if (m.type != msg_type::pre_vote && m.type != msg_type::pre_vote_response && m.type != msg_type::vote) {
        m.term = _hs.term;
    }
    bool after_persist = false;
    switch (m.type) {
        case msg_type::vote: // the candidate's own vote must be durable before it counts
        case msg_type::vote_response:
        case msg_type::snapshot_response:
            after_persist = true;
            break;
        case msg_type::append_response:
            after_persist = !faulty(&fault_points::ack_before_persist);
            break;
        default:
            break;
    }
    (after_persist ? _ready.messages_after_persist : _ready.messages).push_back(std::move(m));
}

void node::append_local(std::vector<entry> es) {
    bool config = false;
    for (auto& e : es) {
        _uncommitted_bytes += e.size_bytes();
        if (e.type == entry_type::config) {
            auto c = decode_config(e.data ? std::span<const uint8_t>(*e.data) : std::span<const uint8_t>());
            CHRONIK_ASSERT(c.has_value());
            _config_log[e.index] = std::move(c.value());
            config = true;
        }
    }
    _log.append(std::move(es));
    if (config) {
        apply_config_from_log(); // a configuration takes effect when appended (thesis §4.1)
    }
    maybe_commit();
}

void node::maybe_send_append(node_id to, bool send_empty) {
    auto it = _peers.find(to);
    if (it == _peers.end()) {
        return;
    }
    auto& p = it->second;
    for (;;) {
        if (p.st == progress::state::snapshot || (p.st == progress::state::probe && p.paused) ||
            (p.st == progress::state::replicate && p.inflight.size() >= _opts.max_inflight)) {
            return;
        }
        std::vector<entry> es;
        if (p.next > _log.snapshot().index && p.next <= _log.last_index()) {
            es = _log.slice(p.next, _opts.max_msg_bytes, _opts.max_msg_entries);
            if (!es.empty()) {
                p.next = es.front().base(); // a back-off may land inside an entry: send all of it
            }
        }
        log_index prev = p.next - 1;
        auto prev_term = _log.term_at(prev);
        if (!prev_term) {
            // The entries it needs are compacted away: send the snapshot (§7).
            p.st = progress::state::snapshot;
            p.inflight.clear();
            p.snap_offset = 0;
            send_snapshot_chunk(to, p);
            return;
        }
        message m;
        m.type = msg_type::append;
        m.to = to;
        m.index = prev;
        m.log_term = *prev_term;
        m.entries = std::move(es);
        if (m.entries.empty() && !send_empty) {
            return;
        }
        m.commit = _commit;
        bool more = false;
        if (p.st == progress::state::replicate) {
            if (!m.entries.empty()) {
                p.next = m.entries.back().index + 1;
                p.inflight.push_back(m.entries.back().index);
                more = p.next <= _log.last_index();
            }
        } else {
            p.paused = true;
        }
        send(std::move(m));
        if (!more) {
            return;
        }
        send_empty = false;
    }
}

void node::send_snapshot_chunk(node_id to, progress& p) {
    size_t size = _snapshot.data ? _snapshot.data->size() : 0;
    size_t off = std::min<size_t>(p.snap_offset, size);
    size_t n = std::min(_opts.snapshot_chunk_bytes, size - off);
    message m;
    m.type = msg_type::snapshot;
    m.to = to;
    m.snap = _snapshot.meta;
    m.snap_offset = off;
    m.snap_size = size;
    if (n > 0) {
        m.snap_chunk = make_payload(
          bytes(_snapshot.data->begin() + ptrdiff_t(off), _snapshot.data->begin() + ptrdiff_t(off + n)));
    }
    p.paused = true;
    send(std::move(m));
}

void node::broadcast_append() {
    for (auto& [id, p] : _peers) {
        maybe_send_append(id, p.st == progress::state::replicate && p.inflight.empty());
    }
}

void node::broadcast_heartbeat() {
    ++_round;
    _round_sent[_round] = _now;
    while (!_round_sent.empty() && _round_sent.begin()->second < _now - 4 * _opts.election_timeout) {
        _round_sent.erase(_round_sent.begin());
    }
    for (auto& [id, p] : _peers) {
        message m;
        m.type = msg_type::heartbeat;
        m.to = id;
        m.commit = std::min(p.match, _commit);
        m.context = _round;
        send(std::move(m));
    }
    release_reads(); // a group of one confirms itself
}

log_index node::self_match() const noexcept {
    return faulty(&fault_points::ack_before_persist) ? _log.last_index() : _log.stable();
}

bool node::maybe_commit() {
    if (_role != role::leader || _config.voters.empty()) {
        return false;
    }
    std::vector<log_index> m;
    for (auto v : _config.voters) {
        if (v == _opts.id) {
            m.push_back(self_match());
        } else if (auto it = _peers.find(v); it != _peers.end()) {
            m.push_back(it->second.match);
        } else {
            m.push_back(log_index{ 0 });
        }
    }
    std::sort(m.begin(), m.end(), std::greater<>());
    log_index c = m[_config.quorum() - 1];
    if (c <= _commit) {
        return false;
    }
    // §5.4.2: only an entry of the current term is committed by counting replicas
    // (a sole voter's count is its own disk: nobody else can hold another log).
    if (_log.term_at(c) != _hs.term && !sole_voter() &&
        !faulty(&fault_points::commit_previous_term_by_count)) {
        return false;
    }
    advance_commit(c);
    return true;
}

void node::advance_commit(log_index c) {
    _uncommitted_bytes -= std::min(_uncommitted_bytes, _log.bytes_in_memory(_commit, c));
    _commit = c;
    if (_role != role::leader) {
        return;
    }
    if (!_config.is_voter(_opts.id) && _pending_config <= _commit) {
        become_follower(_hs.term, no_node); // removed: we led until our removal committed (thesis §4.2.2)
        return;
    }
    if (!_reads_before_commit.empty() && committed_in_current_term()) {
        auto waiting = std::move(_reads_before_commit);
        _reads_before_commit.clear();
        for (auto [from, ctx] : waiting) {
            serve_read(from, ctx, _commit);
        }
    }
}

// ---- reads --------------------------------------------------------------------------

bool node::committed_in_current_term() const noexcept {
    return _log.term_at(_commit) == _hs.term || (sole_voter() && _commit == _log.last_index());
}

bool node::lease_valid() const noexcept {
    if (_opts.read_mode != read_mode::lease || !_opts.check_quorum || _lease_disabled) {
        return false;
    }
    std::vector<int64_t> sent;
    for (auto v : _config.voters) {
        if (v == _opts.id) {
            sent.push_back(_now);
        } else if (auto it = _peers.find(v); it != _peers.end()) {
            auto r = _round_sent.find(it->second.read_acked);
            sent.push_back(r == _round_sent.end() ? INT64_MIN / 2 : r->second);
        } else {
            sent.push_back(INT64_MIN / 2);
        }
    }
    std::sort(sent.begin(), sent.end(), std::greater<>());
    // A majority heard us at `start`; none of them votes for another candidate
    // before start + election_timeout of its own ticks. Two ticks of margin cover
    // tick phase; the lease assumes clocks tick at the same rate.
    int64_t start = sent[_config.quorum() - 1];
    return _now < start + _opts.election_timeout - 2;
}

void node::serve_read(node_id from, uint64_t context, log_index index) {
    if ((_config.voters.size() == 1 && _config.is_voter(_opts.id)) || lease_valid() ||
        faulty(&fault_points::read_without_quorum)) {
        deliver_read(from, context, index);
        return;
    }
    // ReadIndex: valid once a majority answers a heartbeat sent after this point.
    _reads.push_back(pending_read{ from, context, index, _round + 1 });
    _need_read_round = true;
}

void node::deliver_read(node_id from, uint64_t context, log_index index) {
    if (from == _opts.id) {
        _ready.reads.push_back(read_state{ context, index, true });
        return;
    }
    message r;
    r.type = msg_type::read_index_response;
    r.to = from;
    r.context = context;
    r.index = index;
    send(std::move(r));
}

void node::release_reads() {
    if (_reads.empty()) {
        return;
    }
    std::vector<uint64_t> acked;
    for (auto v : _config.voters) {
        if (v == _opts.id) {
            acked.push_back(_round);
        } else if (auto it = _peers.find(v); it != _peers.end()) {
            acked.push_back(it->second.read_acked);
        } else {
            acked.push_back(0);
        }
    }
    std::sort(acked.begin(), acked.end(), std::greater<>());
    uint64_t confirmed = acked[_config.quorum() - 1];
    while (!_reads.empty() && _reads.front().round <= confirmed) {
        auto r = _reads.front();
        _reads.pop_front();
        deliver_read(r.from, r.context, r.index);
    }
}

void node::fail_pending_reads() {
    for (auto& r : _reads) {
        if (r.from == _opts.id) {
            _ready.reads.push_back(read_state{ r.context, log_index{ 0 }, false });
        }
    }
    for (auto [from, ctx] : _reads_before_commit) {
        if (from == _opts.id) {
            _ready.reads.push_back(read_state{ ctx, log_index{ 0 }, false });
        }
    }
    _reads.clear();
    _reads_before_commit.clear();
}

void node::on_read_index(const message& m) {
    if (_role != role::leader) {
        return; // the follower's caller times out and retries
    }
    if (!committed_in_current_term()) {
        _reads_before_commit.emplace_back(m.from, m.context);
        return;
    }
    serve_read(m.from, m.context, _commit);
}

void node::on_read_index_response(const message& m) {
    _ready.reads.push_back(read_state{ m.context, m.index, true });
}

// ---- the driver's calls ---------------------------------------------------------------

result<log_index> node::propose(payload data, int64_t count) {
    if (_role != role::leader) {
        return errc::not_leader;
    }
    if (count < 1) {
        return errc::proposal_dropped;
    }
    if (_transfer_target != no_node) {
        return errc::transfer_in_progress;
    }
    size_t n = data ? data->size() : 0;
    if (!takes_proposal(n)) {
        return errc::proposal_dropped;
    }
    log_index i = _log.last_index() + count;
    append_local({ entry{ _hs.term, i, entry_type::normal, std::move(data), count } });
    _need_broadcast = true;
    return i;
}

result<log_index> node::propose_config(configuration next) {
    if (_role != role::leader) {
        return errc::not_leader;
    }
    if (_transfer_target != no_node) {
        return errc::transfer_in_progress;
    }
    if (_pending_config > _commit || !committed_in_current_term()) {
        return errc::config_change_pending;
    }
    if (next.voters.empty()) {
        return errc::invalid_config;
    }
    size_t moved = 0;
    for (auto v : next.voters) {
        moved += _config.voters.contains(v) ? 0 : 1;
        if (next.learners.contains(v)) {
            return errc::invalid_config;
        }
    }
    for (auto v : _config.voters) {
        moved += next.voters.contains(v) ? 0 : 1;
    }
    if (moved > 1) {
        return errc::invalid_config;
    }
    log_index i = _log.last_index() + 1;
    _pending_config = i;
    append_local({ entry{ _hs.term, i, entry_type::config, make_payload(encode_config(next)) } });
    _need_broadcast = true;
    return i;
}

result<void> node::read_index(uint64_t context) {
    if (_role == role::leader) {
        if (!committed_in_current_term()) {
            _reads_before_commit.emplace_back(_opts.id, context);
        } else {
            serve_read(_opts.id, context, _commit);
        }
        return outcome::success();
    }
    if (_leader == no_node) {
        return errc::no_leader;
    }
    message m;
    m.type = msg_type::read_index;
    m.to = _leader;
    m.context = context;
    send(std::move(m));
    return outcome::success();
}

result<void> node::transfer_leadership(node_id target) {
    if (_role != role::leader) {
        return errc::not_leader;
    }
    if (target == _opts.id) {
        return outcome::success();
    }
    auto it = _peers.find(target);
    if (it == _peers.end() || !_config.is_voter(target)) {
        return errc::invalid_config;
    }
    _transfer_target = target;
    _transfer_elapsed = 0;
    if (it->second.match == _log.last_index()) {
        message t;
        t.type = msg_type::timeout_now;
        t.to = target;
        _lease_disabled = true;
        send(std::move(t));
    } else {
        maybe_send_append(target, false);
    }
    return outcome::success();
}

result<void> node::campaign() {
    if (!_config.is_voter(_opts.id)) {
        return errc::invalid_config;
    }
    if (_role != role::leader) {
        campaign(_opts.pre_vote, false);
    }
    return outcome::success();
}

void node::persisted(log_index index, term_id term) {
    _log.persisted(index, term);
    if (_role == role::leader && maybe_commit()) {
        _need_broadcast = true;
    }
}

void node::compact(log_index index, payload data) {
    CHRONIK_ASSERT(index <= _applied, "only applied entries can be compacted");
    if (index <= _log.snapshot().index) {
        return;
    }
    snapshot_meta meta{ index, *_log.term_at(index), config_at(index) };
    _log.compact(meta);
    _snapshot = snapshot{ meta, std::move(data) };
    _config_log.erase(_config_log.begin(), _config_log.upper_bound(index));
}

bool node::has_ready() const noexcept {
    log_index bound = faulty(&fault_points::ack_before_persist) ? _commit : std::min(_commit, _log.stable());
    return _need_broadcast || _need_read_round || !_ready.empty() || _hs != _handed_hs ||
           _log.has_unstable() || bound > _applied;
}

ready node::take_ready() {
    if (_need_broadcast) {
        _need_broadcast = false;
        broadcast_append();
    }
    if (_need_read_round) {
        _need_read_round = false;
        broadcast_heartbeat();
    }
    ready r = std::move(_ready);
    _ready = {};
    if (_hs != _handed_hs) {
        r.hard_state = _hs;
        _handed_hs = _hs;
    }
    r.entries = _log.take_unstable();
    // Apply only what is committed and durable here (a restart re-applies from the
    // snapshot, so applying ahead of our own disk would gain nothing).
    log_index bound = faulty(&fault_points::ack_before_persist) ? _commit : std::min(_commit, _log.stable());
    if (bound > _applied) {
        if (_opts.apply_entries) {
            r.committed = _log.between(_applied, bound);
        }
        r.applied = bound;
        _applied = bound;
        _log.applied(bound);
    }
    return r;
}

// ---- membership -------------------------------------------------------------------------

configuration node::config_at(log_index i) const {
    auto it = _config_log.upper_bound(i);
    if (it == _config_log.begin()) {
        return _log.snapshot().config;
    }
    return std::prev(it)->second;
}

void node::apply_config_from_log() {
    set_config(_config_log.empty() ? _log.snapshot().config : _config_log.rbegin()->second);
}

void node::set_config(const configuration& c) {
    _config = c;
    if (_role != role::leader) {
        return;
    }
    for (auto it = _peers.begin(); it != _peers.end();) {
        it = _config.is_member(it->first) ? std::next(it) : _peers.erase(it);
    }
    auto add = [&](node_id n) {
        if (n != _opts.id && !_peers.contains(n)) {
            progress p;
            p.next = _log.last_index() + 1;
            p.recent_active = true;
            p.last_progress = _now;
            _peers.emplace(n, p);
        }
    };
    for (auto v : _config.voters) {
        add(v);
    }
    for (auto l : _config.learners) {
        add(l);
    }
}

raft::status node::status() const noexcept {
    raft::status s;
    s.id = _opts.id;
    s.role = _role;
    s.term = _hs.term;
    s.leader = _leader;
    s.commit = _commit;
    s.applied = _applied;
    s.last_index = _log.last_index();
    s.stable = _log.stable();
    s.elections = _elections;
    s.leader_changes = _leader_changes;
    return s;
}

} // namespace chronik::raft
