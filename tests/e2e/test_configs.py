"""Config changes (AlterConfigs, IncrementalAlterConfigs) and the describe APIs
(DescribeCluster, DescribeLogDirs, DescribeProducers) against the real broker.

Debian's clients predate IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs
and DescribeProducers (confluent-kafka 1.7, kafka-python 2.0.2), so those requests
are written by hand below from Kafka's schemas; AlterConfigs and DescribeConfigs go
through confluent-kafka's AdminClient.
"""
import struct
import time
import unittest

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from harness import (Broker, Reader, compact_string, connect, recv_frame, request_header_v1, request_header_v2,
                     send_frame, uvarint)

TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def nullable_string(s):
    return struct.pack(">h", -1) if s is None else string(s)


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def nullable_string(s):
    return struct.pack(">h", -1) if s is None else string(s)


def call(broker, header, body):
    with connect(broker) as s:
        send_frame(s, header + body)
        return recv_frame(s)


def incremental_alter(broker, resources, validate_only=False):
    """resources: [(type, name, [(key, op, value)])] -> [(error, message, type, name)] (v0)."""
    body = struct.pack(">i", len(resources))
    for rtype, name, configs in resources:
        body += struct.pack(">b", rtype) + string(name) + struct.pack(">i", len(configs))
        for key, op, value in configs:
            body += string(key) + struct.pack(">b", op) + nullable_string(value)
    body += struct.pack(">?", validate_only)
    r = Reader(call(broker, request_header_v1(44, 0, 11), body))
    assert r.take(">i") == 11
    r.take(">i")  # throttle
    out = []
    for _ in range(r.take(">i")):
        err = r.take(">h")
        msg = r.string()
        out.append((err, msg, r.take(">b"), r.string()))
    return out


def describe(admin, rtype, name):
    res = ConfigResource(rtype, name)
    return admin.describe_configs([res])[res].result(timeout=10)


def create(admin, topic, partitions=1, config=None):
    admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})],
                        operation_timeout=10)[topic].result(timeout=15)


def produce(broker, topic, values, idempotent=False):
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "enable.idempotence": idempotent})
    errors = []
    for v in values:
        p.produce(topic, v, partition=0, on_delivery=lambda e, m: e and errors.append(e))
        p.flush(15)
    assert p.flush(15) == 0 and errors == [], errors


def watermarks(broker, topic):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "w", "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        c.close()


class AlterConfigsTest(unittest.TestCase):
    def test_alter_configs_reaches_open_partitions_and_survives_a_restart(self):
        b = Broker("--set", "log.retention.check.interval.ms=200")
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            cluster_id = admin.list_topics(timeout=10).cluster_id
            self.assertEqual(len(cluster_id), 22)
            create(admin, "live")
            produce(b, "live", [b"x" * 300] * 5)  # the partition is open with 1 GiB segments
            res = ConfigResource(ConfigResource.Type.TOPIC, "live",
                                 set_config={"segment.bytes": "1024", "retention.bytes": "2048"})
            admin.alter_configs([res])[res].result(timeout=10)
            cfg = describe(admin, ConfigResource.Type.TOPIC, "live")
            self.assertEqual(cfg["segment.bytes"].value, "1024")
            self.assertEqual(cfg["segment.bytes"].source, 1)  # DYNAMIC_TOPIC_CONFIG
            # The open partition now rolls small segments and retention trims them.
            produce(b, "live", [bytes([65 + i % 26]) * 300 for i in range(30)])
            deadline = time.time() + 10
            low, high = watermarks(b, "live")
            while low == 0 and time.time() < deadline:
                time.sleep(0.1)
                low, high = watermarks(b, "live")
            self.assertEqual(high, 35)
            self.assertGreater(low, 0)
            # AlterConfigs replaces the whole set of overrides.
            res = ConfigResource(ConfigResource.Type.TOPIC, "live", set_config={"retention.ms": "86400000"})
            admin.alter_configs([res])[res].result(timeout=10)
            cfg = describe(admin, ConfigResource.Type.TOPIC, "live")
            self.assertTrue(cfg["segment.bytes"].is_default)
            self.assertEqual(cfg["retention.ms"].value, "86400000")
            # A bad value is refused with INVALID_CONFIG and changes nothing.
            bad = ConfigResource(ConfigResource.Type.TOPIC, "live", set_config={"retention.ms": "soon"})
            with self.assertRaises(KafkaException) as e:
                admin.alter_configs([bad])[bad].result(timeout=10)
            self.assertEqual(e.exception.args[0].code(), KafkaError.INVALID_CONFIG)
            self.assertEqual(b.stop(), 0)
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertEqual(admin.list_topics(timeout=10).cluster_id, cluster_id)  # kept across restarts
            cfg = describe(admin, ConfigResource.Type.TOPIC, "live")
            self.assertEqual(cfg["retention.ms"].value, "86400000")
            self.assertEqual(cfg["retention.ms"].source, 1)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_incremental_alter_configs_for_topics_and_the_broker(self):
        b = Broker()
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "inc")
            create(admin, "plain")
            got = incremental_alter(b, [(TOPIC, "inc", [("retention.ms", SET, "1000"),
                                                        ("cleanup.policy", APPEND, "compact")])])
            self.assertEqual(got, [(0, None, TOPIC, "inc")])
            cfg = describe(admin, ConfigResource.Type.TOPIC, "inc")
            self.assertEqual(cfg["retention.ms"].value, "1000")
            self.assertEqual(cfg["cleanup.policy"].value, "delete,compact")
            got = incremental_alter(b, [(TOPIC, "inc", [("cleanup.policy", SUBTRACT, "delete"),
                                                        ("retention.ms", DELETE, None)])])
            self.assertEqual(got[0][0], 0)
            cfg = describe(admin, ConfigResource.Type.TOPIC, "inc")
            self.assertEqual(cfg["cleanup.policy"].value, "compact")
            self.assertTrue(cfg["retention.ms"].is_default)
            # validate_only checks without changing anything.
            got = incremental_alter(b, [(TOPIC, "inc", [("retention.ms", SET, "5")])], validate_only=True)
            self.assertEqual(got[0][0], 0)
            self.assertTrue(describe(admin, ConfigResource.Type.TOPIC, "inc")["retention.ms"].is_default)
            # Kafka's error codes, one resource at a time.
            got = incremental_alter(b, [(TOPIC, "inc", [("retention.ms", SET, "soon")]),
                                        (TOPIC, "nope", [("retention.ms", SET, "1")]),
                                        (TOPIC, "plain", [("retention.ms", 9, "1")]),
                                        (BROKER, "0", [("num.partitions", SET, "3")]),
                                        (BROKER, "7", [("log.retention.ms", SET, "1")]),
                                        (3, "x", [])])
            got += incremental_alter(b, [(TOPIC, "plain", [("retention.ms", APPEND, "1")]),
                                         (TOPIC, "inc", [("no.such.config", SET, "1")])])
            got += incremental_alter(b, [(TOPIC, "plain", [("retention.ms", SET, "1")]),
                                         (TOPIC, "plain", [("retention.ms", SET, "2")])])
            self.assertEqual([g[0] for g in got], [40, 3, 42, 40, 42, 42, 40, 40, 42, 42], got)
            self.assertTrue(all(g[1] for g in got))
            self.assertTrue(describe(admin, ConfigResource.Type.TOPIC, "plain")["retention.ms"].is_default)
            # Dynamic broker settings: this node's, then the cluster-wide default.
            got = incremental_alter(b, [(BROKER, "0", [("log.retention.ms", SET, "60000")]),
                                        (BROKER, "", [("log.segment.bytes", SET, "1048576")])])
            self.assertEqual([g[0] for g in got], [0, 0])
            bc = describe(admin, ConfigResource.Type.BROKER, "0")
            self.assertEqual(bc["log.retention.ms"].value, "60000")
            self.assertEqual(bc["log.retention.ms"].source, 2)  # DYNAMIC_BROKER_CONFIG
            self.assertEqual(bc["log.segment.bytes"].value, "1048576")  # Kafka 4.0: at least 1 MiB
            self.assertEqual(bc["log.segment.bytes"].source, 3)  # DYNAMIC_DEFAULT_BROKER_CONFIG
            self.assertTrue(bc["num.partitions"].is_read_only)
            self.assertFalse(bc["log.retention.ms"].is_read_only)
            tc = describe(admin, ConfigResource.Type.TOPIC, "plain")
            self.assertEqual(tc["retention.ms"].value, "60000")
            self.assertEqual(tc["retention.ms"].source, 2)
            self.assertEqual(tc["segment.bytes"].value, "1048576")
            self.assertEqual(b.stop(), 0)
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertEqual(describe(admin, ConfigResource.Type.TOPIC, "plain")["retention.ms"].value, "60000")
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()


class FlushTest(unittest.TestCase):
    def test_relaxed_flush_acknowledges_and_a_clean_stop_keeps_everything(self):
        b = Broker()
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "pagecache", config={"flush.ms": "600000", "flush.messages": "1000000"})
            produce(b, "pagecache", [b"r%d" % i for i in range(10)])
            self.assertEqual(watermarks(b, "pagecache"), (0, 10))
            self.assertEqual(b.stop(), 0)  # shutdown syncs what the interval had not
            b.start()
            self.assertEqual(watermarks(b, "pagecache"), (0, 10))
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()


class TimestampTest(unittest.TestCase):
    def test_create_time_outside_the_window_is_refused(self):
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "window", config={"message.timestamp.before.max.ms": "60000",
                                            "message.timestamp.after.max.ms": "60000"})
            p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "retries": 0,
                          "compression.type": "lz4"})
            now = int(time.time() * 1000)
            results = {}
            for label, ts in (("now", now), ("hour-ago", now - 3600_000), ("hour-ahead", now + 3600_000)):
                p.produce("window", label.encode(), partition=0, timestamp=ts,
                          on_delivery=lambda e, m, label=label: results.update({label: e and e.code()}))
                p.flush(15)
            self.assertEqual(results, {"now": None, "hour-ago": KafkaError.INVALID_TIMESTAMP,
                                       "hour-ahead": KafkaError.INVALID_TIMESTAMP})
            self.assertEqual(watermarks(b, "window"), (0, 1))


class CompactionTest(unittest.TestCase):
    def consume_all(self, b, topic):
        """Every record from the log start, as (offset, key, value)."""
        low, high = watermarks(b, topic)
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "c", "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, low)])
        out = []
        deadline = time.time() + 20
        while time.time() < deadline:
            m = c.poll(1)
            if m is None:
                if out and out[-1][0] >= high - 1 or high == 0:
                    break
                continue
            self.assertIsNone(m.error())
            out.append((m.offset(), m.key(), m.value()))
            if m.offset() >= high - 1:
                break
        c.close()
        return out

    def test_compaction_keeps_the_latest_value_per_key_and_honours_tombstones(self):
        with Broker("--set", "log.retention.check.interval.ms=200") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "compacted", config={"cleanup.policy": "compact", "segment.bytes": "2048",
                                               "min.cleanable.dirty.ratio": "0.01",
                                               "delete.retention.ms": "0"})
            p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0,
                          "compression.type": "snappy"})
            errors = []
            latest = {}
            for round_ in range(40):
                for k in range(5):
                    key, value = b"key-%d" % k, b"round-%03d-" % round_ + b"v" * 80
                    p.produce("compacted", value, key, partition=0,
                              on_delivery=lambda e, m: e and errors.append(e))
                    latest[key] = value
                p.flush(15)
            p.produce("compacted", None, b"key-0", partition=0, on_delivery=lambda e, m: e and errors.append(e))
            del latest[b"key-0"]
            for i in range(30):  # seals the tombstone's segment
                p.produce("compacted", b"f" * 80, b"filler-%d" % i, partition=0,
                          on_delivery=lambda e, m: e and errors.append(e))
                latest[b"filler-%d" % i] = b"f" * 80
                p.flush(15)
            # A record without a key cannot be compacted: Kafka refuses it.
            refused = []
            p.produce("compacted", b"no key", partition=0, on_delivery=lambda e, m: refused.append(e))
            p.flush(15)
            self.assertEqual(errors, [])
            self.assertEqual(refused[0].code(), KafkaError.INVALID_RECORD)
            produced = 40 * 5 + 1 + 30
            self.assertEqual(watermarks(b, "compacted"), (0, produced))

            deadline = time.time() + 30
            records = self.consume_all(b, "compacted")
            while any(k == b"key-0" for _, k, _ in records) and time.time() < deadline:
                time.sleep(0.3)
                records = self.consume_all(b, "compacted")
            self.assertLess(len(records), produced)
            offsets = [o for o, _, _ in records]
            self.assertEqual(offsets, sorted(set(offsets)))
            final = {}
            for _, k, v in records:
                final[k] = v
            self.assertEqual(final, latest)  # key-0 is gone, tombstone and all
            # The end of the log never moves, and it survives a restart as compacted.
            self.assertEqual(watermarks(b, "compacted")[1], produced)


class DescribeTest(unittest.TestCase):
    def test_describe_cluster(self):
        with Broker() as b:
            body = b"\x01" + b"\x00"  # include_cluster_authorized_operations, no tags
            r = Reader(call(b, request_header_v2(60, 0, 5), body))
            self.assertEqual(r.take(">i"), 5)
            r.tags()
            r.take(">i")
            self.assertEqual(r.take(">h"), 0)
            r.compact_string()
            self.assertEqual(len(r.compact_string()), 22)
            self.assertEqual(r.take(">i"), 0)  # controller
            brokers = []
            for _ in range(r.uvarint() - 1):
                node, host, port = r.take(">i"), r.compact_string(), r.take(">i")
                r.compact_string()
                r.tags()
                brokers.append((node, host, port))
            self.assertEqual(brokers, [(0, "127.0.0.1", b.port)])
            self.assertNotEqual(r.take(">i"), -2**31)
            # v1 asking for controller endpoints: UNSUPPORTED_ENDPOINT_TYPE.
            r = Reader(call(b, request_header_v2(60, 1, 6), b"\x00\x02\x00"))
            r.take(">i")
            r.tags()
            r.take(">i")
            self.assertEqual(r.take(">h"), 115)

    def test_describe_log_dirs_and_producers(self):
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "sized", 2)
            produce(b, "sized", [b"v" * 100] * 3, idempotent=True)
            # DescribeLogDirs v1, all topics (null array).
            r = Reader(call(b, request_header_v1(35, 1, 8), struct.pack(">i", -1)))
            self.assertEqual(r.take(">i"), 8)
            r.take(">i")
            self.assertEqual(r.take(">i"), 1)
            self.assertEqual(r.take(">h"), 0)
            self.assertTrue(r.string().endswith("/logs"))
            sizes = {}
            for _ in range(r.take(">i")):
                name = r.string()
                for _ in range(r.take(">i")):
                    part, size, lag, future = r.take(">iqq?")
                    sizes[(name, part)] = size
                    self.assertEqual((lag, future), (0, False))
            self.assertEqual(set(sizes), {("sized", 0), ("sized", 1)})
            self.assertGreater(sizes[("sized", 0)], 300)
            self.assertEqual(sizes[("sized", 1)], 0)
            # DescribeProducers v0 (flexible): the idempotent producer on partition 0.
            body = uvarint(2) + compact_string("sized") + uvarint(3) + struct.pack(">ii", 0, 5) + b"\x00\x00"
            r = Reader(call(b, request_header_v2(61, 0, 9), body))
            self.assertEqual(r.take(">i"), 9)
            r.tags()
            r.take(">i")
            self.assertEqual(r.uvarint() - 1, 1)
            self.assertEqual(r.compact_string(), "sized")
            parts = {}
            for _ in range(r.uvarint() - 1):
                index, err = r.take(">ih")
                r.compact_string()
                producers = []
                for _ in range(r.uvarint() - 1):
                    pid, epoch, last_seq, ts, _coord, _txn = r.take(">qiiqiq")
                    r.tags()
                    producers.append((pid, epoch, last_seq, ts > 0))
                r.tags()
                parts[index] = (err, producers)
            self.assertEqual(parts[5], (3, []))  # UNKNOWN_TOPIC_OR_PARTITION
            err, producers = parts[0]
            self.assertEqual(err, 0)
            self.assertEqual(len(producers), 1)
            self.assertGreaterEqual(producers[0][0], 0)
            self.assertEqual(producers[0][1:], (0, 2, True))


def kafka_python_broker_configs(broker):
    """DescribeConfigs of this broker through kafka-python's admin client: {name: (value, read_only)}."""
    from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType, KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        responses = admin.describe_configs([KConfigResource(ConfigResourceType.BROKER, "0")])
    finally:
        admin.close()
    (error, message, _type, name, entries), = responses[0].resources
    assert (error, name) == (0, "0"), (error, message)
    return {e[0]: (e[1], e[2]) for e in entries}


def describe_documented(broker, rtype, name, keys):
    """DescribeConfigs v3 with documentation: {key: (value, read_only, source, documentation)}."""
    body = struct.pack(">i", 1) + struct.pack(">b", rtype) + string(name) + struct.pack(">i", len(keys))
    body += b"".join(string(k) for k in keys) + struct.pack(">??", False, True)
    r = Reader(call(broker, request_header_v1(32, 3, 12), body))
    assert r.take(">i") == 12
    r.take(">i")  # throttle
    assert r.take(">i") == 1
    assert r.take(">h") == 0
    r.string(), r.take(">b"), r.string()
    out = {}
    for _ in range(r.take(">i")):
        key, value = r.string(), r.string()
        read_only, source, _sensitive = r.take(">?b?")
        for _ in range(r.take(">i")):
            r.string(), r.string(), r.take(">b")
        r.take(">b")  # type
        out[key] = (value, read_only, source, r.string())
    return out


class KafkaConfigNamesTest(unittest.TestCase):
    """Every config name Kafka 3.9/4.0 documents is accepted, validated and described."""

    def test_kafka_python_describes_the_broker_with_its_real_listeners(self):
        with Broker() as b:
            cfg = kafka_python_broker_configs(b)
            self.assertEqual(cfg["advertised.listeners"], (f"PLAINTEXT://127.0.0.1:{b.port}", True))
            self.assertEqual(cfg["listeners"], (f"PLAINTEXT://127.0.0.1:{b.port}", True))
            self.assertEqual(cfg["broker.id"][0], "0")
            self.assertEqual(cfg["log.dirs"][0], b.data_dir + "/logs")
            # Kafka's defaults for what Chronik does not act on, dynamic ones alterable.
            self.assertEqual(cfg["log.cleaner.threads"], ("1", False))
            self.assertEqual(cfg["num.io.threads"], ("8", False))
            self.assertEqual(cfg["queued.max.requests"], ("500", True))
            self.assertIsNone(cfg["ssl.keystore.password"][0])  # sensitive: never shown
            # The documentation field says which are Chronik's own and which are only stored.
            doc = describe_documented(b, BROKER, "0", ["listeners", "log.cleaner.threads", "log.retention.ms"])
            self.assertIn("listen setting", doc["listeners"][3])
            self.assertIn("does not act on it", doc["log.cleaner.threads"][3])
            self.assertEqual(doc["log.retention.ms"], (None, False, 5, None))  # Kafka's null; applied
            create(AdminClient({"bootstrap.servers": b.bootstrap}), "documented")
            doc = describe_documented(b, TOPIC, "documented", ["retention.ms", "compression.type"])
            self.assertIsNone(doc["retention.ms"][3])
            self.assertIn("does not act on it", doc["compression.type"][3])

    def test_dynamic_broker_configs_are_stored_and_described(self):
        b = Broker()
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            # AlterConfigs of this broker (the reported kafka-configs --add-config call).
            res = ConfigResource(ConfigResource.Type.BROKER, "0", set_config={"log.cleaner.threads": "2"})
            admin.alter_configs([res])[res].result(timeout=10)
            bc = describe(admin, ConfigResource.Type.BROKER, "0")
            self.assertEqual(bc["log.cleaner.threads"].value, "2")
            self.assertEqual(bc["log.cleaner.threads"].source, 2)  # DYNAMIC_BROKER_CONFIG
            self.assertFalse(bc["log.cleaner.threads"].is_read_only)
            # IncrementalAlterConfigs: a cluster-wide default, and a per-broker config.
            got = incremental_alter(b, [(BROKER, "", [("background.threads", SET, "4"),
                                                      ("compression.gzip.level", SET, "-1")]),
                                        (BROKER, "0", [("ssl.client.auth", SET, "requested")])])
            self.assertEqual([g[0] for g in got], [0, 0], got)
            bc = describe(admin, ConfigResource.Type.BROKER, "0")
            self.assertEqual(bc["background.threads"].value, "4")
            self.assertEqual(bc["background.threads"].source, 3)  # DYNAMIC_DEFAULT_BROKER_CONFIG
            self.assertEqual(bc["ssl.client.auth"].value, "requested")
            # Kafka's validation: type, range, valid values, update mode.
            got = incremental_alter(b, [(BROKER, "0", [("log.cleaner.threads", SET, "-1")])])
            got += incremental_alter(b, [(BROKER, "0", [("log.cleaner.threads", SET, "two")])])
            got += incremental_alter(b, [(BROKER, "0", [("compression.gzip.level", SET, "10")])])
            got += incremental_alter(b, [(BROKER, "0", [("ssl.client.auth", SET, "maybe")])])
            got += incremental_alter(b, [(BROKER, "0", [("queued.max.requests", SET, "10")])])
            got += incremental_alter(b, [(BROKER, "", [("ssl.client.auth", SET, "none")])])  # per-broker only
            got += incremental_alter(b, [(BROKER, "0", [("advertised.listeners", SET, "PLAINTEXT://x:1")])])
            self.assertEqual([g[0] for g in got], [40] * 7, got)  # INVALID_CONFIG
            # Stored: they survive a restart.
            self.assertEqual(b.stop(), 0)
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            bc = describe(admin, ConfigResource.Type.BROKER, "0")
            self.assertEqual(bc["log.cleaner.threads"].value, "2")
            self.assertEqual(bc["background.threads"].value, "4")
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_static_broker_configs_from_the_command_line(self):
        with Broker("--set", "log.cleaner.threads=3", "--set", "log.retention.hours=1") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            bc = describe(admin, ConfigResource.Type.BROKER, "0")
            self.assertEqual(bc["log.cleaner.threads"].value, "3")
            self.assertEqual(bc["log.cleaner.threads"].source, 4)  # STATIC_BROKER_CONFIG
            create(admin, "hourly")
            # log.retention.hours is applied: it is the topic's retention.ms.
            tc = describe(admin, ConfigResource.Type.TOPIC, "hourly")
            self.assertEqual(tc["retention.ms"].value, "3600000")
            self.assertEqual(tc["retention.ms"].source, 4)
        # Refused at start: a bad value, one Chronik's --listen sets, an unknown name.
        for bad in ("log.cleaner.threads=x", "listeners=PLAINTEXT://:9093", "no.such.setting=1"):
            b = Broker("--set", bad)
            try:
                with self.assertRaises(RuntimeError):
                    b.start()
                self.assertEqual(b.stop(), 2)
                self.assertIn(bad.split("=")[0], b.stderr())
                if bad.startswith("listeners"):
                    self.assertIn("listen setting", b.stderr())
            finally:
                b.cleanup()

    def test_topic_configs_of_kafka_3_and_4(self):
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            create(admin, "legacy", config={"message.format.version": "3.0-IV1",
                                            "message.downconversion.enable": "false",
                                            "compression.zstd.level": "5",
                                            "remote.log.copy.disable": "true"})
            tc = describe(admin, ConfigResource.Type.TOPIC, "legacy")
            self.assertEqual(tc["message.format.version"].value, "3.0-IV1")
            self.assertEqual(tc["message.format.version"].source, 1)  # DYNAMIC_TOPIC_CONFIG
            self.assertEqual(tc["compression.zstd.level"].value, "5")
            self.assertEqual(tc["compression.gzip.level"].value, "-1")
            self.assertTrue(tc["compression.gzip.level"].is_default)
            for bad in ({"message.format.version": "banana"}, {"compression.zstd.level": "23"},
                        {"compression.lz4.level": "0"}, {"leader.replication.throttled.replicas": "x"}):
                with self.assertRaises(KafkaException) as e:
                    create(admin, "bad", config=bad)
                self.assertEqual(e.exception.args[0].code(), KafkaError.INVALID_CONFIG, bad)
            create(admin, "throttled", config={"leader.replication.throttled.replicas": "0:0,1:0"})


if __name__ == "__main__":
    unittest.main()
