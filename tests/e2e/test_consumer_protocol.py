"""The KIP-848 consumer group protocol, spoken by hand: Debian's librdkafka (2.0)
predates group.protocol=consumer, so this test writes ConsumerGroupHeartbeat and
ConsumerGroupDescribe frames itself and checks the broker's assignment, the
hand-over of partitions between members, fencing and leaving."""
import struct
import unittest

from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker, Reader, compact_string, connect, recv_frame, request_header_v2, send_frame, uvarint


def cstr(s):
    return compact_string(s)


def carray(items, enc):
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(enc(i) for i in items)


class R(Reader):
    cstr = Reader.compact_string

    def partitions(self):
        """compact array of (uuid, compact int32 array[, name]) -> {uuid: [p]}"""
        out = {}
        for _ in range(self.uvarint() - 1):
            tid = self.data[self.pos:self.pos + 16]
            self.pos += 16
            ps = [self.take(">i") for _ in range(self.uvarint() - 1)]
            self.tags()
            out[tid] = sorted(ps)
        return out


class Client:
    def __init__(self, broker):
        self.sock = connect(broker)
        self.corr = 0

    def call(self, key, version, body):
        self.corr += 1
        send_frame(self.sock, request_header_v2(key, version, self.corr) + body)
        r = R(recv_frame(self.sock))
        assert r.take(">i") == self.corr
        r.tags()
        return r

    def heartbeat(self, group, member_id, epoch, subscribed=None, owned=None, assignor=None, instance=None):
        def tp(item):
            tid, ps = item
            return tid + carray(ps, lambda p: struct.pack(">i", p)) + b"\x00"
        body = (cstr(group) + cstr(member_id) + struct.pack(">i", epoch) + cstr(instance) + cstr(None) +
                struct.pack(">i", 30000) + carray(subscribed, cstr) + cstr(assignor) +
                carray(None if owned is None else list(owned.items()), tp) + b"\x00")
        r = self.call(68, 0, body)
        r.take(">i")  # throttle
        err = r.take(">h")
        r.cstr()
        member = r.cstr()
        epoch, interval = r.take(">ii")
        assignment = None
        if r.take(">b") == 1:
            assignment = r.partitions()
            r.tags()
        return err, member, epoch, interval, assignment

    def describe(self, group):
        r = self.call(69, 0, carray([group], cstr) + b"\x00" + b"\x00")
        r.take(">i")
        assert r.uvarint() - 1 == 1
        err = r.take(">h")
        r.cstr()
        gid, state = r.cstr(), r.cstr()
        group_epoch, assignment_epoch = r.take(">ii")
        assignor = r.cstr()
        members = {}
        for _ in range(r.uvarint() - 1):
            mid = r.cstr()
            r.cstr()
            r.cstr()
            epoch = r.take(">i")
            r.cstr()
            r.cstr()
            [r.cstr() for _ in range(r.uvarint() - 1)]
            r.cstr()
            assigned = {}
            for _ in range(r.uvarint() - 1):
                r.pos += 16
                name = r.cstr()
                assigned[name] = sorted(r.take(">i") for _ in range(r.uvarint() - 1))
                r.tags()
            r.tags()
            for _ in range(r.uvarint() - 1):
                r.pos += 16
                r.cstr()
                [r.take(">i") for _ in range(r.uvarint() - 1)]
                r.tags()
            r.tags()
            r.tags()
            members[mid] = (epoch, assigned)
        return err, gid, state, group_epoch, assignment_epoch, assignor, members


class ConsumerProtocolTest(unittest.TestCase):
    def test_members_get_assignments_and_hand_partitions_over(self):
        with Broker() as b:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            admin.create_topics([NewTopic("kip848", 4, 1)], operation_timeout=10)["kip848"].result(timeout=15)
            c = Client(b)
            # A joins alone and gets every partition.
            err, a, a_epoch, interval, got = c.heartbeat("g848", "", 0, ["kip848"], {}, "uniform")
            self.assertEqual(err, 0)
            self.assertTrue(a)
            self.assertEqual(a_epoch, 1)
            self.assertGreater(interval, 0)
            (tid, parts), = got.items()
            self.assertEqual(parts, [0, 1, 2, 3])
            err, _, _, _, got = c.heartbeat("g848", a, 1, owned={tid: [0, 1, 2, 3]})
            self.assertEqual((err, got), (0, None))  # nothing changed: no assignment sent
            # B joins: it gets nothing until A has given partitions up.
            err, bm, b_epoch, _, got = c.heartbeat("g848", "", 0, ["kip848"], {})
            self.assertEqual((err, b_epoch), (0, 2))
            self.assertEqual(got, {})
            err, _, epoch, _, got = c.heartbeat("g848", a, 1, owned={tid: [0, 1, 2, 3]})
            self.assertEqual(err, 0)
            self.assertEqual(epoch, 1)  # A still holds what it must give up
            keep = got[tid]
            self.assertEqual(len(keep), 2)
            err, _, b_epoch, _, got = c.heartbeat("g848", bm, 2, owned={})
            self.assertEqual(got, None)  # still held by A
            err, _, epoch, _, got = c.heartbeat("g848", a, 1, owned={tid: keep})
            self.assertEqual((err, epoch), (0, 2))  # A let go: its epoch advances
            err, _, _, _, got = c.heartbeat("g848", bm, 2, owned={})
            self.assertEqual(sorted(got[tid] + keep), [0, 1, 2, 3])  # B gets the rest, and only that
            c.heartbeat("g848", bm, 2, owned=got)
            err, gid, state, gepoch, aepoch, assignor, members = c.describe("g848")
            self.assertEqual((err, gid, state, gepoch, aepoch, assignor), (0, "g848", "Stable", 2, 2, "uniform"))
            self.assertEqual({m: e for m, (e, _) in members.items()}, {a: 2, bm: 2})
            self.assertEqual(sorted(sum((v["kip848"] for _, v in members.values()), [])), [0, 1, 2, 3])
            # Fencing and unknown members.
            self.assertEqual(c.heartbeat("g848", a, 7)[0], 110)   # FENCED_MEMBER_EPOCH
            self.assertEqual(c.heartbeat("g848", "ghost", 3)[0], 25)  # UNKNOWN_MEMBER_ID
            self.assertEqual(c.heartbeat("g848", "", 0, None)[0], 42)  # joining needs a subscription
            self.assertEqual(c.heartbeat("g848", "", 0, ["kip848"], {}, "magic")[0], 112)  # UNSUPPORTED_ASSIGNOR
            # A leaves; B takes everything.
            err, _, epoch, _, _ = c.heartbeat("g848", a, -1)
            self.assertEqual((err, epoch), (0, -1))
            err, _, epoch, _, got = c.heartbeat("g848", bm, 2, owned={tid: members[bm][1]["kip848"]})
            self.assertEqual((err, epoch), (0, 3))
            self.assertEqual(got[tid], [0, 1, 2, 3])
            # A classic member cannot join a group run by the consumer protocol.
            classic = (struct.pack(">h", 4) + b"g848" + struct.pack(">ii", 10000, 10000) + struct.pack(">h", 0) +
                       struct.pack(">h", -1) + struct.pack(">h", 8) + b"consumer" + struct.pack(">i", 1) +
                       struct.pack(">h", 5) + b"range" + struct.pack(">i", 0))
            from harness import request_header_v1
            with connect(b) as s:
                send_frame(s, request_header_v1(11, 5, 99) + classic)
                f = recv_frame(s)
            self.assertEqual(struct.unpack_from(">h", f, 8)[0], 23)  # INCONSISTENT_GROUP_PROTOCOL
            c.sock.close()


if __name__ == "__main__":
    unittest.main()
