#include "raft/raft_log.h"

#include "base/assert.h"

#include <algorithm>

namespace chronik::raft {

namespace {
// What an entry held in memory costs beyond its payload.
constexpr size_t entry_overhead = 64;
size_t cost(const entry& e) noexcept {
    return e.size_bytes() + entry_overhead;
}
} // namespace

raft_log::raft_log(snapshot_meta base, std::vector<entry> stable_entries)
  : _snap(std::move(base)), _last(_snap.index) {
    for (auto& e : stable_entries) {
        CHRONIK_ASSERT(e.base() == _last + 1, "restored entries must be contiguous after the snapshot");
        push(std::move(e));
    }
    _stable = _last;
    _unstable_from = _last + 1;
    _applied = _snap.index;
}

raft_log::raft_log(snapshot_meta base, std::vector<term_start> terms, log_index last, std::vector<entry> tail,
                   entry_reader* reader, size_t cache_bytes)
  : _snap(std::move(base)), _terms(std::move(terms)), _last(last), _reader(reader),
    _cache_bytes(cache_bytes) {
    CHRONIK_ASSERT(_last >= _snap.index && (_last == _snap.index || !_terms.empty()),
                   "every restored entry has a term");
    for (size_t k = 0; k < _terms.size(); ++k) {
        CHRONIK_ASSERT(
          _terms[k].start > _snap.index && _terms[k].start <= _last &&
            (k == 0 || (_terms[k].term > _terms[k - 1].term && _terms[k].start > _terms[k - 1].start)),
          "term starts increase inside the log");
    }
    CHRONIK_ASSERT(_terms.empty() || _terms.front().start == _snap.index + 1,
                   "the first term starts the log");
    CHRONIK_ASSERT(tail.empty() || (tail.back().index == _last && tail.front().base() > _snap.index),
                   "the restored tail ends the log");
    for (auto& e : tail) {
        CHRONIK_ASSERT(_tail.empty() || e.base() == _tail.back().index + 1,
                       "the restored tail is contiguous");
        _tail_bytes += cost(e);
        _tail.push_back(std::move(e));
    }
    _stable = _last;
    _unstable_from = _last + 1;
    _applied = _snap.index;
}

void raft_log::push(entry e) {
    CHRONIK_ASSERT(e.count >= 1 && e.base() == _last + 1 && e.term >= last_term(),
                   "entries continue the log, in a term no older than its last");
    if (_terms.empty() || e.term > _terms.back().term) {
        _terms.push_back({ e.term, e.base() });
    }
    _last = e.index;
    _tail_bytes += cost(e);
    _tail.push_back(std::move(e));
}

std::optional<term_id> raft_log::term_at(log_index i) const noexcept {
    if (i == _snap.index) {
        return _snap.term;
    }
    if (i < first_index() || i > _last) {
        return std::nullopt;
    }
    auto it = std::upper_bound(_terms.begin(), _terms.end(), i,
                               [](log_index v, const term_start& t) { return v < t.start; });
    CHRONIK_ASSERT(it != _terms.begin(), "every index of the log has a term");
    return std::prev(it)->term;
}

std::vector<entry> raft_log::slice(log_index from, size_t max_bytes, size_t max_count) const {
    std::vector<entry> out;
    if (from > _last || from <= _snap.index || max_count == 0) {
        return out;
    }
    const log_index tail_start = tail_from();
    if (from < tail_start) {
        CHRONIK_ASSERT(_reader != nullptr, "entries left memory only with a reader to read them back");
        auto got = _reader->read(from, max_bytes, max_count);
        for (auto& e : got) {
            bool fits = out.empty() ? e.base() <= from && e.index >= from : e.base() == out.back().index + 1;
            if (!fits || e.index >= tail_start || term_at(e.index) != e.term) {
                break; // beyond what storage holds for us (or not what we expect): stop there
            }
            out.push_back(std::move(e));
        }
        return out;
    }
    auto it = std::lower_bound(_tail.begin(), _tail.end(), from,
                               [](const entry& e, log_index v) { return e.index < v; });
    size_t bytes = 0;
    for (; it != _tail.end() && out.size() < max_count; ++it) {
        if (!out.empty() && bytes + it->size_bytes() > max_bytes) {
            break;
        }
        bytes += it->size_bytes();
        out.push_back(*it);
    }
    return out;
}

std::vector<entry> raft_log::between(log_index after, log_index upto) const {
    std::vector<entry> out;
    upto = std::min(upto, _last);
    log_index next = std::max(after, _snap.index) + 1;
    while (next <= upto) {
        auto part = slice(next, 1 << 20, 4096);
        if (part.empty()) {
            CHRONIK_ASSERT(false, "a committed entry could not be read back");
        }
        for (auto& e : part) {
            if (e.index > upto) {
                return out;
            }
            next = e.index + 1;
            out.push_back(std::move(e));
        }
    }
    return out;
}

size_t raft_log::bytes_in_memory(log_index after, log_index upto) const noexcept {
    size_t n = 0;
    auto it = std::upper_bound(_tail.begin(), _tail.end(), after,
                               [](log_index v, const entry& e) { return v < e.index; });
    for (; it != _tail.end() && it->index <= upto; ++it) {
        n += it->size_bytes();
    }
    return n;
}

void raft_log::append(std::vector<entry> es) {
    for (auto& e : es) {
        push(std::move(e));
    }
}

void raft_log::truncate_from(log_index i) {
    CHRONIK_ASSERT(i > _applied, "only entries above the applied index are cut");
    // Entries below the tail may go too (after a restart the tail is any suffix):
    // the driver's storage drops them when it writes what replaces them.
    while (!_tail.empty() && _tail.back().index >= i) {
        _tail_bytes -= cost(_tail.back());
        _tail.pop_back();
    }
    if (!_tail.empty() && _tail.front().base() >= i) {
        _tail_bytes = 0;
        _tail.clear();
    }
    CHRONIK_ASSERT(_tail.empty() || _tail.back().index == i - 1, "a log is cut at an entry boundary");
    while (!_terms.empty() && _terms.back().start >= i) {
        _terms.pop_back();
    }
    _last = i - 1;
    _stable = std::min(_stable, _last);
    _unstable_from = std::min(_unstable_from, i);
}

std::optional<log_index> raft_log::merge(std::vector<entry> es) {
    std::optional<log_index> changed;
    for (auto& e : es) {
        if (e.index <= _snap.index) {
            continue; // covered by our snapshot (committed, so identical)
        }
        if (e.base() <= _last) {
            if (e.index <= _last && term_at(e.index) == e.term) {
                continue; // already have it (log matching: identical)
            }
            // Conflict: drop it and everything after (never a committed entry: the
            // caller checked prev, and commit is behind any conflict, §5.3).
            truncate_from(e.base());
        }
        CHRONIK_ASSERT(e.base() == _last + 1, "merged entries must be contiguous");
        if (!changed) {
            changed = e.base();
        }
        push(std::move(e));
    }
    return changed;
}

log_index raft_log::first_index_of_term(log_index i) const noexcept {
    if (i <= _snap.index || i > _last) {
        return i;
    }
    auto it = std::upper_bound(_terms.begin(), _terms.end(), i,
                               [](log_index v, const term_start& t) { return v < t.start; });
    return std::max(std::prev(it)->start, first_index());
}

std::optional<log_index> raft_log::last_index_of_term_at_most(term_id t) const noexcept {
    for (size_t k = _terms.size(); k-- > 0;) {
        if (_terms[k].term <= t) {
            return k + 1 < _terms.size() ? _terms[k + 1].start - 1 : _last;
        }
    }
    if (_snap.term <= t) {
        return _snap.index;
    }
    return std::nullopt;
}

std::vector<entry> raft_log::take_unstable() {
    std::vector<entry> out;
    CHRONIK_ASSERT(_unstable_from >= tail_from(), "unpersisted entries stay in memory");
    auto it = std::lower_bound(_tail.begin(), _tail.end(), _unstable_from,
                               [](const entry& e, log_index v) { return e.base() < v; });
    out.assign(it, _tail.end());
    _unstable_from = _last + 1;
    return out;
}

void raft_log::persisted(log_index i, term_id t) noexcept {
    if (i > _stable && i < _unstable_from && matches(i, t)) {
        _stable = i;
        evict();
    }
}

void raft_log::applied(log_index applied) noexcept {
    if (applied > _applied) {
        _applied = applied;
        evict();
    }
}

void raft_log::evict() {
    if (_reader == nullptr) {
        return;
    }
    const log_index keep_above = std::min(_stable, _applied);
    while (!_tail.empty() && _tail_bytes > _cache_bytes && _tail.front().index <= keep_above) {
        _tail_bytes -= cost(_tail.front());
        _tail.pop_front();
    }
}

void raft_log::drop_through(log_index i) {
    while (!_tail.empty() && _tail.front().index <= i) {
        _tail_bytes -= cost(_tail.front());
        _tail.pop_front();
    }
    CHRONIK_ASSERT(_tail.empty() || _tail.front().base() > i, "a snapshot ends at an entry boundary");
    if (i >= _last) {
        _terms.clear();
        return;
    }
    // The term covering i + 1 now starts there; the ones before it go.
    auto covering = std::upper_bound(_terms.begin(), _terms.end(), i + 1,
                                     [](log_index v, const term_start& t) { return v < t.start; });
    CHRONIK_ASSERT(covering != _terms.begin(), "every index of the log has a term");
    --covering;
    covering->start = i + 1;
    _terms.erase(_terms.begin(), covering);
}

void raft_log::compact(const snapshot_meta& snap) {
    CHRONIK_ASSERT(snap.index <= _stable && snap.index >= _snap.index);
    drop_through(snap.index);
    _snap = snap;
}

bool raft_log::restore(const snapshot_meta& snap) {
    bool keep = matches(snap.index, snap.term);
    if (keep) {
        drop_through(snap.index);
    } else {
        _tail.clear();
        _tail_bytes = 0;
        _terms.clear();
        _last = snap.index;
    }
    _snap = snap;
    // The snapshot and what we kept become durable together with this ready.
    _stable = keep ? std::max(_stable, snap.index) : snap.index;
    _unstable_from = keep ? std::max(_unstable_from, snap.index + 1) : snap.index + 1;
    _applied = std::max(_applied, snap.index);
    return !keep;
}

} // namespace chronik::raft
