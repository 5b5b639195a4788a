"""chronik-bench against the real broker: every mode runs, reports what it did, and
the --validate and --min-throughput gates can fail."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import Broker

BENCH = os.environ.get("E2E_CHRONIK_BENCH",
                       os.path.join(os.path.dirname(__file__), "../../build/bin/chronik-bench"))


def bench(b, *args, timeout=120):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    out.close()
    try:
        r = subprocess.run([BENCH, "--bootstrap-servers", b.bootstrap, "--json-output", out.name, *args],
                           capture_output=True, text=True, timeout=timeout)
        report = None
        if os.path.getsize(out.name) > 0:
            with open(out.name) as f:
                report = json.load(f)
        return r.returncode, report, r.stdout
    finally:
        os.unlink(out.name)


class BenchTest(unittest.TestCase):
    def test_every_mode_against_the_broker(self):
        with Broker("--set", "group.initial.rebalance.delay.ms=0") as b:
            rc, p, out = bench(b, "--topic", "bench", "--create-topic", "--partitions", "3", "--mode", "produce",
                               "--message-count", "20000", "--message-size", "512", "--acks", "all",
                               "--concurrency", "2", "--compression", "lz4")
            self.assertEqual(rc, 0, out)
            self.assertEqual((p["messages"], p["errors"]), (20000, 0))
            self.assertEqual(p["bytes"], 20000 * 512)
            self.assertGreater(p["msg_per_sec"], 0)
            self.assertGreater(p["latency_us"]["p99"], 0)
            self.assertGreaterEqual(p["latency_us"]["max"], p["latency_us"]["p50"])
            self.assertGreaterEqual(p["topic_creation_ms"], 0)
            self.assertIn("msg/s", out)

            rc, c, out = bench(b, "--topic", "bench", "--mode", "consume", "--message-count", "20000",
                               "--message-size", "512", "--validate")
            self.assertEqual(rc, 0, out)
            self.assertEqual((c["messages"], c["invalid"], c["errors"]), (20000, 0, 0))

            # --validate catches payloads of the wrong size.
            rc, c, out = bench(b, "--topic", "bench", "--mode", "consume", "--message-count", "100",
                               "--message-size", "100", "--validate")
            self.assertNotEqual(rc, 0)
            self.assertGreater(c["invalid"], 0)

            # --min-throughput fails a run below it.
            rc, _, _ = bench(b, "--topic", "gate", "--create-topic", "--mode", "produce", "--message-count", "1000",
                             "--message-size", "100", "--min-throughput", "1e12")
            self.assertEqual(rc, 3)

            rc, r, out = bench(b, "--topic", "rt", "--create-topic", "--mode", "round-trip", "--message-count", "500",
                               "--message-size", "64", "--rate-limit", "1000", "--linger-ms", "0")
            self.assertEqual(rc, 0, out)
            self.assertEqual(r["messages"], 500)
            self.assertGreater(r["latency_us"]["p50"], 0)

            rc, m, out = bench(b, "--mode", "metadata", "--message-count", "200")
            self.assertEqual(rc, 0, out)
            self.assertEqual(m["messages"], 200)


if __name__ == "__main__":
    unittest.main()
