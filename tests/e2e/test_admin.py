"""Topic administration and metadata with unmodified clients against the real broker."""
import subprocess
import shutil
import unittest

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker


def create(admin, *topics, validate_only=False):
    """Returns {name: None or KafkaError code}."""
    out = {}
    for name, f in admin.create_topics(list(topics), operation_timeout=10, validate_only=validate_only).items():
        try:
            f.result(timeout=15)
            out[name] = None
        except KafkaException as e:
            out[name] = e.args[0].code()
    return out


class AdminTest(unittest.TestCase):
    def test_create_topics_with_kafka_error_codes_and_metadata(self):
        from confluent_kafka import KafkaError
        with Broker("--set", "num.partitions=2") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            res = create(admin,
                         NewTopic("orders", num_partitions=3, replication_factor=1, config={"retention.ms": "1000"}),
                         NewTopic("bad name", num_partitions=1, replication_factor=1),
                         NewTopic("too-many-replicas", num_partitions=1, replication_factor=3),
                         NewTopic("bad-config", num_partitions=1, replication_factor=1, config={"nope": "1"}),
                         NewTopic("bad-value", num_partitions=1, replication_factor=1,
                                  config={"cleanup.policy": "sometimes"}),
                         NewTopic("zero", num_partitions=0, replication_factor=1),
                         NewTopic("x" * 250, num_partitions=1, replication_factor=1))
            self.assertIsNone(res["orders"])
            self.assertEqual(res["bad name"], KafkaError.TOPIC_EXCEPTION)
            self.assertEqual(res["too-many-replicas"], KafkaError.INVALID_REPLICATION_FACTOR)
            self.assertEqual(res["bad-config"], KafkaError.INVALID_CONFIG)
            self.assertEqual(res["bad-value"], KafkaError.INVALID_CONFIG)
            self.assertEqual(res["zero"], KafkaError.INVALID_PARTITIONS)
            self.assertEqual(res["x" * 250], KafkaError.TOPIC_EXCEPTION)
            self.assertEqual(create(admin, NewTopic("orders", 3, 1))["orders"], KafkaError.TOPIC_ALREADY_EXISTS)
            # validate_only checks without creating.
            self.assertIsNone(create(admin, NewTopic("dry-run", 1, 1), validate_only=True)["dry-run"])
            md = admin.list_topics(timeout=10)
            self.assertEqual(sorted(md.topics), ["orders"])
            self.assertEqual(len(md.topics["orders"].partitions), 3)
            p0 = md.topics["orders"].partitions[0]
            self.assertEqual((p0.leader, p0.replicas, p0.isrs), (0, [0], [0]))
            self.assertEqual(md.brokers[0].port, b.port)
            # Default partition count comes from num.partitions.
            self.assertIsNone(create(admin, NewTopic("defaulted", num_partitions=-1, replication_factor=-1))["defaulted"])
            self.assertEqual(len(admin.list_topics(timeout=10).topics["defaulted"].partitions), 2)

    def test_describe_configs(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import ConfigResource
        with Broker("--set", "log.retention.ms=5000") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertIsNone(create(admin, NewTopic("cfg", 1, 1, config={"cleanup.policy": "compact"}))["cfg"])
            res = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
            configs = admin.describe_configs([res])[res].result(timeout=10)
            self.assertEqual(configs["cleanup.policy"].value, "compact")
            self.assertEqual(configs["cleanup.policy"].source, 1)  # DYNAMIC_TOPIC_CONFIG
            self.assertEqual(configs["retention.ms"].value, "5000")
            self.assertEqual(configs["retention.ms"].source, 4)  # STATIC_BROKER_CONFIG
            self.assertEqual(configs["segment.bytes"].value, "1073741824")
            self.assertTrue(configs["segment.bytes"].is_default)
            broker_res = ConfigResource(ConfigResource.Type.BROKER, "0")
            bc = admin.describe_configs([broker_res])[broker_res].result(timeout=10)
            self.assertEqual(bc["log.retention.ms"].value, "5000")
            self.assertEqual(bc["num.partitions"].value, "1")
            missing = ConfigResource(ConfigResource.Type.TOPIC, "no-such-topic")
            with self.assertRaises(KafkaException) as e:
                admin.describe_configs([missing])[missing].result(timeout=10)
            self.assertEqual(e.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART)


    def test_topics_survive_a_restart_and_auto_create_follows_the_setting(self):
        b = Broker()
        try:
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertIsNone(create(admin, NewTopic("kept", num_partitions=4, replication_factor=1))["kept"])
            self.assertEqual(b.stop(), 0)
            b.args += ["--set", "auto.create.topics.enable=false"]
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            md = admin.list_topics(timeout=10)
            self.assertEqual(len(md.topics["kept"].partitions), 4)
            # With auto-creation off, asking for an unknown topic does not create it.
            md = admin.list_topics(topic="unknown-topic", timeout=10)
            self.assertIsNotNone(md.topics["unknown-topic"].error)
            self.assertNotIn("unknown-topic", admin.list_topics(timeout=10).topics)
        finally:
            if b.proc is not None:
                b.stop()
            b.cleanup()

    def test_a_node_registers_places_partitions_and_keeps_its_directory(self):
        import glob
        import os
        import time
        from kafka.admin import KafkaAdminClient
        b = Broker("--set", "broker.rack=rack-7")
        try:
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertIsNone(create(admin, NewTopic("placed", num_partitions=4, replication_factor=1))["placed"])
            # The broker opens (creates) the partitions placed on it without waiting
            # for a request to name them.
            deadline = time.time() + 20
            while len(glob.glob(os.path.join(b.data_dir, "logs", "placed-*"))) < 4 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(glob.glob(os.path.join(b.data_dir, "logs", "placed-*"))), 4)
            # Its registration (address and rack) is what clients are told.
            kadmin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
            brokers = kadmin.describe_cluster()["brokers"]
            kadmin.close()
            self.assertEqual([(x["node_id"], x["port"], x["rack"]) for x in brokers], [(0, b.port, "rack-7")])
            self.assertEqual(b.stop(), 0)
            # The directory is node 0's: its placements name node 0.
            other = Broker("--node-id", "3", data_dir=b.data_dir)
            with self.assertRaises(RuntimeError) as e:
                other.start()
            self.assertIn("belongs to node 0", str(e.exception))
            other.proc.wait()
            other.proc.stdout.close()
            other.stderr_file.close()
            # Node 0 again: same placements, and every partition serves.
            b.start()
            from confluent_kafka import Consumer, Producer, TopicPartition
            p = Producer({"bootstrap.servers": b.bootstrap})
            for part in range(4):
                p.produce("placed", value=b"v%d" % part, partition=part)
            self.assertEqual(p.flush(15), 0)
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "placed-reader",
                          "auto.offset.reset": "earliest"})
            c.assign([TopicPartition("placed", part, 0) for part in range(4)])
            got = set()
            deadline = time.time() + 20
            while len(got) < 4 and time.time() < deadline:
                m = c.poll(0.5)
                if m is not None and m.error() is None:
                    got.add(m.value())
            c.close()
            self.assertEqual(got, {b"v0", b"v1", b"v2", b"v3"})
        finally:
            if b.proc is not None:
                b.stop()
            b.cleanup()


    def test_default_replication_factor_is_honoured(self):
        from confluent_kafka import KafkaError, Producer
        with Broker("--set", "default.replication.factor=2") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            # Two replicas cannot be placed on one broker: neither CreateTopics with
            # the default (-1) nor auto-creation makes the topic.
            self.assertEqual(create(admin, NewTopic("defaulted-rf", 1, -1))["defaulted-rf"],
                             KafkaError.INVALID_REPLICATION_FACTOR)
            self.assertIsNone(create(admin, NewTopic("explicit-rf", 1, 1))["explicit-rf"])
            p = Producer({"bootstrap.servers": b.bootstrap})
            md = p.list_topics(topic="auto-rf", timeout=10)
            self.assertEqual(md.topics["auto-rf"].error.code(), KafkaError.INVALID_REPLICATION_FACTOR)
            self.assertEqual(sorted(admin.list_topics(timeout=10).topics), ["explicit-rf"])
        with Broker() as b:
            p = Producer({"bootstrap.servers": b.bootstrap})
            md = p.list_topics(topic="auto-rf", timeout=10)
            self.assertIsNone(md.topics["auto-rf"].error)  # one replica: created


    def test_explicit_replica_assignments(self):
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import NewPartitions
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            # Three partitions, each on this broker (node 0), named by the client.
            self.assertIsNone(create(admin, NewTopic("manual", 3, replica_assignment=[[0], [0], [0]]))["manual"])
            md = admin.list_topics(timeout=10).topics["manual"]
            self.assertEqual(sorted(md.partitions), [0, 1, 2])
            self.assertEqual([md.partitions[p].replicas for p in range(3)], [[0], [0], [0]])
            # A broker that is not registered, one named twice, or uneven lists.
            res = create(admin, NewTopic("unknown-node", 2, replica_assignment=[[0], [5]]),
                         NewTopic("twice", 1, replica_assignment=[[0, 0]]),
                         NewTopic("uneven", 2, replica_assignment=[[0], [0, 0]]))
            self.assertEqual(res["unknown-node"], KafkaError.INVALID_REPLICA_ASSIGNMENT)
            self.assertEqual(res["twice"], KafkaError.INVALID_REPLICA_ASSIGNMENT)
            self.assertEqual(res["uneven"], KafkaError.INVALID_REPLICA_ASSIGNMENT)
            self.assertNotIn("unknown-node", admin.list_topics(timeout=10).topics)

            def grow(count, assignment):
                f = admin.create_partitions([NewPartitions("manual", count, replica_assignment=assignment)],
                                            operation_timeout=10)["manual"]
                try:
                    f.result(timeout=15)
                    return None
                except KafkaException as e:
                    return e.args[0].code()

            self.assertEqual(grow(5, [[0], [7]]), KafkaError.INVALID_REPLICA_ASSIGNMENT)
            self.assertEqual(grow(5, [[0]]), KafkaError.INVALID_REPLICA_ASSIGNMENT)  # one list per new partition
            self.assertIsNone(grow(5, [[0], [0]]))
            self.assertEqual(len(admin.list_topics(timeout=10).topics["manual"].partitions), 5)


    def test_kafka_python_admin_and_metadata(self):
        from kafka import KafkaConsumer
        from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic
        from kafka.errors import TopicAlreadyExistsError
        with Broker() as b:
            admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
            admin.create_topics([KNewTopic("kp-topic", 5, 1)])
            with self.assertRaises(TopicAlreadyExistsError):
                admin.create_topics([KNewTopic("kp-topic", 5, 1)])
            admin.close()
            c = KafkaConsumer(bootstrap_servers=b.bootstrap)
            self.assertIn("kp-topic", c.topics())
            self.assertEqual(c.partitions_for_topic("kp-topic"), {0, 1, 2, 3, 4})
            c.close()

    @unittest.skipUnless(shutil.which("kcat"), "kcat not installed")
    def test_kcat_metadata_auto_creates(self):
        with Broker() as b:
            out = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-t", "made-by-kcat"], capture_output=True,
                                 timeout=30, check=True).stdout.decode()
            self.assertIn('topic "made-by-kcat" with 1 partitions', out)
            self.assertIn("leader 0, replicas: 0, isrs: 0", out)


if __name__ == "__main__":
    unittest.main()


class TopicLifecycleTest(unittest.TestCase):
    def produce(self, b, topic, partition, values, batch_each=False):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        errors = []
        for v in values:
            p.produce(topic, v, partition=partition, on_delivery=lambda e, m: e and errors.append(e))
            if batch_each:
                p.flush(15)
        self.assertEqual(p.flush(15), 0)
        self.assertEqual(errors, [])

    def offsets(self, b, topic, partition):
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused", "enable.auto.commit": False})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        finally:
            c.close()

    def test_delete_recreate_and_grow(self):
        import glob
        import os
        import time
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import NewPartitions
        b = Broker()
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertIsNone(create(admin, NewTopic("doomed", 2, 1))["doomed"])
            self.produce(b, "doomed", 1, [b"a", b"b", b"c"])
            self.assertEqual(self.offsets(b, "doomed", 1), (0, 3))
            for f in admin.delete_topics(["doomed"], operation_timeout=10).values():
                f.result(timeout=15)
            self.assertNotIn("doomed", admin.list_topics(timeout=10).topics)
            deadline = time.time() + 10
            while glob.glob(os.path.join(b.data_dir, "logs", "doomed-*")) and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(glob.glob(os.path.join(b.data_dir, "logs", "doomed-*")), [])
            with self.assertRaises(KafkaException) as e:
                admin.delete_topics(["doomed"], operation_timeout=10)["doomed"].result(timeout=15)
            self.assertEqual(e.exception.args[0].code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
            # The same name again starts empty.
            self.assertIsNone(create(admin, NewTopic("doomed", 2, 1))["doomed"])
            self.assertEqual(self.offsets(b, "doomed", 1), (0, 0))
            # Growing: new partitions take writes; shrinking is refused.
            admin.create_partitions([NewPartitions("doomed", 4)], operation_timeout=10)["doomed"].result(timeout=15)
            self.assertEqual(len(admin.list_topics(timeout=10).topics["doomed"].partitions), 4)
            self.produce(b, "doomed", 3, [b"x"])
            self.assertEqual(self.offsets(b, "doomed", 3), (0, 1))
            with self.assertRaises(KafkaException) as e:
                admin.create_partitions([NewPartitions("doomed", 2)], operation_timeout=10)["doomed"].result(timeout=15)
            self.assertEqual(e.exception.args[0].code(), KafkaError.INVALID_PARTITIONS)
            # Deleted and grown topics stay so across a restart.
            self.assertEqual(b.stop(), 0)
            b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertNotIn("doomed-gone", admin.list_topics(timeout=10).topics)
            self.assertEqual(len(admin.list_topics(timeout=10).topics["doomed"].partitions), 4)
            self.assertEqual(self.offsets(b, "doomed", 3), (0, 1))
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_retention_by_size_advances_the_log_start(self):
        with Broker("--set", "log.retention.check.interval.ms=200") as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            cfg = {"segment.bytes": "1024", "retention.bytes": "2048"}
            self.assertIsNone(create(admin, NewTopic("bounded", 1, 1, config=cfg))["bounded"])
            self.produce(b, "bounded", 0, [bytes([65 + i % 26]) * 300 for i in range(40)],
                         batch_each=True)
            import time
            deadline = time.time() + 10
            low, high = self.offsets(b, "bounded", 0)
            while low == 0 and time.time() < deadline:
                time.sleep(0.1)
                low, high = self.offsets(b, "bounded", 0)
            self.assertEqual(high, 40)
            self.assertGreater(low, 0)
            # What remains is still readable from the new log start.
            from confluent_kafka import Consumer, TopicPartition
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "r", "enable.auto.commit": False})
            c.assign([TopicPartition("bounded", 0, low)])
            got = []
            while len(got) < high - low:
                m = c.poll(5)
                self.assertIsNotNone(m)
                self.assertIsNone(m.error())
                got.append(m.offset())
            c.close()
            self.assertEqual(got, list(range(low, high)))

    def test_delete_records_raises_the_log_start_durably(self):
        import struct
        from harness import connect, recv_frame, request_header_v1, send_frame
        b = Broker()
        b.start()
        try:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            self.assertIsNone(create(admin, NewTopic("trimmed", 1, 1))["trimmed"])
            self.produce(b, "trimmed", 0, [b"r%d" % i for i in range(5)], batch_each=True)
            # No Debian client has DeleteRecords (confluent-kafka 1.7, kafka-python 2.0.2):
            # a v1 request by hand: trimmed/0 before offset 3.
            name = b"trimmed"
            body = struct.pack(">ih", 1, len(name)) + name + struct.pack(">iiqi", 1, 0, 3, 5000)
            with connect(b) as s:
                send_frame(s, request_header_v1(21, 1, 7) + body)
                frame = recv_frame(s)
            corr, _throttle, _n, nlen = struct.unpack_from(">iiih", frame, 0)
            part, low, err = struct.unpack_from(">iqh", frame, 14 + nlen + 4)
            self.assertEqual((corr, part, low, err), (7, 0, 3, 0))
            self.assertEqual(self.offsets(b, "trimmed", 0), (3, 5))
            self.assertEqual(b.stop(), 0)
            b.start()
            self.assertEqual(self.offsets(b, "trimmed", 0), (3, 5))
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()
