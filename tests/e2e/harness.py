"""Starts the real chronik-server for black-box tests.

Every test gets its own broker process on a free loopback port (the server binds
port 0 and prints the port it got) and its own temporary data directory. The
server binary comes from E2E_CHRONIK_SERVER (set by ctest).
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

SERVER = os.environ.get("E2E_CHRONIK_SERVER", os.path.join(os.path.dirname(__file__), "../../build/bin/chronik-server"))
LISTEN_RE = re.compile(rb"listening on ([0-9.]+):([0-9]+)")
# What ASan, UBSan and TSan print when they find something (see E2E_SANITIZED in
# tests/e2e/CMakeLists.txt); CHRONIK_ASSERT failures count too.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "CHRONIK_ASSERT failed")


class Broker:
    def __init__(self, *extra_args, data_dir=None, smp=2, env=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="chronik-e2e-")
        self.args = [SERVER, "start", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
                     "--smp", str(smp), *extra_args]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".stderr")

    def start(self, timeout=10):
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.stderr_file, env=self.env)
        deadline = time.time() + timeout
        line = b""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            m = LISTEN_RE.search(line)
            if m:
                self.port = int(m.group(2))
                return self
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"chronik-server did not start: {line!r}\n{self.stderr()}")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the broker; returns its exit code (None after SIGKILL)."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("chronik-server did not stop within %ss:\n%s" % (timeout, self.stderr()))
        self.proc.stdout.close()
        self.stderr_file.close()
        self.proc = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.stderr_file.close()
        self.proc = None

    def sanitizer_report(self):
        """The first sanitizer report the broker printed, or None."""
        text = self.stderr()
        for marker in SANITIZER_MARKERS:
            i = text.find(marker)
            if i >= 0:
                return text[max(0, i - 200):i + 6000]
        return None

    def cleanup(self):
        if self.proc is not None:
            self.kill9()
        report = self.sanitizer_report()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass
        if report is not None:
            raise AssertionError("chronik-server printed a sanitizer report:\n" + report)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if self.proc is not None:
                rc = self.stop()
                assert rc == 0, f"chronik-server exited with {rc}:\n{self.stderr()}"
        finally:
            self.cleanup()


def connect(broker, timeout=5):
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=timeout)
    return s


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_frame(sock, payload):
    sock.sendall(struct.pack(">i", len(payload)) + payload)


def recv_frame(sock):
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def request_header_v1(api_key, version, correlation_id, client_id=b"e2e"):
    return struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id


def request_header_v2(api_key, version, correlation_id, client_id=b"e2e"):
    return request_header_v1(api_key, version, correlation_id, client_id) + b"\x00"


# Kafka's wire encodings, for tests that write requests no Debian client sends.
def uvarint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def compact_string(s):
    """A flexible-version string; None is the null string."""
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


class Reader:
    """Reads a response frame field by field."""

    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def uvarint(self):
        shift = n = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return n
            shift += 7

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
