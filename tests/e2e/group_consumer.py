"""A consumer-group member for the group tests, run as its own process so a test
can kill it: consumes with manual synchronous commits and prints one line per
record, "partition offset", then "idle" when it has seen nothing for --idle seconds."""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaException


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--idle", type=float, default=8.0)
    ap.add_argument("--instance-id")
    ap.add_argument("--strategy", default="range")
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    a = ap.parse_args()
    conf = {"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": a.session_ms,
            "heartbeat.interval.ms": 500, "partition.assignment.strategy": a.strategy}
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    c = Consumer(conf)

    def on_assign(consumer, parts):
        print("assigned " + ",".join(str(p.partition) for p in parts), flush=True)

    def on_revoke(consumer, parts):
        print("revoked " + ",".join(str(p.partition) for p in parts), flush=True)

    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    last = time.time()
    seen_any = False
    started = time.time()
    while time.time() - started < a.max_seconds:
        msgs = c.consume(num_messages=500, timeout=0.5)
        good = [m for m in msgs if m.error() is None]
        if good:
            out = "".join(f"{m.partition()} {m.offset()}\n" for m in good)
            sys.stdout.write(out)
            sys.stdout.flush()
            try:
                c.commit(asynchronous=False)
            except KafkaException as e:
                print(f"commit-failed {e.args[0].name()}", flush=True)
            last = time.time()
            seen_any = True
        elif seen_any and time.time() - last > a.idle:
            break
    print("idle", flush=True)
    c.close()


if __name__ == "__main__":
    main()
