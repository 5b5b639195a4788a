"""kill -9 while topics are created, deleted and configured: every change the broker
acknowledged is there after the restart (the controller log replays it onto its
snapshot), nothing it never heard of appears, and the broker starts every time."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

from harness import Broker  # noqa: E402

CYCLES = int(os.environ.get("CHRONIK_CONTROLLER_CRASH_CYCLES", "6"))


class ControllerCrash(unittest.TestCase):
    def test_kill9_during_topic_changes(self):
        created, deleted, configured = set(), set(), {}
        tried_delete = set()  # a delete cut off by the kill may or may not have happened
        broker = Broker()
        try:
            n = 0
            for cycle in range(CYCLES):
                broker.start()
                admin = AdminClient({"bootstrap.servers": broker.bootstrap})
                # What survived the last kill is all there.
                md = admin.list_topics(timeout=20)
                have = set(md.topics)
                must = created - tried_delete
                self.assertTrue(must <= have, f"cycle {cycle}: lost {sorted(must - have)[:5]}")
                self.assertFalse(deleted & have, f"cycle {cycle}: deleted topics back: {sorted(deleted & have)[:5]}")
                self.assertTrue(have - {"__consumer_offsets"} <= created | {f"c{i}" for i in range(n + 50)})
                if configured:
                    name, value = next(iter(configured.items()))
                    if name in have and name not in deleted:
                        res = admin.describe_configs([ConfigResource("topic", name)])
                        got = list(res.values())[0].result(timeout=20)
                        self.assertEqual(got["retention.ms"].value, value)
                # Changes, one request at a time, until the kill lands mid-stream.
                proc = broker.proc
                killer = threading.Timer(0.4 + 0.15 * cycle, broker.kill9)
                killer.start()
                deadline = time.time() + 10
                while time.time() < deadline and proc.poll() is None:
                    name = f"c{n}"
                    n += 1
                    try:
                        admin.create_topics([NewTopic(name, 1, 1)], request_timeout=2)[name].result(timeout=3)
                        created.add(name)
                        if n % 7 == 0:
                            victim = f"c{n - 3}"
                            if victim in created:
                                tried_delete.add(victim)
                                admin.delete_topics([victim], request_timeout=2)[victim].result(timeout=3)
                                deleted.add(victim)
                        if n % 5 == 0:
                            value = str(60000 + n)
                            res = ConfigResource("topic", name, set_config={"retention.ms": value})
                            list(admin.alter_configs([res], request_timeout=2).values())[0].result(timeout=3)
                            configured = {name: value}
                    except Exception:  # noqa: BLE001 - the kill cuts requests off
                        break
                killer.join()
            print(f"{len(created)} created, {len(tried_delete)} deleted, over {CYCLES} kills", file=sys.stderr)
            self.assertGreater(len(created), 20, "too few changes were acknowledged to prove anything")
        finally:
            broker.cleanup()


if __name__ == "__main__":
    unittest.main()
