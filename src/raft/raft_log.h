#pragma once
// One node's view of its Raft log: a snapshot point, the term boundaries of every
// entry after it, and a tail of entries held in memory. With an entry_reader (the
// partition log, or the simulator's disk) the tail holds only what is not yet
// durable or not yet applied, plus a bounded cache; older entries are read back
// from the driver's storage when a follower needs them. Without one, every entry
// stays in memory until a snapshot covers it.
//
// Entries cover ranges of indexes (types.h); there is no second index space. Two
// watermarks move with the driver:
//   - `unstable_from`: the first index not yet handed to the driver to persist;
//   - `stable`: the last index the driver reported durable.
// Invariants: snapshot.index <= stable < unstable_from <= last_index() + 1; the
// tail is contiguous and ends at last_index(); term starts are increasing and lie
// in (snapshot.index, last_index()].
#include "raft/types.h"

#include <deque>
#include <optional>

namespace chronik::raft {

class raft_log {
public:
    // Everything after `base` in memory (no reader).
    explicit raft_log(snapshot_meta base = {}, std::vector<entry> stable_entries = {});
    // A log whose entries (snapshot, last] are in the driver's storage: their term
    // starts, and optionally a tail of them to hold in memory. cache_bytes bounds
    // the durable, applied entries kept in memory.
    raft_log(snapshot_meta base, std::vector<term_start> terms, log_index last, std::vector<entry> tail,
             entry_reader* reader, size_t cache_bytes);

    log_index first_index() const noexcept { return _snap.index + 1; }
    log_index last_index() const noexcept { return _last; }
    term_id last_term() const noexcept { return _terms.empty() ? _snap.term : _terms.back().term; }
    log_index stable() const noexcept { return _stable; }
    const snapshot_meta& snapshot() const noexcept { return _snap; }
    const std::vector<term_start>& terms() const noexcept { return _terms; }

    // The term of index i: the snapshot's for i == snapshot index, nullopt when i
    // is compacted away or beyond the end. Inside an entry, the entry's term.
    std::optional<term_id> term_at(log_index i) const noexcept;
    // Whether our log holds index i in term t. Entries of one term come from that
    // term's only leader, so this means the entry ending at i is the same entry.
    bool matches(log_index i, term_id t) const noexcept { return term_at(i) == t; }

    // §5.4.1: a candidate's log is at least as up-to-date as ours.
    bool is_up_to_date(log_index last, term_id term) const noexcept {
        return term > last_term() || (term == last_term() && last >= last_index());
    }

    // Entries holding indexes >= from (the first may begin before `from`), at most
    // max_bytes (but at least one entry) and max_count; from the tail or the reader.
    std::vector<entry> slice(log_index from, size_t max_bytes, size_t max_count) const;
    // The entries ending in (after, upto], in order (the tail, else the reader).
    std::vector<entry> between(log_index after, log_index upto) const;
    // The payload bytes of the entries in memory ending in (after, upto]; nothing is
    // read back (what a leader counts against max_uncommitted_bytes is in memory).
    size_t bytes_in_memory(log_index after, log_index upto) const noexcept;

    // Leader path: appends entries continuing the log.
    void append(std::vector<entry> es);
    // Follower path (§5.3): entries after a matching `prev`; drops our conflicting
    // suffix. Returns the first index actually changed (or nullopt if none).
    std::optional<log_index> merge(std::vector<entry> es);

    // Where the term of index i begins (for conflict hints).
    log_index first_index_of_term(log_index i) const noexcept;
    // The last index whose term is <= t, or nullopt when none is left.
    std::optional<log_index> last_index_of_term_at_most(term_id t) const noexcept;

    // Entries the driver has not been given for persistence yet; marks them given.
    std::vector<entry> take_unstable();
    bool has_unstable() const noexcept { return _unstable_from <= _last; }
    // The driver made [.., i] durable, where i had term t. A stale report (the
    // entry was since replaced) is ignored.
    void persisted(log_index i, term_id t) noexcept;
    // Entries up to `applied` were applied: durable ones may leave memory.
    void applied(log_index applied) noexcept;

    // Drops entries <= the snapshot's index (a snapshot now covers them). Requires
    // index <= stable.
    void compact(const snapshot_meta& snap);
    // Installs a snapshot from the leader. Keeps our suffix after it if our log
    // holds the snapshot's last entry (Raft figure 13, step 6); returns true when
    // the whole log was discarded instead.
    bool restore(const snapshot_meta& snap);

    size_t tail_entries() const noexcept { return _tail.size(); }

private:
    log_index tail_from() const noexcept { return _tail.empty() ? _last + 1 : _tail.front().base(); }
    void push(entry e);
    void truncate_from(log_index i);
    void drop_through(log_index i); // entries and term starts <= i go (a snapshot covers them)
    void evict();

    snapshot_meta _snap;
    std::vector<term_start> _terms;
    log_index _last{ 0 };
    std::deque<entry> _tail;
    size_t _tail_bytes = 0;
    log_index _stable{ 0 };
    log_index _unstable_from{ 1 };
    log_index _applied{ 0 };
    entry_reader* _reader = nullptr;
    size_t _cache_bytes = 0;
};

} // namespace chronik::raft
