"""kill -9 during acks=all production, 20 times: every acknowledged record survives,
exactly once, at dense offsets."""
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from harness import Broker  # noqa: E402

CYCLES = int(os.environ.get("CHRONIK_CRASH_CYCLES", "20"))
TOPIC = "crash"
PARTITIONS = 2


class CrashRecovery(unittest.TestCase):
    def test_kill9_during_acks_all_production(self):
        rng = random.Random(int(os.environ.get("CHRONIK_SEED", "1234")))
        data_dir = None
        acked = {}  # value -> partition
        broker = Broker("--set", f"num.partitions={PARTITIONS}")
        data_dir = broker.data_dir
        try:
            for cycle in range(CYCLES):
                broker.start()
                stop = threading.Event()
                lock = threading.Lock()  # lock-ok: test-only, guards the acked map from delivery callbacks

                def on_delivery(err, msg):
                    if err is None:
                        with lock:
                            acked[msg.value()] = msg.partition()

                p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                              "enable.idempotence": True, "message.timeout.ms": 3000,
                              "socket.timeout.ms": 1000, "reconnect.backoff.max.ms": 200})

                def produce_loop():
                    i = 0
                    while not stop.is_set() and i < 200_000:
                        try:
                            p.produce(TOPIC, value=b"c%d-m%d" % (cycle, i), partition=i % PARTITIONS,
                                      on_delivery=on_delivery)
                            i += 1
                        except BufferError:
                            pass
                        p.poll(0.001 if i % 100 == 0 else 0)

                t = threading.Thread(target=produce_loop)
                t.start()
                time.sleep(rng.uniform(0.3, 1.5))
                broker.kill9()
                stop.set()
                t.join()
                p.flush(5)  # the rest fail: the broker is gone
            broker.start()
            c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "verify", "enable.auto.commit": False})
            c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
            seen = {}
            offsets = {p: [] for p in range(PARTITIONS)}
            idle_deadline = time.time() + 10
            while time.time() < idle_deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                self.assertIsNone(m.error())
                idle_deadline = time.time() + 3
                seen[m.value()] = seen.get(m.value(), 0) + 1
                offsets[m.partition()].append(m.offset())
            c.close()
            missing = [v for v in acked if v not in seen]
            dups = [v for v, n in seen.items() if n > 1]
            self.assertFalse(missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:5]}")
            self.assertFalse(dups, f"{len(dups)} records duplicated, e.g. {dups[:5]}")
            for p, offs in offsets.items():
                self.assertEqual(offs, list(range(len(offs))), f"partition {p} offsets not dense")
            self.assertGreater(len(acked), CYCLES * 10, "too few acknowledged records to mean anything")
            print(f"{CYCLES} kill -9 cycles: {len(acked)} acknowledged, {len(seen)} present, 0 lost, 0 duplicated")
        finally:
            if broker.proc is not None:
                broker.stop()
            broker.cleanup()
            if data_dir:
                import shutil
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
