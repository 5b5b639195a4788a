"""Leader epochs are real: every partition is a Raft group, a restart is a new term,
and batches, Metadata, ListOffsets, Fetch and OffsetForLeaderEpoch all say so.
And the control batches a Raft leader writes into a partition (its no-op, a
configuration) are skipped by every client: librdkafka (confluent-kafka and kcat)
and kafka-python, old wire versions included."""
import glob
import os
import shutil
import struct
import subprocess
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.record.util import calc_crc32c

from harness import Broker, Reader, connect, recv_frame, request_header_v1, send_frame

FENCED_LEADER_EPOCH = 74
UNKNOWN_LEADER_EPOCH = 75


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def create(b, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(15)


def produce(b, topic, values):
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "enable.idempotence": True})
    for v in values:
        p.produce(topic, v.encode())
    assert p.flush(30) == 0


def call(b, api_key, version, body, correlation=7):
    with connect(b) as s:
        send_frame(s, request_header_v1(api_key, version, correlation) + body)
        r = Reader(recv_frame(s))
        assert r.take(">i") == correlation
        return r


def metadata_epoch(b, topic):
    """Metadata v7 -> the leader epoch of partition 0."""
    r = call(b, 3, 7, struct.pack(">i", 1) + string(topic) + b"\x00")
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):  # brokers
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.string(), r.take(">i")  # cluster id, controller
    assert r.take(">i") == 1
    err = r.take(">h")
    assert err == 0, err
    r.string(), r.take(">b")
    assert r.take(">i") == 1
    perr, index, leader, epoch = r.take(">hiii")
    assert (perr, index) == (0, 0)
    return epoch


def end_offset_for(b, topic, epoch, current=-1):
    """OffsetForLeaderEpoch v2 -> (error, leader epoch, end offset)."""
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">iiii", 1, 0, current, epoch)
    r = call(b, 23, 2, body)
    r.take(">i")
    assert r.take(">i") == 1
    r.string()
    assert r.take(">i") == 1
    err, _, leader_epoch, end = r.take(">hiiq")
    return err, leader_epoch, end


def list_offset(b, topic, timestamp, current=-1):
    """ListOffsets v4 -> (error, offset, leader epoch)."""
    body = struct.pack(">ibi", -1, 0, 1) + string(topic) + struct.pack(">iiiq", 1, 0, current, timestamp)
    r = call(b, 2, 4, body)
    r.take(">i")
    assert r.take(">i") == 1
    r.string()
    assert r.take(">i") == 1
    _, err, _, offset, epoch = r.take(">ihqqi")
    return err, offset, epoch


def fetch_error(b, topic, current):
    """Fetch v9 from offset 0 -> the partition's error code."""
    body = (struct.pack(">iiiibii", -1, 0, 1, 1 << 20, 0, 0, -1) + struct.pack(">i", 1) + string(topic) +
            struct.pack(">iiiqqi", 1, 0, current, 0, -1, 1 << 20) + struct.pack(">i", 0))
    r = call(b, 1, 9, body)
    r.take(">ihi")
    assert r.take(">i") == 1
    r.string()
    assert r.take(">i") == 1
    _, err = r.take(">ih")
    return err


def consume_all(b, topic, expect):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "epochs-" + topic,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(100):
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append((m.offset(), m.value().decode()))
        if len(got) >= expect:
            break
    c.close()
    return got


class LeaderEpochTest(unittest.TestCase):
    def test_each_restart_is_a_new_epoch_and_every_api_reports_it(self):
        with Broker() as b:
            create(b, "ep")
            produce(b, "ep", ["a0", "a1", "a2"])
            e1 = metadata_epoch(b, "ep")
            self.assertGreaterEqual(e1, 0)
            b.stop()
            b.start()
            produce(b, "ep", ["b0", "b1"])
            e2 = metadata_epoch(b, "ep")
            self.assertEqual(e2, e1 + 1)  # a clean restart: a new term
            b.kill9()
            b.start()
            produce(b, "ep", ["c0"])
            e3 = metadata_epoch(b, "ep")
            self.assertEqual(e3, e2 + 1)  # so is a crash

            # OffsetForLeaderEpoch: each epoch ends where the next began; the current
            # one at the log end; one newer than any is unknown.
            self.assertEqual(end_offset_for(b, "ep", e1), (0, e1, 3))
            self.assertEqual(end_offset_for(b, "ep", e2), (0, e2, 5))
            self.assertEqual(end_offset_for(b, "ep", e3, current=e3), (0, e3, 6))
            self.assertEqual(end_offset_for(b, "ep", e3 + 1), (0, -1, -1))
            # A client that believes in an older epoch is fenced; a newer one is unknown.
            self.assertEqual(end_offset_for(b, "ep", e1, current=e1)[0], FENCED_LEADER_EPOCH)
            self.assertEqual(end_offset_for(b, "ep", e1, current=e3 + 1)[0], UNKNOWN_LEADER_EPOCH)

            # ListOffsets names the epoch of the offset it returns, and checks the caller's.
            self.assertEqual(list_offset(b, "ep", -1, current=e3), (0, 6, e3))
            self.assertEqual(list_offset(b, "ep", -2), (0, 0, e1))
            self.assertEqual(list_offset(b, "ep", -1, current=e2)[0], FENCED_LEADER_EPOCH)

            # Fetch too.
            self.assertEqual(fetch_error(b, "ep", e3), 0)
            self.assertEqual(fetch_error(b, "ep", -1), 0)
            self.assertEqual(fetch_error(b, "ep", e1), FENCED_LEADER_EPOCH)
            self.assertEqual(fetch_error(b, "ep", e3 + 1), UNKNOWN_LEADER_EPOCH)

            # And a real consumer, which validates its position by epoch, reads it all.
            got = consume_all(b, "ep", 6)
            self.assertEqual([v for _, v in got], ["a0", "a1", "a2", "b0", "b1", "c0"])
            self.assertEqual([o for o, _ in got], [0, 1, 2, 3, 4, 5])


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = b""
    while True:
        if n < 0x80:
            return out + bytes([n])
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7


def control_batch(offset, epoch, control_type, value=b""):
    """A v2 control batch of one record keyed (version 0, type), as a Raft leader
    writes its no-op (type 2, KRaft's LeaderChange) or a configuration (type 6)."""
    key = struct.pack(">hh", 0, control_type)
    rec = b"\x00" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value + varint(0)
    rec = varint(len(rec)) + rec
    ts = 1_700_000_000_000
    after_crc = struct.pack(">hiqqqhii", 0x20, 0, ts, ts, -1, -1, -1, 1) + rec
    length = 4 + 1 + 4 + len(after_crc)  # epoch, magic, crc, rest
    return struct.pack(">qiib", offset, length, epoch, 2) + struct.pack(">I", calc_crc32c(after_crc)) + after_crc


def last_batch(path):
    """(next offset, leader epoch of the last batch) of a segment file."""
    with open(path, "rb") as f:
        data = f.read()
    pos, nxt, epoch = 0, 0, 0
    while pos + 61 <= len(data):
        base, length, ep = struct.unpack_from(">qii", data, pos)
        delta, = struct.unpack_from(">i", data, pos + 23)
        nxt, epoch = base + delta + 1, ep
        pos += 12 + length
    return nxt, epoch


class ControlBatchTest(unittest.TestCase):
    def test_raft_control_batches_are_invisible_to_every_client(self):
        with Broker() as b:
            create(b, "ctl")
            produce(b, "ctl", ["a0", "a1", "a2"])
            b.stop()
            # What a leader change and a configuration entry leave in the log.
            seg = sorted(glob.glob(os.path.join(b.data_dir, "logs", "ctl-0.*", "*.log")))[-1]
            nxt, epoch = last_batch(seg)
            self.assertEqual(nxt, 3)
            with open(seg, "ab") as f:
                f.write(control_batch(3, epoch, 2, b"\x00\x00\x00\x00\x00\x01\x02\x00\x00\x01\x00"))
                f.write(control_batch(4, epoch, 6, b"chronik-voters"))
            b.start()
            produce(b, "ctl", ["b0", "b1", "b2"])
            want = ["a0", "a1", "a2", "b0", "b1", "b2"]

            # librdkafka (confluent-kafka): the offsets skip the control batches.
            got = consume_all(b, "ctl", 6)
            self.assertEqual(got, list(zip([0, 1, 2, 5, 6, 7], want)))

            # kcat.
            if shutil.which("kcat"):
                out = subprocess.run(["kcat", "-b", b.bootstrap, "-C", "-t", "ctl", "-p", "0", "-o", "beginning",
                                      "-e", "-f", "%o %s\n"], capture_output=True, check=True, timeout=60)
                self.assertEqual(out.stdout.decode().split("\n")[:-1],
                                 [f"{o} {v}" for o, v in zip([0, 1, 2, 5, 6, 7], want)])

            # kafka-python, at its newest wire versions and at 0.10 (magic 1 down-conversion).
            from kafka import KafkaConsumer, TopicPartition as KTP
            for api_version in (None, (0, 10)):
                with self.subTest(api_version=api_version):
                    kw = {"bootstrap_servers": b.bootstrap, "consumer_timeout_ms": 3000,
                          "auto_offset_reset": "earliest", "enable_auto_commit": False}
                    if api_version:
                        kw["api_version"] = api_version
                    c = KafkaConsumer(**kw)
                    c.assign([KTP("ctl", 0)])
                    c.seek_to_beginning()
                    seen = [(m.offset, m.value.decode()) for m in c]
                    c.close()
                    self.assertEqual([v for _, v in seen], want)
                    self.assertEqual([o for o, _ in seen], [0, 1, 2, 5, 6, 7])


if __name__ == "__main__":
    unittest.main()
