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


def page_cache_write_ceiling(directory, megabytes=2000):
    """Buffered 64 KiB writes into a new file (no fsync): what appending to a log costs
    before the disk is involved. On a VM this includes the host backing fresh guest
    pages, which is most of the broker's acks=1 CPU (copy_folio_from_iter in perf)."""
    path = os.path.join(directory, "write-probe")
    block = os.urandom(64 * 1024)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    try:
        for _ in range(megabytes * 16):
            os.write(fd, block)
        elapsed = time.perf_counter() - t0
    finally:
        os.close(fd)
        os.unlink(path)
    return {"page_cache_write_mb_per_sec": megabytes * 1024 * 1024 / elapsed / 1e6}


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
    def __init__(self, smp, wrapper=(), bin_dir=None):
        self.bin_dir = bin_dir or BIN  # another build's chronik-server (bench/compare.py)
        self.dir = tempfile.mkdtemp(prefix="chronik-bench-")
        self.proc = None
        self.smp = smp
        self.wrapper = list(wrapper)  # e.g. valgrind --tool=callgrind
        self.log_path = os.path.join(self.dir, "server.log")

    def start(self):
        t0 = time.perf_counter()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.wrapper + [
                                      os.path.join(self.bin_dir, "chronik-server"), "start", "--listen", "127.0.0.1:0",
                                      "--data-dir", os.path.join(self.dir, "data"), "--smp", str(self.smp),
                                      "--set", "group.initial.rebalance.delay.ms=0"],
                                     stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
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

    def stalls(self):
        """Stall-detector reports in the server's log so far."""
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if "stalled" in line)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self, keep=False):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=600)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class RssSampler:
    """The server's peak RSS while a scenario runs (sampled every 100 ms)."""
    def __init__(self, server):
        self.server, self.peak, self.done = server, 0, threading.Event()
        self.t = threading.Thread(target=self.run)

    def run(self):
        while not self.done.wait(0.1):
            try:
                self.peak = max(self.peak, self.server.usage()[1])
            except (OSError, IndexError):
                return

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.t.join()


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


def delete_topic(bootstrap, topic):
    """Deletes a scenario's topic once measured: a full run writes far more than the
    disk holds (30 s at 800 MB/s is 24 GB)."""
    from confluent_kafka.admin import AdminClient  # Debian's python3-confluent-kafka
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the futures
    for f in admin.delete_topics([topic], operation_timeout=30).values():
        f.result(timeout=60)


def scenarios(quick):
    d = "5" if quick else "30"
    out = []
    if not quick:  # the acks=1 target is "sustained over 60 s"
        out.append(("produce 1024 B acks=1 1p 1part none, 60 s",
                    ["--mode", "produce", "--duration", "60", "--warmup-duration", "1", "--message-size", "1024",
                     "--acks", "1", "--concurrency", "1", "--partitions", "1", "--create-topic"]))
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
                ["--mode", "produce", "--duration", d, "--warmup-duration", "1", "--message-size", "1024", "--acks",
                 "all", "--rate-limit", "1000",
                 "--linger-ms", "0", "--create-topic"]))
    return out


SMALL_BATCHES = ["--mode", "produce", "--warmup-duration", "1", "--message-size", "1024", "--concurrency", "1",
                 "--partitions", "1", "--batch-size", "16384", "--linger-ms", "5", "--max-in-flight", "5",
                 "--buffer-kbytes", "32768"]


def small_batch_ratio(bootstrap, quick):
    """The way most clients produce: one producer, small batches (16 KiB, linger 5 ms,
    5 requests in flight, 32 MiB of buffer: the Java client's defaults), acks=all against acks=1, run
    alternately in pairs (the median ratio), and acks=all on a topic that syncs
    only by flush.messages (page-cache durability, as Apache Kafka by default): the
    control that shows what of the difference is the fdatasync itself."""
    from confluent_kafka.admin import AdminClient, NewTopic  # Debian's python3-confluent-kafka
    d = "5" if quick else "15"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = {"sb-synced": {}, "sb-relaxed": {"flush.messages": str(2**62)}}
    for f in admin.create_topics([NewTopic(t, 1, 1, config=c) for t, c in topics.items()]).values():
        f.result(timeout=60)
    runs = {"acks=1": [], "acks=all": [], "acks=all, no fdatasync": []}
    for _ in range(3):
        for label, topic, acks in [("acks=1", "sb-synced", "1"), ("acks=all", "sb-synced", "all"),
                                   ("acks=all, no fdatasync", "sb-relaxed", "all")]:
            os.sync()
            r = bench(bootstrap, f"small batches {label}", "--topic", topic, "--duration", d, "--acks", acks,
                      *SMALL_BATCHES)
            runs[label].append(r.get("msg_per_sec", 0))
    for t in topics:
        delete_topic(bootstrap, t)
    ratios = [a / b if b else 0 for a, b in zip(runs["acks=all"], runs["acks=1"])]
    return {"msg_per_sec": runs, "acks_all_over_acks_1": statistics.median(ratios),
            "no_fdatasync_over_acks_1": statistics.median(
                [a / b if b else 0 for a, b in zip(runs["acks=all, no fdatasync"], runs["acks=1"])]),
            "command": " ".join(["chronik-bench", "--duration", d, "--acks", "all|1", *SMALL_BATCHES])}


def topic_creation_scaling(smp, levels=(10, 1000, 10000), samples=20):
    """Creating one topic when 10, 1,000 and 10,000 already exist (a fresh broker
    of its own): the median of `samples` single-topic CreateTopics, timed at the
    client until the broker answers. The fill goes 500 topics per request."""
    from confluent_kafka.admin import AdminClient, NewTopic  # Debian's python3-confluent-kafka
    server = Server(smp).start()
    out = {}
    try:
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        existing = 0
        t_fill = time.perf_counter()
        for level in levels:
            while existing < level:
                n = min(500, level - existing)
                fs = admin.create_topics([NewTopic(f"fill-{existing + k}", 1, 1) for k in range(n)],
                                         operation_timeout=120, request_timeout=300)
                for f in fs.values():
                    f.result(timeout=600)
                existing += n
            times = []
            for k in range(samples):
                t0 = time.perf_counter()
                admin.create_topics([NewTopic(f"probe-{level}-{k}", 1, 1)])[f"probe-{level}-{k}"].result(timeout=60)
                times.append((time.perf_counter() - t0) * 1000)
                existing += 1
            out[str(level)] = statistics.median(times)
            print(f"topic creation with {level} topics: {out[str(level)]:.2f} ms "
                  f"(filled in {time.perf_counter() - t_fill:.0f} s)", flush=True)
    finally:
        server.stop()
    return {"median_ms_by_existing_topics": out}


def recovery_after_kill9(smp, gigabytes):
    """Writes `gigabytes` of 1 KiB messages, kills the broker with SIGKILL, and times the
    restart until it serves again (listening, and a Metadata answer)."""
    server = Server(smp).start()
    try:
        count = int(gigabytes * 1e9 / 1024)
        w = bench(server.bootstrap, "fill", "--topic", "recovery", "--create-topic", "--partitions", "4", "--mode",
                  "produce", "--message-count", str(count), "--message-size", "1024", "--acks", "1")
        server.kill9()
        t0 = time.perf_counter()
        server.start()
        listening_ms = (time.perf_counter() - t0) * 1000
        m = bench(server.bootstrap, "metadata", "--topic", "recovery", "--mode", "metadata", "--message-count", "1")
        serving_ms = (time.perf_counter() - t0) * 1000
        return {"gigabytes": w.get("bytes", count * 1024) / 1e9, "listening_ms": listening_ms,
                "serving_ms": serving_ms, "exit": m.get("exit")}
    finally:
        server.stop()


def callgrind_total(path):
    """The instruction total a callgrind output file records."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return None


def broker_instructions_per_message(smp, n1=20000, n2=60000):
    """Broker instructions per 1 KiB message, produce (acks=1, batched) and fetch, from
    callgrind runs of chronik-server at two message counts; plus the top functions of
    the larger produce run, as a profile."""
    if not shutil.which("valgrind"):
        return None
    profile = {}

    def run(produce, consume):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "callgrind.out")
            server = Server(smp, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]).start()
            try:
                bench(server.bootstrap, "p", "--topic", "t", "--create-topic", "--mode", "produce",
                      "--message-count", str(produce), "--message-size", "1024", "--acks", "1")
                if consume:
                    bench(server.bootstrap, "c", "--topic", "t", "--mode", "consume", "--message-count",
                          str(consume), "--message-size", "1024")
            finally:
                server.stop()
            if consume == 0 and produce == n2:
                profile["text"] = subprocess.run(["callgrind_annotate", "--inclusive=no", out],
                                                 capture_output=True, text=True).stdout
            return callgrind_total(out)
    a = run(n1, 0)
    b = run(n2, 0)
    c = run(n2, n2)
    top = []
    for line in profile.get("text", "").splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)", line)
        if m and len(top) < 12 and "PROGRAM TOTALS" not in line:
            top.append({"percent": float(m.group(2)), "function": m.group(3)[:140]})
    return {"produce": (b - a) / (n2 - n1), "fetch": (c - b) / n2, "produce_profile": top}


def callgrind_instructions(*args):
    """Instructions executed by one run of a build/bin program under callgrind."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args],
                       capture_output=True, text=True, timeout=600)
        return callgrind_total(out)


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
    ap.add_argument("--recovery-gb", type=float, default=None, help="log size for the kill -9 recovery run "
                    "(default 10, 1 with --quick; 0 skips it)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip the instructions-per-message runs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    server = Server(a.smp).start()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release()}, "scenarios": []}
    try:
        results["ceilings"] = {**fsync_ceiling(server.dir), **loopback_ceiling(500 if a.quick else 2000),
                               **page_cache_write_ceiling(server.dir, 1000 if a.quick else 4000)}
        results["startup_ms"] = server.startup_ms
        # Idle: CPU and RSS over 3 s with nothing to do.
        t0, _ = server.usage()
        time.sleep(3)
        t1, rss = server.usage()
        results["idle"] = {"cpu_percent": (t1 - t0) / os.sysconf("SC_CLK_TCK") / 3 * 100, "rss_mb": rss / 1e6}
        # Topic creation on the fresh broker (100 topics of one partition), then idle
        # holding them: the "idle broker with 100 topics" figure.
        creations = []
        for i in range(100):
            r = bench(server.bootstrap, "create", "--topic", f"c{i}", "--create-topic", "--mode", "metadata",
                      "--message-count", "1")
            creations.append(r.get("topic_creation_ms", 0))
        creations.sort()
        results["topic_creation_ms"] = {"p50": creations[49], "p99": creations[98]}
        time.sleep(2)
        t0, _ = server.usage()
        time.sleep(5)
        t1, rss = server.usage()
        results["idle_with_topics"] = {"topics": 100, "cpu_percent": (t1 - t0) / os.sysconf("SC_CLK_TCK") / 5 * 100,
                                       "rss_mb": rss / 1e6}
        for i, (name, args) in enumerate(scenarios(a.quick)):
            os.sync()  # start from a clean page cache: no writeback left over from the last scenario
            with RssSampler(server) as rss:
                r = bench(server.bootstrap, name, "--topic", f"s{i}", *args)
            r["server_peak_rss_mb"] = rss.peak / 1e6
            results["scenarios"].append(r)
            if i > 0:  # s0 is consumed below
                delete_topic(server.bootstrap, f"s{i}")
            print(f"{name}: {r.get('mb_per_sec', 0):.1f} MB/s, p99 {r.get('latency_us', {}).get('p99', 0):.0f} us",
                  flush=True)
        first = results["scenarios"][0]
        results["scenarios"].append(bench(server.bootstrap, "consume 1 KiB, 1 consumer", "--topic", "s0", "--mode",
                                          "consume", "--message-count", str(first.get("messages", 0)),
                                          "--message-size", "1024"))
        delete_topic(server.bootstrap, "s0")
        results["small_batches"] = small_batch_ratio(server.bootstrap, a.quick)
        print(f"small batches: {results['small_batches']}", flush=True)
        # Idle after the load, still holding the 100 topics.
        time.sleep(2)
        t0, _ = server.usage()
        time.sleep(5)
        t1, rss = server.usage()
        results["idle_after_load"] = {"cpu_percent": (t1 - t0) / os.sysconf("SC_CLK_TCK") / 5 * 100,
                                      "rss_mb": rss / 1e6}
        results["stalls"] = server.stalls()
    finally:
        server.stop()
    gb = a.recovery_gb if a.recovery_gb is not None else (1 if a.quick else 10)
    if gb > 0:
        results["recovery"] = recovery_after_kill9(a.smp, gb)
        print(f"recovery after kill -9 with {gb} GB: {results['recovery']}", flush=True)
    results["topic_creation_scaling"] = topic_creation_scaling(a.smp)
    results["raft_instructions_per_entry"] = raft_instructions_per_entry()
    if not a.no_callgrind:
        results["broker_instructions"] = broker_instructions_per_message(a.smp)

    ceiling = results["ceilings"]["loopback_mb_per_sec"]
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    with open(os.path.join(a.out, f"{stamp}.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = [f"# chronik bench {stamp}", "",
             f"Machine: {results['machine']['cpus']} CPUs, kernel {results['machine']['kernel']}; "
             f"ceilings measured in this run: loopback TCP {ceiling:.0f} MB/s (one Python connection, a lower bound), "
             f"fdatasync {results['ceilings']['fdatasync_per_sec']:.0f}/s p50 "
             f"{results['ceilings']['fdatasync_p50_ms']:.2f} ms, buffered writes to a new file "
             f"{results['ceilings']['page_cache_write_mb_per_sec']:.0f} MB/s.", "",
             f"Start-up to listening: {results['startup_ms']:.0f} ms. Idle: {results['idle']['cpu_percent']:.2f}% CPU, "
             f"{results['idle']['rss_mb']:.0f} MB RSS. Topic creation p50 {results['topic_creation_ms']['p50']:.1f} ms, "
             f"p99 {results['topic_creation_ms']['p99']:.1f} ms.", "",
             f"Idle with {results['idle_with_topics']['topics']} topics: "
             f"{results['idle_with_topics']['cpu_percent']:.2f}% CPU, {results['idle_with_topics']['rss_mb']:.0f} MB RSS. "
             f"After the load scenarios: {results['idle_after_load']['cpu_percent']:.2f}% CPU, "
             f"{results['idle_after_load']['rss_mb']:.0f} MB RSS. "
             f"Stall-detector reports during the run: {results['stalls']}.", ""]
    if "recovery" in results:
        r = results["recovery"]
        lines += [f"Recovery after kill -9 with {r['gigabytes']:.1f} GB of log: listening after "
                  f"{r['listening_ms']:.0f} ms, answering Metadata after {r['serving_ms']:.0f} ms.", ""]
    bi = results.get("broker_instructions")
    if bi:
        lines += [f"Broker instructions per 1 KiB message (callgrind): produce acks=1 {bi['produce']:.0f}, "
                  f"fetch {bi['fetch']:.0f}. Top of the produce profile (self cost):", ""]
        lines += [f"- {t['percent']:.1f}% {t['function']}" for t in bi["produce_profile"]]
        lines += [""]
    lines += [f"Raft core (three nodes in memory, 64 B entries): "
             f"{results['raft_instructions_per_entry'] or 0:.0f} instructions per committed entry (callgrind).", "",
             "| scenario | msg/s | MB/s | of loopback | of buffered write | p50 us | p99 us | p99.9 us | errors "
             "| server peak RSS MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    pc = results["ceilings"]["page_cache_write_mb_per_sec"]
    for r in results["scenarios"]:
        lat = r.get("latency_us", {})
        lines.append(f"| {r['scenario']} | {r.get('msg_per_sec', 0):.0f} | {r.get('mb_per_sec', 0):.1f} | "
                     f"{r.get('mb_per_sec', 0) / ceiling:.0%} | {r.get('mb_per_sec', 0) / pc:.0%} | "
                     f"{lat.get('p50', 0):.0f} | {lat.get('p99', 0):.0f} | "
                     f"{lat.get('p999', 0):.0f} | {r.get('errors', '?')} | {r.get('server_peak_rss_mb', 0):.0f} |")
    tc = results["topic_creation_scaling"]["median_ms_by_existing_topics"]
    lines += ["", "Creating one topic (median of 20, at the client) with "
              + ", ".join(f"{int(k):,} topics existing: {v:.2f} ms" for k, v in tc.items())
              + f"; at {max(tc, key=int)} / at {min(tc, key=int)}: {tc[max(tc, key=int)] / tc[min(tc, key=int)]:.1f}x."]
    sb = results.get("small_batches")
    if sb:
        med = {k: statistics.median(v) for k, v in sb["msg_per_sec"].items()}
        lines += ["", "One producer, small batches (16 KiB, linger 5 ms, 5 in flight), three alternating runs each "
                  f"(median msg/s): acks=1 {med['acks=1']:.0f}, acks=all {med['acks=all']:.0f}, acks=all without "
                  f"fdatasync {med['acks=all, no fdatasync']:.0f}. acks=all / acks=1 (median of the pairs): "
                  f"{sb['acks_all_over_acks_1']:.0%}; without fdatasync: {sb['no_fdatasync_over_acks_1']:.0%}. "
                  f"`{sb['command']}`"]
    lines += ["", "Commands: " + "; ".join(f"`{r['command']}`" for r in results["scenarios"][:3]) + " ..."]
    md = os.path.join(a.out, f"{stamp}.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(open(md).read())
    return 0 if all(r.get("exit") == 0 for r in results["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
