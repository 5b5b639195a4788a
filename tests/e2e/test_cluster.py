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
import time
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition

from cluster_harness import Cluster, wait_for


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


if __name__ == "__main__":
    unittest.main()
