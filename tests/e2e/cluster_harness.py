"""Several chronik-server processes as one cluster on loopback, for the cluster
suites: each node has a fixed Kafka port and rpc port (so a restarted node is
where clients and peers knew it), its own data dir, and every node is a voter.
"""
import socket
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Broker


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=20.0, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            got = check()
            if got:
                return got
        except KafkaException as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


class Cluster:
    def __init__(self, n=3, settings=(), smp=1):
        self.rpc = {i: free_port() for i in range(1, n + 1)}
        self.kafka = {i: free_port() for i in range(1, n + 1)}
        voters = ",".join(f"{i}@127.0.0.1:{p}" for i, p in self.rpc.items())
        extra = [a for s in settings for a in ("--set", s)]
        self.nodes = {
            i: Broker("--node-id", str(i), "--listen", f"127.0.0.1:{self.kafka[i]}",
                      "--rpc-listen", f"127.0.0.1:{p}", "--voters", voters, *extra, smp=smp)
            for i, p in self.rpc.items()
        }

    def start(self, formed=True):
        for b in self.nodes.values():
            b.start()
        if formed:
            self.wait_formed()
        return self

    def wait_formed(self, timeout=30.0):
        """Every node lists every broker and names the same controller; returns it."""
        def check():
            seen = set()
            for i in self.nodes:
                md = self.metadata(i)
                if len(md.brokers) != len(self.nodes) or md.controller_id < 0:
                    return None
                seen.add(md.controller_id)
            return seen.pop() if len(seen) == 1 else None
        return wait_for("the cluster to form", check, timeout)

    @property
    def bootstrap(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.kafka.values())

    def admin(self, i=None):
        return AdminClient({"bootstrap.servers": self.nodes[i].bootstrap if i else self.bootstrap})

    def metadata(self, i, topic=None):
        return self.admin(i).list_topics(topic, timeout=5)

    def create(self, node, name, partitions=3, rf=1, config=None):
        admin = self.admin(node)  # held until the answer: a destroyed client ends its futures
        fs = admin.create_topics([NewTopic(name, partitions, rf, config=config or {})], request_timeout=15)
        fs[name].result()

    def partitions(self, node, topic):
        """{partition: (leader, replicas, isr)} as `node` reports them."""
        md = self.metadata(node, topic)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return {}
        return {p.id: (p.leader, list(p.replicas), sorted(p.isrs)) for p in t.partitions.values()}

    def leaders_view(self, topic):
        """{partition: (leader, replicas, isr)}, each as the partition's leader
        reports it (only a leader knows its ISR); None while any has no leader."""
        out = {}
        views = {}
        for i in self.nodes:
            if self.nodes[i].proc is None:
                continue
            try:
                views[i] = self.partitions(i, topic)
            except KafkaException:
                continue
        any_view = next((v for v in views.values() if v), None)
        if not any_view:
            return None
        for p, (leader, _, _) in any_view.items():
            v = views.get(leader, {}).get(p)
            if v is None or v[0] != leader:
                return None
            out[p] = v
        return out

    def wait_all_in_sync(self, topic, timeout=30.0):
        """Every partition led, with all its replicas in sync (as its leader says)."""
        def check():
            v = self.leaders_view(topic)
            return v if v and all(len(isr) == len(r) for _, r, isr in v.values()) else None
        return wait_for(f"{topic} led and fully in sync", check, timeout)

    def cleanup(self):
        errors = []
        for b in self.nodes.values():
            try:
                if b.proc is not None:
                    rc = b.stop()
                    if rc != 0:
                        errors.append(f"node exited with {rc}:\n{b.stderr()}")
            finally:
                b.cleanup()
        if errors:
            raise AssertionError("\n".join(errors))
