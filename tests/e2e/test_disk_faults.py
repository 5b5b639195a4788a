"""A full disk under the real broker: producers get KAFKA_STORAGE_ERROR, everything
acknowledged before stays readable, the broker keeps serving, and writes resume once
space is freed.

The data directory lives on a 4 MiB tmpfs mounted for the test (the test runs as
root, as CI does); a filler file takes the space, so the broker's own writes meet a
real ENOSPC from the kernel rather than an injected one.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker


def try_mount(path):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", path], capture_output=True)
    return r.returncode == 0, r.stderr.decode(errors="replace")


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="chronik-tmpfs-")
        ok, why = try_mount(self.mnt)
        if not ok:
            os.rmdir(self.mnt)
            self.skipTest(f"cannot mount a tmpfs here (needs root): {why}")

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt], check=False)
        shutil.rmtree(self.mnt, ignore_errors=True)

    def produce(self, b, topic, values):
        """Returns (acknowledged values, error codes of the rest)."""
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "retries": 0, "linger.ms": 0})
        acked, errors = [], []

        def done(err, msg):
            if err is None:
                acked.append(msg.value())
            else:
                errors.append(err.code())
        for v in values:
            p.produce(topic, v, partition=0, on_delivery=done)
            p.flush(10)
        return acked, errors

    def consume(self, b, topic, count):
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "d", "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 0)])
        got = []
        while len(got) < count:
            m = c.poll(5)
            if m is None:
                break
            self.assertIsNone(m.error())
            got.append(m.value())
        c.close()
        return got

    def test_enospc_refuses_writes_and_damages_nothing(self):
        data = os.path.join(self.mnt, "data")
        os.makedirs(data)
        b = Broker(data_dir=data, smp=1)
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            for t in ("full", "other"):
                admin.create_topics([NewTopic(t, 1, 1)], operation_timeout=10)[t].result(timeout=15)
            first, errors = self.produce(b, "other", [b"before"])
            self.assertEqual((len(first), errors), (1, []))
            # Leave about 256 KiB free, then write 2 KiB records until the disk refuses.
            st = os.statvfs(self.mnt)
            free = st.f_bavail * st.f_frsize
            with open(os.path.join(self.mnt, "filler"), "wb") as f:
                f.write(b"\0" * max(0, free - 256 * 1024))
            values = [b"%05d-" % i + b"x" * 2048 for i in range(400)]
            acked, errors = self.produce(b, "full", values)
            self.assertTrue(acked, "nothing fitted before the disk filled")
            self.assertTrue(errors, "the disk never filled")
            self.assertTrue(all(e == KafkaError.KAFKA_STORAGE_ERROR for e in errors), set(errors))
            print(f"disk full after {len(acked)} of {len(values)} records; {len(errors)} refused with KAFKA_STORAGE_ERROR")
            # Everything acknowledged is readable, in order; the rest of the broker serves.
            self.assertEqual(self.consume(b, "full", len(acked)), acked)
            self.assertEqual(self.consume(b, "other", 1), [b"before"])
            # Space comes back: so do writes, at the next offset.
            os.unlink(os.path.join(self.mnt, "filler"))
            more, errors = self.produce(b, "full", [b"after"])
            self.assertEqual((more, errors), ([b"after"], []))
            self.assertEqual(self.consume(b, "full", len(acked) + 1), acked + [b"after"])
            self.assertEqual(b.stop(), 0)
            b.start()
            self.assertEqual(self.consume(b, "full", len(acked) + 1), acked + [b"after"])
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()


if __name__ == "__main__":
    unittest.main()
