"""Incremental fetch sessions (KIP-227) against the real broker.

librdkafka 2.0 and kafka-python 2.0.2 (Debian's) always send full fetches, so this
test speaks Fetch v11 itself: a full fetch opens a session, incremental fetches
carry only changes and get back only partitions with news, and the session's
epoch, forgetting and closing behave as Kafka's Java client expects.
"""
import struct
import unittest

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker, connect, recv_frame, request_header_v1, send_frame

TOPIC = "sess"


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def fetch_v11(sock, corr, session_id, epoch, partitions=(), forgotten=(), max_wait=0, limit=1 << 20,
              before_reading=None, keep=None):
    """partitions: [(partition, offset)] of TOPIC; forgotten: [partition]. With
    `keep`, the records of each partition are stored there."""
    body = struct.pack(">iiiibii", -1, max_wait, 1, limit, 0, session_id, epoch)
    if partitions:
        body += struct.pack(">i", 1) + string(TOPIC) + struct.pack(">i", len(partitions))
        for p, off in partitions:
            body += struct.pack(">iiqqi", p, -1, off, -1, limit)
    else:
        body += struct.pack(">i", 0)
    if forgotten:
        body += struct.pack(">i", 1) + string(TOPIC) + struct.pack(">i", len(forgotten))
        body += b"".join(struct.pack(">i", p) for p in forgotten)
    else:
        body += struct.pack(">i", 0)
    body += string("")  # rack_id
    send_frame(sock, request_header_v1(1, 11, corr) + body)
    if before_reading:
        before_reading()
    frame = recv_frame(sock)
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, frame, pos)
        pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]
    assert take(">i") == corr
    _throttle, error, sid = take(">ihi")
    parts = {}
    for _ in range(take(">i")):
        n = take(">h")
        name = frame[pos:pos + n].decode()
        pos += n
        for _ in range(take(">i")):
            index, err, hw, _lso, _start = take(">ihqqq")
            aborted = take(">i")
            pos += max(aborted, 0) * 16
            take(">i")  # preferred read replica
            size = take(">i")
            if keep is not None:
                keep[(name, index)] = frame[pos:pos + max(size, 0)]
            pos += max(size, 0)
            parts[(name, index)] = (err, hw, max(size, 0))
    return error, sid, parts


def batches(blob):
    """(base offset, record count) of each v2 batch in a records blob."""
    out, pos = [], 0
    while pos + 61 <= len(blob):
        base, length = struct.unpack_from(">qi", blob, pos)
        (count,) = struct.unpack_from(">i", blob, pos + 57)
        out.append((base, count))
        pos += 12 + length
    assert pos == len(blob), "a torn batch in the response"
    return out


class ZeroCopyTest(unittest.TestCase):
    def test_a_large_fetch_to_a_slow_reader_arrives_whole(self):
        import time
        with Broker() as b:
            p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 20})
            for i in range(12000):
                p.produce(TOPIC, b"%06d" % i + b"z" * 994, partition=0)
            self.assertEqual(p.flush(30), 0)
            with connect(b) as s:
                s.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
                keep = {}
                # ~12 MB sent from the segment file while the reader sleeps: the
                # broker's socket fills and it must wait for room, mid-extent.
                err, _, parts = fetch_v11(s, 1, 0, -1, [(0, 0)], limit=64 << 20,
                                          before_reading=lambda: time.sleep(1), keep=keep)
            self.assertEqual(err, 0)
            got = batches(keep[(TOPIC, 0)])
            self.assertEqual(sum(c for _, c in got), 12000)
            self.assertEqual(got[0][0], 0)
            offsets = [base for base, _ in got]
            self.assertEqual(offsets, sorted(offsets))
            blob = keep[(TOPIC, 0)]
            self.assertIn(b"011999" + b"z" * 994, blob)


class FetchSessionTest(unittest.TestCase):
    def produce(self, b, partition, n):
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        for i in range(n):
            p.produce(TOPIC, b"v%d" % i, partition=partition)
        self.assertEqual(p.flush(10), 0)

    def test_sessions_send_only_what_changed(self):
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            admin.create_topics([NewTopic(TOPIC, 2, 1)], operation_timeout=10)[TOPIC].result(timeout=15)
            self.produce(b, 0, 3)
            self.produce(b, 1, 2)
            with connect(b) as s:
                # A full fetch with epoch 0 opens a session and returns everything.
                err, sid, parts = fetch_v11(s, 1, 0, 0, [(0, 0), (1, 0)])
                self.assertEqual(err, 0)
                self.assertNotEqual(sid, 0)
                self.assertEqual({k: (v[0], v[1]) for k, v in parts.items()},
                                 {(TOPIC, 0): (0, 3), (TOPIC, 1): (0, 2)})
                self.assertTrue(all(v[2] > 0 for v in parts.values()))
                # Caught up, nothing new: an incremental fetch returns no partitions.
                err, sid2, parts = fetch_v11(s, 2, sid, 1, [(0, 3), (1, 2)])
                self.assertEqual((err, sid2, parts), (0, sid, {}))
                # New data on partition 1 only: only it comes back, though the
                # request names no partition at all.
                self.produce(b, 1, 1)
                err, _, parts = fetch_v11(s, 3, sid, 2, max_wait=2000)
                self.assertEqual(err, 0)
                self.assertEqual(list(parts), [(TOPIC, 1)])
                self.assertEqual(parts[(TOPIC, 1)][1], 3)
                self.assertGreater(parts[(TOPIC, 1)][2], 0)
                # Epochs must follow on; unknown sessions are refused.
                self.assertEqual(fetch_v11(s, 4, sid, 9)[0], 71)  # INVALID_FETCH_SESSION_EPOCH
                self.assertEqual(fetch_v11(s, 5, sid + 64, 1)[0], 70)  # FETCH_SESSION_ID_NOT_FOUND
                self.assertEqual(fetch_v11(s, 6, 0, 3)[0], 70)
                # Forgotten partitions are no longer fetched.
                err, _, parts = fetch_v11(s, 7, sid, 3, [(1, 3)], forgotten=[0])
                self.assertEqual(err, 0)
                self.produce(b, 0, 1)
                self.produce(b, 1, 1)
                err, _, parts = fetch_v11(s, 8, sid, 4, max_wait=2000)
                self.assertEqual(list(parts), [(TOPIC, 1)])
                # Closing (epoch -1) answers as a plain full fetch and ends the session.
                err, sid3, parts = fetch_v11(s, 9, sid, -1, [(0, 0)])
                self.assertEqual((err, sid3), (0, 0))
                self.assertEqual(list(parts), [(TOPIC, 0)])
                self.assertEqual(fetch_v11(s, 10, sid, 5)[0], 70)
                # librdkafka's full fetches (session 0, epoch -1) are unaffected.
                err, sid4, parts = fetch_v11(s, 11, 0, -1, [(0, 0), (1, 0)])
                self.assertEqual((err, sid4, len(parts)), (0, 0, 2))


if __name__ == "__main__":
    unittest.main()
