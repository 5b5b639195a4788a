// raft-sim: runs seeded Raft simulation scenarios (see sim.h).
//   raft-sim --seeds 10000 [--first 1]   a sweep; exit 1 if any seed fails
//   raft-sim --seed 42 --verbose         replay one seed with a trace of every event
//   --fault NAME                         inject a protocol bug (vote_without_log_check,
//                                        commit_previous_term_by_count, ack_before_persist,
//                                        read_without_quorum)
//   --voters 3|5                         force the cluster size
//   --leader-hunt                        a nemesis that keeps isolating the leader
#include "sim.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace chronik;

int main(int argc, char** argv) {
    sim::scenario base;
    uint64_t first = 1, count = 1;
    bool single = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--seed") {
            first = std::strtoull(next(), nullptr, 10);
            single = true;
        } else if (a == "--seeds") {
            count = std::strtoull(next(), nullptr, 10);
        } else if (a == "--first") {
            first = std::strtoull(next(), nullptr, 10);
        } else if (a == "--voters") {
            base.voters = std::atoi(next());
        } else if (a == "--leader-hunt") {
            base.leader_hunt = true;
        } else if (a == "--verbose") {
            base.verbose = true;
        } else if (a == "--fault") {
            std::string f = next();
            if (f == "vote_without_log_check") {
                base.faults.vote_without_log_check = true;
            } else if (f == "commit_previous_term_by_count") {
                base.faults.commit_previous_term_by_count = true;
            } else if (f == "ack_before_persist") {
                base.faults.ack_before_persist = true;
            } else if (f == "read_without_quorum") {
                base.faults.read_without_quorum = true;
            } else {
                std::fprintf(stderr, "unknown fault %s\n", f.c_str());
                return 2;
            }
        } else {
            std::fprintf(stderr,
                         "usage: raft-sim [--seeds N] [--first S] [--seed S] [--fault NAME] [--voters N] "
                         "[--leader-hunt] [--verbose]\n");
            return 2;
        }
    }
    if (single) {
        count = 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    uint64_t failures = 0;
    sim::outcome total;
    for (uint64_t s = first; s < first + count; ++s) {
        auto sc = base;
        sc.seed = s;
        auto out = sim::run(sc);
        total.add(out);
        if (!out.ok) {
            ++failures;
            if (failures <= 10) {
                std::printf("FAIL %s\n  replay: %s\n", out.failure.c_str(), sim::replay_command(sc).c_str());
            }
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%llu seeds from %llu: %llu failed; %llu events, %llu entries committed, %llu writes acked, "
                "%llu linearizable reads, %llu elections, %llu snapshots installed, %llu membership changes, "
                "%llu crashes, %llu wide entries, %llu disk reads; %.1f s\n",
                (unsigned long long)count, (unsigned long long)first, (unsigned long long)failures,
                (unsigned long long)total.events, (unsigned long long)total.commits,
                (unsigned long long)total.writes_acked, (unsigned long long)total.reads_done,
                (unsigned long long)total.elections, (unsigned long long)total.snapshots_installed,
                (unsigned long long)total.config_changes, (unsigned long long)total.crashes,
                (unsigned long long)total.wide_entries, (unsigned long long)total.disk_reads, secs);
    return failures == 0 ? 0 : 1;
}
