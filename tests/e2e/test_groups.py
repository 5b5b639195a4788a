"""Consumer groups against the real broker: the coordinator, committed offsets and
their durability across restarts."""
import unittest

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker


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


if __name__ == "__main__":
    unittest.main()
