"""Consumer groups against the real broker: the coordinator, committed offsets and
their durability across restarts."""
import os
import signal
import struct
import subprocess
import threading
import time
import unittest

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import (Broker, Reader, compact_string, connect, cpu_ticks, recv_frame, request_header_v1,
                     request_header_v2, send_frame, uvarint)


def create(b, topic, partitions):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=10)[topic].result(timeout=15)


class OffsetsTest(unittest.TestCase):
    def consumer(self, b, group):
        return Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})

    def test_commits_are_durable_and_survive_a_restart(self):
        b = Broker()
        b.start()
        try:
            create(b, "orders", 3)
            c = self.consumer(b, "billing")
            c.assign([TopicPartition("orders", p, 0) for p in range(3)])
            c.commit(offsets=[TopicPartition("orders", 0, 17), TopicPartition("orders", 2, 5)], asynchronous=False)
            got = c.committed([TopicPartition("orders", p) for p in range(3)], timeout=10)
            self.assertEqual([(tp.partition, tp.offset) for tp in got], [(0, 17), (1, -1001), (2, 5)])
            # Later commits replace earlier ones; other groups are separate.
            c.commit(offsets=[TopicPartition("orders", 0, 20)], asynchronous=False)
            other = self.consumer(b, "audit")
            self.assertEqual(other.committed([TopicPartition("orders", 0)], timeout=10)[0].offset, -1001)
            other.close()
            c.close()
            # Commits for a topic that does not exist are refused per partition.
            c = self.consumer(b, "billing")
            with self.assertRaises(KafkaException):
                c.commit(offsets=[TopicPartition("no-such-topic", 0, 1)], asynchronous=False)
            c.close()
            self.assertEqual(b.stop(), 0)
            b.start()
            c = self.consumer(b, "billing")
            got = c.committed([TopicPartition("orders", p) for p in range(3)], timeout=10)
            self.assertEqual([(tp.partition, tp.offset) for tp in got], [(0, 20), (1, -1001), (2, 5)])
            c.close()
            # __consumer_offsets is an internal, compacted topic.
            md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
            self.assertIn("__consumer_offsets", md.topics)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_kill9_after_an_acknowledged_commit_keeps_it(self):
        b = Broker()
        b.start()
        try:
            create(b, "events", 1)
            c = self.consumer(b, "g1")
            for i in range(1, 51):
                c.commit(offsets=[TopicPartition("events", 0, i)], asynchronous=False)
            c.close()
            b.kill9()
            b.start()
            c = self.consumer(b, "g1")
            self.assertEqual(c.committed([TopicPartition("events", 0)], timeout=10)[0].offset, 50)
            c.close()
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_old_offsets_of_an_empty_group_expire(self):
        import struct
        from harness import connect, recv_frame, request_header_v1, send_frame
        b = Broker("--set", "offsets.retention.minutes=1", "--set", "offsets.retention.check.interval.ms=200")
        b.start()
        try:
            create(b, "exp", 1)

            # OffsetCommit v1 carries the client's commit timestamp: one two minutes
            # old is past a one-minute retention; a fresh one is not.
            def commit_v1(group, offset, ts):
                body = (struct.pack(">h", len(group)) + group.encode() + struct.pack(">ih", -1, 0) +
                        struct.pack(">i", 1) + struct.pack(">h", 3) + b"exp" + struct.pack(">i", 1) +
                        struct.pack(">iqqh", 0, offset, ts, -1))
                with connect(b) as s:
                    send_frame(s, request_header_v1(8, 1, 9) + body)
                    frame = recv_frame(s)
                return struct.unpack_from(">h", frame, len(frame) - 2)[0]
            now = int(time.time() * 1000)
            self.assertEqual(commit_v1("stale", 11, now - 120_000), 0)
            self.assertEqual(commit_v1("fresh", 22, now), 0)
            deadline = time.time() + 10
            c = self.consumer(b, "stale")
            while time.time() < deadline and c.committed([TopicPartition("exp", 0)], timeout=10)[0].offset != -1001:
                time.sleep(0.2)
            self.assertEqual(c.committed([TopicPartition("exp", 0)], timeout=10)[0].offset, -1001)
            c.close()
            c = self.consumer(b, "fresh")
            self.assertEqual(c.committed([TopicPartition("exp", 0)], timeout=10)[0].offset, 22)
            c.close()
            # Expired stays expired after a restart (tombstones, not just memory).
            self.assertEqual(b.stop(), 0)
            b.start()
            c = self.consumer(b, "stale")
            self.assertEqual(c.committed([TopicPartition("exp", 0)], timeout=10)[0].offset, -1001)
            c.close()
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_kafka_python_commits_with_metadata(self):
        import subprocess
        import sys
        with Broker() as b:
            create(b, "kp", 2)
            script = f"""
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
c = KafkaConsumer(bootstrap_servers="{b.bootstrap}", group_id="kp-group", enable_auto_commit=False)
tp = TopicPartition("kp", 1)
c.assign([tp])
c.commit({{tp: OffsetAndMetadata(42, "checkpoint-7")}})
print(c.committed(tp))
c.close()
"""
            out = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr.decode())
            self.assertEqual(out.stdout.decode().strip(), "42")


class GroupAdminTest(unittest.TestCase):
    def test_list_describe_delete_groups_and_offsets(self):
        import struct
        from kafka import KafkaAdminClient
        from kafka.errors import NoError, NonEmptyGroupError
        from harness import connect, recv_frame, request_header_v1, send_frame
        with Broker("--set", "group.initial.rebalance.delay.ms=0") as b:
            create(b, "adm", 2)
            produce_many(b, "adm", 10, 2)
            live = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "live", "auto.offset.reset": "earliest",
                             "client.id": "live-client"})
            live.subscribe(["adm"])
            got = 0
            deadline = time.time() + 20
            while got < 10 and time.time() < deadline:
                m = live.poll(0.5)
                got += m is not None and m.error() is None
            live.commit(asynchronous=False)
            idle = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "idle", "enable.auto.commit": False})
            idle.commit(offsets=[TopicPartition("adm", 0, 3), TopicPartition("adm", 1, 4)], asynchronous=False)
            idle.close()

            admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
            listed = dict(admin.list_consumer_groups())
            self.assertEqual(listed.get("live"), "consumer")
            self.assertIn("idle", listed)
            desc = {d.group: d for d in admin.describe_consumer_groups(["live", "idle", "never"])}
            self.assertEqual(desc["live"].state, "Stable")
            self.assertEqual(desc["live"].protocol_type, "consumer")
            self.assertEqual(len(desc["live"].members), 1)
            self.assertEqual(desc["live"].members[0].client_id, "live-client")
            self.assertEqual(desc["live"].members[0].client_host, "/127.0.0.1")
            self.assertEqual(desc["idle"].state, "Empty")
            self.assertEqual(desc["never"].state, "Dead")
            offsets = admin.list_consumer_group_offsets("idle")
            self.assertEqual({tp.partition: om.offset for tp, om in offsets.items()}, {0: 3, 1: 4})

            # OffsetDelete v0 by hand (no Debian client has it): idle loses adm/1;
            # live is subscribed to adm, so its offsets stay.
            def offset_delete(group, partitions):
                body = (struct.pack(">h", len(group)) + group.encode() + struct.pack(">i", 1) +
                        struct.pack(">h", 3) + b"adm" + struct.pack(">i", len(partitions)) +
                        b"".join(struct.pack(">i", p) for p in partitions))
                with connect(b) as s:
                    send_frame(s, request_header_v1(47, 0, 3) + body)
                    frame = recv_frame(s)
                (err,) = struct.unpack_from(">h", frame, 4)
                errors = [struct.unpack_from(">ih", frame, 4 + 2 + 4 + 4 + 2 + 3 + 4 + 6 * i)[1]
                          for i in range(len(partitions))]
                return err, errors
            self.assertEqual(offset_delete("idle", [1]), (0, [0]))
            self.assertEqual(offset_delete("live", [0]), (0, [86]))  # GROUP_SUBSCRIBED_TO_TOPIC
            self.assertEqual(offset_delete("nobody", [0])[0], 69)  # GROUP_ID_NOT_FOUND
            offsets = admin.list_consumer_group_offsets("idle")
            self.assertEqual({tp.partition: om.offset for tp, om in offsets.items()}, {0: 3})

            # DeleteGroups: a group with members is refused; an empty one goes, offsets and all.
            result = dict(admin.delete_consumer_groups(["live", "idle", "never"]))
            self.assertIs(result["live"], NonEmptyGroupError)
            self.assertIs(result["idle"], NoError)
            self.assertNotIn("idle", dict(admin.list_consumer_groups()))
            admin.close()
            live.close()
            self.assertEqual(b.stop(), 0)
            b.start()
            admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
            listed = dict(admin.list_consumer_groups())
            self.assertIn("live", listed)  # its offsets survive; membership does not
            self.assertNotIn("idle", listed)
            admin.close()


class GroupErrorsTest(unittest.TestCase):
    """Bad or stale requests get Kafka's error codes, and the broker carries on."""

    def test_kafka_error_codes_for_membership_mistakes(self):
        import struct
        from harness import connect, recv_frame, request_header_v1, send_frame

        def s16(v):
            return struct.pack(">h", len(v)) + v

        def call(sock, key, version, body, corr=[0]):
            corr[0] += 1
            send_frame(sock, request_header_v1(key, version, corr[0]) + body)
            return recv_frame(sock)

        def join_v5(sock, group, member, session_ms=10000, protocol_type=b"consumer", protocols=((b"range", b"m"),),
                    instance=None):
            body = (s16(group) + struct.pack(">ii", session_ms, 10000) + s16(member) +
                    (struct.pack(">h", -1) if instance is None else s16(instance)) + s16(protocol_type) +
                    struct.pack(">i", len(protocols)) +
                    b"".join(s16(n) + struct.pack(">i", len(m)) + m for n, m in protocols))
            f = call(sock, 11, 5, body)
            err, gen = struct.unpack_from(">hi", f, 8)  # after correlation id and throttle
            pos = 14
            proto_len = struct.unpack_from(">h", f, pos)[0]
            pos += 2 + max(proto_len, 0)
            leader_len = struct.unpack_from(">h", f, pos)[0]
            pos += 2 + leader_len
            member_len = struct.unpack_from(">h", f, pos)[0]
            member_id = f[pos + 2:pos + 2 + member_len]
            return err, gen, member_id

        def heartbeat_v3(sock, group, gen, member, instance=None):
            body = s16(group) + struct.pack(">i", gen) + s16(member) + (
                struct.pack(">h", -1) if instance is None else s16(instance))
            return struct.unpack_from(">h", call(sock, 12, 3, body), 8)[0]

        def sync_v3(sock, group, gen, member, assignments=()):
            body = (s16(group) + struct.pack(">i", gen) + s16(member) + struct.pack(">h", -1) +
                    struct.pack(">i", len(assignments)) +
                    b"".join(s16(m) + struct.pack(">i", len(a)) + a for m, a in assignments))
            return struct.unpack_from(">h", call(sock, 14, 3, body), 8)[0]

        with Broker("--set", "group.initial.rebalance.delay.ms=0") as b:
            with connect(b, timeout=30) as s:
                self.assertEqual(join_v5(s, b"", b"")[0], 24)                      # INVALID_GROUP_ID
                self.assertEqual(join_v5(s, b"g", b"", session_ms=10)[0], 26)      # INVALID_SESSION_TIMEOUT
                self.assertEqual(join_v5(s, b"g", b"", protocols=())[0], 23)       # INCONSISTENT_GROUP_PROTOCOL
                self.assertEqual(join_v5(s, b"g", b"nobody")[0], 25)               # UNKNOWN_MEMBER_ID
                err, _, member = join_v5(s, b"g", b"")
                self.assertEqual(err, 79)                                           # MEMBER_ID_REQUIRED
                err, gen, member2 = join_v5(s, b"g", member, protocols=((b"range", b""),))  # empty metadata is fine
                self.assertEqual((err, member2), (0, member))
                self.assertEqual(sync_v3(s, b"g", gen, member, [(member, b"")]), 0)
                self.assertEqual(heartbeat_v3(s, b"g", gen, member), 0)
                self.assertEqual(heartbeat_v3(s, b"g", gen + 7, member), 22)        # ILLEGAL_GENERATION
                self.assertEqual(heartbeat_v3(s, b"g", gen, b"nobody"), 25)         # UNKNOWN_MEMBER_ID
                self.assertEqual(heartbeat_v3(s, b"nope", 1, member), 25)
                self.assertEqual(sync_v3(s, b"g", gen + 1, member), 22)
                # Another protocol type cannot join this group.
                self.assertEqual(join_v5(s, b"g", b"", protocol_type=b"connect")[0], 23)
                # Static membership: a second process with the same instance id fences the first.
                err, _, st1 = join_v5(s, b"s", b"", instance=b"i-1")
                self.assertEqual(err, 0)
                err, gen_s, st2 = join_v5(s, b"s", b"", instance=b"i-1")
                self.assertNotEqual(st1, st2)
                self.assertEqual(heartbeat_v3(s, b"s", gen_s, st1, instance=b"i-1"), 82)  # FENCED_INSTANCE_ID
                # Commits: stale generation, unknown member, unknown topic.
                create(b, "errs", 1)

                def commit_v2(group, gen, member, topic):
                    body = (s16(group) + struct.pack(">i", gen) + s16(member) + struct.pack(">q", -1) +
                            struct.pack(">i", 1) + s16(topic) + struct.pack(">i", 1) +
                            struct.pack(">iqh", 0, 5, -1))
                    f = call(s, 8, 2, body)
                    return struct.unpack_from(">h", f, len(f) - 2)[0]
                self.assertEqual(commit_v2(b"g", gen, member, b"errs"), 0)
                self.assertEqual(commit_v2(b"g", gen + 3, member, b"errs"), 22)
                self.assertEqual(commit_v2(b"g", gen, b"nobody", b"errs"), 25)
                self.assertEqual(commit_v2(b"g", gen, member, b"no-such-topic"), 3)
                # The broker still serves: a heartbeat after all that is fine.
                self.assertEqual(heartbeat_v3(s, b"g", gen, member), 0)


class StaticRejoinTest(unittest.TestCase):
    """KIP-345 by hand-written frames: a static member that restarts (joins with its
    group.instance.id and no member id) into a Stable group with the same protocols
    takes its old place without a rebalance, leader or follower."""

    @staticmethod
    def s16(v):
        return struct.pack(">h", len(v)) + v

    def call(self, sock, key, version, body, flexible=False):
        self.corr += 1
        header = (request_header_v2 if flexible else request_header_v1)(key, version, self.corr)
        send_frame(sock, header + body)
        return recv_frame(sock)

    def join_body_v5(self, member, instance, protocols, rebalance_ms=6000):
        s16 = self.s16
        return (s16(b"statics") + struct.pack(">ii", 6000, rebalance_ms) + s16(member) + s16(instance) +
                s16(b"consumer") + struct.pack(">i", len(protocols)) +
                b"".join(s16(n) + struct.pack(">i", len(m)) + m for n, m in protocols))

    def read_join_v5(self, sock):
        r = Reader(recv_frame(sock), 4)
        r.take(">i")  # throttle
        out = {"error": r.take(">h"), "generation": r.take(">i")}
        out["protocol"] = r.string()
        out["leader"] = r.string()
        out["member_id"] = r.string()
        out["members"] = []
        for _ in range(r.take(">i")):
            mid = r.string()
            inst = r.string()
            n = r.take(">i")
            out["members"].append((mid, inst, r.data[r.pos:r.pos + n]))
            r.pos += n
        return out

    def join_v5(self, sock, member, instance, protocols, rebalance_ms=6000):
        self.corr += 1
        send_frame(sock, request_header_v1(11, 5, self.corr) + self.join_body_v5(member, instance, protocols,
                                                                                 rebalance_ms))
        return self.read_join_v5(sock)

    def join_v9(self, sock, member, instance, protocols):
        def cbytes(v):
            return uvarint(len(v) + 1) + v
        body = (compact_string("statics") + struct.pack(">ii", 6000, 6000) + compact_string(member) +
                compact_string(instance) + compact_string("consumer") + uvarint(len(protocols) + 1) +
                b"".join(compact_string(n.decode()) + cbytes(m) + b"\x00" for n, m in protocols) +
                compact_string(None) + b"\x00")
        r = Reader(self.call(sock, 11, 9, body, flexible=True), 4)
        r.tags()
        r.take(">i")  # throttle
        out = {"error": r.take(">h"), "generation": r.take(">i")}
        out["protocol_type"] = r.compact_string()
        out["protocol"] = r.compact_string()
        out["leader"] = r.compact_string()
        out["skip_assignment"] = bool(r.take(">b"))
        out["member_id"] = r.compact_string()
        out["members"] = []
        for _ in range(r.uvarint() - 1):
            mid = r.compact_string()
            inst = r.compact_string()
            n = r.uvarint() - 1
            out["members"].append((mid, inst, r.data[r.pos:r.pos + n]))
            r.pos += n
            r.tags()
        return out

    def sync_v3(self, sock, gen, member, instance, assignments=()):
        s16 = self.s16
        body = (s16(b"statics") + struct.pack(">i", gen) + s16(member.encode()) + s16(instance) +
                struct.pack(">i", len(assignments)) +
                b"".join(s16(m.encode()) + struct.pack(">i", len(a)) + a for m, a in assignments))
        r = Reader(self.call(sock, 14, 3, body), 4)
        r.take(">i")
        err = r.take(">h")
        n = r.take(">i")
        return err, r.data[r.pos:r.pos + max(n, 0)]

    def heartbeat_v3(self, sock, gen, member, instance):
        body = self.s16(b"statics") + struct.pack(">i", gen) + self.s16(member.encode()) + self.s16(instance)
        return struct.unpack_from(">h", self.call(sock, 12, 3, body), 8)[0]

    def form_group(self, sa, sb, protocols):
        """a then b join as static members; a leads; both get assignments; Stable."""
        a = self.join_v5(sa, b"", b"a", protocols)
        self.assertEqual((a["error"], a["leader"]), (0, a["member_id"]))
        self.assertEqual(self.sync_v3(sa, a["generation"], a["member_id"], b"a", [(a["member_id"], b"pa")]),
                         (0, b"pa"))
        # b's join waits for a to rejoin; a learns of the rebalance by heartbeat.
        self.corr += 1
        send_frame(sb, request_header_v1(11, 5, self.corr) + self.join_body_v5(b"", b"b", protocols))
        deadline = time.time() + 10
        while self.heartbeat_v3(sa, a["generation"], a["member_id"], b"a") != 27 and time.time() < deadline:
            time.sleep(0.05)
        a = self.join_v5(sa, a["member_id"].encode(), b"a", protocols)
        f = self.read_join_v5(sb)
        self.assertEqual((a["error"], f["error"]), (0, 0))
        self.assertEqual(a["leader"], a["member_id"])
        self.assertEqual(f["generation"], a["generation"])
        gen = a["generation"]
        ids = {"a": a["member_id"], "b": f["member_id"]}
        self.assertEqual(self.sync_v3(sa, gen, ids["a"], b"a", [(ids["a"], b"pa"), (ids["b"], b"pb")]),
                         (0, b"pa"))
        self.assertEqual(self.sync_v3(sb, gen, ids["b"], b"b"), (0, b"pb"))
        return gen, ids

    def setUp(self):
        self.corr = 0

    def test_a_restarted_static_leader_keeps_its_place(self):
        protocols = ((b"range", b"m-range"), (b"roundrobin", b"m-rr"))
        b = Broker("--set", "group.initial.rebalance.delay.ms=0")
        b.start()
        try:
            with connect(b, timeout=20) as sa, connect(b, timeout=20) as sb:
                gen, ids = self.form_group(sa, sb, protocols)

                # The leader restarts (JoinGroup v9): same generation, still the
                # leader, told to skip the assignment, its assignment back by SyncGroup.
                j = self.join_v9(sa, "", "a", protocols)
                self.assertEqual(j["error"], 0)
                self.assertEqual(j["generation"], gen, "the leader's restart caused a rebalance")
                self.assertNotEqual(j["member_id"], ids["a"])
                self.assertEqual(j["leader"], j["member_id"])
                self.assertTrue(j["skip_assignment"])
                self.assertEqual(sorted(j["members"]),
                                 sorted([(j["member_id"], "a", b"m-range"), (ids["b"], "b", b"m-range")]))
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)
                self.assertEqual(self.heartbeat_v3(sa, gen, ids["a"], b"a"), 82)  # the old id: FENCED_INSTANCE_ID
                old_a, ids["a"] = ids["a"], j["member_id"]
                self.assertEqual(self.sync_v3(sa, gen, ids["a"], b"a"), (0, b"pa"))
                self.assertEqual(self.sync_v3(sa, gen, old_a, b"a")[0], 82)

                # Before v9 there is no skip_assignment: the answer names the
                # previous leader id, so the client does not assign.
                j = self.join_v5(sa, b"", b"a", protocols)
                self.assertEqual((j["error"], j["generation"]), (0, gen))
                self.assertEqual(j["leader"], ids["a"])
                self.assertEqual(j["members"], [])
                ids["a"] = j["member_id"]
                self.assertEqual(self.sync_v3(sa, gen, ids["a"], b"a"), (0, b"pa"))
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)


            # The replacements are stored: after a broker restart the new ids are
            # the members and the old ones stay fenced.
            self.assertEqual(b.stop(), 0)
            b.start()
            with connect(b, timeout=20) as sa, connect(b, timeout=20) as sb:
                self.assertEqual(self.heartbeat_v3(sa, gen, ids["a"], b"a"), 0)
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)
                self.assertEqual(self.heartbeat_v3(sa, gen, old_a, b"a"), 82)
                self.assertEqual(self.sync_v3(sb, gen, ids["b"], b"b"), (0, b"pb"))
                # The stored group keeps only the chosen protocol of each member; a
                # restart with the full list still chooses the same one: no rebalance.
                j = self.join_v9(sa, "", "a", protocols)
                self.assertEqual((j["error"], j["generation"], j["leader"]), (0, gen, j["member_id"]))
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_a_restarted_static_follower_keeps_its_place(self):
        protocols = ((b"range", b"m-range"), (b"roundrobin", b"m-rr"))
        b = Broker("--set", "group.initial.rebalance.delay.ms=0")
        b.start()
        try:
            with connect(b, timeout=20) as sa, connect(b, timeout=20) as sb:
                gen, ids = self.form_group(sa, sb, protocols)
                j = self.join_v9(sb, "", "b", protocols)
                self.assertEqual((j["error"], j["generation"], j["leader"]), (0, gen, ids["a"]))
                self.assertFalse(j["skip_assignment"])
                self.assertEqual(j["members"], [])
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 82)
                old_b, ids["b"] = ids["b"], j["member_id"]
                self.assertEqual(self.sync_v3(sb, gen, ids["b"], b"b"), (0, b"pb"))
                self.assertEqual(self.heartbeat_v3(sa, gen, ids["a"], b"a"), 0)  # the leader is not disturbed
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)
            # The new id is stored: after a broker restart it is the member.
            self.assertEqual(b.stop(), 0)
            b.start()
            with connect(b, timeout=20) as sa, connect(b, timeout=20) as sb:
                self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 0)
                self.assertEqual(self.heartbeat_v3(sb, gen, old_b, b"b"), 82)
                self.assertEqual(self.sync_v3(sb, gen, ids["b"], b"b"), (0, b"pb"))
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_a_static_restart_that_changes_the_protocol_rebalances(self):
        protocols = ((b"range", b"m-range"), (b"roundrobin", b"m-rr"))
        with Broker("--set", "group.initial.rebalance.delay.ms=0") as b:
            with connect(b, timeout=20) as sa, connect(b, timeout=20) as sb:
                gen, ids = self.form_group(sa, sb, protocols)
                # b comes back supporting only roundrobin: the group's protocol must change.
                self.corr += 1
                send_frame(sb, request_header_v1(11, 5, self.corr) +
                           self.join_body_v5(b"", b"b", ((b"roundrobin", b"m-rr"),)))
                deadline = time.time() + 10
                while self.heartbeat_v3(sa, gen, ids["a"], b"a") != 27 and time.time() < deadline:
                    time.sleep(0.05)
                self.assertEqual(self.heartbeat_v3(sa, gen, ids["a"], b"a"), 27)  # REBALANCE_IN_PROGRESS
                a = self.join_v5(sa, ids["a"].encode(), b"a", protocols)
                f = self.read_join_v5(sb)
                self.assertEqual((a["error"], f["error"]), (0, 0))
                self.assertEqual((a["generation"], a["protocol"]), (gen + 1, "roundrobin"))
                self.assertNotEqual(f["member_id"], ids["b"])
                gen, ids["b"] = gen + 1, f["member_id"]
                self.assertEqual(self.sync_v3(sa, gen, ids["a"], b"a", [(ids["a"], b"pa"), (ids["b"], b"pb")]),
                                 (0, b"pa"))
                self.assertEqual(self.sync_v3(sb, gen, ids["b"], b"b"), (0, b"pb"))

                # An instance id the group has never seen is an ordinary join: a rebalance.
                with connect(b, timeout=20) as sc:
                    self.corr += 1
                    send_frame(sc, request_header_v1(11, 5, self.corr) + self.join_body_v5(b"", b"c", protocols))
                    deadline = time.time() + 10
                    while self.heartbeat_v3(sa, gen, ids["a"], b"a") != 27 and time.time() < deadline:
                        time.sleep(0.05)
                    self.assertEqual(self.heartbeat_v3(sa, gen, ids["a"], b"a"), 27)
                    self.assertEqual(self.heartbeat_v3(sb, gen, ids["b"], b"b"), 27)


class IdleGroupsTest(unittest.TestCase):
    def test_a_thousand_idle_groups_cost_no_cpu(self):
        import struct
        from harness import connect, recv_frame, request_header_v1, send_frame
        with Broker() as b:
            create(b, "quiet", 1)
            # 1,000 groups with committed offsets, committed over one connection.
            with connect(b, timeout=30) as s:
                for i in range(1000):
                    group = b"idle-%04d" % i
                    body = (struct.pack(">h", len(group)) + group + struct.pack(">ih", -1, 0) + struct.pack(">i", 1) +
                            struct.pack(">h", 5) + b"quiet" + struct.pack(">i", 1) +
                            struct.pack(">iqqh", 0, i, int(time.time() * 1000), -1))
                    send_frame(s, request_header_v1(8, 1, i) + body)
                for i in range(1000):
                    frame = recv_frame(s)
                    self.assertEqual(struct.unpack_from(">h", frame, len(frame) - 2)[0], 0)
            time.sleep(0.5)
            log_before = len(b.stderr())
            pid = b.proc.pid

            before = cpu_ticks(pid)
            time.sleep(3)
            used = cpu_ticks(pid) - before
            hz = os.sysconf("SC_CLK_TCK")
            self.assertLess(used / hz / 3, 0.02, "1,000 idle groups used %d ticks in 3 s" % used)
            self.assertEqual(len(b.stderr()), log_before, "an idle broker logged")
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "idle-0999"})
            self.assertEqual(c.committed([TopicPartition("quiet", 0)], timeout=10)[0].offset, 999)
            c.close()


MEMBER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "group_consumer.py")


class Member:
    """A group_consumer.py process; its output lines are collected as they come."""

    def __init__(self, b, group, topic, *extra):
        self.proc = subprocess.Popen(["/usr/bin/python3", MEMBER, "--bootstrap", b.bootstrap, "--group", group,
                                      "--topic", topic, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.records = []
        self.events = []
        self.lock = threading.Lock()  # lock-ok: test-only, guards the lists filled by the reader thread
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            parts = line.split()
            with self.lock:
                if len(parts) == 2 and parts[0].isdigit():
                    self.records.append((int(parts[0]), int(parts[1])))
                else:
                    self.events.append((time.time(), line.strip()))

    def count(self):
        with self.lock:
            return len(self.records)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.wait()

    def wait(self, timeout=120):
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(timeout=10)
            self.proc.stdout.close()


def produce_many(b, topic, n, partitions):
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 10})
    for i in range(n):
        while True:
            try:
                p.produce(topic, b"r%d" % i, partition=i % partitions)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0


class GroupMembershipTest(unittest.TestCase):
    def test_three_members_consume_every_record_exactly_once(self):
        with Broker() as b:
            create(b, "work", 6)
            produce_many(b, "work", 100_000, 6)
            members = [Member(b, "workers", "work", "--idle", "4") for _ in range(3)]
            for m in members:
                m.wait()
            seen = [r for m in members for r in m.records]
            self.assertEqual(len(seen), 100_000, "some records were consumed twice or not at all")
            self.assertEqual(len(set(seen)), 100_000)
            self.assertEqual(sorted({p for p, _ in seen}), list(range(6)))
            busy = [m.count() for m in members]
            self.assertGreaterEqual(sum(1 for n in busy if n > 0), 2, f"work was not shared: {busy}")
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "workers"})
            committed = c.committed([TopicPartition("work", p) for p in range(6)], timeout=10)
            c.close()
            self.assertEqual(sum(tp.offset for tp in committed), 100_000)

    def test_a_killed_member_hands_its_partitions_over_without_skipping(self):
        with Broker() as b:
            create(b, "tasks", 6)
            produce_many(b, "tasks", 30_000, 6)
            members = [Member(b, "crew", "tasks", "--idle", "15", "--session-ms", "6000") for _ in range(3)]
            deadline = time.time() + 30
            while time.time() < deadline and not all(m.count() > 0 for m in members):
                time.sleep(0.1)
            victim = max(members, key=lambda m: m.count())
            victim.kill()
            killed_at = time.time()
            for m in members:
                if m is not victim:
                    m.wait()
            seen = {r for m in members for r in m.records}
            self.assertEqual(len(seen), 30_000, "a record was skipped")
            # The survivors were assigned the victim's partitions within its session timeout.
            reassigned = [t for m in members if m is not victim for t, e in m.events
                          if e.startswith("assigned") and t > killed_at]
            self.assertTrue(reassigned, "nobody took over the killed member's partitions")
            self.assertLess(min(reassigned) - killed_at, 6 + 5)

    def test_a_static_member_restarts_without_a_rebalance(self):
        with Broker() as b:
            create(b, "static", 4)
            a = Member(b, "statics", "static", "--instance-id", "a", "--session-ms", "15000", "--idle", "30",
                       "--max-seconds", "25")
            time.sleep(1)
            c = Member(b, "statics", "static", "--instance-id", "c", "--session-ms", "15000", "--idle", "30",
                       "--max-seconds", "6")
            produce_many(b, "static", 1000, 4)
            c.wait(timeout=30)  # exits without leaving: a static member just goes away
            before = list(a.events)
            c2 = Member(b, "statics", "static", "--instance-id", "c", "--session-ms", "15000", "--idle", "30",
                        "--max-seconds", "5")
            c2.wait(timeout=30)
            time.sleep(1)
            after = [e for _, e in a.events[len(before):]]
            self.assertFalse([e for e in after if e.startswith(("revoked", "assigned"))],
                             f"member a saw a rebalance when c came back: {after}")
            assigned_c = [e for _, e in c.events if e.startswith("assigned")]
            assigned_c2 = [e for _, e in c2.events if e.startswith("assigned")]
            self.assertEqual(assigned_c2[:1], assigned_c[-1:], "c did not get its old partitions back")
            a.proc.send_signal(signal.SIGTERM)
            a.wait(timeout=30)

    def test_a_static_leader_restarts_without_a_rebalance(self):
        with Broker("--set", "group.initial.rebalance.delay.ms=0") as b:
            create(b, "static-lead", 4)
            a = Member(b, "leads", "static-lead", "--instance-id", "a", "--session-ms", "15000", "--idle", "30",
                       "--max-seconds", "6")
            deadline = time.time() + 10
            while time.time() < deadline and not [e for _, e in a.events if e.startswith("assigned")]:
                time.sleep(0.1)
            c = Member(b, "leads", "static-lead", "--instance-id", "c", "--session-ms", "15000", "--idle", "30",
                       "--max-seconds", "25")
            produce_many(b, "static-lead", 1000, 4)
            a.wait(timeout=30)  # a, the leader, exits without leaving
            before = len(c.events)
            a2 = Member(b, "leads", "static-lead", "--instance-id", "a", "--session-ms", "15000", "--idle", "30",
                        "--max-seconds", "5")
            a2.wait(timeout=30)
            time.sleep(1)
            after = [e for _, e in c.events[before:]]
            self.assertFalse([e for e in after if e.startswith(("revoked", "assigned"))],
                             f"member c saw a rebalance when the leader came back: {after}")
            assigned_a = [e for _, e in a.events if e.startswith("assigned")]
            assigned_a2 = [e for _, e in a2.events if e.startswith("assigned")]
            self.assertTrue(assigned_a and assigned_a2, "the leader was never assigned")
            self.assertEqual(assigned_a2[:1], assigned_a[-1:], "the leader did not get its old partitions back")
            c.proc.send_signal(signal.SIGTERM)
            c.wait(timeout=30)

    def test_the_group_resumes_from_committed_offsets_after_kill9(self):
        b = Broker()
        b.start()
        try:
            create(b, "durable", 2)
            produce_many(b, "durable", 4000, 2)
            first = Member(b, "resumers", "durable", "--idle", "2")
            first.wait()
            self.assertEqual(first.count(), 4000)
            b.kill9()
            b.start()
            produce_many(b, "durable", 1000, 2)
            second = Member(b, "resumers", "durable", "--idle", "3")
            second.wait()
            # Only what came after the commits, and all of it.
            self.assertEqual(second.count(), 1000)
            self.assertEqual(min(o for _, o in second.records), 2000)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_members_carry_on_across_a_broker_restart_without_a_rebalance(self):
        b = Broker()
        b.start()
        try:
            # The same port after the restart, so the running consumer finds it again.
            b.args[b.args.index("127.0.0.1:0")] = f"127.0.0.1:{b.port}"
            create(b, "resume", 2)
            produce_many(b, "resume", 100, 2)
            m = Member(b, "stay", "resume", "--idle", "25", "--session-ms", "10000", "--max-seconds", "40")
            deadline = time.time() + 20
            while m.count() < 100 and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(m.count(), 100)
            time.sleep(1)
            settled = len(m.events)
            self.assertEqual(b.stop(), 0)
            b.start()
            produce_many(b, "resume", 100, 2)
            deadline = time.time() + 25
            while m.count() < 200 and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(m.count(), 200)
            self.assertEqual(len({r for r in m.records}), 200)
            later = [e for _, e in m.events[settled:]]
            self.assertFalse([e for e in later if e.startswith(("assigned", "revoked"))],
                             f"the restart caused a rebalance: {later}")
            m.proc.send_signal(signal.SIGTERM)
            m.wait(timeout=30)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_cooperative_sticky_keeps_unaffected_partitions(self):
        with Broker() as b:
            create(b, "sticky", 6)
            produce_many(b, "sticky", 600, 6)
            args = ("--strategy", "cooperative-sticky", "--idle", "20")
            first = [Member(b, "coop", "sticky", *args, "--max-seconds", "13") for _ in range(2)]
            time.sleep(5)
            third = Member(b, "coop", "sticky", *args, "--max-seconds", "8")
            for m in first + [third]:
                m.wait(timeout=60)
            for m in first:
                assigned = set()
                revoked = set()
                for _, e in m.events:
                    if e == "idle":
                        break  # what follows is the member closing
                    parts = {int(x) for x in e.split()[1].split(",") if x} if len(e.split()) > 1 else set()
                    if e.startswith("assigned"):
                        assigned |= parts
                    elif e.startswith("revoked"):
                        revoked |= parts
                kept = assigned - revoked
                self.assertTrue(kept, f"a member lost every partition: {m.events}")
                self.assertLess(len(revoked), len(assigned), f"not incremental: {m.events}")
            self.assertTrue([e for _, e in third.events if e.startswith("assigned") and len(e.split()) > 1])


if __name__ == "__main__":
    unittest.main()
