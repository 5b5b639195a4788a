"""Produce/consume round trips with unmodified clients against the real broker."""
import shutil
import subprocess
import time
import unittest
import uuid

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
                             operation_timeout=10)
    for f in fs.values():
        f.result(timeout=15)


def produce(bootstrap, topic, messages, **conf):
    """messages: list of dicts with value/key/headers/partition/timestamp. Returns delivered offsets."""
    delivered = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset()))

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    for m in messages:
        kwargs = {k: v for k, v in m.items() if v is not None}
        p.produce(topic, on_delivery=on_delivery, **kwargs)
        p.poll(0)
    remaining = p.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors
    return delivered


def consume_all(bootstrap, topic, partitions, expected, timeout=30, **conf):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "enable.auto.commit": False,
                  "enable.partition.eof": False, **conf})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.time() + timeout
    while len(got) < expected and time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            raise AssertionError(msg.error())
        got.append(msg)
    c.close()
    return got


class ConfluentRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, rc

    def round_trip(self, codec, acks, count=500):
        topic = unique(f"rt-{codec}")
        create_topic(self.broker.bootstrap, topic, partitions=3)
        base_ts = int(time.time() * 1000) - 60_000
        msgs = []
        for i in range(count):
            msgs.append({
                "value": (f"value-{i}-" + "x" * (i % 200)).encode(),
                "key": None if i % 7 == 0 else f"key-{i % 13}".encode(),
                "headers": [("h1", f"hv{i}".encode()), ("empty", b"")] if i % 3 == 0 else None,
                "partition": i % 3,
                "timestamp": base_ts + i,
            })
        delivered = produce(self.broker.bootstrap, topic, msgs, **{"compression.type": codec, "acks": acks})
        self.assertEqual(len(delivered), count)
        got = consume_all(self.broker.bootstrap, topic, 3, count)
        self.assertEqual(len(got), count)
        by_value = {m.value(): m for m in got}
        for i, m in enumerate(msgs):
            g = by_value[m["value"]]
            self.assertEqual(g.key(), m["key"])
            self.assertEqual(g.partition(), i % 3)
            self.assertEqual(g.timestamp()[1], base_ts + i)
            self.assertEqual(g.headers(), m["headers"])
        # Offsets per partition are dense from 0.
        for p in range(3):
            offs = sorted(m.offset() for m in got if m.partition() == p)
            self.assertEqual(offs, list(range(len(offs))))

    def test_every_codec_acks_all(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                self.round_trip(codec, "all")

    def test_acks_1_and_0(self):
        self.round_trip("none", "1")
        topic = unique("acks0")
        create_topic(self.broker.bootstrap, topic)
        produce(self.broker.bootstrap, topic, [{"value": b"v%d" % i} for i in range(100)], acks="0")
        self.assertEqual(len(consume_all(self.broker.bootstrap, topic, 1, 100)), 100)

    def test_idempotent_producer(self):
        topic = unique("idem")
        create_topic(self.broker.bootstrap, topic)
        produce(self.broker.bootstrap, topic, [{"value": b"m%d" % i} for i in range(1000)],
                **{"enable.idempotence": True})
        got = consume_all(self.broker.bootstrap, topic, 1, 1000)
        self.assertEqual([m.value() for m in got], [b"m%d" % i for i in range(1000)])

    def test_auto_create_on_metadata(self):
        topic = unique("auto")
        produce(self.broker.bootstrap, topic, [{"value": b"auto"}])
        got = consume_all(self.broker.bootstrap, topic, 1, 1)
        self.assertEqual(got[0].value(), b"auto")


@unittest.skipUnless(shutil.which("kcat"), "kcat not installed")
class KcatRoundTrip(unittest.TestCase):
    def test_kcat_produce_consume_and_metadata(self):
        with Broker() as b:
            topic = unique("kcat")
            lines = "".join(f"k{i}:line {i}\n" for i in range(200))
            for codec in CODECS:
                subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", topic, "-K", ":", "-z", codec],
                               input=lines.encode(), check=True, timeout=30)
            out = subprocess.run(["kcat", "-b", b.bootstrap, "-C", "-t", topic, "-e", "-f", "%k=%s|%o\n"],
                                 capture_output=True, check=True, timeout=30).stdout.decode()
            rows = out.strip().split("\n")
            self.assertEqual(len(rows), 200 * len(CODECS))
            self.assertEqual(rows[0], "k0=line 0|0")
            self.assertEqual(rows[-1], f"k199=line 199|{200 * len(CODECS) - 1}")
            meta = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-t", topic], capture_output=True, check=True,
                                  timeout=30).stdout.decode()
            self.assertIn(f'topic "{topic}" with 1 partitions', meta)
            self.assertIn("leader 0", meta)


class KafkaPythonRoundTrip(unittest.TestCase):
    def run_with(self, api_version, codec):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP
        with Broker() as b:
            topic = unique("kp")
            kw = {"bootstrap_servers": b.bootstrap}
            if api_version:
                kw["api_version"] = api_version
            p = KafkaProducer(acks="all", compression_type=codec, **kw)
            futures = [p.send(topic, key=b"k%d" % (i % 5), value=b"value %d" % i) for i in range(300)]
            offsets = [f.get(timeout=30).offset for f in futures]
            p.close()
            self.assertEqual(offsets, list(range(300)))
            c = KafkaConsumer(consumer_timeout_ms=2500, auto_offset_reset="earliest", enable_auto_commit=False, **kw)
            c.assign([KTP(topic, 0)])
            c.seek_to_beginning()
            got = [(m.offset, m.key, m.value) for m in c]
            c.close()
            self.assertEqual(got, [(i, b"k%d" % (i % 5), b"value %d" % i) for i in range(300)])

    def test_current_protocol(self):
        for codec in (None, "gzip", "snappy", "lz4", "zstd"):
            with self.subTest(codec=codec):
                self.run_with(None, codec)

    def test_legacy_message_formats(self):
        for api_version in ((0, 9), (0, 10)):
            for codec in (None, "gzip"):
                with self.subTest(api_version=api_version, codec=codec):
                    self.run_with(api_version, codec)


if __name__ == "__main__":
    unittest.main()
