#include "cluster/partition.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/logger.h"
#include "cluster/errc.h"
#include "record/batch.h"

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
        if (offset < _log.log_start_offset() || offset >= _log.log_end_offset()) {
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
                     model::node_id self)
  : _log(std::move(log)), _logs(logs), _reader(std::make_unique<reader>(*_log)) {
    const int64_t start = _log->log_start_offset();
    const int64_t end = _log->log_end_offset();
    raft::restored_state st;
    st.reader = _reader.get();
    st.last_index = raft::log_index{ end };
    // The snapshot point is the log start: everything before it is gone.
    st.snapshot.meta.index = raft::log_index{ start };
    st.snapshot.meta.config.voters = { self };
    // Term starts from the leader-epoch cache. Epochs with no batch of their own
    // (several starting at one offset, or one at the log end) are left out.
    const auto& epochs = _log->epochs().entries();
    for (size_t k = 0; k < epochs.size(); ++k) {
        const auto& ep = epochs[k];
        bool empty =
          ep.start_offset >= end || (k + 1 < epochs.size() && epochs[k + 1].start_offset <= ep.start_offset);
        if (!empty) {
            st.terms.push_back(
              { raft::term_id{ ep.epoch }, raft::log_index{ std::max(ep.start_offset, start) + 1 } });
        }
    }
    if (end > start && (st.terms.empty() || st.terms.front().start != raft::log_index{ start + 1 })) {
        // The cache does not reach back to the log start (a log older than it).
        st.terms.insert(st.terms.begin(), { raft::term_id{ 0 }, raft::log_index{ start + 1 } });
        if (st.terms.size() > 1 && st.terms[1].term == raft::term_id{ 0 }) {
            st.terms.erase(st.terms.begin() + 1);
        }
    }
    st.snapshot.meta.term =
      st.terms.empty() ? raft::term_id{ std::max(_log->epochs().latest_epoch(), 0) } : st.terms.front().term;
    // The current term: at least the newest epoch the log knows (stored with the
    // first batch written in it), so the election below starts a newer one.
    st.hard_state.term =
      raft::term_id{ std::max({ _log->epochs().latest_epoch(), _log->leader_epoch(), 0 }) };
    raft::options o;
    o.id = self;
    o.apply_entries = false; // the log is the state
    o.cache_bytes = 0;       // the leader's entries are already in the log
    o.seed = uint64_t(std::hash<std::string>{}(_log->dir()));
    _node = std::make_unique<raft::node>(o, std::move(st));
    _log->set_persisted_listener([this](int64_t durable_end) { persisted(durable_end); });
    (void)_node->campaign(); // a sole voter leads at once
    drain();
}

partition::~partition() {
    _log->set_persisted_listener({});
}

result<storage::append_outcome> partition::replicate(std::span<uint8_t> batch, int64_t now_ms) {
    _owner.check_owner("cluster::partition");
    if (!is_leader()) {
        return errc::not_leader;
    }
    CHRONIK_ASSERT(_node->log().last_index() == raft::log_index{ _log->log_end_offset() },
                   "the Raft log ends where the partition log does");
    auto appended = _log->append(batch, now_ms);
    if (!appended || appended.value().duplicate) {
        return appended;
    }
    const auto& a = appended.value();
    auto proposed = _node->propose(nullptr, a.last_offset - a.base_offset + 1);
    CHRONIK_ASSERT(proposed.has_value() && proposed.value() == index_after(a.last_offset),
                   "the leader's entry is the batch it appended");
    drain(); // hands the entry over as written, before any durability report for it
    _logs.appended(_log);
    return appended;
}

awaitable<std::error_code> partition::wait_committed(int64_t last_offset) {
    auto wait = _logs.wait_durable(_log, last_offset);
    co_return co_await std::move(wait);
}

void partition::persisted(int64_t end) {
    const raft::log_index i{ end };
    if (auto t = _node->log().term_at(i)) {
        _node->persisted(i, *t);
    }
    drain();
}

void partition::write_entry(const raft::entry& e) {
    // A follower's copy of its leader's log, or this leader's own no-op or
    // configuration (one voter writes neither).
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
    auto r = _log->append_exact(batch, 0);
    if (!r) {
        clog.error("{}: cannot write a Raft entry at offset {}: {}", _log->dir(), offset,
                   r.error().message());
        return;
    }
    _logs.appended(_log);
}

void partition::drain() {
    while (_node->has_ready()) {
        if (is_leader() && _log->leader_epoch() < leader_epoch()) {
            _log->set_leader_epoch(leader_epoch()); // its batches carry the new term
        }
        auto r = _node->take_ready();
        for (const auto& e : r.entries) {
            if (e.index() > _log->log_end_offset()) {
                write_entry(e);
            }
        }
        if (r.applied() > _log->high_watermark()) {
            _log->set_high_watermark(r.applied());
            _logs.committed(*_log);
        }
    }
    if (is_leader() && _log->leader_epoch() < leader_epoch()) {
        _log->set_leader_epoch(leader_epoch());
    }
}

awaitable<std::shared_ptr<partition>> partition_manager::get(std::string topic, model::uuid topic_id,
                                                             int32_t p, storage::log_config cfg) {
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
    auto made = std::make_shared<partition>(std::move(log_ptr), _logs, _self);
    _partitions.insert_or_assign(key{ std::move(topic), p }, made);
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
