"""The process around the API: orderly stops on SIGTERM / SIGINT (exit code,
last log lines, last metrics line, socket removed), --api-sock on a path
that is taken, and the README's curl session run as written."""

import re
import shutil
import signal
import subprocess
import time

import pytest

import disks
from apilib import (Ember, REPO_ROOT, api, metrics_lines, sock_connectable,  # noqa: F401
                    start_ember)
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)
from emberlib import EMBER

pytestmark = pytest.mark.kvm


def idle_vm(e, tmp_path):
    img = disks.pattern_image(tmp_path / "d0.img", 64)
    e.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})
    e.boot("test=idle idle_timeout_s=30", vcpus=2, drives=[disks.drive("d0", img)])
    e.wait_for("TEST idle READY")


@pytest.mark.parametrize("sig,code,name", [(signal.SIGTERM, 143, "Terminated"),
                                           (signal.SIGINT, 130, "Interrupt"),
                                           (signal.SIGHUP, 156, "Hangup")])
def test_stop_signal_on_a_running_vm(api, tmp_path, sig, code, name):
    idle_vm(api, tmp_path)
    api.get("/machine-config")
    assert len(metrics_lines(tmp_path / "m.json")) == 1
    t0 = time.monotonic()
    assert api.stop(sig) == code
    assert time.monotonic() - t0 < 3
    assert not api.sock.exists()
    log = api.log()
    assert f"received {name}; stopping" in log
    assert f"exit code {code}" in log
    lines = metrics_lines(tmp_path / "m.json")
    assert len(lines) == 2  # the last one written at the exit
    assert lines[-1]["get_api_requests"]["machine_cfg_count"] == 1
    if sig == signal.SIGHUP:
        assert lines[-1]["signals"]["sighup"] == 1
    assert "TEST idle PASS" not in api.out


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signal_before_boot(start_ember, tmp_path, sig, code):
    e = start_ember(args=["--metrics-path", tmp_path / "m.json"])
    e.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    assert e.stop(sig) == code
    assert not e.sock.exists()
    assert f"exit code {code}" in e.log()
    assert len(metrics_lines(tmp_path / "m.json")) == 1


def test_stop_with_clients_connected(api, tmp_path):
    """Idle keep-alive clients, a half-sent request and a client that does
    not read: none of them delays the exit."""
    idle_vm(api, tmp_path)
    idle = [api.conn() for _ in range(5)]
    for c in idle:
        assert c.request("GET", "/").status == 200
    half = api.conn()
    half.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    deaf = api.conn()
    deaf.send(b"GET /vm/config HTTP/1.1\r\n\r\n" * 2000)
    t0 = time.monotonic()
    assert api.stop() == 143
    assert time.monotonic() - t0 < 3
    assert not api.sock.exists()
    for c in idle + [half]:
        assert c.wait_closed(2)
        c.close()
    deaf.close()


def test_exit_code_of_a_guest_reset_is_0_and_the_socket_goes(api):
    api.boot("test=hello")
    assert api.finish() == 0
    assert not api.sock.exists()


def test_api_sock_on_an_existing_file(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("precious")
    p = subprocess.run([str(EMBER), "--api-sock", str(taken)], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1
    assert f"Failed to bind socket '{taken}'" in p.stderr
    assert taken.read_text() == "precious"


def test_api_sock_of_a_live_instance(api, tmp_path):
    p = subprocess.run([str(EMBER), "--api-sock", str(api.sock)], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1 and "Failed to bind socket" in p.stderr
    # The first instance still has its socket and answers on it.
    assert api.sock.exists()
    assert api.get("/").json()["state"] == "Not started"


def test_api_sock_in_a_missing_directory(tmp_path):
    p = subprocess.run([str(EMBER), "--api-sock", str(tmp_path / "no" / "s")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "No such file or directory" in p.stderr


def test_api_sock_path_too_long(tmp_path):
    path = tmp_path / ("s" * 120)
    p = subprocess.run([str(EMBER), "--api-sock", str(path)], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode != 0 and "longer than" in p.stderr
    assert not path.exists()


def test_socket_appears_quickly(tmp_path):
    """The socket is served within a fraction of a second of the start."""
    t0 = time.monotonic()
    e = Ember(tmp_path)
    try:
        assert time.monotonic() - t0 < 1
        assert sock_connectable(e.sock)
    finally:
        e.kill()


def readme_session():
    """The README's curl session (the ```sh block under "Driving it through
    the API"), as text."""
    text = (REPO_ROOT / "README.md").read_text()
    m = re.search(r"### Driving it through the API.*?```sh\n(.*?)```", text, re.S)
    assert m, "README.md has no API session"
    return m.group(1)


def test_readme_curl_session(tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    script = readme_session()
    assert "curl --unix-socket" in script and "InstanceStart" in script
    # Only the shared /tmp paths change, so that runs do not collide.
    sock, disk = tmp_path / "ember.socket", tmp_path / "ember-disk.img"
    script = script.replace("/tmp/ember.socket", str(sock)).replace("/tmp/ember-disk.img",
                                                                   str(disk))
    # Pasted as a whole, the session must not race ember's start: the line
    # after the `&` waits for the socket.
    lines = script.splitlines()
    bg = next(i for i, line in enumerate(lines) if line.rstrip().endswith("&"))
    assert lines[bg + 1].startswith(f"while ! [ -S {sock} ]"), lines[bg + 1]
    # On a terminal, curl's answers and ember's console share the screen and
    # may interleave mid-line (the guest prints while InstanceStart's answer
    # is written); here curl's output goes to a file of its own, so that
    # each can be checked whole. The session itself is run as written.
    answers = tmp_path / "curl.out"
    wrapper = f'curl() {{ command curl "$@" >> {answers}; }}'
    p = subprocess.run(["bash", "-e", "-c", "\n".join([wrapper] + lines)], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    out = answers.read_text()
    statuses = re.findall(r"^HTTP/1\.1 (\d{3})", out, re.M)
    assert statuses == ["204"] * script.count("curl "), out
    assert "TEST hello PASS" in p.stdout and "virtio=1" in p.stdout, p.stdout
    assert not sock.exists()
