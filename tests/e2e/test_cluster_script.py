"""scripts/cluster.sh, as the README uses it: a three-node cluster on 127.0.0.1
started, inspected, one node killed and restarted, and stopped, with kcat writing
to and reading from a replicated topic throughout."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import SERVER

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")
BOOTSTRAP = "127.0.0.1:19091,127.0.0.1:19092,127.0.0.1:19093"


class ClusterScriptTest(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="chronik-cluster-sh-")
        self.env = dict(os.environ, DATA_DIR=self.data, CLUSTER_SERVER=SERVER)
        self.addCleanup(self.teardown)

    def teardown(self):
        self.sh("stop", check=False)
        shutil.rmtree(self.data, ignore_errors=True)

    def sh(self, *args, check=True):
        r = subprocess.run([SCRIPT, *args], env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def kcat(self, *args, stdin=None):
        r = subprocess.run(["kcat", "-b", BOOTSTRAP, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stdout, r.stderr

    def wait_brokers(self, n):
        deadline = time.time() + 30
        out = ""
        while time.time() < deadline:
            rc, out, _ = self.kcat("-L", "-m", "5")
            if rc == 0 and f" {n} brokers:" in out and "(controller)" in out:
                return out
            time.sleep(0.2)
        self.fail(f"{n} brokers not listed:\n{out}")

    def test_start_status_kill_restart_stop(self):
        out = self.sh("start")
        self.assertIn(f"bootstrap: {BOOTSTRAP}", out)
        self.assertIn("node 1: running", self.sh("status"))
        self.wait_brokers(3)
        # Auto-created with the default factor: min(3, brokers) = 3.
        rc, _, err = self.kcat("-P", "-t", "demo", "-X", "topic.request.required.acks=-1",
                               stdin="one\ntwo\nthree\n")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.kcat("-L", "-t", "demo")
        m = re.search(r"replicas: ([0-9,]+), isrs: ([0-9,]+)", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(sorted(m.group(1).split(",")), ["1", "2", "3"], out)
        self.assertIn("node 2 stopped (KILL)", self.sh("kill", "2"))
        self.assertIn("node 2: stopped", self.sh("status"))
        rc, out, err = self.kcat("-C", "-t", "demo", "-e", "-q", "-o", "beginning")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.split()), ["one", "three", "two"])
        self.assertIn("node 2 started", self.sh("restart", "2"))
        self.wait_brokers(3)
        out = self.sh("stop")
        self.assertEqual(out.count("stopped (TERM)"), 3, out)
        self.assertIn("node 1: stopped", self.sh("status"))


if __name__ == "__main__":
    unittest.main()
