"""kill -9 while compaction runs: no acknowledged latest value of a key is lost, and
no deleted key comes back.

The broker compacts every 20 ms a topic of 4 KiB segments while an idempotent
producer writes values and tombstones for 40 keys. Every record carries its key's
sequence number in a header, so after the last restart each key's final record can
be checked against the last one acknowledged: it must be that one or a later one
(records written but not acknowledged before a kill may survive too), and a key
may be missing only if a tombstone for it was written at or after that point.
"""
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from harness import Broker  # noqa: E402

CYCLES = int(os.environ.get("CHRONIK_COMPACT_CRASH_CYCLES", "10"))
TOPIC = "compact-crash"
KEYS = 40


class CompactionCrash(unittest.TestCase):
    def test_kill9_during_compaction(self):
        rng = random.Random(int(os.environ.get("CHRONIK_SEED", "4321")))
        broker = Broker("--set", "log.retention.check.interval.ms=20")
        last_acked = {}  # key -> (seq, is_tombstone)
        tombstones_after = {}  # key -> seqs of tombstones produced
        next_seq = {k: 0 for k in range(KEYS)}
        acked_total = 0
        try:
            for cycle in range(CYCLES):
                broker.start()
                if cycle == 0:
                    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
                    cfg = {"cleanup.policy": "compact", "segment.bytes": "4096",
                           "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"}
                    admin.create_topics([NewTopic(TOPIC, 1, 1, config=cfg)])[TOPIC].result(timeout=15)
                stop = threading.Event()
                lock = threading.Lock()  # lock-ok: test-only, guards the ack map from delivery callbacks

                def on_delivery(err, _msg, key, seq, tombstone):
                    # Delivery reports carry no headers, so the sequence comes along.
                    nonlocal acked_total
                    if err is not None:
                        return
                    with lock:
                        acked_total += 1
                        if key not in last_acked or last_acked[key][0] < seq:
                            last_acked[key] = (seq, tombstone)

                p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                              "enable.idempotence": True, "message.timeout.ms": 3000,
                              "socket.timeout.ms": 1000, "reconnect.backoff.max.ms": 200})

                def produce_loop():
                    i = 0
                    while not stop.is_set() and i < 100_000:
                        key = rng.randrange(KEYS)
                        seq = next_seq[key]
                        tombstone = rng.random() < 0.05
                        try:
                            p.produce(TOPIC, value=None if tombstone else b"v%d-" % seq + b"x" * 60,
                                      key=b"%d" % key, partition=0, headers=[("n", b"%d" % seq)],
                                      on_delivery=lambda e, m, k=key, s=seq, t=tombstone: on_delivery(e, m, k, s, t))
                        except BufferError:
                            p.poll(0.01)
                            continue
                        next_seq[key] = seq + 1
                        if tombstone:
                            tombstones_after.setdefault(key, []).append(seq)
                        i += 1
                        if i % 200 == 0:
                            time.sleep(0.005)  # let compaction passes interleave with writes
                        p.poll(0)

                t = threading.Thread(target=produce_loop)
                t.start()
                time.sleep(rng.uniform(0.5, 1.5))
                broker.kill9()
                stop.set()
                t.join()
                p.flush(5)

            broker.start()
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "verify",
                          "enable.auto.commit": False})
            low, high = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
            c.assign([TopicPartition(TOPIC, 0, low)])
            final = {}
            count = 0
            last_offset = -1
            deadline = time.time() + 60
            while last_offset < high - 1 and time.time() < deadline:
                m = c.poll(1)
                if m is None:
                    continue
                self.assertIsNone(m.error())
                self.assertGreater(m.offset(), last_offset)
                last_offset = m.offset()
                count += 1
                final[int(m.key())] = (int(dict(m.headers())["n"]), m.value() is None)
            c.close()
            self.assertEqual(last_offset, high - 1, "could not read the log to its end")
            for key, (seq, _) in last_acked.items():
                if key in final:
                    self.assertGreaterEqual(final[key][0], seq, f"key {key}: acknowledged seq {seq} lost")
                else:
                    self.assertTrue(any(t >= seq for t in tombstones_after.get(key, [])),
                                    f"key {key} vanished without a tombstone at or after seq {seq}")
            self.assertGreater(acked_total, CYCLES * 50, "too few acknowledged records to mean anything")
            self.assertLess(count, acked_total, "compaction never removed anything")
            print(f"{CYCLES} kill -9 cycles under compaction: {acked_total} acknowledged, "
                  f"{count} records remain for {len(final)} keys, no latest value lost")
        finally:
            if broker.proc is not None:
                broker.stop()
            broker.cleanup()


if __name__ == "__main__":
    unittest.main()
