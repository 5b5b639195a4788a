#pragma once
// The leader's view of one follower (or learner): how much of the log it has, and
// how much more may be in flight to it.
//   probe:     we do not know where its log ends; one append at a time, then wait.
//   replicate: it is keeping up; appends are pipelined, at most max_inflight.
//   snapshot:  it needs the snapshot; chunks are sent one at a time.
#include "raft/types.h"

#include <deque>

namespace chronik::raft {

struct progress {
    enum class state : uint8_t { probe, replicate, snapshot };

    log_index match{ 0 }; // highest index known durable on the follower
    log_index next{ 1 };  // next index to send
    state st = state::probe;
    bool paused = false;            // probe: an append is outstanding
    bool recent_active = false;     // heard from within this check-quorum window
    uint64_t read_acked = 0;        // highest heartbeat round it answered
    std::deque<log_index> inflight; // replicate: last index of each unacked append
    int64_t last_progress = 0;      // tick of the last ack that moved match or freed a slot
    uint64_t snap_offset = 0;       // snapshot: the next byte to send

    void become_probe() {
        st = state::probe;
        next = match + 1;
        paused = false;
        inflight.clear();
    }
    void become_replicate() {
        st = state::replicate;
        next = match + 1;
        paused = false;
        inflight.clear();
    }
    // An ack up to i: frees the inflight slots it covers.
    bool acked(log_index i) {
        bool advanced = i > match;
        if (advanced) {
            match = i;
        }
        if (next <= match) {
            next = match + 1;
        }
        while (!inflight.empty() && inflight.front() <= i) {
            inflight.pop_front();
        }
        paused = false;
        return advanced;
    }
};

} // namespace chronik::raft
