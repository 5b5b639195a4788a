"""Connection deadlines (issue 11, item 7): a partial request that stops arriving and
an idle connection are closed, while healthy clients — a producer and consumer, a
frame on a slow link, a long-poll Fetch, a client that calls now and then — are
not. The deadlines are shortened with --set so the tests take seconds.
"""
import os
import select
import socket
import struct
import threading
import time
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition

from harness import Broker, connect, cpu_ticks, recv_frame, request_header_v1, send_frame
from test_configs import BROKER, describe_documented
from test_hardening import create, produce_request, read_produce_response, v2_batch

READ_TIMEOUT_S = 2.0
IDLE_S = 3.0
MARGIN_S = 2.0  # scheduling slack on a shared, loaded test machine

API_VERSIONS_V0 = request_header_v1(18, 0, 7)


def deadline_args(idle_ms):
    return ["--set", f"connections.max.idle.ms={idle_ms}",
            "--set", f"request_read_timeout_ms={int(READ_TIMEOUT_S * 1000)}"]


def api_versions_roundtrip(sock, correlation_id=7):
    send_frame(sock, request_header_v1(18, 0, correlation_id))
    (corr,) = struct.unpack_from(">i", recv_frame(sock))
    return corr


def fetch_request(topic, partition, offset, max_wait_ms, correlation_id):
    body = struct.pack(">iiiib", -1, max_wait_ms, 1, 1 << 20, 0)  # replica, wait, min/max bytes, isolation
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20)
    return request_header_v1(1, 4, correlation_id) + body


def closed_by_peer(sock):
    """True if the peer has closed (reads end-of-file or reset), without blocking."""
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return False
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def wait_closed(sock, timeout):
    """Seconds until the peer closed `sock`, or None if it did not within timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            try:
                if sock.recv(1) == b"":
                    return time.monotonic() - start
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - start
    return None


class SlowLorisTest(unittest.TestCase):
    def test_trickling_connections_are_closed_while_a_healthy_client_works(self):
        # Idle time far off, so only the partial-request deadline can close them; at
        # debug level the broker says why it closes each connection.
        with Broker(*deadline_args(60000), "--log-level", "debug") as b:
            create(b, "healthy")
            producer = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
            producer.produce("healthy", b"warm-up")
            self.assertEqual(producer.flush(10), 0)

            # Half start their request with the size prefix's first byte; half send
            # the prefix and the header at once and trickle the body.
            size = 1000
            frame = struct.pack(">i", size) + API_VERSIONS_V0 + b"\0" * (size - len(API_VERSIONS_V0))
            lorises = []  # [socket, bytes sent, time of first byte, time closed]
            for i in range(50):
                s = connect(b)
                sent = 1 if i % 2 == 0 else 4 + len(API_VERSIONS_V0)
                s.sendall(frame[:sent])
                lorises.append([s, sent, time.monotonic(), None])

            # The healthy client produces throughout.
            latencies, errors = [], []
            stop = threading.Event()

            def produce():
                n = 0
                while not stop.is_set():
                    t0 = time.monotonic()
                    producer.produce("healthy", b"m%d" % n,
                                     on_delivery=lambda err, _m: errors.append(err) if err else None)
                    producer.flush(10)
                    latencies.append(time.monotonic() - t0)
                    n += 1
                    time.sleep(0.1)

            t = threading.Thread(target=produce)
            t.start()
            try:
                limit = time.monotonic() + READ_TIMEOUT_S + MARGIN_S + 3
                next_send = time.monotonic() + 1
                while time.monotonic() < limit and any(l[3] is None for l in lorises):
                    open_ = [l for l in lorises if l[3] is None]
                    r, _, _ = select.select([l[0] for l in open_], [], [], max(0, next_send - time.monotonic()))
                    for l in open_:
                        if l[0] in r and closed_by_peer(l[0]):
                            l[3] = time.monotonic()
                    if time.monotonic() >= next_send:
                        for l in open_:
                            if l[3] is None and l[1] < len(frame):
                                try:
                                    l[0].send(frame[l[1]:l[1] + 1])  # one byte a second
                                    l[1] += 1
                                except OSError:
                                    pass  # closed: the select above sees it next
                        next_send += 1
            finally:
                stop.set()
                t.join()

            still_open = [l for l in lorises if l[3] is None]
            self.assertEqual(len(still_open), 0, "%d of 50 trickling connections still open after %.0f s" %
                             (len(still_open), READ_TIMEOUT_S + MARGIN_S + 3))
            lifetimes = [l[3] - l[2] for l in lorises]
            print("\nslow loris: closed %.2f..%.2f s after their first byte (deadline %.1f s)" %
                  (min(lifetimes), max(lifetimes), READ_TIMEOUT_S))
            self.assertGreater(min(lifetimes), READ_TIMEOUT_S * 0.9)
            self.assertLess(max(lifetimes), READ_TIMEOUT_S + MARGIN_S)
            for l in lorises:
                l[0].close()

            # The healthy client saw nothing of it: the broker closed the 50 and no other.
            time.sleep(0.2)
            log = b.stderr()
            self.assertEqual(log.count("closing connection"), 50, log[-3000:])
            self.assertEqual(log.count("a partial request did not arrive in time"), 50)
            self.assertEqual(errors, [])
            self.assertGreater(len(latencies), 10)
            self.assertLess(max(latencies), 2.0)
            consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "healthy-reader",
                                 "auto.offset.reset": "earliest", "enable.auto.commit": False})
            consumer.assign([TopicPartition("healthy", 0, 0)])
            got = 0
            deadline = time.monotonic() + 15
            while got < len(latencies) + 1 and time.monotonic() < deadline:
                m = consumer.poll(0.5)
                if m is not None and m.error() is None:
                    got += 1
            consumer.close()
            self.assertEqual(got, len(latencies) + 1)

    def test_a_large_request_on_a_slow_link_is_served(self):
        # A 900 KiB Produce sent at 256 KiB/s takes 3.5 s, beyond request_read_timeout_ms:
        # it keeps arriving faster than request_min_read_rate_bytes (64 KiB/s), so it
        # is served.
        with Broker(*deadline_args(60000)) as b:
            create(b, "slow-link")
            now = int(time.time() * 1000)
            req = produce_request("slow-link", 0, v2_batch([os.urandom(900 * 1024)], [now]))
            frame = struct.pack(">i", len(req)) + req
            s = connect(b, timeout=10)
            start = time.monotonic()
            chunk = 16 * 1024
            for i in range(0, len(frame), chunk):
                s.sendall(frame[i:i + chunk])
                time.sleep(chunk / (256 * 1024))
            corr, err, base = read_produce_response(recv_frame(s))
            self.assertGreater(time.monotonic() - start, READ_TIMEOUT_S * 1.5)
            self.assertEqual((corr, err, base), (1, 0, 0))
            s.close()


class IdleTest(unittest.TestCase):
    def test_idle_connection_is_closed_and_busy_ones_are_not(self):
        with Broker(*deadline_args(int(IDLE_S * 1000))) as b:
            create(b, "long-poll")
            # Idle after one request.
            idle = connect(b, timeout=30)
            self.assertEqual(api_versions_roundtrip(idle), 7)
            # A Fetch waiting 8 s for records that never come: in flight all along.
            poller = connect(b, timeout=30)
            send_frame(poller, fetch_request("long-poll", 0, 0, 8000, 21))
            poll_start = time.monotonic()
            # A request every 2 s, inside the idle time, for 9 s.
            caller = connect(b, timeout=30)
            caller_ok = []

            def call_regularly():
                for i in range(5):
                    caller_ok.append(api_versions_roundtrip(caller, 100 + i) == 100 + i)
                    time.sleep(2)

            t = threading.Thread(target=call_regularly)
            t.start()

            closed_after = wait_closed(idle, IDLE_S + MARGIN_S + 2)
            self.assertIsNotNone(closed_after, "the idle connection is still open")
            print("\nidle: closed %.2f s after its last response (connections.max.idle.ms %d)" %
                  (closed_after, IDLE_S * 1000))
            self.assertGreater(closed_after, IDLE_S * 0.9)
            self.assertLess(closed_after, IDLE_S + MARGIN_S)

            (corr,) = struct.unpack_from(">i", recv_frame(poller))
            waited = time.monotonic() - poll_start
            self.assertEqual(corr, 21)
            self.assertGreater(waited, 7)  # the long poll was held, past the idle time
            self.assertEqual(api_versions_roundtrip(poller, 22), 22)  # and the connection is open

            t.join()
            self.assertEqual(caller_ok, [True] * 5)
            self.assertFalse(closed_by_peer(caller))
            for s in (idle, poller, caller):
                s.close()

    def test_describe_configs_says_the_idle_time_is_applied(self):
        with Broker(*deadline_args(int(IDLE_S * 1000))) as b:
            doc = describe_documented(b, BROKER, "0", ["connections.max.idle.ms"])
            # No "does not act on it" note; the value given at start (static, source 4).
            self.assertEqual(doc["connections.max.idle.ms"], ("3000", True, 4, None))

    def test_idle_broker_uses_no_cpu_and_logs_nothing(self):
        # Open connections, some idle and some with a partial request, on a broker
        # that closes them: no polling while they wait, and nothing in the log.
        with Broker(*deadline_args(int(IDLE_S * 1000))) as b:
            socks = [connect(b) for _ in range(20)]
            for s in socks[:10]:
                s.sendall(b"\0\0")
            time.sleep(0.5)
            log_before = len(b.stderr())
            before = cpu_ticks(b.proc.pid)
            time.sleep(IDLE_S + MARGIN_S)  # every deadline passes meanwhile
            used = cpu_ticks(b.proc.pid) - before
            hz = os.sysconf("SC_CLK_TCK")
            self.assertLess(used / hz / (IDLE_S + MARGIN_S), 0.02, "broker used %d ticks" % used)
            self.assertEqual(len(b.stderr()), log_before)
            self.assertTrue(all(closed_by_peer(s) for s in socks), "a connection is still open")
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()
