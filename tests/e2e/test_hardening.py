"""Defects found by independent testing (issue 11), each pinned by a test that failed
before its fix: timestamps that producers leave out or lie about, request order on
one connection, the Fetch response limit, two brokers on one directory or port,
decompression bombs, Metadata that auto-creates without bound, slow-loris clients.

Requests no Debian client sends (batches whose header lies, DeleteRecords,
pipelined Produce) are written by hand from Kafka's schemas.
"""
import os
import socket
import struct
import subprocess
import threading
import time
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.util import calc_crc32c

from harness import SERVER, Broker, Reader, connect, recv_frame, request_header_v1, send_frame


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def create(b, topic, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})],
                        operation_timeout=10)[topic].result(timeout=15)


def v2_batch(values, timestamps, header_max_timestamp=None, compression=0):
    """A RecordBatch v2; header_max_timestamp overwrites what the header claims."""
    builder = DefaultRecordBatchBuilder(2, compression, False, -1, -1, -1, 1 << 30)
    for i, (v, ts) in enumerate(zip(values, timestamps)):
        builder.append(i, ts, None, v, [])
    data = bytearray(builder.build())
    if header_max_timestamp is not None:
        struct.pack_into(">q", data, 35, header_max_timestamp)
        struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def legacy_batch(values, magic=0):
    builder = LegacyRecordBatchBuilder(magic, 0, 1 << 30)
    for i, v in enumerate(values):
        builder.append(i, None if magic == 0 else int(time.time() * 1000), None, v)
    return bytes(builder.build())


def produce_request(topic, partition, records, version=3, acks=-1, correlation_id=1):
    return produce_many([(topic, [(partition, records)])], version, acks, correlation_id)


def produce_many(topics, version=3, acks=-1, correlation_id=1):
    """topics: [(name, [(partition, records)])] -> a Produce request frame body."""
    body = b""
    if version >= 3:
        body += struct.pack(">h", -1)  # transactional id
    body += struct.pack(">hii", acks, 10000, len(topics))
    for name, parts in topics:
        body += string(name) + struct.pack(">i", len(parts))
        for partition, records in parts:
            body += struct.pack(">ii", partition, len(records)) + records
    return request_header_v1(0, version, correlation_id) + body


def read_produce_offsets(frame):
    """-> (correlation id, {(topic, partition): (error, base offset)}) of a v3 response."""
    r = Reader(frame)
    corr = r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        name = r.string()
        for _ in range(r.take(">i")):
            part, err, base, _ = r.take(">ihqq")
            out[(name, part)] = (err, base)
    return corr, out


def read_produce_response(frame, version=3):
    """-> (correlation id, error, base offset) of the single partition."""
    r = Reader(frame)
    corr = r.take(">i")
    r.take(">i")  # topics
    r.string()
    r.take(">i")  # partitions
    _, err, base = r.take(">ihq")
    return corr, err, base


def produce_raw(b, topic, records, version=3):
    return produce_raw_to(b, topic, 0, records, version)


def produce_raw_to(b, topic, partition, records, version=3):
    with connect(b) as s:
        send_frame(s, produce_request(topic, partition, records, version))
        _, err, base = read_produce_response(recv_frame(s), version)
    return err, base


def list_offset(b, topic, timestamp):
    """ListOffsets v1 for partition 0 -> (error, timestamp, offset)."""
    body = struct.pack(">ii", -1, 1) + string(topic) + struct.pack(">iiq", 1, 0, timestamp)
    with connect(b) as s:
        send_frame(s, request_header_v1(2, 1, 5) + body)
        r = Reader(recv_frame(s))
    r.take(">i")
    r.take(">i")
    r.string()
    r.take(">i")
    _, err, ts, off = r.take(">ihqq")
    return err, ts, off


def delete_records(b, topic, offset):
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">iiqi", 1, 0, offset, 5000)
    with connect(b) as s:
        send_frame(s, request_header_v1(21, 0, 9) + body)
        r = Reader(recv_frame(s))
    r.take(">i")
    r.take(">i")
    r.take(">i")
    r.string()
    r.take(">i")
    _, low, err = r.take(">iqh")
    return err, low


def watermarks(b, topic, partition=0):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "w", "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


class TimestampTest(unittest.TestCase):
    """A: the broker derives a batch's max timestamp from its records; a log with no
    timestamps at all ages by when it was written (Kafka's rules)."""

    def test_retention_keeps_batches_whose_header_claims_no_timestamp(self):
        with Broker("--set", "log.retention.check.interval.ms=100") as b:
            create(b, "sarama", config={"retention.ms": "3600000"})
            now = int(time.time() * 1000)
            for i in range(10):
                vals = [b"v%d-%d" % (i, j) for j in range(10)]
                err, base = produce_raw(b, "sarama", v2_batch(vals, [now + i * 10 + j for j in range(10)], -1))
                self.assertEqual((err, base), (0, i * 10))
            create(b, "legacy", config={"retention.ms": "3600000"})
            self.assertEqual(produce_raw(b, "legacy", legacy_batch([b"a", b"b", b"c"]), version=2), (0, 0))
            time.sleep(1.5)  # many retention checks
            self.assertEqual(watermarks(b, "sarama"), (0, 100))
            self.assertEqual(watermarks(b, "legacy"), (0, 3))
            # Time lookups read the records, not the header's claim.
            self.assertEqual(list_offset(b, "sarama", now + 35), (0, now + 35, 35))
            self.assertEqual(list_offset(b, "sarama", now + 1), (0, now + 1, 1))
            self.assertEqual(list_offset(b, "sarama", -3)[2], 99)  # max timestamp
            # DeleteRecords moves the log start to where it was asked, and no further.
            self.assertEqual(delete_records(b, "sarama", 10), (0, 10))
            time.sleep(0.5)
            self.assertEqual(watermarks(b, "sarama"), (10, 100))
            # What a consumer reads back says the same timestamps.
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "t", "enable.auto.commit": False})
            c.assign([TopicPartition("sarama", 0, 95)])
            got = []
            while len(got) < 5:
                m = c.poll(5)
                self.assertIsNotNone(m)
                got.append(m.timestamp()[1])
            c.close()
            self.assertEqual(got, [now + 90 + j for j in range(5, 10)])
        with Broker("--set", "log.retention.check.interval.ms=100") as b:
            # The same check can fail: a log without timestamps does expire, by age.
            create(b, "aging", config={"retention.ms": "1000"})
            self.assertEqual(produce_raw(b, "aging", legacy_batch([b"a", b"b"]), version=2), (0, 0))
            deadline = time.time() + 10
            while watermarks(b, "aging")[0] != 2 and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(watermarks(b, "aging"), (2, 2))
            # A header that claims the far future does not keep old records alive.
            create(b, "future", config={"retention.ms": "60000"})
            old = int(time.time() * 1000) - 3600 * 1000
            batch = v2_batch([b"old"] * 3, [old] * 3, header_max_timestamp=old + 10 * 365 * 86400 * 1000)
            self.assertEqual(produce_raw(b, "future", batch), (0, 0))
            deadline = time.time() + 10
            while watermarks(b, "future")[0] != 3 and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(watermarks(b, "future"), (3, 3))


class OrderTest(unittest.TestCase):
    """1: a connection's requests take effect in the order they were sent."""

    def test_pipelined_produce_requests_append_in_request_order(self):
        with Broker(smp=1) as b:
            now = int(time.time() * 1000)
            for round_ in range(5):
                # The first request also writes to 40 partitions nobody has used yet
                # (each opens on the I/O worker first); the second is short. Sent
                # back to back on one connection, the first must still come first.
                slow, target = "slow-%d" % round_, "target-%d" % round_
                create(b, slow, partitions=40)
                create(b, target)
                first = produce_many([(slow, [(p, v2_batch([b"s"], [now])) for p in range(40)]),
                                      (target, [(0, v2_batch([b"first"], [now]))])], correlation_id=1)
                second = produce_request(target, 0, v2_batch([b"second"], [now]), correlation_id=2)
                with connect(b) as s:
                    s.sendall(struct.pack(">i", len(first)) + first + struct.pack(">i", len(second)) + second)
                    c1, r1 = read_produce_offsets(recv_frame(s))
                    c2, r2 = read_produce_offsets(recv_frame(s))
                self.assertEqual((c1, c2), (1, 2))
                self.assertEqual(r1[(target, 0)], (0, 0), round_)
                self.assertEqual(r2[(target, 0)], (0, 1), round_)

    def test_a_pipelining_client_under_load_keeps_its_order(self):
        # librdkafka with 5 requests in flight and ~1 MB batches while another
        # producer keeps both shards busy: the log must hold one producer's
        # messages in the order it sent them.
        with Broker(smp=2) as b:
            create(b, "ordered")
            create(b, "noise", partitions=4)
            stop = threading.Event()

            def noise():
                p = Producer({"bootstrap.servers": b.bootstrap, "acks": "1", "linger.ms": 2})
                body = os.urandom(2000)
                deadline = time.time() + 60
                while not stop.is_set() and time.time() < deadline:
                    for k in range(200):
                        try:
                            p.produce("noise", body, partition=k % 4)
                        except BufferError:
                            p.poll(0.05)
                    p.poll(0)
                p.flush(20)

            t = threading.Thread(target=noise)
            t.start()
            try:
                p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 20,
                              "batch.size": 1000000, "max.in.flight": 5, "enable.idempotence": False,
                              "retries": 0, "queue.buffering.max.kbytes": 64000})
                pad = os.urandom(4000)
                n = 6000
                for i in range(n):
                    while True:
                        try:
                            p.produce("ordered", b"%08d" % i + pad, partition=0)
                            break
                        except BufferError:
                            p.poll(0.05)
                self.assertEqual(p.flush(60), 0)
            finally:
                stop.set()
                t.join()
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "o", "enable.auto.commit": False})
            c.assign([TopicPartition("ordered", 0, 0)])
            seen = []
            deadline = time.time() + 60
            while len(seen) < n and time.time() < deadline:
                m = c.poll(1)
                if m is not None and m.error() is None:
                    seen.append(int(m.value()[:8]))
            c.close()
            self.assertEqual(seen, list(range(n)))


def fetch_v4(b, topic, partitions, max_bytes, partition_max, max_wait=0):
    """Fetch v4 from offset 0 of each partition -> {partition: (error, records bytes)}."""
    body = struct.pack(">iiiib", -1, max_wait, 1, max_bytes, 0) + struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", len(partitions))
    for p in partitions:
        body += struct.pack(">iqi", p, 0, partition_max)
    with connect(b, timeout=30) as s:
        send_frame(s, request_header_v1(1, 4, 3) + body)
        r = Reader(recv_frame(s))
    r.take(">i")
    r.take(">i")  # throttle
    out = {}
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            part, err, _hw, _lso = r.take(">ihqq")
            n = r.take(">i")
            r.pos += 12 * max(n, 0)  # aborted transactions
            size = r.take(">i")
            out[part] = (err, r.data[r.pos:r.pos + max(size, 0)])
            r.pos += max(size, 0)
    return out


def batch_sizes(records):
    sizes, pos = [], 0
    while pos + 12 <= len(records):
        n = struct.unpack_from(">i", records, pos + 8)[0] + 12
        sizes.append(n)
        pos += n
    return sizes


class FetchLimitTest(unittest.TestCase):
    """2: the request's max_bytes bounds the response (KIP-74), and the broker's
    fetch.max.bytes bounds what any request may ask for."""

    def test_request_and_broker_limits_bound_the_response(self):
        with Broker("--set", "fetch.max.bytes=3000000") as b:
            create(b, "big", partitions=2, config={"max.message.bytes": "2000000"})
            now = int(time.time() * 1000)
            for part in (0, 1):
                for i in range(20):  # 20 batches of ~400 KB each
                    batch = v2_batch([os.urandom(100000) for _ in range(4)], [now] * 4)
                    self.assertEqual(produce_raw_to(b, "big", part, batch)[0], 0)
            got = fetch_v4(b, "big", [0, 1], max_bytes=1000000, partition_max=20000000)
            self.assertEqual(got[0][0], 0)
            self.assertEqual(batch_sizes(got[0][1]), [len(got[0][1]) // 2] * 2)  # two whole batches
            self.assertLessEqual(len(got[0][1]) + len(got[1][1]), 1000000)
            # A client that asks for everything gets fetch.max.bytes at most.
            got = fetch_v4(b, "big", [0, 1], max_bytes=2**31 - 1, partition_max=2**31 - 1)
            total = sum(len(r) for _, r in got.values())
            self.assertGreater(total, 2000000)
            self.assertLessEqual(total, 3000000)
            # One batch larger than the limit still comes back whole, alone (KIP-74).
            create(b, "huge", config={"max.message.bytes": "2000000"})
            self.assertEqual(produce_raw(b, "huge", v2_batch([os.urandom(1500000)], [now]))[0], 0)
            got = fetch_v4(b, "huge", [0], max_bytes=1000, partition_max=1000)
            self.assertEqual(len(batch_sizes(got[0][1])), 1)
            self.assertGreater(len(got[0][1]), 1500000)


def compressed_batch(codec, payload, record_count):
    """A v2 batch whose records region is `payload`, already compressed with `codec`."""
    ts = int(time.time() * 1000)
    body = struct.pack(">hiqqqhii", codec, record_count - 1, ts, ts, -1, -1, -1, record_count) + payload
    return struct.pack(">qiibI", 0, len(body) + 9, 0, 2, calc_crc32c(body)) + body


def zstd_of(chunk, times):
    import io
    import zstandard
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=1).stream_writer(out, size=len(chunk) * times, closefd=False) as w:
        for _ in range(times):
            w.write(chunk)
    return out.getvalue()


def gzip_of(chunk, times):
    import zlib
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(z.compress(chunk) for _ in range(times)) + z.flush()


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class DecompressionBombTest(unittest.TestCase):
    """5: decoding a produced batch costs about one record of memory, however far the
    batch claims to inflate; bombs are refused and the memory given back."""

    @classmethod
    def setUpClass(cls):
        mib = b"\0" * (1 << 20)
        # A 1 KiB record that parses (length 1007, attributes, deltas, null key, a
        # 1000-byte value, no headers), a million times: valid until the bound says no.
        one = b"\xde\x0f" + b"\x00\x00\x00\x01" + b"\xd0\x0f" + b"\0" * 1000 + b"\x00"
        cls.bombs = {
            "zstd 1 GiB of zeros": compressed_batch(4, zstd_of(mib, 1024), 1000),
            "gzip 0.5 GB of zeros": compressed_batch(1, gzip_of(mib, 500), 1000),
            "zstd 1 GB of valid records": compressed_batch(4, zstd_of(one * 1024, 1024), 1 << 20),
        }

    def send_bombs(self, b, names):
        errors = [None] * len(names)

        def send(i):
            errors[i] = produce_raw(b, "bombed", self.bombs[names[i]])[0]

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(names))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return errors

    def test_bombs_are_refused_within_bounded_memory(self):
        four = ["zstd 1 GiB of zeros", "gzip 0.5 GB of zeros", "zstd 1 GB of valid records", "gzip 0.5 GB of zeros"]
        for names in [[n] for n in self.bombs] + [four]:
            with Broker(smp=2) as b:
                create(b, "bombed")
                before = peak_rss_kib(b.proc.pid)
                errors = self.send_bombs(b, names)
                grown = peak_rss_kib(b.proc.pid) - before
                print("%s: peak RSS grew %d KiB; errors %s" % (" + ".join(names), grown, errors))
                for name, err in zip(names, errors):
                    self.assertIn(err, (2, 10, 87), name)  # CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD
                self.assertLess(grown, 64 * 1024, names)
                # Nothing was stored, and the broker still takes ordinary batches.
                self.assertEqual(watermarks(b, "bombed"), (0, 0))
                ok = compressed_batch(4, zstd_of(b"\x10\x00\x00\x00\x01\x04ab\x00", 1), 1)
                self.assertEqual(produce_raw(b, "bombed", ok), (0, 0))


def start_fails(*args, timeout=20):
    """Runs chronik-server expecting it to refuse to start -> (exit code, stderr)."""
    p = subprocess.run([SERVER, "start", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


class ExclusiveTest(unittest.TestCase):
    """4: one broker per data directory and per listen address."""

    def test_a_second_broker_on_the_same_directory_or_port_refuses_to_start(self):
        import tempfile
        with Broker() as b:
            rc, err = start_fails("--listen", "127.0.0.1:0", "--data-dir", b.data_dir)
            self.assertNotEqual(rc, 0)
            self.assertIn("in use by another chronik-server (pid %d)" % b.proc.pid, err)
            other = tempfile.mkdtemp(prefix="chronik-e2e-")
            try:
                rc, err = start_fails("--listen", b.bootstrap, "--data-dir", other)
                self.assertNotEqual(rc, 0)
                self.assertIn("cannot listen on %s" % b.bootstrap, err)
            finally:
                subprocess.run(["rm", "-rf", other])
            # The first broker never noticed.
            create(b, "still-mine")
            self.assertEqual(produce_raw(b, "still-mine", v2_batch([b"x"], [int(time.time() * 1000)])), (0, 0))
        # A port some other program listens on, with SO_REUSEPORT too.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        try:
            with Broker("--listen", "127.0.0.1:%d" % s.getsockname()[1]) as b2:
                self.fail("started on a port in use: %s" % b2.bootstrap)
        except RuntimeError as e:
            self.assertIn("in use by another process", str(e))
        finally:
            s.close()

    def test_options_that_do_nothing_are_refused(self):
        rc, err = start_fails("--listen", "127.0.0.1:0", "--data-dir", "/nonexistent/x", "--admin-listen",
                              "127.0.0.1:0")
        self.assertEqual(rc, 2)
        self.assertIn("admin", err)
        self.assertIn("not built yet", err)
        help_text = subprocess.run([SERVER, "--help"], capture_output=True).stderr.decode()
        self.assertNotIn("admin", help_text)


class RestartTest(unittest.TestCase):
    """B: after a clean restart, topics created later are seen by every connection on
    every shard, and a group has one coordinator and one generation sequence."""

    def test_create_produce_and_group_consume_after_a_restart(self):
        b = Broker(smp=2)
        b.start()
        try:
            for i in range(4):
                create(b, "before-%d" % i, partitions=2)
            self.assertEqual(b.stop(), 0)
            b.start()
            names = ["after-%d" % i for i in range(12)]
            for n in names:
                create(b, n, partitions=4)
            # Connections land on both shards (SO_REUSEPORT): each must see them all.
            for _ in range(16):
                md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
                self.assertTrue(set(names) <= set(md.topics), sorted(md.topics))
            p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
            for n in names:
                for k in range(40):
                    p.produce(n, b"%s-%d" % (n.encode(), k), partition=k % 4)
            self.assertEqual(p.flush(20), 0)
            consumers = [Consumer({"bootstrap.servers": b.bootstrap, "group.id": "after-restart",
                                   "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                   "session.timeout.ms": 10000})
                         for _ in range(2)]
            for c in consumers:
                c.subscribe(names)
            got = {}
            deadline = time.time() + 60
            while len(got) < 12 * 40 and time.time() < deadline:
                for c in consumers:
                    m = c.poll(0.2)
                    if m is not None and m.error() is None:
                        got.setdefault((m.topic(), m.partition(), m.offset()), []).append(c)
            # Exactly once each, and the two members own disjoint partitions.
            self.assertEqual(len(got), 12 * 40)
            owners = {}
            for (t, part, _), cs in got.items():
                self.assertEqual(len(cs), 1)
                owners.setdefault((t, part), set()).add(id(cs[0]))
            for tp, o in owners.items():
                self.assertEqual(len(o), 1, tp)
            assignments = [set((tp.topic, tp.partition) for tp in c.assignment()) for c in consumers]
            self.assertFalse(assignments[0] & assignments[1])
            self.assertEqual(len(assignments[0] | assignments[1]), 48)
            for c in consumers:
                c.close()
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()


if __name__ == "__main__":
    unittest.main()
