#pragma once
// The vocabulary of the Raft core: log entries, configurations, hard state,
// snapshots, messages, and the `ready` batch the core hands to its driver.
// Nothing here does I/O; the driver (the cluster layer, or the simulator in
// tests/sim) moves these values between nodes and disks.
#include "base/bytes.h"
#include "base/result.h"
#include "base/strong_type.h"
#include "model/model.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace chronik::raft {

using model::node_id;
using model::term_id;
using log_index = strong_type<int64_t, struct log_index_tag>;

inline constexpr node_id no_node{ -1 };

// Entry payloads are shared between the log, outgoing messages and the driver:
// replicating to four followers does not copy the bytes four times.
using payload = std::shared_ptr<const bytes>;
inline payload make_payload(bytes b) {
    return std::make_shared<const bytes>(std::move(b));
}

enum class entry_type : uint8_t {
    normal = 0, // the state machine's command (a new leader's no-op is a normal entry with no data)
    config = 1, // an encoded `configuration` (see encode_config)
};

// An entry covers `count` consecutive indexes ending at `index`: in a partition's
// Raft group the log is the partition log itself, an entry is one RecordBatch and
// its indexes are the batch's Kafka offsets (its term is the batch's partition
// leader epoch). Entries are contiguous: each starts right after the one before.
// Messages, acks and the commit index name an entry by its last index.
struct entry {
    term_id term;
    log_index index; // the last index the entry covers
    entry_type type = entry_type::normal;
    payload data;      // may be null: an empty entry
    int64_t count = 1; // indexes covered, >= 1
    log_index base() const noexcept { return index - (count - 1); }
    size_t size_bytes() const noexcept { return data ? data->size() : 0; }
};

// Where a term's entries begin in the log (Kafka's leader-epoch cache has the same
// shape). A log's terms are strictly increasing, and so are their starts.
struct term_start {
    term_id term;
    log_index start;
    bool operator==(const term_start&) const = default;
};

// The driver's stored log, for entries the core no longer holds in memory (a
// follower catching up, or committed entries to apply after a restart). The core
// asks only for entries that are durable and committed, which never change.
class entry_reader {
public:
    virtual ~entry_reader() = default;
    // Entries holding indexes >= `from` (the first may begin before it), in order,
    // at most max_bytes (but at least one) and max_count. Empty if none can be read.
    virtual std::vector<entry> read(log_index from, size_t max_bytes, size_t max_count) = 0;
};

// Membership. Voters elect and count towards commit; learners only receive the log
// (a server is added as a learner, catches up, then is promoted). Changes move at
// most one voter at a time (Ongaro's thesis, §4.1), and a leader proposes one only
// after committing an entry of its own term — the fix for the single-server-change
// bug Ongaro described on raft-dev in 2015.
struct configuration {
    std::set<node_id> voters;
    std::set<node_id> learners;
    bool operator==(const configuration&) const = default;
    bool is_voter(node_id n) const { return voters.contains(n); }
    bool is_member(node_id n) const { return voters.contains(n) || learners.contains(n); }
    size_t quorum() const noexcept { return voters.size() / 2 + 1; }
};
bytes encode_config(const configuration& c);
// Config entries come from peers: a malformed one is an error, never an abort.
result<configuration> decode_config(std::span<const uint8_t> in);

// What must be on disk before the node acts on it: the current term and the vote
// cast in it. (The commit index is not persisted; it is relearned from the leader.)
struct hard_state {
    term_id term{ 0 };
    node_id vote = no_node;
    bool operator==(const hard_state&) const = default;
};

struct snapshot_meta {
    log_index index{ 0 }; // the last entry the snapshot covers
    term_id term{ 0 };    // that entry's term
    configuration config; // membership as of `index`
};

struct snapshot {
    snapshot_meta meta;
    payload data; // the state machine's image; opaque to the core
};

enum class msg_type : uint8_t {
    vote,
    vote_response,
    pre_vote,
    pre_vote_response,
    append,
    append_response,
    heartbeat,
    heartbeat_response,
    snapshot,
    snapshot_response,
    timeout_now,         // leadership transfer: campaign now, ignoring the lease
    read_index,          // a follower asks the leader for a read index
    read_index_response, // the leader's answer
};
const char* to_string(msg_type t) noexcept;

// One flat message type (as etcd/raft): fields a type does not use stay default.
struct message {
    msg_type type = msg_type::heartbeat;
    node_id from = no_node;
    node_id to = no_node;
    term_id term{ 0 };

    // vote / pre_vote: the candidate's last entry. append: the entry before `entries`.
    log_index index{ 0 };
    term_id log_term{ 0 };
    std::vector<entry> entries;
    log_index commit{ 0 };
    bool reject = false;
    bool transfer = false; // vote: campaign triggered by leadership transfer

    // append_response on reject: where the follower's log diverges (§5.3's
    // optimisation as in the thesis: the conflicting term and its first index, or
    // the follower's last index + 1 when its log is short).
    log_index hint_index{ 0 };
    term_id hint_term{ 0 };

    // heartbeat(_response): the read round being confirmed.
    // read_index(_response): the caller's read context.
    uint64_t context = 0;

    // snapshot: one chunk of the leader's snapshot.
    // snapshot_response: the offset the follower expects next (done when == size).
    snapshot_meta snap;
    uint64_t snap_offset = 0;
    uint64_t snap_size = 0;
    payload snap_chunk;

    // Opaque to the core: the driver may stamp it on what it sends and read it on
    // what it receives (a partition's leader: its log start offset, as a Kafka
    // leader's fetch responses carry it to followers).
    int64_t driver_data = 0;
};

// A linearizable read: once the driver has applied up to `index`, reading the
// state machine is linearizable for the request `context`. `ok == false`: the read
// could not be served (leadership lost); the caller retries.
struct read_state {
    uint64_t context = 0;
    log_index index{ 0 };
    bool ok = true;
};

// Everything the core asks of its driver after a step. Order of duties:
//   1. persist `hard_state`, `snapshot` and `entries` (entries replace any stored
//      entries at index >= entries.front().index);
//   2. send `messages` at once — they claim nothing about this node's disk;
//   3. send `messages_after_persist` only once step 1 (and every earlier ready's
//      step 1) is durable, then call persisted(last index, its term);
//   4. apply `committed` in order; answer `reads` once applied >= read.index.
struct ready {
    std::optional<raft::hard_state> hard_state;
    std::optional<raft::snapshot> snapshot; // install (from the leader); drop stored entries <= its index
    bool snapshot_resets_log = false;       // ... and every stored entry after it too
    std::vector<entry> entries;
    std::vector<message> messages;
    std::vector<message> messages_after_persist;
    std::vector<entry> committed; // unless options::apply_entries is off
    log_index applied{ 0 };       // when non-zero: everything up to here may be applied now
    std::vector<read_state> reads;
    bool empty() const noexcept {
        return !hard_state && !snapshot && entries.empty() && messages.empty() &&
               messages_after_persist.empty() && committed.empty() && applied == log_index{ 0 } &&
               reads.empty();
    }
};

} // namespace chronik::raft
