#include "cluster/partition.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/logger.h"
#include "cluster/errc.h"
#include "cluster/raft_service.h"
#include "record/batch.h"
#include "storage/errc.h"

#include <algorithm>

namespace chronik::cluster {

namespace {

logger clog{ "cluster" };

// A Raft index names the end of an entry: the offset after its batch's last record.
raft::log_index index_after(int64_t last_offset) noexcept {
    return raft::log_index{ last_offset + 1 };
}

// A stored batch as the Raft entry it is.
raft::entry entry_of(const record::batch_header& h, const byte_slice& b) {
    raft::entry e{ raft::term_id{ h.partition_leader_epoch }, index_after(h.last_offset()),
                   raft::entry_type::normal, nullptr, h.last_offset_delta + int64_t(1) };
    std::optional<int16_t> control;
    std::optional<bytes> value;
    if (h.control()) {
        (void)record::for_each_record(b.span(), 1 << 20, [&](const record::record_view& r) {
            if (!control && r.key && r.key->size() >= 4) {
                control = load_be<int16_t>(r.key->data() + 2);
                if (r.value) {
                    value = bytes(r.value->begin(), r.value->end());
                }
            }
        });
    }
    if (control == control_leader_change) {
        return e; // a no-op: no data
    }
    if (control == control_voters && value) {
        e.type = raft::entry_type::config;
        e.data = raft::make_payload(std::move(*value));
        return e;
    }
    auto s = b.span();
    e.data = raft::make_payload(bytes(s.begin(), s.end()));
    return e;
}

} // namespace

bytes make_control_batch(int64_t offset, int32_t epoch, int16_t type, std::span<const uint8_t> value,
                         int64_t now_ms) {
    record::record_input r;
    bytes key(4, 0);
    store_be<int16_t>(key.data(), 0);
    store_be<int16_t>(key.data() + 2, type);
    r.key = std::move(key);
    r.value = bytes(value.begin(), value.end());
    r.timestamp = now_ms;
    record::batch_options o;
    o.base_offset = offset;
    o.partition_leader_epoch = epoch;
    o.control = true;
    auto built = record::build_batch({ r }, o);
    CHRONIK_ASSERT(built.has_value(), "a control batch always builds");
    return std::move(built).value();
}

// The partition log as the Raft node's stored log (raft::entry_reader): batches
// read back from the segments, up to the log end.
class partition::reader final : public raft::entry_reader {
public:
    explicit reader(storage::partition_log& log) : _log(log) {}
    std::vector<raft::entry> read(raft::log_index from, size_t max_bytes, size_t max_count) override {
        std::vector<raft::entry> out;
        const int64_t offset = from() - 1;
        if (offset < _log.physical_start_offset() || offset >= _log.log_end_offset()) {
            return out;
        }
        auto r = _log.read(offset, max_bytes, true, false, _log.log_end_offset());
        if (!r) {
            return out;
        }
        (void)record::for_each_batch(r.value().data,
                                     [&](const record::batch_header& h, const byte_slice& b) -> result<void> {
                                         if (out.size() < max_count) {
                                             out.push_back(entry_of(h, b));
                                         }
                                         return outcome::success();
                                     });
        return out;
    }

private:
    storage::partition_log& _log;
};

partition::partition(std::shared_ptr<storage::partition_log> log, storage::log_manager& logs,
                     model::node_id self, group_spec spec, storage::raft_vote vote)
  : _log(std::move(log)), _logs(logs), _self(self), _spec(std::move(spec)), _peers(_spec.has_peers(self)),
    _reader(std::make_unique<reader>(*_log)), _vote_stored(vote), _vote_wanted(vote),
    _changed(logs.executor()), _acks(logs.executor()) {
    CHRONIK_ASSERT(!_peers || _spec.transport != nullptr, "a group with peers has a transport");
    // The snapshot point is where the first segment starts (a batch boundary; a
    // DeleteRecords log start may lie inside a batch, and followers copy the log
    // as it is on disk): everything before it is gone.
    const int64_t start = _log->physical_start_offset();
    const int64_t end = _log->log_end_offset();
    raft::restored_state st;
    st.reader = _reader.get();
    st.last_index = raft::log_index{ end };
    st.snapshot.meta.index = raft::log_index{ start };
    if (_peers) {
        for (const auto& r : _spec.replicas) {
            st.snapshot.meta.config.voters.insert(r.node);
            _placement[r.node] = r;
        }
    } else {
        st.snapshot.meta.config.voters = { self };
    }
    // Term starts from the leader-epoch cache. Epochs with no batch of their own
    // (several starting at one offset, or one at the log end) are left out.
    const auto& epochs = _log->epochs().entries();
    // The first may begin before the log start (it holds the batch ending there).
    for (size_t k = 0; k < epochs.size(); ++k) {
        const int64_t from = std::max(epochs[k].start_offset, start);
        bool empty = from >= end || (k + 1 < epochs.size() && epochs[k + 1].start_offset <= from);
        if (!empty) {
            st.terms.push_back({ raft::term_id{ epochs[k].epoch }, raft::log_index{ from + 1 } });
        }
    }
    if (end > start && (st.terms.empty() || st.terms.front().start != raft::log_index{ start + 1 })) {
        // The cache does not reach back to the log start (a log older than it).
        st.terms.insert(st.terms.begin(), { raft::term_id{ 0 }, raft::log_index{ start + 1 } });
        if (st.terms.size() > 1 && st.terms[1].term == raft::term_id{ 0 }) {
            st.terms.erase(st.terms.begin() + 1);
        }
    }
    // The snapshot's term is that of the batch ending at the log start (none: 0, as
    // every replica of an empty log agrees), never that of the first one after it.
    st.snapshot.meta.term = raft::term_id{ start > 0 ? std::max(_log->epochs().epoch_at(start - 1), 0) : 0 };
    // The current term: at least the newest epoch the log knows (stored with the
    // first batch written in it) and the stored vote's. A sole voter has no vote
    // file: its election below starts a newer term than any batch holds.
    st.hard_state.term = raft::term_id{ std::max(
      { int64_t(_log->epochs().latest_epoch()), int64_t(_log->leader_epoch()), vote.term(), int64_t(0) }) };
    if (vote.voted_for && vote.term == st.hard_state.term) {
        st.hard_state.vote = *vote.voted_for;
    }
    raft::options o;
    o.id = self;
    o.apply_entries = false; // the log is the state
    o.cache_bytes = 0;       // the leader's entries are already in the log
    o.election_timeout = std::max(_spec.election_ticks, 2);
    o.heartbeat_interval = std::clamp(_spec.heartbeat_ticks, 1, o.election_timeout - 1);
    o.seed = uint64_t(std::hash<std::string>{}(_log->dir())) ^ uint64_t(self());
    _node = std::make_unique<raft::node>(o, std::move(st));
    _seen_term = _node->term();
    _log->set_persisted_listener([this](int64_t durable_end) { persisted(durable_end); });
}

partition::~partition() {
    _log->set_persisted_listener({});
}

void partition::start() {
    _owner.check_owner("cluster::partition");
    // A sole voter leads at once; with peers the preferred leader (the first
    // replica) campaigns now rather than at its election timeout.
    if (!_peers || _spec.replicas.front().node == _self) {
        (void)_node->campaign();
    }
    drain();
}

result<storage::append_outcome> partition::replicate(std::span<uint8_t> batch, int64_t now_ms,
                                                     int32_t min_insync) {
    _owner.check_owner("cluster::partition");
    if (!is_leader()) {
        return errc::not_leader;
    }
    if (_isr.size() < size_t(std::max(min_insync, 0))) {
        return errc::not_enough_replicas;
    }
    if (_halted) {
        return storage::errc::storage_error;
    }
    if (_stalled || _node->log().last_index() != raft::log_index{ _log->log_end_offset() }) {
        // A new leader whose log is still being cut back or written to: soon.
        CHRONIK_ASSERT(_peers, "a sole voter's Raft log ends where the partition log does");
        return errc::not_leader;
    }
    if (_node->transferring()) {
        return errc::not_leader; // the lead is moving to the preferred replica
    }
    if (_peers && !_node->takes_proposal(batch.size())) {
        return errc::replication_backlog;
    }
    auto appended = _log->append(batch, now_ms);
    if (!appended || appended.value().duplicate) {
        return appended;
    }
    const auto& a = appended.value();
    // Followers are sent the batch as written (offsets and epoch patched in); a sole
    // voter sends nothing and keeps no copy.
    raft::payload data = _peers ? raft::make_payload(bytes(batch.begin(), batch.end())) : nullptr;
    auto proposed = _node->propose(std::move(data), a.last_offset - a.base_offset + 1);
    CHRONIK_ASSERT(proposed.has_value() && proposed.value() == index_after(a.last_offset),
                   "the leader's entry is the batch it appended");
    drain(); // hands the entry over as written, before any durability report for it
    _logs.appended(_log);
    return appended;
}

awaitable<std::error_code> partition::wait_committed(int64_t last_offset, int32_t min_insync) {
    if (!_peers) {
        auto wait = _logs.wait_durable(_log, last_offset);
        co_return co_await std::move(wait);
    }
    auto self = shared_from_this();
    const int32_t epoch = _log->epochs().epoch_at(last_offset);
    while (_log->high_watermark() <= last_offset) {
        if (_log->failure() || _halted) {
            co_return storage::errc::storage_error;
        }
        if (!is_leader() || last_offset >= _log->log_end_offset() ||
            _log->epochs().epoch_at(last_offset) != epoch) {
            co_return errc::not_leader;
        }
        // Woken by every rise of the high watermark and change of role; the bound
        // only notices a log that failed without either.
        co_await _changed.wait_for(std::chrono::seconds(1));
    }
    // Committed: on a majority. min.insync.replicas above a majority waits for
    // more, as long as that many stay in sync (a follower that stops answering
    // leaves the ISR within replica.lag.time.max.ms, which bounds this).
    while (durable_replicas(last_offset + 1) < size_t(std::max(min_insync, 1))) {
        if (_log->failure() || _halted) {
            co_return storage::errc::storage_error;
        }
        if (!is_leader() || _log->epochs().epoch_at(last_offset) != epoch) {
            co_return errc::not_leader;
        }
        if (_isr.size() < size_t(min_insync)) {
            co_return errc::not_enough_replicas_after_append;
        }
        co_await _acks.wait_for(std::chrono::seconds(1));
    }
    co_return std::error_code();
}

size_t partition::durable_replicas(int64_t end) const {
    if (!is_leader()) {
        return 0;
    }
    const raft::log_index want{ end };
    size_t n = _node->log().stable() >= want ? 1 : 0;
    for (const auto& r : _spec.replicas) {
        if (r.node == _self) {
            continue;
        }
        if (const auto* pr = _node->progress_of(r.node); pr != nullptr && pr->match >= want) {
            ++n;
        }
    }
    return n;
}

void partition::update_isr(bool fresh) {
    if (!is_leader()) {
        _isr.clear();
        return;
    }
    if (!_peers) {
        _isr = { _self };
        return;
    }
    if (fresh) {
        _preferred_since = _ticks;
    }
    std::vector<model::node_id> isr;
    for (const auto& r : _spec.replicas) {
        if (r.node == _self) {
            isr.push_back(r.node);
            continue;
        }
        // A new leader counts every follower in sync until it has had time to hear
        // from them, as a Kafka leader starts from the ISR it was handed.
        auto& last = _caught_up[r.node];
        const auto* pr = _node->progress_of(r.node);
        // Caught up: durable through where the log ended a tick ago, and heard from
        // lately (an idle follower that stopped answering is not caught up).
        if (fresh || (pr != nullptr && pr->recent_active && pr->match >= _end_at_tick)) {
            last = _ticks;
        }
        if (_ticks - last <= uint64_t(std::max(_spec.lag_ticks, 1))) {
            isr.push_back(r.node);
        }
    }
    _end_at_tick = _node->log().last_index();
    if (isr != _isr) {
        _isr = std::move(isr);
        if (!fresh) {
            notify(change::leadership);
        }
    }
}

void partition::tick() {
    _owner.check_owner("cluster::partition");
    _node->tick();
    drain();
    ++_ticks;
    // Retention removed whole segments: what they held can no longer be sent, so
    // the Raft log's snapshot point moves to the first one left; a follower that
    // needs less gets the snapshot (and starts its log there) instead.
    const raft::log_index first{ _log->physical_start_offset() };
    if (_spec.log_is_state && first > _node->log().snapshot().index && first <= _node->applied() &&
        !_stalled && !_halted) {
        _node->compact(first, {});
    }
    if (is_leader()) {
        update_isr(false);
        rebalance();
    }
}

void partition::rebalance() {
    if (!_peers || _spec.rebalance_ticks <= 0 || _spec.replicas.front().node == _self) {
        return;
    }
    const auto preferred = _spec.replicas.front().node;
    const auto* pr = _node->progress_of(preferred);
    const bool ready = pr != nullptr && pr->match == _node->log().last_index() &&
                       std::find(_isr.begin(), _isr.end(), preferred) != _isr.end();
    if (!ready) {
        _preferred_since = _ticks;
        return;
    }
    if (_ticks - _preferred_since >= uint64_t(_spec.rebalance_ticks)) {
        _preferred_since = _ticks;
        if (_node->transfer_leadership(preferred)) {
            drain();
        }
    }
}

void partition::step(raft::message m) {
    _owner.check_owner("cluster::partition");
    if (_spec.log_is_state && (m.type == raft::msg_type::append || m.type == raft::msg_type::heartbeat)) {
        _leader_log_start = std::max(_leader_log_start, m.driver_data);
    }
    _node->step(std::move(m));
    drain();
    if (is_leader()) {
        _acks.notify_all();
    } else {
        follow_log_start();
    }
}

void partition::follow_log_start() {
    // Any leader's log start is at or below its high watermark, so only committed
    // batches are below it, and below ours too: what a follower drops is gone from
    // the group (as a Kafka follower follows its leader's log start in fetches).
    const int64_t to = std::min(_leader_log_start, _log->high_watermark());
    if (_storing_start || _halted || to <= _log->log_start_offset() || !_log->delete_records_before(to)) {
        return;
    }
    _storing_start = true;
    asio::co_spawn(_logs.executor(), store_log_start(shared_from_this()), asio::detached);
}

awaitable<void> partition::store_log_start(std::shared_ptr<partition> self) {
    (void)self; // lives until stored
    auto stored = _logs.checkpoint_log_start(_log);
    const std::error_code ec = co_await std::move(stored);
    _storing_start = false;
    if (ec) {
        // Not fatal: a restart starts from the older log start and follows again.
        clog.warn("{}: cannot store the log start offset {}: {}", _log->dir(), _log->log_start_offset(),
                  ec.message());
    }
}

void partition::persisted(int64_t end) {
    // The term of what is on disk below `end`: the Raft log may already hold a new
    // leader's entries there while the old ones wait to be cut (a stale report is
    // then ignored by the core).
    if (end <= _log->log_start_offset()) {
        return;
    }
    const int32_t epoch = _log->epochs().epoch_at(end - 1);
    if (epoch < 0) {
        return;
    }
    _node->persisted(raft::log_index{ end }, raft::term_id{ epoch });
    release_deferred();
    drain();
}

bool partition::write_entry(const raft::entry& e) {
    // A follower's copy of its leader's log (the batch as the leader wrote it), or
    // a leader's own no-op or configuration (a sole voter writes neither).
    const int64_t offset = e.base()() - 1;
    const auto epoch = int32_t(e.term());
    bytes control;
    std::span<const uint8_t> batch;
    if (e.type == raft::entry_type::config) {
        control =
          make_control_batch(offset, epoch, control_voters,
                             e.data ? std::span<const uint8_t>(*e.data) : std::span<const uint8_t>(), 0);
        batch = control;
    } else if (!e.data) {
        control = make_control_batch(offset, epoch, control_leader_change, {}, 0);
        batch = control;
    } else {
        batch = *e.data;
    }
    // What a peer sent must be the entry it claims: one batch at this offset and
    // epoch, covering the entry's offsets, continuing the log, in no older epoch
    // than the log's last (the storage asserts both; a peer's bytes are checked).
    auto h = record::read_header(batch);
    if (!h || h.value().base_offset != offset || h.value().partition_leader_epoch != epoch ||
        h.value().last_offset() != e.index() - 1 || h.value().size_bytes() != batch.size() ||
        offset != _log->log_end_offset() || epoch < _log->epochs().latest_epoch()) {
        clog.error(
          "{}: a Raft entry for offsets {}..{} in epoch {} is not a batch of them; the replica stops",
          _log->dir(), offset, e.index() - 1, epoch);
        halt(storage::errc::corrupt_log);
        return false;
    }
    auto r = _log->append_exact(batch, 0);
    if (!r) {
        clog.error("{}: cannot write a Raft entry at offset {}: {}", _log->dir(), offset,
                   r.error().message());
        halt(r.error());
        return false;
    }
    _logs.appended(_log);
    return true;
}

void partition::halt(std::error_code why) {
    // The Raft log and the partition log no longer agree: nothing more is carried
    // out, and the replica answers as a failed log until it is reopened.
    _halted = true;
    if (!_log->failure()) {
        _log->fail(why);
    }
    _changed.notify_all();
}

void partition::drain() {
    while (!_halted && !_stalled && _node->has_ready()) {
        process(_node->take_ready());
    }
    if (!_halted && !_stalled && is_leader() && _log->leader_epoch() < leader_epoch() &&
        _node->log().last_index() == raft::log_index{ _log->log_end_offset() }) {
        _log->set_leader_epoch(leader_epoch()); // its batches carry the new term
    }
    if (_node->role() != _seen_role || _node->term() != _seen_term) {
        _seen_role = _node->role();
        _seen_term = _node->term();
        _seen_leader = _node->leader();
        update_isr(true);
        notify(change::leadership);
    } else if (_node->leader() != _seen_leader) {
        _seen_leader = _node->leader(); // a follower learns its term's leader
        notify(change::leadership);
    }
}

void partition::process(raft::ready r) {
    if (r.hard_state && _peers) {
        store_hard_state(*r.hard_state);
    }
    if (r.snapshot) {
        // A partition's snapshot is its leader's first segment start, and carries no
        // data: the core keeps our log when it holds the snapshot's last entry. A
        // replica whose log does not (it ends before the leader's starts) drops it
        // and starts empty there, then takes the rest of this ready.
        const int64_t at = r.snapshot->meta.index();
        const auto epoch = int32_t(r.snapshot->meta.term());
        const bool resets = r.snapshot_resets_log;
        r.snapshot.reset();
        r.snapshot_resets_log = false;
        if (resets && !_spec.log_is_state) {
            clog.error("{}: the leader's log starts at {}, past this replica's end {}: this replica cannot "
                       "catch up from a snapshot of its state yet",
                       _log->dir(), at, _log->log_end_offset());
            halt(storage::errc::storage_error);
            return;
        }
        if (resets) {
            clog.info("{}: the leader's log starts at {}, past this replica's end {}: starting there",
                      _log->dir(), at, _log->log_end_offset());
            _stalled = std::move(r);
            asio::co_spawn(_logs.executor(), rewrite_and_resume(shared_from_this(), at, epoch),
                           asio::detached);
            return;
        }
    }
    for (size_t k = 0; k < r.entries.size(); ++k) {
        const auto& e = r.entries[k];
        const int64_t base = e.base()() - 1;
        const int64_t end = _log->log_end_offset();
        if (base < end) {
            if (e.index() <= end && _log->epochs().epoch_at(e.index() - 1) == int32_t(e.term())) {
                continue; // ours already: a leader's own batch, written by replicate()
            }
            // A new leader's entries replace our suffix from `base` on (§5.3): cut it,
            // then carry on with the rest of this ready.
            r.entries.erase(r.entries.begin(), r.entries.begin() + std::ptrdiff_t(k));
            _stalled = std::move(r);
            asio::co_spawn(_logs.executor(), rewrite_and_resume(shared_from_this(), base, std::nullopt),
                           asio::detached);
            return;
        }
        if (!write_entry(e)) {
            return;
        }
    }
    send(std::move(r.messages));
    if (!r.messages_after_persist.empty()) {
        const raft::log_index end{ _log->log_end_offset() };
        _deferred.push_back({ end, _node->log().term_at(end).value_or(raft::term_id{ -1 }), _vote_seq,
                              std::move(r.messages_after_persist) });
        release_deferred();
    }
    if (r.applied() > _log->high_watermark()) {
        _log->set_high_watermark(r.applied());
        _logs.committed(*_log);
        notify(change::committed);
    }
}

void partition::notify(change c) {
    _changed.notify_all();
    if (_on_change) {
        _on_change(c);
    }
}

void partition::send(std::vector<raft::message> ms) {
    const bool leading = is_leader();
    for (auto& m : ms) {
        auto it = _placement.find(m.to);
        if (it != _placement.end()) {
            if (leading && (m.type == raft::msg_type::append || m.type == raft::msg_type::heartbeat)) {
                m.driver_data = _log->log_start_offset();
            }
            _spec.transport->send(it->second, _spec.group, std::move(m));
        }
    }
}

void partition::release_deferred() {
    while (!_deferred.empty()) {
        auto& d = _deferred.front();
        if (_vote_done < d.vote_seq) {
            return;
        }
        if (_node->log().term_at(d.index) != d.term) {
            _deferred.pop_front(); // the log they describe was cut since: they claim nothing now
            continue;
        }
        if (_node->log().stable() < d.index) {
            return;
        }
        auto ms = std::move(d.messages);
        _deferred.pop_front();
        send(std::move(ms));
    }
}

void partition::store_hard_state(const raft::hard_state& hs) {
    storage::raft_vote v{ hs.term, std::nullopt };
    if (hs.vote != raft::no_node) {
        v.voted_for = hs.vote;
    }
    if (v == _vote_wanted) {
        return;
    }
    _vote_wanted = v;
    ++_vote_seq;
    if (!_vote_storing) {
        _vote_storing = true;
        asio::co_spawn(_logs.executor(), store_votes(shared_from_this()), asio::detached);
    }
}

awaitable<void> partition::store_votes(std::shared_ptr<partition> self) {
    (void)self; // lives until the last store ends
    while (_vote_done < _vote_seq && !_halted) {
        const uint64_t seq = _vote_seq;
        const storage::raft_vote prev = _vote_stored;
        const storage::raft_vote next = _vote_wanted;
        storage::file_ops* ops = &_logs.ops();
        std::error_code stored;
        bool queued = true;
        try {
            auto job = [ops, dir = _log->dir(), prev, next] {
                auto r = storage::store_vote(*ops, dir, prev, next);
                return r ? std::error_code() : r.error();
            };
            stored = co_await _logs.io().run(std::move(job));
        } catch (const runtime::io_worker::queue_full&) {
            queued = false;
        }
        if (!queued) {
            asio::steady_timer t(_logs.executor(), std::chrono::milliseconds(10));
            co_await t.async_wait(use_awaitable);
            continue;
        }
        if (stored) {
            clog.error("{}: cannot store the Raft vote: {}", _log->dir(), stored.message());
            halt(stored);
            break;
        }
        _vote_stored = next;
        _vote_done = seq;
        release_deferred();
    }
    _vote_storing = false;
}

awaitable<void> partition::rewrite_and_resume(std::shared_ptr<partition> self, int64_t offset,
                                              std::optional<int32_t> reset_epoch) {
    (void)self; // lives until the rewrite is done
    // A cut waits for group-commit rounds holding the log, and one already running
    // (compaction, another cut) makes it busy for a while: retry, but not forever.
    for (int attempt = 0;; ++attempt) {
        std::error_code ec;
        if (reset_epoch) {
            auto reset = _logs.reset(_log, offset, *reset_epoch);
            ec = co_await std::move(reset);
        } else {
            auto cut = _logs.truncate(_log, model::offset{ offset });
            ec = co_await std::move(cut);
        }
        if (!ec) {
            break;
        }
        if (ec != storage::errc::busy || attempt >= 1000 || _log->failure()) {
            clog.error("{}: cannot {} the log at {} for the leader: {}", _log->dir(),
                       reset_epoch ? "restart" : "cut", offset, ec.message());
            halt(ec);
            co_return;
        }
        asio::steady_timer t(_logs.executor(), std::chrono::milliseconds(10));
        co_await t.async_wait(use_awaitable);
    }
    auto r = std::move(*_stalled);
    _stalled.reset();
    process(std::move(r));
    drain();
}

awaitable<std::shared_ptr<partition>> partition_manager::get(std::string topic, model::uuid topic_id,
                                                             int32_t p, storage::log_config cfg,
                                                             group_spec spec) {
    _owner.check_owner("partition_manager");
    if (auto found = find(topic, p)) {
        co_return found;
    }
    auto opening = _logs.get(topic, topic_id, p, std::move(cfg));
    auto log_ptr = co_await std::move(opening);
    if (!log_ptr) {
        co_return nullptr;
    }
    // Another caller may have built it while the log opened.
    if (auto found = find(topic, p)) {
        co_return found;
    }
    storage::raft_vote vote;
    if (spec.has_peers(_self)) {
        if (spec.transport == nullptr) {
            spec.transport = _raft;
        }
        if (spec.transport == nullptr) {
            clog.error("{}: a replica with peers needs the cluster's transport", log_ptr->dir());
            co_return nullptr;
        }
        storage::file_ops* ops = &_logs.ops();
        // (error, vote): the worker's results are default-constructible.
        std::pair<std::error_code, storage::raft_vote> loaded{ storage::errc::busy, {} };
        try {
            auto job = [ops, dir = log_ptr->dir()] {
                auto r = storage::load_vote(*ops, dir);
                return r ? std::pair<std::error_code, storage::raft_vote>{ {}, r.value() }
                         : std::pair<std::error_code, storage::raft_vote>{ r.error(), {} };
            };
            loaded = co_await _logs.io().run(std::move(job));
        } catch (const runtime::io_worker::queue_full&) {
        }
        if (loaded.first) {
            clog.error("{}: cannot read the Raft vote: {}", log_ptr->dir(), loaded.first.message());
            co_return nullptr;
        }
        vote = loaded.second;
        if (auto found = find(topic, p)) {
            co_return found;
        }
    }
    auto made = std::make_shared<partition>(std::move(log_ptr), _logs, _self, std::move(spec), vote);
    _partitions.insert_or_assign(key{ std::move(topic), p }, made);
    if (made->has_peers() && _raft != nullptr && made->spec().transport == _raft) {
        _raft->add(made);
    }
    made->start();
    co_return made;
}

std::shared_ptr<partition> partition_manager::find(std::string_view topic, int32_t p) {
    _owner.check_owner("partition_manager");
    auto it = _partitions.find(key{ std::string(topic), p });
    if (it == _partitions.end()) {
        return nullptr;
    }
    if (_logs.find(topic, p) != it->second->log_ptr()) {
        _partitions.erase(it); // the topic was deleted (and perhaps created again)
        return nullptr;
    }
    return it->second;
}

void partition_manager::forget_closed(std::optional<std::string_view> topic) {
    _owner.check_owner("partition_manager");
    auto closed = [&](const auto& kv) {
        return _logs.find(kv.first.first, kv.first.second) != kv.second->log_ptr();
    };
    if (!topic) {
        std::erase_if(_partitions, closed);
        return;
    }
    std::string name(*topic);
    auto to = _partitions.upper_bound(key{ name, INT32_MAX });
    for (auto it = _partitions.lower_bound(key{ name, INT32_MIN }); it != to;) {
        it = closed(*it) ? _partitions.erase(it) : std::next(it);
    }
}

} // namespace chronik::cluster
