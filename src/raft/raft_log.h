#pragma once
// The in-memory view of one node's Raft log: a snapshot point followed by the
// entries after it, with two watermarks the driver moves:
//   - `unstable_from`: the first index not yet handed to the driver for persistence;
//   - `stable`: the last index the driver reported durable.
// Invariants: snapshot.index <= stable < unstable_from <= last_index() + 1, and
// entries_[k].index == snapshot.index + 1 + k.
#include "raft/types.h"

#include <deque>
#include <optional>

namespace chronik::raft {

class raft_log {
public:
    explicit raft_log(snapshot_meta base = {}, std::vector<entry> stable_entries = {});

    log_index first_index() const noexcept { return _snap.index + 1; }
    log_index last_index() const noexcept { return _snap.index + int64_t(_entries.size()); }
    term_id last_term() const noexcept { return _entries.empty() ? _snap.term : _entries.back().term; }
    log_index stable() const noexcept { return _stable; }
    const snapshot_meta& snapshot() const noexcept { return _snap; }

    // The term of entry i: the snapshot's for i == snapshot index, nullopt when i
    // is compacted away or beyond the end.
    std::optional<term_id> term_at(log_index i) const noexcept;
    bool matches(log_index i, term_id t) const noexcept { return term_at(i) == t; }
    const entry& at(log_index i) const noexcept; // first_index() <= i <= last_index()

    // §5.4.1: a candidate's log is at least as up-to-date as ours.
    bool is_up_to_date(log_index last, term_id term) const noexcept {
        return term > last_term() || (term == last_term() && last >= last_index());
    }

    // Entries [from, last], at most max_bytes (but at least one entry).
    std::vector<entry> slice(log_index from, size_t max_bytes, size_t max_count) const;

    // Leader path: appends entries continuing the log.
    void append(std::vector<entry> es);
    // Follower path (§5.3): entries after `prev`; drops our conflicting suffix.
    // Returns the index of the first entry actually changed (or nullopt if none).
    std::optional<log_index> merge(std::vector<entry> es);

    // The first index of the term of entry i, scanning back (for conflict hints).
    log_index first_index_of_term(log_index i) const noexcept;
    // The last index whose term is <= t, or nullopt when none is left in memory.
    std::optional<log_index> last_index_of_term_at_most(term_id t) const noexcept;

    // Entries the driver has not been given for persistence yet; marks them given.
    std::vector<entry> take_unstable();
    bool has_unstable() const noexcept { return _unstable_from <= last_index(); }
    // The driver made [.., i] durable, where entry i had term t. A stale report (the
    // entry was since replaced) is ignored.
    void persisted(log_index i, term_id t) noexcept;

    // Drops entries <= i (a snapshot now covers them). Requires i <= stable.
    void compact(const snapshot_meta& snap);
    // Installs a snapshot from the leader. Keeps our suffix after it if our log
    // holds the snapshot's last entry (Raft figure 13, step 6); returns true when
    // the whole log was discarded instead.
    bool restore(const snapshot_meta& snap);

private:
    snapshot_meta _snap;
    std::deque<entry> _entries;
    log_index _stable{ 0 };
    log_index _unstable_from{ 1 };
};

} // namespace chronik::raft
