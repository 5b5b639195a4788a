#!/usr/bin/env python3
"""Records the request frames real Kafka clients send, for golden-byte tests.

Listens on --listen, forwards every connection to --upstream (a running
chronik-server), and writes each client request frame (without its 4-byte size
prefix) to OUT_DIR/<api_key>_<api_version>_<tag>_<n>.bin. Stops after --seconds.

    capture_proxy.py --listen 127.0.0.1:19092 --upstream 127.0.0.1:9092 \
        --out src/kafka/protocol/tests/golden --tag kcat --seconds 10
"""
import argparse
import os
import socket
import struct
import threading
import time


def pump(src, dst, frames_out=None):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if frames_out is None:
                continue
            buf += data
            while len(buf) >= 4:
                (size,) = struct.unpack(">i", buf[:4])
                if len(buf) < 4 + size:
                    break
                frames_out(buf[4:4 + size])
                buf = buf[4 + size:]
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--keep", default="", help="comma-separated api keys to keep (default all)")
    args = ap.parse_args()
    keep = {int(k) for k in args.keep.split(",") if k}
    os.makedirs(args.out, exist_ok=True)
    seen = set()
    lock = threading.Lock()

    def record(frame):
        if len(frame) < 4:
            return
        key, version = struct.unpack(">hh", frame[:4])
        if keep and key not in keep:
            return
        with lock:
            if (key, version) in seen:
                return
            seen.add((key, version))
        path = os.path.join(args.out, f"{key}_{version}_{args.tag}.bin")
        with open(path, "wb") as f:
            f.write(frame)
        print(f"captured {path} ({len(frame)} bytes)", flush=True)

    host, port = args.listen.rsplit(":", 1)
    uhost, uport = args.upstream.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(16)
    ls.settimeout(0.2)
    deadline = time.time() + args.seconds
    while time.time() < deadline:
        try:
            client, _ = ls.accept()
        except socket.timeout:
            continue
        upstream = socket.create_connection((uhost, int(uport)))
        threading.Thread(target=pump, args=(client, upstream, record), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    ls.close()


if __name__ == "__main__":
    main()
