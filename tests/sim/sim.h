#pragma once
// Deterministic simulation of one Raft group (FoundationDB-style): simulated
// clock, network and disks, a nemesis injecting faults, clients proposing and
// reading, and checkers for the Raft safety properties after every step. One seed
// fixes everything, so a failing seed replays exactly.
//
//   network: per-message delay (so reordering), drop, duplicate, one-way and
//            two-way partitions, heal;
//   disk:    writes are durable only once a simulated fdatasync covering them
//            completes; a crash keeps a random prefix of the unsynced writes, the
//            last one possibly torn (a prefix of its entries);
//   nodes:   crash (losing unsynced writes) and restart from what is durable;
//   nemesis: also membership changes (learner, promote, remove), leadership
//            transfer, and snapshots that make lagging nodes install one.
//
// Checked: election safety, log matching, leader completeness, state-machine
// safety, per-node commit monotonic, linearizable reads (against the history of
// completed operations); liveness: once faults stop, a leader is elected and a
// new proposal commits within a bounded simulated time.
#include "raft/node.h"

#include <cstdint>
#include <string>

namespace chronik::sim {

struct scenario {
    uint64_t seed = 1;
    raft::fault_points faults; // the protocol bugs to inject (fault-point build only)
    // 0: derived from the seed. Otherwise forces the cluster size.
    int voters = 0;
    int fault_ticks = 150; // ticks of faults, then quiet until progress is seen
    // After faults stop, a new proposal must commit within this many election
    // timeouts. Elections are randomized, so a few split votes in a row are normal.
    int liveness_timeouts = 40;
    // A nemesis that hunts leaders: it keeps isolating whoever leads (three voters,
    // one entry per append), so short-lived leaders leave divergent tails behind —
    // the histories of the paper's figure 8.
    bool leader_hunt = false;
    bool verbose = false; // print a trace of every event (for replaying a failure)
};

struct outcome {
    bool ok = true;
    std::string failure; // which invariant broke, where, and when
    uint64_t events = 0;
    uint64_t commits = 0; // distinct entries applied
    uint64_t writes_acked = 0;
    uint64_t reads_done = 0;
    uint64_t elections = 0;
    uint64_t snapshots_installed = 0;
    uint64_t config_changes = 0;
    uint64_t crashes = 0;
    uint64_t disk_reads = 0;   // entries the cores read back from the disk (left memory)
    uint64_t wide_entries = 0; // entries covering more than one index, applied

    void add(const outcome& o) {
        events += o.events;
        commits += o.commits;
        writes_acked += o.writes_acked;
        reads_done += o.reads_done;
        elections += o.elections;
        snapshots_installed += o.snapshots_installed;
        config_changes += o.config_changes;
        crashes += o.crashes;
        disk_reads += o.disk_reads;
        wide_entries += o.wide_entries;
    }
};

outcome run(const scenario& s);

// The one-line command that replays a scenario.
std::string replay_command(const scenario& s);

} // namespace chronik::sim
