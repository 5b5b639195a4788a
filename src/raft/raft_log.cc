#include "raft/raft_log.h"

#include "base/assert.h"

namespace chronik::raft {

raft_log::raft_log(snapshot_meta base, std::vector<entry> stable_entries) : _snap(std::move(base)) {
    for (auto& e : stable_entries) {
        CHRONIK_ASSERT(e.index == last_index() + 1, "restored entries must be contiguous after the snapshot");
        _entries.push_back(std::move(e));
    }
    _stable = last_index();
    _unstable_from = last_index() + 1;
}

std::optional<term_id> raft_log::term_at(log_index i) const noexcept {
    if (i == _snap.index) {
        return _snap.term;
    }
    if (i < first_index() || i > last_index()) {
        return std::nullopt;
    }
    return at(i).term;
}

const entry& raft_log::at(log_index i) const noexcept {
    CHRONIK_ASSERT(i >= first_index() && i <= last_index());
    return _entries[size_t(i() - first_index()())];
}

std::vector<entry> raft_log::slice(log_index from, size_t max_bytes, size_t max_count) const {
    std::vector<entry> out;
    size_t bytes = 0;
    for (log_index i = from; i <= last_index() && out.size() < max_count; ++i) {
        const auto& e = at(i);
        if (!out.empty() && bytes + e.size_bytes() > max_bytes) {
            break;
        }
        bytes += e.size_bytes();
        out.push_back(e);
    }
    return out;
}

void raft_log::append(std::vector<entry> es) {
    for (auto& e : es) {
        CHRONIK_ASSERT(e.index == last_index() + 1 && e.term >= last_term());
        _entries.push_back(std::move(e));
    }
}

std::optional<log_index> raft_log::merge(std::vector<entry> es) {
    std::optional<log_index> changed;
    for (auto& e : es) {
        if (e.index <= _snap.index) {
            continue; // covered by our snapshot (committed, so identical)
        }
        if (e.index <= last_index()) {
            if (at(e.index).term == e.term) {
                continue; // already have it (log matching: identical)
            }
            // Conflict: drop it and everything after (never a committed entry: the
            // caller checked prev and commit is behind any conflict, §5.3).
            while (last_index() >= e.index) {
                _entries.pop_back();
            }
            if (_stable >= e.index) {
                _stable = e.index - 1;
            }
            if (_unstable_from > e.index) {
                _unstable_from = e.index;
            }
        }
        CHRONIK_ASSERT(e.index == last_index() + 1, "merged entries must be contiguous");
        if (!changed) {
            changed = e.index;
        }
        _entries.push_back(std::move(e));
    }
    return changed;
}

log_index raft_log::first_index_of_term(log_index i) const noexcept {
    auto t = term_at(i);
    if (!t) {
        return i;
    }
    while (i > first_index() && at(i - 1).term == *t) {
        i = i - 1;
    }
    return i;
}

std::optional<log_index> raft_log::last_index_of_term_at_most(term_id t) const noexcept {
    for (log_index i = last_index(); i >= _snap.index; i = i - 1) {
        if (*term_at(i) <= t) {
            return i;
        }
    }
    return std::nullopt;
}

std::vector<entry> raft_log::take_unstable() {
    std::vector<entry> out;
    for (log_index i = _unstable_from; i <= last_index(); ++i) {
        out.push_back(at(i));
    }
    _unstable_from = last_index() + 1;
    return out;
}

void raft_log::persisted(log_index i, term_id t) noexcept {
    if (i > _stable && i < _unstable_from && matches(i, t)) {
        _stable = i;
    }
}

void raft_log::compact(const snapshot_meta& snap) {
    CHRONIK_ASSERT(snap.index <= _stable && snap.index >= _snap.index);
    while (!_entries.empty() && _entries.front().index <= snap.index) {
        _entries.pop_front();
    }
    _snap = snap;
}

bool raft_log::restore(const snapshot_meta& snap) {
    bool keep = matches(snap.index, snap.term);
    if (keep) {
        while (!_entries.empty() && _entries.front().index <= snap.index) {
            _entries.pop_front();
        }
    } else {
        _entries.clear();
    }
    _snap = snap;
    // The snapshot and what we kept become durable together with this ready.
    _stable = keep ? std::max(_stable, snap.index) : snap.index;
    _unstable_from = keep ? std::max(_unstable_from, snap.index + 1) : snap.index + 1;
    return !keep;
}

} // namespace chronik::raft
