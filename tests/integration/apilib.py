"""Helpers for the API tests (test_api*.py): ember started with --api-sock,
a small raw HTTP/1.1 client for its Unix socket, and checks that every
answer is what ember's spec (src/api/swagger/ember.yaml) allows.

    def test_x(api):                  # fixture: a started ember
        api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})  # asserts 204
        info = api.get("/").json()                                         # asserts 200
        msg = api.fault("PUT", "/actions", {"action_type": "FlushMetrics"}) # asserts 400
        api.boot("test=hello")
        assert api.finish() == 0

Every answer read through Ember.request() (and so put/get/patch/fault) is
validated with openapi.validate_response(); raw exchanges on a Conn are
validated with check() by the test.

The client is our own on purpose: the malformed-request tests need to send
bytes no HTTP library would (a short body, a lying Content-Length, one byte
a second, pipelined requests).
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import openapi
from emberlib import EMBER, REPO, TESTGUEST_ELF

REPO_ROOT = REPO

# Every socket operation of a test has a deadline: a hung server fails the
# test, it never hangs the suite.
DEFAULT_TIMEOUT = 5.0
# A whole test: the suite is meant to take well under a minute; one test
# that takes this long is broken.
TEST_DEADLINE_S = 90

MSG_AFTER = "The requested operation is not supported after starting the microVM."
MSG_BEFORE = "The requested operation is not supported before starting the microVM."
DESER = "An error occurred when deserializing the json body of a request: "


# --------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body, head):
        self.status = status
        self.headers = headers  # {lower-case name: value}
        self.body = body  # bytes
        self.head = head  # the status line and headers as received

    def json(self):
        return json.loads(self.body)

    @property
    def fault_message(self):
        return self.json().get("fault_message")

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Closed(Exception):
    """The server closed the connection before a whole answer arrived."""


class Conn:
    """One connection to the API socket, spoken to in raw bytes."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        self.path = str(path)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        # With a timeout the socket is non-blocking, and connect() to a
        # listener whose backlog is full fails with EAGAIN instead of
        # waiting: wait here, within the timeout.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s.connect(self.path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.s.close()
                    raise
                time.sleep(0.002)
        self.buf = b""
        self.timeout = timeout

    # ---- sending

    @staticmethod
    def format(method, path, body=None, headers=None, version="HTTP/1.1", host=True,
               length=None):
        """Request bytes. body: dict/list (JSON-encoded), str or bytes (as is),
        None (no body, no Content-Length). length: a Content-Length to send
        instead of the real one."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        lines = [f"{method} {path} {version}"]
        if host:
            lines.append("Host: localhost")
        lines.append("Accept: application/json")
        if body is not None:
            lines.append("Content-Type: application/json")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        elif body is not None:
            lines.append(f"Content-Length: {len(body)}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def send_quietly(self, data):
        """send() for a background thread: a server that hangs up ends it
        without an exception (the reading side reports what happened)."""
        try:
            self.send(data)
        except OSError:
            pass

    def send_request(self, method, path, body=None, **kw):
        self.send(self.format(method, path, body, **kw))

    # ---- receiving

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no whole answer in time")
        self.s.settimeout(left)
        chunk = self.s.recv(65536)
        if not chunk:
            raise Closed(f"connection closed; buffered: {self.buf[:200]!r}")
        self.buf += chunk

    def read_response(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.fullmatch(r"HTTP/1\.1 (\d{3}) (.*)", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            assert name and _, f"bad header line {line!r}"
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill(deadline)
        body, self.buf = self.buf[:n], self.buf[n:]
        return Response(int(m.group(1)), headers, body, head.decode("latin-1"))

    def request(self, method, path, body=None, timeout=None, **kw):
        self.send_request(method, path, body, **kw)
        return self.read_response(timeout)

    def wait_closed(self, timeout=None):
        """True when the server closes the connection (after any answer
        already buffered) within the timeout; False if it stays open."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while True:
                self._fill(deadline)
        except Closed:
            return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check(method, path, r):
    """Asserts that answer r to METHOD path fits ember's spec, and that every
    error has a non-empty fault_message. Returns r."""
    openapi.validate_response("ember", method, path, r.status, r.body)
    assert r.headers.get("server") == "Firecracker API", r.head  # as Firecracker's
    assert r.headers.get("connection") in ("keep-alive", "close"), r.head
    if r.status >= 400:
        msg = r.json().get("fault_message")
        assert isinstance(msg, str) and msg, f"{method} {path}: no fault_message: {r.body!r}"
        assert r.headers.get("content-type") == "application/json", r.head
    elif r.status == 204:
        assert r.body == b"" and "content-length" not in r.headers, r.head
    elif r.status == 200:
        assert r.headers.get("content-type") == "application/json", r.head
    return r


# --------------------------------------------------------------------------
# ember


def sock_connectable(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Ember:
    """build/ember with --api-sock in tmp_path, logging to a file, its
    console (stdout) read line by line in the background."""

    _count = {}

    def __init__(self, tmp_path, args=(), prefix=(), level="Debug", log=True, sock=None,
                 stdin=None, wait=True, env=None, cwd=None):
        self.tmp = Path(tmp_path)
        n = Ember._count[str(self.tmp)] = Ember._count.get(str(self.tmp), 0) + 1
        tag = "" if n == 1 else f"-{n}"
        self.sock = Path(sock) if sock else self.tmp / f"api{tag}.sock"
        self.log_path = self.tmp / f"ember{tag}.log" if log else None
        cmd = [*prefix, str(EMBER), "--api-sock", str(self.sock)]
        if log:
            cmd += ["--log-path", str(self.log_path)]
            if level:
                cmd += ["--level", level]
        cmd += [str(a) for a in args]
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  cwd=cwd)
        self.pid = self.p.pid
        self.lines, self.times = [], []
        self._q = queue.Queue()
        self._err = []
        self._t_out = threading.Thread(target=self._pump_out, daemon=True)
        self._t_err = threading.Thread(target=self._pump_err, daemon=True)
        self._t_out.start()
        self._t_err.start()
        self._conn = None
        self.rc = None
        if wait:
            self.wait_ready()

    # ---- process

    def _pump_out(self):
        for line in iter(self.p.stdout.readline, b""):
            self._q.put((time.monotonic(), line.decode("utf-8", "replace")))
        self._q.put((time.monotonic(), None))

    def _pump_err(self):
        for line in iter(self.p.stderr.readline, b""):
            self._err.append(line.decode("utf-8", "replace"))

    @property
    def err(self):
        return "".join(self._err)

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                self._t_err.join(2)
                raise AssertionError(f"ember exited {self.p.returncode} before serving its "
                                     f"socket:\n{self.err}{self.log()}")
            if self.sock.exists() and sock_connectable(self.sock):
                return
            time.sleep(0.005)
        raise AssertionError(f"ember's socket {self.sock} not ready in {timeout} s")

    def alive(self):
        return self.p.poll() is None

    def finish(self, timeout=30):
        """Waits for ember to exit by itself; its exit code."""
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"ember still running after {timeout} s:\n{self.out}"
                                 f"{self.log()}") from None
        self._t_out.join(5)
        self._t_err.join(5)
        self._drain()
        self.close_conn()
        return self.rc

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; the exit code."""
        if self.p.poll() is None:
            os.kill(self.pid, sig)
        return self.finish(timeout)

    def kill(self):
        self.close_conn()
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        for f in (self.p.stdout, self.p.stderr):
            try:
                f.close()
            except OSError:
                pass

    def _drain(self):
        while True:
            try:
                t, line = self._q.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self._q.put((t, None))
                return
            self.lines.append(line)
            self.times.append(t)

    def wait_for(self, text, timeout=20):
        """The monotonic time the first console line containing text arrived."""
        for t, line in zip(self.times, self.lines):
            if text in line:
                return t
        deadline = time.monotonic() + timeout
        while True:
            try:
                t, line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} on the console within {timeout} s:\n"
                                     f"{self.out}{self.log()}") from None
            if line is None:
                self._q.put((t, None))
                raise AssertionError(f"ember ended before {text!r}:\n{self.out}{self.err}"
                                     f"{self.log()}")
            self.lines.append(line)
            self.times.append(t)
            if text in line:
                return t

    @property
    def out(self):
        self._drain()
        return "".join(self.lines)

    def log(self):
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def tests(self):
        """{name: (verdict, detail)} from the test guest's TEST lines."""
        res = {}
        for m in re.finditer(r"^TEST (\S+) (PASS|FAIL|READY|START)(?:[ \t]+(.*))?$", self.out,
                             re.M):
            name, verdict, detail = m.group(1), m.group(2), m.group(3) or ""
            if verdict in ("PASS", "FAIL") or name not in res:
                res[name] = (verdict, detail)
        return res

    # ---- /proc

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def threads(self):
        """{tid: (comm, utime + stime in clock ticks)}."""
        out = {}
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            out[int(tid)] = (comm, int(fields[11]) + int(fields[12]))
        return out

    def vcpu_ticks(self):
        return sum(t for comm, t in self.threads().values() if "vcpu" in comm)

    # ---- API

    def conn(self, timeout=DEFAULT_TIMEOUT):
        return Conn(self.sock, timeout)

    def close_conn(self):
        if self._conn:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, expect=None, timeout=None, **kw):
        """One request on the shared keep-alive connection (reopened when the
        server closed it); the answer, validated against the spec."""
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = self.conn()
            try:
                r = self._conn.request(method, path, body, timeout=timeout, **kw)
                break
            except (Closed, BrokenPipeError, ConnectionResetError):
                self.close_conn()
                if attempt:
                    raise
        if r.headers.get("connection") == "close":
            self.close_conn()
        check(method, path, r)
        if expect is not None:
            assert r.status == expect, f"{method} {path} {body!r}: {r.status} {r.body!r}"
        return r

    def get(self, path, expect=200, **kw):
        return self.request("GET", path, expect=expect, **kw)

    def put(self, path, body, expect=204, **kw):
        return self.request("PUT", path, body, expect=expect, **kw)

    def patch(self, path, body, expect=204, **kw):
        return self.request("PATCH", path, body, expect=expect, **kw)

    def fault(self, method, path, body=None, **kw):
        """Asserts a 400 answer; its fault_message."""
        r = self.request(method, path, body, expect=400, **kw)
        return r.fault_message

    def state(self):
        return self.get("/").json()["state"]

    def vm_config(self):
        return self.get("/vm/config").json()

    def action(self, action_type, expect=204):
        return self.put("/actions", {"action_type": action_type}, expect=expect)

    def configure(self, boot_args="test=hello", vcpus=1, mem_mib=128, drives=(), nets=(),
                  kernel=TESTGUEST_ELF):
        self.put("/machine-config", {"vcpu_count": vcpus, "mem_size_mib": mem_mib})
        self.put("/boot-source", {"kernel_image_path": str(kernel), "boot_args": boot_args})
        for d in drives:
            self.put(f"/drives/{d['drive_id']}", d)
        for n in nets:
            self.put(f"/network-interfaces/{n['iface_id']}", n)

    def boot(self, boot_args="test=hello", **kw):
        self.configure(boot_args, **kw)
        self.action("InstanceStart")


# --------------------------------------------------------------------------
# fixtures (import them into a test module: `from apilib import api, start_ember`)


@pytest.fixture
def start_ember(tmp_path):
    """A factory: start_ember(args=..., prefix=...) -> Ember; all are killed
    at the end of the test."""
    started = []

    def start(**kw):
        e = Ember(kw.pop("tmp_path", tmp_path), **kw)
        started.append(e)
        return e

    yield start
    for e in started:
        e.kill()


@pytest.fixture
def api(start_ember):
    """An ember with nothing configured yet."""
    return start_ember()


@pytest.fixture(autouse=True)
def api_test_deadline():
    """Fails a test that runs longer than TEST_DEADLINE_S instead of hanging."""
    def expired(signum, frame):
        raise TimeoutError(f"the test ran longer than {TEST_DEADLINE_S} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_DEADLINE_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# metrics and logs


def metrics_lines(path):
    """Every metrics line of the file, parsed."""
    text = Path(path).read_text() if Path(path).exists() else ""
    assert text == "" or text.endswith("\n"), f"metrics do not end with a newline: {text[-200:]!r}"
    return [json.loads(line) for line in text.splitlines()]


# Firecracker's log line: local time with nanoseconds, [id:thread(:LEVEL)(:file:line)] msg.
LOG_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}) "
    r"\[(?P<id>[A-Za-z0-9-]+):(?P<thread>[^:\]]+)"
    r"(?::(?P<level>ERROR|WARN|INFO|DEBUG|TRACE))?"
    r"(?::(?P<file>[^:\]]+):(?P<line>\d+))?\] (?P<msg>.*)$")


# --------------------------------------------------------------------------
# network namespaces


@pytest.fixture
def ns():
    """A network namespace of the test's own with taps tap0 and tap1 (up).
    ember must run inside it: start_ember(prefix=ns.prefix())."""
    import netns
    ok, why = netns.available()
    if not ok:
        pytest.skip(why)
    n = netns.NetNS()
    try:
        n.add_tap("tap0")
        n.add_tap("tap1")
        yield n
    finally:
        n.close()


def iface(iface_id="eth0", tap="tap0", mac="06:00:ac:10:00:02", **extra):
    i = {"iface_id": iface_id, "host_dev_name": tap}
    if mac:
        i["guest_mac"] = mac
    i.update(extra)
    return i
