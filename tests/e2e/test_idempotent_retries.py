"""Idempotent production through a network that loses Produce responses.

A proxy between librdkafka and the real broker forwards every request but, for one
Produce response in five, closes the connection instead of delivering it: the batch
was written, the client never hears so, and retries it with the same sequence
numbers. The broker must recognise each retry and answer with the original offsets,
so the log holds every record exactly once, in order.
"""
import random
import socket
import struct
import threading
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker

PRODUCE = 0


class LossyProxy:
    """Forwards Kafka frames to the broker; drops some Produce responses by closing."""

    def __init__(self, drop_ratio, seed=7):
        self.rng = random.Random(seed)
        self.drop_ratio = drop_ratio
        self.lock = threading.Lock()  # lock-ok: test-only, guards the proxy's counters and rng
        self.dropped = 0
        self.target = None
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()  # the broker has stopped
                continue
            produce_ids = set()
            threading.Thread(target=self.requests, args=(client, upstream, produce_ids), daemon=True).start()
            threading.Thread(target=self.responses, args=(upstream, client, produce_ids), daemon=True).start()

    @staticmethod
    def read_frame(sock):
        head = b""
        while len(head) < 4:
            chunk = sock.recv(4 - len(head))
            if not chunk:
                return None
            head += chunk
        (size,) = struct.unpack(">i", head)
        body = b""
        while len(body) < size:
            chunk = sock.recv(size - len(body))
            if not chunk:
                return None
            body += chunk
        return head + body

    def requests(self, client, upstream, produce_ids):
        try:
            while True:
                frame = self.read_frame(client)
                if frame is None:
                    break
                api_key, _version, corr = struct.unpack_from(">hhi", frame, 4)
                if api_key == PRODUCE:
                    produce_ids.add(corr)
                upstream.sendall(frame)
        except OSError:
            pass
        self.close_both(client, upstream)

    def responses(self, upstream, client, produce_ids):
        try:
            while True:
                frame = self.read_frame(upstream)
                if frame is None:
                    break
                (corr,) = struct.unpack_from(">i", frame, 4)
                if corr in produce_ids:
                    produce_ids.discard(corr)
                    with self.lock:
                        drop = self.rng.random() < self.drop_ratio
                        self.dropped += drop
                    if drop:
                        break  # the batch is written; its answer is lost
                client.sendall(frame)
        except OSError:
            pass
        self.close_both(client, upstream)

    @staticmethod
    def close_both(a, b):
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.closed = True
        self.listener.close()


class IdempotentRetryTest(unittest.TestCase):
    def test_lost_responses_are_retried_without_duplicates(self):
        proxy = LossyProxy(drop_ratio=0.2)
        try:
            with Broker("--advertised-listener", f"127.0.0.1:{proxy.port}") as b:
                proxy.target = ("127.0.0.1", b.port)
                bootstrap = f"127.0.0.1:{proxy.port}"
                admin = AdminClient({"bootstrap.servers": bootstrap})
                admin.create_topics([NewTopic("retried", 1, 1)], operation_timeout=10)["retried"].result(timeout=15)
                p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                              "linger.ms": 5, "batch.num.messages": 50, "message.timeout.ms": 60000,
                              "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100})
                errors = []
                values = [b"m%05d" % i for i in range(3000)]
                for i, v in enumerate(values):
                    p.produce("retried", v, partition=0, on_delivery=lambda e, m: e and errors.append(e))
                    if i % 100 == 99:
                        p.flush(60)
                self.assertEqual(p.flush(60), 0)
                self.assertEqual(errors, [])
                self.assertGreater(proxy.dropped, 3, "the proxy dropped too few responses to mean anything")

                c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "v", "enable.auto.commit": False})
                c.assign([TopicPartition("retried", 0, 0)])
                got = []
                while len(got) < len(values):
                    m = c.poll(5)
                    if m is None:
                        break
                    self.assertIsNone(m.error())
                    got.append(m.value())
                extra = c.poll(1)
                c.close()
                self.assertIsNone(extra, "more records than were produced")
                self.assertEqual(got, values)  # every record once, in order
                print(f"{proxy.dropped} Produce responses lost; {len(values)} records, each exactly once")
        finally:
            proxy.close()


if __name__ == "__main__":
    unittest.main()
