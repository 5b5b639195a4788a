#!/usr/bin/python3
"""Two chronik-server builds measured in the same run: every load scenario of
bench/run.py, plus one producer with small batches at acks=all and acks=1, run on
each build in turn (base then new, then new then base, ...), each run on a fresh
broker of its own, with the same chronik-bench (this tree's) as the client. It
reports each build's median and the ratio new/base, and marks a drop of more
than 10%.

    make bench-compare BASE=<commit>      # builds <commit> in build-base/, then this
    /usr/bin/python3 bench/compare.py --base-bin DIR [--new-bin DIR] [--duration 15] [--reps 3]

On a shared VM single runs of one build spread by a quarter or more (which shard
a connection lands on is random); alternating runs and medians are what make a
10% bound checkable at all. The ratios, not the figures, carry over.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: Server, bench, scenarios, SMALL_BATCHES)


def cases(duration):
    """(name, chronik-bench args, the figure compared): run.py's scenarios at the
    given duration; the rate-limited one compares its p99 latency (lower is better)."""
    out = []
    for name, args in run.scenarios(quick=False):
        if ", 60 s" in name:
            continue  # the same scenario as the 30 s one, longer
        args = list(args)
        args[args.index("--duration") + 1] = str(duration)
        out.append((name, args, "p99_us" if "--rate-limit" in args else "msg_per_sec"))
    for acks in ("all", "1"):
        out.append((f"small batches acks={acks}", ["--duration", str(duration), "--acks", acks, "--create-topic",
                                                   *run.SMALL_BATCHES], "msg_per_sec"))
    return out


def figure(report, what):
    if what == "p99_us":
        return report.get("latency_us", {}).get("p99", 0)
    return report.get("msg_per_sec", 0)


def one_run(bin_dir, smp, name, args, what):
    """The run's figure, and the broker's CPU time per message in microseconds
    (user + system, all its threads): steadier than throughput on a shared VM."""
    server = run.Server(smp, bin_dir=bin_dir).start()
    try:
        os.sync()  # no writeback left over from the run before
        t0, _ = server.usage()
        r = run.bench(server.bootstrap, name, "--topic", "cmp", *args)
        t1, _ = server.usage()
    finally:
        server.stop()
    if r.get("exit") != 0:
        return 0, 0
    cpu_us = (t1 - t0) / os.sysconf("SC_CLK_TCK") * 1e6
    return figure(r, what), cpu_us / r["messages"] if r.get("messages") else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-bin", required=True, help="the base build's bin directory")
    ap.add_argument("--new-bin", default=run.BIN, help="the new build's bin directory (default: this tree's)")
    ap.add_argument("--duration", type=int, default=15, help="seconds per run")
    ap.add_argument("--reps", type=int, default=3, help="runs per build and scenario")
    ap.add_argument("--smp", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", default="", help="run only scenarios whose name contains this")
    ap.add_argument("--out", default=os.path.join(run.ROOT, "bench", "results"))
    a = ap.parse_args()
    builds = {"base": a.base_bin, "new": a.new_bin}
    rows = []
    for name, args, what in cases(a.duration):
        if a.only not in name:
            continue
        got = {"base": [], "new": []}
        cpu = {"base": [], "new": []}
        for rep in range(a.reps):
            for b in (("base", "new") if rep % 2 == 0 else ("new", "base")):
                f, c = one_run(builds[b], a.smp, name, args, what)
                got[b].append(f)
                cpu[b].append(c)
        base, new = statistics.median(got["base"]), statistics.median(got["new"])
        ratio = new / base if base else 0
        cpu_base, cpu_new = statistics.median(cpu["base"]), statistics.median(cpu["new"])
        # A drop: less throughput, or a higher p99 at the fixed rate.
        worse = ratio < 0.9 if what == "msg_per_sec" else ratio > 1 / 0.9
        rows.append({"scenario": name, "figure": what, "base": got["base"], "new": got["new"],
                     "base_median": base, "new_median": new, "new_over_base": ratio, "drop_over_10pct": worse,
                     "cpu_us_per_msg": cpu, "cpu_new_over_base": cpu_new / cpu_base if cpu_base else 0})
        print(f"{name}: {what} base {base:.0f} new {new:.0f} ({ratio:.2f}){'  DROP' if worse else ''}; "
              f"broker CPU us/msg base {cpu_base:.2f} new {cpu_new:.2f}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    with open(os.path.join(a.out, f"compare-{stamp}.json"), "w") as f:
        json.dump({"builds": builds, "duration_s": a.duration, "reps": a.reps, "rows": rows}, f, indent=1)
    print(f"\n{a.reps} alternating runs of {a.duration} s per build; medians; new/base"
          " (for p99 latency, lower is better)\n")
    print("| scenario | figure | base | new | new/base | broker CPU per message, new/base |\n"
          "| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['scenario']} | {r['figure']} | {r['base_median']:.0f} | {r['new_median']:.0f} | "
              f"{r['new_over_base']:.2f}{' (drop)' if r['drop_over_10pct'] else ''} | {r['cpu_new_over_base']:.2f} |")
    return 1 if any(r["drop_over_10pct"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
