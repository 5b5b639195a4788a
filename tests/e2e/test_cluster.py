"""Three chronik-server processes as one cluster: the controller's Raft group on
three voters, and partitions replicated as Raft groups over their replicas.

Checks, with unmodified clients: every node lists all three brokers, the same
controller and the same cluster id, whichever node is asked; a topic created
through any node is seen on every node; records produced and consumed through one
bootstrap node reach the partitions on all three; a replicated topic (RF 3) has
three replicas in sync, its records are read back through a consumer group whose
coordinator is another node; after kill -9 of the controller's leader the other
two elect a new one, which creates topics; the killed node comes back and learns
what it missed.
"""
import struct
import subprocess
import time
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource, NewTopic

from cluster_harness import Cluster, wait_for
from harness import Reader, compact_string, connect, recv_frame, request_header_v2, send_frame, uvarint
from kafka.record.default_records import DefaultRecordBatchBuilder


def produce_v10(topic, partition, value):
    """A flexible Produce v10 request (acks=-1) of one record: librdkafka 2.0 does not
    send v10, where KIP-951's leader hints live."""
    builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    builder.append(0, int(time.time() * 1000), None, value, [])
    records = bytes(builder.build())
    body = compact_string(None) + struct.pack(">hi", -1, 10000) + uvarint(2) + compact_string(topic)
    body += uvarint(2) + struct.pack(">i", partition) + uvarint(len(records) + 1) + records + b"\x00"
    body += b"\x00" + b"\x00"  # topic tags, request tags
    return request_header_v2(0, 10, 7) + body


def read_produce_v10(frame):
    """-> (error, (leader id, leader epoch) or None, {node id: port})."""
    r = Reader(frame)
    r.take(">i")  # correlation id
    r.tags()
    leader = None
    error = None
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            _, error, _, _, _ = r.take(">ihqqq")
            for _ in range(r.uvarint() - 1):
                r.take(">i")
                r.compact_string()
                r.tags()
            r.compact_string()
            for _ in range(r.uvarint()):
                tag, size = r.uvarint(), r.uvarint()
                if tag == 0:
                    leader = struct.unpack_from(">ii", r.data, r.pos)
                r.pos += size
        r.tags()
    r.take(">i")  # throttle
    endpoints = {}
    for _ in range(r.uvarint()):
        tag, size = r.uvarint(), r.uvarint()
        end = r.pos + size
        if tag == 0:
            for _ in range(r.uvarint() - 1):
                node = r.take(">i")
                r.compact_string()
                endpoints[node] = r.take(">i")
                r.compact_string()
                r.tags()
        r.pos = end
    return error, leader, endpoints


def describe_topic_partitions(names, limit, cursor=None):
    """A DescribeTopicPartitions v0 request (KIP-966): no Debian client sends it."""
    body = uvarint(len(names) + 1) + b"".join(compact_string(n) + b"\x00" for n in names)
    body += struct.pack(">i", limit)
    if cursor is None:
        body += struct.pack(">b", -1)
    else:
        body += struct.pack(">b", 1) + compact_string(cursor[0]) + struct.pack(">i", cursor[1]) + b"\x00"
    return request_header_v2(75, 0, 9) + body + b"\x00"


def read_describe_topic_partitions(frame):
    """-> ([(error, name, [(partition, leader, epoch, replicas, isr)])], next cursor or None)."""
    r = Reader(frame)
    r.take(">i")  # correlation id
    r.tags()
    r.take(">i")  # throttle
    topics = []

    def ints():
        return [r.take(">i") for _ in range(r.uvarint() - 1)]
    for _ in range(r.uvarint() - 1):
        error = r.take(">h")
        name = r.compact_string()
        r.pos += 16 + 1  # topic id, is_internal
        parts = []
        for _ in range(r.uvarint() - 1):
            _, index, leader, epoch = r.take(">hiii")
            replicas, isr = ints(), ints()
            ints(), ints(), ints()  # eligible leaders, last known ELR, offline
            r.tags()
            parts.append((index, leader, epoch, replicas, sorted(isr)))
        r.take(">i")  # authorized operations
        r.tags()
        topics.append((error, name, parts))
    cursor = None
    if r.take(">b") >= 0:
        cursor = (r.compact_string(), r.take(">i"))
        r.tags()
    return topics, cursor


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.c = Cluster().start()
        self.addCleanup(self.c.cleanup)

    def agreed_controller(self, nodes):
        def check():
            seen = set()
            for i in nodes:
                md = self.c.metadata(i)
                if len(md.brokers) != 3 or md.controller_id < 0:
                    return None
                seen.add(md.controller_id)
            return seen.pop() if len(seen) == 1 else None
        return wait_for("one controller known to all", check)

    def create(self, node, name, partitions=3, rf=1):
        self.c.create(node, name, partitions, rf)

    def test_one_controller_one_cluster_and_topics_everywhere(self):
        controller = self.agreed_controller([1, 2, 3])
        ids = {self.c.metadata(i).cluster_id for i in (1, 2, 3)}
        self.assertEqual(len(ids), 1, ids)
        # librdkafka sends CreateTopics to the controller, from any bootstrap node.
        for i in (1, 2, 3):
            self.create(i, f"t{i}", partitions=6)
        for i in (1, 2, 3):
            wait_for(f"the topics on node {i}",
                     lambda: {"t1", "t2", "t3"} <= set(self.c.metadata(i).topics))
        # Partitions are spread over the nodes; a client that knows one node reaches all.
        md = self.c.metadata(1)
        leaders = {p.leader for p in md.topics["t1"].partitions.values()}
        self.assertEqual(leaders, {1, 2, 3})
        p = Producer({"bootstrap.servers": self.c.nodes[2].bootstrap, "acks": "all", "enable.idempotence": True})
        for k in range(300):
            p.produce("t1", value=str(k).encode(), partition=k % 6)
        self.assertEqual(p.flush(30), 0)
        cons = Consumer({"bootstrap.servers": self.c.nodes[3].bootstrap, "group.id": "g",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
        cons.assign([TopicPartition("t1", k, 0) for k in range(6)])
        seen = set()
        deadline = time.time() + 30
        while len(seen) < 300 and time.time() < deadline:
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                seen.add(int(m.value()))
        cons.close()
        self.assertEqual(seen, set(range(300)))
        # Three replicas, all in sync; read back through a consumer group.
        self.create(2, "rf3", partitions=3, rf=3)
        view = self.c.wait_all_in_sync("rf3")
        for leader, replicas, isr in view.values():
            self.assertEqual(sorted(replicas), [1, 2, 3])
            self.assertEqual(isr, [1, 2, 3])
        p = Producer({"bootstrap.servers": self.c.nodes[1].bootstrap, "acks": "all", "enable.idempotence": True})
        for k in range(300):
            p.produce("rf3", value=str(k).encode(), partition=k % 3)
        self.assertEqual(p.flush(30), 0)
        cons = Consumer({"bootstrap.servers": self.c.nodes[3].bootstrap, "group.id": "rf3-readers",
                         "auto.offset.reset": "earliest"})
        cons.subscribe(["rf3"])
        seen = set()
        deadline = time.time() + 40
        while len(seen) < 300 and time.time() < deadline:
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                seen.add(int(m.value()))
        cons.commit(asynchronous=False)
        committed = cons.committed([TopicPartition("rf3", k) for k in range(3)], timeout=10)
        cons.close()
        self.assertEqual(seen, set(range(300)))
        self.assertEqual(sum(tp.offset for tp in committed) >= 300, True, committed)

    def test_every_codec_through_three_clients_on_a_replicated_topic(self):
        # Each client bootstraps from one node only and finds the leaders itself.
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP
        self.create(1, "codecs", partitions=3, rf=3)
        self.c.wait_all_in_sync("codecs")
        sent = set()
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            p = Producer({"bootstrap.servers": self.c.nodes[1].bootstrap, "acks": "all",
                          "enable.idempotence": True, "compression.type": codec})
            for k in range(100):
                v = f"ck-{codec}-{k}"
                p.produce("codecs", value=v.encode(), partition=k % 3)
                sent.add(v)
            self.assertEqual(p.flush(30), 0)
            kp = KafkaProducer(bootstrap_servers=self.c.nodes[2].bootstrap, acks="all",
                               compression_type=None if codec == "none" else codec)
            futures = []
            for k in range(100):
                v = f"kp-{codec}-{k}"
                futures.append(kp.send("codecs", value=v.encode(), partition=k % 3))
                sent.add(v)
            for f in futures:
                f.get(timeout=30)
            kp.close()
            lines = "".join(f"kc-{codec}-{k}\n" for k in range(20))
            sent.update(lines.split())
            r = subprocess.run(["kcat", "-b", self.c.nodes[3].bootstrap, "-P", "-t", "codecs", "-z", codec,
                                "-X", "topic.request.required.acks=-1"],
                               input=lines.encode(), capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(sent), 5 * 220)
        kc = KafkaConsumer(bootstrap_servers=self.c.nodes[3].bootstrap, consumer_timeout_ms=3000,
                           auto_offset_reset="earliest", enable_auto_commit=False)
        kc.assign([KTP("codecs", k) for k in range(3)])
        kc.seek_to_beginning()
        by_kafka_python = [m.value.decode() for m in kc]
        kc.close()
        self.assertEqual(sorted(by_kafka_python), sorted(sent))
        r = subprocess.run(["kcat", "-b", self.c.nodes[1].bootstrap, "-C", "-t", "codecs", "-e", "-q",
                            "-o", "beginning"], capture_output=True, timeout=60)
        self.assertEqual(sorted(r.stdout.decode().split()), sorted(sent))

    def test_a_follower_refuses_with_the_leaders_address(self):
        self.create(1, "hinted", partitions=1, rf=3)
        view = self.c.wait_all_in_sync("hinted")
        leader = view[0][0]
        follower = next(i for i in (1, 2, 3) if i != leader)
        wait_for("the follower knows the leader",
                 lambda: self.c.partitions(follower, "hinted").get(0, (None,))[0] == leader)
        with connect(self.c.nodes[follower]) as s:
            send_frame(s, produce_v10("hinted", 0, b"v"))
            error, hint, endpoints = read_produce_v10(recv_frame(s))
        self.assertEqual(error, 6)  # NOT_LEADER_OR_FOLLOWER
        self.assertIsNotNone(hint)
        self.assertEqual(hint[0], leader)
        self.assertGreaterEqual(hint[1], 1)
        self.assertEqual(endpoints, {leader: self.c.nodes[leader].port})
        with connect(self.c.nodes[leader]) as s:
            send_frame(s, produce_v10("hinted", 0, b"v"))
            error, hint, endpoints = read_produce_v10(recv_frame(s))
        self.assertEqual((error, hint, endpoints), (0, None, {}))

    def test_admin_requests_sent_to_a_node_that_is_not_the_controller(self):
        """CreatePartitions, AlterConfigs and DeleteTopics sent straight to a node that
        does not lead the controller are forwarded to the one that does (handled
        where they arrived, each would answer NOT_CONTROLLER)."""
        from kafka import KafkaAdminClient
        from kafka.protocol.admin import AlterConfigsRequest, CreatePartitionsRequest, DeleteTopicsRequest
        ctl = self.agreed_controller([1, 2, 3])
        other = next(i for i in (1, 2, 3) if i != ctl)
        self.create(ctl, "adm", partitions=1, rf=3)
        admin = KafkaAdminClient(bootstrap_servers=self.c.nodes[other].bootstrap)
        self.addCleanup(admin.close)

        def send(req):
            f = admin._send_request_to_node(other, req)
            admin._wait_for_futures([f])
            return f.value

        r = send(CreatePartitionsRequest[0](topic_partitions=[("adm", (3, None))], timeout=10000,
                                            validate_only=False))
        self.assertEqual([(name, err) for name, err, _ in r.topic_errors], [("adm", 0)])
        wait_for("three partitions", lambda: len(self.c.partitions(other, "adm")) == 3)
        r = send(AlterConfigsRequest[0](resources=[(2, "adm", [("retention.ms", "123456")])],
                                        validate_only=False))
        self.assertEqual([(code, name) for code, _, _, name in r.resources], [(0, "adm")])
        ctl_admin = self.c.admin(ctl)  # held until the answer
        described = ctl_admin.describe_configs([ConfigResource("topic", "adm")])
        configs = next(iter(described.values())).result()
        self.assertEqual(configs["retention.ms"].value, "123456")
        r = send(DeleteTopicsRequest[1](topics=["adm"], timeout=10000))
        self.assertEqual(r.topic_error_codes, [("adm", 0)])
        for i in (1, 2, 3):
            wait_for(f"node {i} to forget the topic", lambda i=i: "adm" not in self.c.metadata(i).topics)

    def test_describe_topic_partitions_pages_with_a_cursor(self):
        self.create(1, "dtpa", partitions=3, rf=3)
        self.create(1, "dtpb", partitions=3, rf=3)
        self.c.wait_all_in_sync("dtpa")
        view = {"dtpa": self.c.wait_all_in_sync("dtpa"), "dtpb": self.c.wait_all_in_sync("dtpb")}
        node = 2
        with connect(self.c.nodes[node]) as s:
            send_frame(s, describe_topic_partitions(["dtpb", "nope", "dtpa"], 4))
            first, cursor = read_describe_topic_partitions(recv_frame(s))
            self.assertEqual([(e, n, [p[0] for p in ps]) for e, n, ps in first],
                             [(0, "dtpa", [0, 1, 2]), (0, "dtpb", [0])])
            self.assertEqual(cursor, ("dtpb", 1))
            send_frame(s, describe_topic_partitions(["dtpb", "nope", "dtpa"], 4, cursor))
            second, cursor = read_describe_topic_partitions(recv_frame(s))
            self.assertEqual([(e, n, [p[0] for p in ps]) for e, n, ps in second],
                             [(0, "dtpb", [1, 2]), (3, "nope", [])])  # UNKNOWN_TOPIC_OR_PARTITION
            self.assertIsNone(cursor)
            # A cursor naming a topic not asked for is refused.
            send_frame(s, describe_topic_partitions(["dtpa"], 4, ("dtpb", 0)))
            refused, _ = read_describe_topic_partitions(recv_frame(s))
            self.assertEqual([(e, n) for e, n, _ in refused], [(42, "dtpa")])  # INVALID_REQUEST
        # Leaders, replicas and ISR as the leaders report them in Metadata.
        for _, name, parts in first + second[:1]:
            for index, leader, epoch, replicas, isr in parts:
                want_leader, want_replicas, want_isr = view[name][index]
                self.assertEqual((leader, replicas, isr), (want_leader, want_replicas, want_isr))
                self.assertGreaterEqual(epoch, 1)

    def test_the_controller_fails_over_and_a_restarted_node_catches_up(self):
        old = self.agreed_controller([1, 2, 3])
        self.create(old, "before")
        self.c.nodes[old].kill9()
        rest = [i for i in (1, 2, 3) if i != old]
        t0 = time.time()

        def new_controller():
            ids = {self.c.metadata(i).controller_id for i in rest}
            return ids.pop() if len(ids) == 1 and ids != {old} and ids != {-1} else None
        new = wait_for("a new controller", new_controller)
        elected = time.time() - t0
        self.assertIn(new, rest)
        self.assertLess(elected, 10.0)
        wait_for("a topic created through the new controller",
                 lambda: self.create(new, "after") or True)
        self.c.nodes[old].start()
        wait_for("the restarted node learns what it missed",
                 lambda: {"before", "after"} <= set(self.c.metadata(old).topics))
        print(f"\ncontroller failover after kill -9: new leader seen by clients in {elected:.2f} s")


class FourNodesTest(unittest.TestCase):
    def setUp(self):
        self.c = Cluster(n=4).start()
        self.addCleanup(self.c.cleanup)

    def test_a_node_without_a_replica_names_the_real_leader(self):
        # Three replicas on nodes 1-3; node 4 holds none and learns each leader
        # from the leader's notices (its own guess would be the preferred replica).
        admin = self.c.admin()
        fs = admin.create_topics([NewTopic("trio", num_partitions=1, replica_assignment=[[1, 2, 3]])], request_timeout=15)
        fs["trio"].result()
        view = self.c.wait_all_in_sync("trio")
        leader = view[0][0]
        def leader_seen_by(i):
            # None while node i does not know the topic yet (a node just restarted).
            return self.c.partitions(i, "trio").get(0, (None,))[0]
        wait_for("node 4 names the leader", lambda: leader_seen_by(4) == leader)
        self.c.nodes[leader].kill9()
        rest = [i for i in (1, 2, 3) if i != leader]

        def moved():
            views = {leader_seen_by(i) for i in rest}
            return len(views) == 1 and views <= set(rest) and leader_seen_by(4) in views
        wait_for("node 4 names the new leader", moved, timeout=30)
        # A restarted node 4 hears again from the leader.
        self.c.nodes[4].stop()
        self.c.nodes[4].start()
        wait_for("the restarted node names the leader", moved, timeout=30)
        self.c.nodes[leader].start()


if __name__ == "__main__":
    unittest.main()
