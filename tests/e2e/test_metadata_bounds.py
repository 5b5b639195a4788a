"""Issue 11, item 6: a Metadata request naming very many unknown topics, with
auto-creation on (the default), must be answered promptly, start only a bounded
amount of topic creation, and not hold up shutdown.

The broker's design (src/kafka/server/handlers/metadata.cc): at most PER_REQUEST
unknown names of one request are queued for creation on shard 0, at most QUEUED
in total; queued names are created in the background, a batch per table change.
Every auto-creatable name that is not there yet is answered LEADER_NOT_AVAILABLE
(what Kafka answers while a topic is being created; clients retry it), so the
names past the bound are created by the clients' retries, not refused.

The Metadata requests are written by hand (v4, the first with
allow_auto_topic_creation), as no Debian client sends 100,000 names.
"""
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest

from harness import Broker, Reader, connect, recv_frame, request_header_v1, send_frame

PER_REQUEST = 1000
QUEUED = 10000
NONE, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE = 0, 3, 5


def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def metadata_request(names, allow_auto_create=True, correlation_id=1):
    """Metadata v4; names None asks for every topic."""
    if names is None:
        topics = struct.pack(">i", -1)
    else:
        topics = struct.pack(">i", len(names)) + b"".join(string(n) for n in names)
    return request_header_v1(3, 4, correlation_id) + topics + struct.pack(">?", allow_auto_create)


def parse_metadata_v4(frame):
    """{name: (error_code, partition count)} from a Metadata v4 response."""
    r = Reader(frame)
    r.take(">i")  # correlation id
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):
        r.take(">i")
        r.string()
        r.take(">i")
        r.string()  # rack
    r.string()  # cluster id
    r.take(">i")  # controller
    topics = {}
    for _ in range(r.take(">i")):
        err = r.take(">h")
        name = r.string()
        r.take(">?")
        n = r.take(">i")
        for _ in range(n):
            r.take(">hii")
            for _ in range(2):  # replicas, isr
                count = r.take(">i")
                r.pos += 4 * count
        topics[name] = (err, n)
    return topics


def metadata(b, names, allow_auto_create=True, timeout=30):
    with connect(b, timeout=timeout) as s:
        send_frame(s, metadata_request(names, allow_auto_create))
        return parse_metadata_v4(recv_frame(s))


def wait_for_count(b, at_least, deadline_s=30):
    """The number of topics once it has stopped growing (and reached at_least)."""
    deadline = time.time() + deadline_s
    last = -1
    while time.time() < deadline:
        n = len(metadata(b, None))
        if n >= at_least and n == last:
            return n
        last = n
        time.sleep(0.3)
    return last


class MetadataAutoCreateBounds(unittest.TestCase):
    def test_many_unknown_names_are_answered_promptly_and_creation_is_bounded(self):
        with Broker() as b:
            names = ["many-%06d" % i for i in range(100_000)]
            start = time.monotonic()
            got = metadata(b, names)
            elapsed = time.monotonic() - start
            print("\n100,000 unknown names answered in %.2f s" % elapsed)
            self.assertLess(elapsed, 5)
            self.assertEqual(set(got), set(names))
            # The first PER_REQUEST are being created (or, if that was quick, are there
            # already); the rest are not, and say so in a way clients retry.
            for n in names[:PER_REQUEST]:
                self.assertIn(got[n][0], (NONE, LEADER_NOT_AVAILABLE), n)
            for n in names[PER_REQUEST:]:
                self.assertEqual(got[n], (LEADER_NOT_AVAILABLE, 0), n)
            # Creation finishes in the background, and stops at the bound.
            self.assertEqual(wait_for_count(b, PER_REQUEST), PER_REQUEST)
            later = metadata(b, [names[0], names[PER_REQUEST // 2], names[PER_REQUEST - 1]],
                             allow_auto_create=False)
            self.assertEqual(set(later.values()), {(NONE, 1)})
            later = metadata(b, [names[PER_REQUEST], names[-1]], allow_auto_create=False)
            self.assertEqual(set(later.values()), {(UNKNOWN_TOPIC_OR_PARTITION, 0)})
            # Asking again creates the next PER_REQUEST: the bound defers, it does not refuse.
            got = metadata(b, names)
            self.assertEqual(got[names[0]], (NONE, 1))
            self.assertEqual(got[names[-1]], (LEADER_NOT_AVAILABLE, 0))
            self.assertEqual(wait_for_count(b, 2 * PER_REQUEST), 2 * PER_REQUEST)

    def test_sigterm_while_creating_in_the_background_exits_promptly(self):
        b = Broker()
        try:
            b.start()
            # Many such requests at once, each on its own connection: each is answered
            # promptly, and the queue bound holds however many arrive.
            requests = 15
            socks = []
            for r in range(requests):
                s = connect(b, timeout=30)
                send_frame(s, metadata_request(["r%02d-%06d" % (r, i) for i in range(100_000)]))
                socks.append(s)
            start = time.monotonic()
            self.assertEqual(len(parse_metadata_v4(recv_frame(socks[0]))), 100_000)
            print("\nfirst of %d requests of 100,000 unknown names answered in %.2f s"
                  % (requests, time.monotonic() - start))
            self.assertLess(time.monotonic() - start, 10)
            # SIGTERM with the other requests still in flight and creation under way.
            start = time.monotonic()
            b.proc.send_signal(signal.SIGTERM)
            answered = 1
            for s in socks[1:]:
                try:
                    parse_metadata_v4(recv_frame(s))
                    answered += 1
                except (ConnectionError, OSError):
                    pass  # not read before the stop: closed unanswered
                s.close()
            rc = b.stop(timeout=30)
            elapsed = time.monotonic() - start
            log = b.stderr()
            cut = re.search(r"auto-creation stopped with (\d+) topics still queued", log)
            print("SIGTERM: exited %s in %.2f s; %d requests answered; %s"
                  % (rc, elapsed, answered, cut.group(0) if cut else "nothing was queued"))
            self.assertEqual(rc, 0, log)
            self.assertLess(elapsed, 12)
            # What was created is intact after the restart, and never more than was asked.
            b.start()
            n = len(metadata(b, None))
            print("topics created before the stop: %d" % n)
            self.assertLessEqual(n, answered * PER_REQUEST)
            # Each request queued exactly PER_REQUEST names, and a batch is stored
            # whole or not at all.
            self.assertEqual(n % PER_REQUEST, 0)
            self.assertEqual(b.stop(), 0)
        finally:
            b.cleanup()

    def test_a_producer_to_an_unknown_topic_gets_it_created(self):
        from confluent_kafka import Producer
        with Broker() as b:
            p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
            errors = []
            p.produce("made-by-producer", b"v", on_delivery=lambda e, m: e and errors.append(e))
            self.assertEqual(p.flush(15), 0)
            self.assertEqual(errors, [])
            self.assertEqual(metadata(b, ["made-by-producer"], allow_auto_create=False),
                             {"made-by-producer": (NONE, 1)})
            if shutil.which("kcat"):
                # kcat -L asks once; the broker waits briefly for a small creation so
                # the answer already shows the topic.
                out = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-t", "made-by-kcat"],
                                     capture_output=True, timeout=30, check=True).stdout.decode()
                self.assertIn('topic "made-by-kcat" with 1 partitions', out)


if __name__ == "__main__":
    unittest.main()
