#!/usr/bin/python3
"""The reference benchmark suite: starts chronik-server itself (or uses
--bootstrap-servers), measures this machine's ceilings, runs chronik-bench over the
reference scenarios, and writes a JSON and a Markdown report with every result as a
ratio to its ceiling.

    make bench                      # or: /usr/bin/python3 bench/run.py [--quick]

Each scenario is a separate chronik-bench run against a fresh topic. Figures move
from machine to machine; ratios to the ceilings measured in the same run are what
to compare.
"""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def fsync_ceiling(directory, seconds=2.0):
    """fdatasync of 4 KiB appends on the data disk: rate and p50 latency."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    lat = []
    block = b"\0" * 4096
    end = time.time() + seconds
    try:
        while time.time() < end:
            os.write(fd, block)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return {"fdatasync_per_sec": len(lat) / seconds, "fdatasync_p50_ms": statistics.median(lat) * 1000}


def loopback_ceiling(megabytes=2000):
    """Loopback TCP throughput with one connection and 1 MiB writes (a lower bound:
    Python drives both ends)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = [0]

    def sink():
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)
        c.close()
    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(("127.0.0.1", port))
    chunk = b"\0" * (1 << 20)
    t0 = time.perf_counter()
    for _ in range(megabytes):
        s.sendall(chunk)
    s.close()
    t.join()
    elapsed = time.perf_counter() - t0
    srv.close()
    return {"loopback_mb_per_sec": got[0] / elapsed / 1e6}


class Server:
    def __init__(self, smp):
        self.dir = tempfile.mkdtemp(prefix="chronik-bench-")
        self.proc = None
        self.smp = smp

    def start(self):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([os.path.join(BIN, "chronik-server"), "start", "--listen", "127.0.0.1:0",
                                      "--data-dir", os.path.join(self.dir, "data"), "--smp", str(self.smp),
                                      "--set", "group.initial.rebalance.delay.ms=0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.startup_ms = (time.perf_counter() - t0) * 1000
        m = re.search(r"listening on ([0-9.]+):([0-9]+)", line)
        if not m:
            raise RuntimeError("chronik-server did not start: " + line)
        self.bootstrap = f"127.0.0.1:{m.group(2)}"
        return self

    def usage(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        return ticks, rss

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def bench(bootstrap, name, *args):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [os.path.join(BIN, "chronik-bench"), "--bootstrap-servers", bootstrap, "--json-output", out.name,
               *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        report = json.load(open(out.name)) if os.path.getsize(out.name) else {}
    report["scenario"] = name
    report["command"] = " ".join(["chronik-bench", *args])
    report["exit"] = r.returncode
    return report


def scenarios(quick):
    d = "5" if quick else "30"
    out = []
    for size, acks, producers, partitions, codec in [
        (1024, "1", 1, 1, "none"), (1024, "1", 8, 12, "none"), (1024, "all", 8, 12, "none"),
        (1024, "all", 1, 1, "none"), (100, "1", 8, 12, "none"), (1024, "1", 8, 12, "lz4"),
    ] + ([] if quick else [(1024, "1", 64, 12, "none"), (100, "all", 8, 12, "lz4")]):
        name = f"produce {size} B acks={acks} {producers}p {partitions}part {codec}"
        out.append((name, ["--mode", "produce", "--duration", d, "--warmup-duration", "1", "--message-size", str(size),
                           "--acks", acks, "--concurrency", str(producers), "--partitions", str(partitions),
                           "--compression", codec, "--create-topic"]))
    # Latency without queueing in the client: a fixed, modest rate.
    out.append(("produce 1024 B acks=all unloaded (1,000 msg/s)",
                ["--mode", "produce", "--duration", d, "--message-size", "1024", "--acks", "all", "--rate-limit", "1000",
                 "--linger-ms", "0", "--create-topic"]))
    return out


def callgrind_instructions(*args):
    """Instructions executed by one run of a build/bin program under callgrind."""
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/out", *args],
                           capture_output=True, text=True, timeout=600)
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if m else None


def raft_instructions_per_entry():
    """Instructions per committed entry of a three-node in-memory Raft group (all three
    nodes' work), from two callgrind runs so start-up cancels out."""
    if not shutil.which("valgrind"):
        return None
    exe = os.path.join(BIN, "chronik-microbench")
    lo, hi = 4096, 12288
    a = callgrind_instructions(exe, "--raft-commit-entries", str(lo))
    b = callgrind_instructions(exe, "--raft-commit-entries", str(hi))
    return (b - a) / (hi - lo) if a and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5 s scenarios instead of 30 s, fewer of them")
    ap.add_argument("--smp", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    server = Server(a.smp).start()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release()}, "scenarios": []}
    try:
        results["ceilings"] = {**fsync_ceiling(server.dir), **loopback_ceiling(500 if a.quick else 2000)}
        results["startup_ms"] = server.startup_ms
        # Idle: CPU and RSS over 3 s with nothing to do.
        t0, _ = server.usage()
        time.sleep(3)
        t1, rss = server.usage()
        results["idle"] = {"cpu_percent": (t1 - t0) / os.sysconf("SC_CLK_TCK") / 3 * 100, "rss_mb": rss / 1e6}
        for i, (name, args) in enumerate(scenarios(a.quick)):
            r = bench(server.bootstrap, name, "--topic", f"s{i}", *args)
            results["scenarios"].append(r)
            print(f"{name}: {r.get('mb_per_sec', 0):.1f} MB/s, p99 {r.get('latency_us', {}).get('p99', 0):.0f} us",
                  flush=True)
        first = results["scenarios"][0]
        results["scenarios"].append(bench(server.bootstrap, "consume 1 KiB, 1 consumer", "--topic", "s0", "--mode",
                                          "consume", "--message-count", str(first.get("messages", 0)),
                                          "--message-size", "1024"))
        creations = []
        for i in range(100):
            r = bench(server.bootstrap, "create", "--topic", f"c{i}", "--create-topic", "--mode", "metadata",
                      "--message-count", "1")
            creations.append(r.get("topic_creation_ms", 0))
        creations.sort()
        results["topic_creation_ms"] = {"p50": creations[49], "p99": creations[98]}
    finally:
        server.stop()
    results["raft_instructions_per_entry"] = raft_instructions_per_entry()

    ceiling = results["ceilings"]["loopback_mb_per_sec"]
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    with open(os.path.join(a.out, f"{stamp}.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = [f"# chronik bench {stamp}", "",
             f"Machine: {results['machine']['cpus']} CPUs, kernel {results['machine']['kernel']}; "
             f"ceilings measured in this run: loopback TCP {ceiling:.0f} MB/s (one Python connection, a lower bound), "
             f"fdatasync {results['ceilings']['fdatasync_per_sec']:.0f}/s p50 "
             f"{results['ceilings']['fdatasync_p50_ms']:.2f} ms.", "",
             f"Start-up to listening: {results['startup_ms']:.0f} ms. Idle: {results['idle']['cpu_percent']:.2f}% CPU, "
             f"{results['idle']['rss_mb']:.0f} MB RSS. Topic creation p50 {results['topic_creation_ms']['p50']:.1f} ms, "
             f"p99 {results['topic_creation_ms']['p99']:.1f} ms.", "",
             f"Raft core (three nodes in memory, 64 B entries): "
             f"{results['raft_instructions_per_entry'] or 0:.0f} instructions per committed entry (callgrind).", "",
             "| scenario | msg/s | MB/s | of loopback | p50 us | p99 us | p99.9 us | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results["scenarios"]:
        lat = r.get("latency_us", {})
        lines.append(f"| {r['scenario']} | {r.get('msg_per_sec', 0):.0f} | {r.get('mb_per_sec', 0):.1f} | "
                     f"{r.get('mb_per_sec', 0) / ceiling:.0%} | {lat.get('p50', 0):.0f} | {lat.get('p99', 0):.0f} | "
                     f"{lat.get('p999', 0):.0f} | {r.get('errors', '?')} |")
    lines += ["", "Commands: " + "; ".join(f"`{r['command']}`" for r in results["scenarios"][:3]) + " ..."]
    md = os.path.join(a.out, f"{stamp}.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(open(md).read())
    return 0 if all(r.get("exit") == 0 for r in results["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
