"""A replicated topic under faults, with real processes and an unmodified client.

An idempotent confluent-kafka producer (acks=all) writes a numbered sequence to a
6-partition topic with three replicas while the leader of a partition is killed
with kill -9 three times (each time a different node, restarted afterwards) and
once frozen with SIGSTOP for 10 s. Afterwards every acknowledged record is read
back exactly once at the offset its acknowledgement named, no value appears that
was never sent, offsets only grow, and the time produce to the faulted partition
was unavailable after each fault is printed.

Also: min.insync.replicas=3 with a node down refuses acks=all with
NOT_ENOUGH_REPLICAS once the ISR has shrunk, and accepts again when it is back.
"""
import os
import signal
import threading
import time
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from cluster_harness import Cluster, wait_for

TOPIC = "seq"
PARTITIONS = 6


class Workload:
    """Produces value i to partition i % PARTITIONS at a bounded rate from a thread,
    recording what was sent and what each acknowledgement said."""

    def __init__(self, bootstrap, rate=400):
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                           "linger.ms": 5, "message.timeout.ms": 120000, "request.timeout.ms": 5000,
                           # A frozen leader answers nothing: give up on it after 5 s (default 60 s).
                           "socket.timeout.ms": 5000})
        self.rate = rate
        self.sent = 0
        self.acked = {}  # value -> (partition, offset, ack time)
        self.failed = []
        self.sent_at = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_delivery(self, err, msg):
        if err is not None:
            self.failed.append(str(err))
            return
        self.acked[int(msg.value())] = (msg.partition(), msg.offset(), time.time())

    def run(self):
        t0 = time.time()
        while not self.stop.is_set() and self.sent < 200_000:
            i = self.sent
            self.sent_at[i] = time.time()
            self.p.produce(TOPIC, value=str(i).encode(), partition=i % PARTITIONS, on_delivery=self.on_delivery)
            self.sent += 1
            self.p.poll(0)
            ahead = self.sent / self.rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def unavailable_after(self, partition, since, timeout=60.0):
        """Seconds from `since` to the acknowledgement of the first record to
        `partition` sent after it."""
        def first():
            acks = [t for v, (p, _, t) in list(self.acked.items())
                    if p == partition and self.sent_at.get(v, 0) >= since]
            return min(acks) if acks else None
        return wait_for(f"produce to partition {partition} again", first, timeout) - since


class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(settings=["replica.lag.time.max.ms=3000"]).start()
        self.addCleanup(self.c.cleanup)

    def leader_of(self, partition):
        view = wait_for("a leader for every partition", lambda: self.c.leaders_view(TOPIC), 30)
        return view[partition][0]

    def test_acked_records_survive_kill9_and_sigstop_of_leaders(self):
        self.c.create(1, TOPIC, partitions=PARTITIONS, rf=3)
        self.c.wait_all_in_sync(TOPIC)
        w = Workload(self.c.bootstrap)
        w.thread.start()
        time.sleep(3)
        report = []
        killed = []
        for round_ in range(3):
            # A partition led by a node not killed yet.
            view = self.c.wait_all_in_sync(TOPIC, timeout=60)
            part, leader = next((p, v[0]) for p, v in sorted(view.items()) if v[0] not in killed)
            killed.append(leader)
            t = time.time()
            self.c.nodes[leader].kill9()
            report.append((f"kill -9 node {leader}", w.unavailable_after(part, t)))
            time.sleep(1)
            self.c.nodes[leader].start()
        view = self.c.wait_all_in_sync(TOPIC, timeout=60)
        part, leader = 0, view[0][0]
        node = self.c.nodes[leader]
        t = time.time()
        os.kill(node.proc.pid, signal.SIGSTOP)
        try:
            report.append((f"SIGSTOP node {leader} for 10 s", w.unavailable_after(part, t)))
            time.sleep(max(0.0, 10 - (time.time() - t)))
        finally:
            os.kill(node.proc.pid, signal.SIGCONT)
        time.sleep(3)
        w.stop.set()
        w.thread.join(30)
        self.assertEqual(w.p.flush(120), 0, "records still unacknowledged")
        self.assertEqual(w.failed, [])
        self.c.wait_all_in_sync(TOPIC, timeout=60)

        # Read every partition whole, from its leader.
        cons = Consumer({"bootstrap.servers": self.c.bootstrap, "group.id": "checker",
                         "enable.auto.commit": False})
        seen = {}
        for p in range(PARTITIONS):
            lo, hi = cons.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
            cons.assign([TopicPartition(TOPIC, p, lo)])
            last = -1
            deadline = time.time() + 60
            while last < hi - 1 and time.time() < deadline:
                for m in cons.consume(1000, 1.0):
                    if m.error() is not None:
                        continue
                    self.assertGreater(m.offset(), last, "offsets only grow")
                    last = m.offset()
                    v = int(m.value())
                    self.assertNotIn(v, seen, f"value {v} read twice")
                    seen[v] = (p, m.offset())
        cons.close()
        self.assertTrue(set(seen) <= set(range(w.sent)), "a value that was never sent")
        lost = [v for v in w.acked if v not in seen]
        self.assertEqual(lost, [], f"{len(lost)} acknowledged records lost")
        moved = [v for v, (p, o, _) in w.acked.items() if seen[v] != (p, o)]
        self.assertEqual(moved, [], "acknowledged records at another offset than acknowledged")
        print(f"\n{w.sent} sent, {len(w.acked)} acknowledged, {len(seen)} read back")
        for what, secs in report:
            print(f"{what}: produce to its partition unavailable for {secs:.2f} s")

    def test_min_insync_replicas(self):
        self.c.create(1, "strict", partitions=1, rf=3, config={"min.insync.replicas": "3"})
        view = self.c.wait_all_in_sync("strict")
        leader = view[0][0]
        down = next(i for i in (1, 2, 3) if i != leader)
        self.c.nodes[down].kill9()
        others = ",".join(self.c.nodes[i].bootstrap for i in (1, 2, 3) if i != down)
        # Once the ISR has shrunk (replica.lag.time.max.ms=3000), acks=all is refused.
        errors = []

        def refused():
            p = Producer({"bootstrap.servers": others, "acks": "all", "message.timeout.ms": 3000,
                          "retries": 0})
            p.produce("strict", value=b"x", on_delivery=lambda err, msg: errors.append(err))
            p.flush(10)
            return errors and errors[-1] is not None and errors[-1].code() in (
                KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
        wait_for("NOT_ENOUGH_REPLICAS", refused, timeout=30, interval=0.5)
        # acks=1 is not held to min.insync.replicas.
        p = Producer({"bootstrap.servers": others, "acks": "1"})
        p.produce("strict", value=b"one")
        self.assertEqual(p.flush(10), 0)
        self.c.nodes[down].start()
        self.c.wait_all_in_sync("strict", timeout=60)
        p = Producer({"bootstrap.servers": self.c.bootstrap, "acks": "all"})
        acked = []
        p.produce("strict", value=b"all", on_delivery=lambda err, msg: acked.append(err))
        p.flush(30)
        self.assertEqual(acked, [None])


class CatchUpTest(unittest.TestCase):
    """A replica away while 100,000 records were written, and while retention
    removed the leader's segments it lacked, catches up with no manual step,
    rejoins the ISR, and leads again (it is the preferred replica) with the same
    records the others hold."""

    RECORDS = 100_000

    def setUp(self):
        self.c = Cluster(settings=["replica.lag.time.max.ms=3000", "log.retention.check.interval.ms=500",
                                   "leader.imbalance.check.interval.seconds=1"]).start()
        self.addCleanup(self.c.cleanup)

    def read_all(self, nodes):
        bootstrap = ",".join(self.c.nodes[i].bootstrap for i in nodes)
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "catch-up-check",
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            low, high = c.get_watermark_offsets(TopicPartition("away", 0), timeout=10)
            c.assign([TopicPartition("away", 0, low)])
            got = []
            deadline = time.time() + 60
            last = b"%08d" % (self.RECORDS - 1)
            while (not got or got[-1][1][:8] != last) and time.time() < deadline:
                for m in c.consume(1000, timeout=1):
                    if m.error() is None:
                        got.append((m.offset(), m.value()))
            return low, high, got
        finally:
            c.close()

    def test_a_replica_away_past_the_leaders_log_start_catches_up(self):
        # Small segments and a small retention.bytes: the leader drops whole
        # segments while the replica is away, well past where its log ends.
        self.c.create(1, "away", partitions=1, rf=3,
                      config={"segment.bytes": "262144", "retention.bytes": "1048576"})
        view = self.c.wait_all_in_sync("away")
        preferred = view[0][1][0]
        self.assertEqual(view[0][0], preferred)
        self.c.nodes[preferred].kill9()
        others = [i for i in (1, 2, 3) if i != preferred]
        p = Producer({"bootstrap.servers": ",".join(self.c.nodes[i].bootstrap for i in others),
                      "acks": "all", "enable.idempotence": True, "linger.ms": 5})
        failed = []
        for i in range(self.RECORDS):
            while True:
                try:
                    p.produce("away", value=b"%08d" % i + b"." * 92, partition=0,
                              on_delivery=lambda err, msg: err and failed.append(err))
                    break
                except BufferError:
                    p.poll(0.1)
        self.assertEqual(p.flush(60), 0)
        self.assertEqual(failed, [])
        low, high, before = wait_for(
            "retention to move the log start", lambda: (r := self.read_all(others))[0] > self.RECORDS // 2 and r, 60, 0.5)
        start = time.time()
        self.c.nodes[preferred].start()
        view = self.c.wait_all_in_sync("away", timeout=120)
        print(f"\nnode {preferred} back in the ISR {time.time() - start:.2f} s after its restart "
              f"(the leader's log started at {low} of {high})")
        self.assertIn("starting there", self.c.nodes[preferred].stderr(),
                      "the replica never started its log at the leader's log start")
        # Leadership returns to it (auto.leader.rebalance): reads now come from its log.
        wait_for("the preferred replica to lead again",
                 lambda: (v := self.c.leaders_view("away")) and v[0][0] == preferred, 60, 0.5)
        low2, high2, after = self.read_all([preferred])
        self.assertGreaterEqual(high2, high)  # and the new leader's no-op
        self.assertGreaterEqual(low2, low)
        self.assertEqual(after, [r for r in before if r[0] >= low2])
        values = [int(v[:8]) for _, v in after]
        self.assertEqual(values, list(range(values[0], self.RECORDS)), "not the tail of what was sent, once each")


if __name__ == "__main__":
    unittest.main()
