"""ApiVersions and connection-level bad input, against the real chronik-server."""
import os
import shutil
import socket
import struct
import subprocess
import time
import unittest

from harness import (Broker, connect, cpu_ticks, recv_exact, recv_frame, request_header_v1, request_header_v2,
                     send_frame)

API_VERSIONS = 18


def parse_api_versions(body, version):
    """Parses an ApiVersions response body; returns (error_code, {key: (min, max)})."""
    (error,) = struct.unpack_from(">h", body, 0)
    pos = 2
    apis = {}
    if version >= 3:
        n = body[pos] - 1  # compact array, single-byte varint for < 127 entries
        pos += 1
        for _ in range(n):
            key, lo, hi = struct.unpack_from(">hhh", body, pos)
            pos += 6 + 1  # + empty tagged fields
            apis[key] = (lo, hi)
    else:
        (n,) = struct.unpack_from(">i", body, pos)
        pos += 4
        for _ in range(n):
            key, lo, hi = struct.unpack_from(">hhh", body, pos)
            pos += 6
            apis[key] = (lo, hi)
    return error, apis


def api_versions_request(version, correlation_id):
    if version >= 3:
        body = b"\x0be2e-client\x061.0.0\x00"  # compact strings + empty tagged fields
        return request_header_v2(API_VERSIONS, version, correlation_id) + body
    return request_header_v1(API_VERSIONS, version, correlation_id)


class ApiVersionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, rc

    def test_every_version_lists_itself(self):
        with connect(self.broker) as s:
            for version in range(0, 5):
                send_frame(s, api_versions_request(version, 100 + version))
                frame = recv_frame(s)
                (corr,) = struct.unpack_from(">i", frame, 0)
                self.assertEqual(corr, 100 + version)
                # ApiVersions responses always use response header v0 (KIP-511).
                error, apis = parse_api_versions(frame[4:], version)
                self.assertEqual(error, 0)
                self.assertEqual(apis.get(API_VERSIONS), (0, 4))

    def test_unsupported_version_gets_a_v0_answer_with_the_supported_range(self):
        with connect(self.broker) as s:
            send_frame(s, request_header_v2(API_VERSIONS, 99, 7) + b"\x00\x00\x00")
            frame = recv_frame(s)
            (corr,) = struct.unpack_from(">i", frame, 0)
            self.assertEqual(corr, 7)
            error, apis = parse_api_versions(frame[4:], 0)
            self.assertEqual(error, 35)  # UNSUPPORTED_VERSION
            self.assertEqual(apis.get(API_VERSIONS), (0, 4))
            # The connection stays usable.
            send_frame(s, api_versions_request(3, 8))
            self.assertEqual(struct.unpack_from(">i", recv_frame(s), 0)[0], 8)

    def test_pipelined_requests_are_answered_in_order(self):
        with connect(self.broker) as s:
            s.sendall(b"".join(struct.pack(">i", len(r)) + r
                               for r in (api_versions_request(i % 4, 1000 + i) for i in range(50))))
            for i in range(50):
                self.assertEqual(struct.unpack_from(">i", recv_frame(s), 0)[0], 1000 + i)

    def assert_closed(self, s):
        s.settimeout(5)
        try:
            data = s.recv(1)
        except ConnectionResetError:
            return
        self.assertEqual(data, b"")

    def assert_still_serving(self):
        with connect(self.broker) as s:
            send_frame(s, api_versions_request(3, 1))
            self.assertEqual(struct.unpack_from(">i", recv_frame(s), 0)[0], 1)

    def test_oversized_and_negative_frames_close_the_connection(self):
        for size in (200 * 1024 * 1024, -1, -(2 ** 31)):
            with connect(self.broker) as s:
                s.sendall(struct.pack(">i", size) + b"\x00" * 16)
                self.assert_closed(s)
        self.assert_still_serving()

    def test_garbage_and_truncated_headers_close_the_connection(self):
        for payload in (b"", b"\x00", b"\x00\x12\x00", b"\xff" * 64, struct.pack(">hhi", 18, 3, 1) + b"\x7f\xff"):
            with connect(self.broker) as s:
                send_frame(s, payload)
                self.assert_closed(s)
        self.assert_still_serving()

    def test_unknown_api_key_closes_the_connection(self):
        with connect(self.broker) as s:
            send_frame(s, request_header_v1(9999, 0, 5))
            self.assert_closed(s)
        self.assert_still_serving()

    def test_known_but_unserved_api_gets_unsupported_version_and_keeps_the_connection(self):
        with connect(self.broker) as s:
            # SaslHandshake v1 (key 17), mechanism PLAIN: not served (no SASL yet), and
            # its response has a top-level error code.
            send_frame(s, request_header_v1(17, 1, 31) + b"\x00\x05PLAIN")
            frame = recv_frame(s)
            corr, error = struct.unpack_from(">ih", frame, 0)
            self.assertEqual((corr, error), (31, 35))
            send_frame(s, api_versions_request(3, 32))
            self.assertEqual(struct.unpack_from(">i", recv_frame(s), 0)[0], 32)

    def test_half_frame_and_stall_does_not_block_others(self):
        stalled = connect(self.broker)
        stalled.sendall(struct.pack(">i", 1000) + b"\x00\x12")
        try:
            for _ in range(3):
                self.assert_still_serving()
        finally:
            stalled.close()

    def test_idle_broker_uses_no_cpu_and_logs_nothing(self):
        time.sleep(0.5)
        log_before = len(self.broker.stderr())
        pid = self.broker.proc.pid

        before = cpu_ticks(pid)
        time.sleep(3)
        used = cpu_ticks(pid) - before
        hz = os.sysconf("SC_CLK_TCK")
        self.assertLess(used / hz / 3, 0.02, "idle broker used %d ticks in 3 s" % used)
        self.assertEqual(len(self.broker.stderr()), log_before)


@unittest.skipUnless(shutil.which("kcat"), "kcat not installed")
class KcatTest(unittest.TestCase):
    def test_kcat_negotiates_api_versions(self):
        with Broker() as b:
            out = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-m", "5", "-d", "protocol,broker"],
                                 capture_output=True, timeout=30)
            log = out.stderr.decode(errors="replace")
            # librdkafka logs the ApiVersion response it received and the APIs it will use.
            self.assertRegex(log, r"Received ApiVersionResponse \(v3, \d+ bytes, CorrId 1")
            self.assertIn("APIVERSION_QUERY -> UP", log)
            self.assertNotIn("ApiVersionRequest failed", log)


class StartupTest(unittest.TestCase):
    def test_bad_config_is_refused_by_name(self):
        from harness import SERVER
        out = subprocess.run([SERVER, "start", "--no-such-key", "1"], capture_output=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"no_such_key", out.stderr)

    def test_sigterm_stops_cleanly_with_a_client_connected(self):
        b = Broker().start()
        try:
            s = connect(b)
            send_frame(s, api_versions_request(3, 1))
            recv_frame(s)
            self.assertEqual(b.stop(), 0)
            s.close()
        finally:
            b.cleanup()


if __name__ == "__main__":
    unittest.main()
