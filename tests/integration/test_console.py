"""The serial console: input in order with nothing lost, output that never
stalls the guest, a terminal restored on every exit path."""

import fcntl
import json
import os
import pty
import re
import signal
import subprocess
import termios
import time

import pytest

from emberlib import EMBER, EXIT_GENERIC, EXIT_OK, TESTGUEST_ELF, config

pytestmark = pytest.mark.kvm

F_SETPIPE_SZ = 1031


def write_config(tmp_path, boot_args, **kw):
    path = tmp_path / "vm.json"
    path.write_text(json.dumps(config(boot_args=boot_args, **kw)))
    return path


def start(tmp_path, boot_args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, level="Info",
          **kw):
    cfg = write_config(tmp_path, boot_args, **kw)
    log = tmp_path / "ember.log"
    p = subprocess.Popen([str(EMBER), "--no-api", "--config-file", str(cfg), "--log-path",
                          str(log), "--level", level], stdin=stdin, stdout=stdout,
                         stderr=subprocess.PIPE)
    return p, log


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_input_line_reaches_the_guest(tmp_path):
    p, _ = start(tmp_path, "test=echo", stdin=subprocess.PIPE)
    out, _ = p.communicate(b"hello from the host\n", timeout=30)
    assert p.returncode == EXIT_OK
    assert b"TEST echo PASS got=hello from the host" in out


def test_input_larger_than_the_fifo_is_not_lost(tmp_path):
    # 5000 bytes through a 64-byte receive FIFO: ember must stop reading
    # when the FIFO is full and resume when the guest drains it.
    data = bytes((i * 131 + 17) & 0xFF for i in range(5000))
    p, _ = start(tmp_path, f"test=echo echo_bytes={len(data)} echo_timeout_s=30",
                 stdin=subprocess.PIPE)
    out, _ = p.communicate(data, timeout=60)
    assert p.returncode == EXIT_OK
    assert f"TEST echo PASS bytes={len(data)} fnv1a={fnv1a(data):016x}".encode() in out


def test_output_to_a_regular_file(tmp_path):
    out = open(tmp_path / "console.txt", "wb")
    p, _ = start(tmp_path, "test=flood flood_kib=16", stdout=out)
    assert p.wait(timeout=30) == EXIT_OK
    text = (tmp_path / "console.txt").read_text()
    assert "TEST flood PASS bytes=16384" in text
    assert len(re.findall(r"^flood \d{8} [a-z]+$", text, re.M)) == 256


def test_unread_output_never_stalls_the_guest(tmp_path):
    # Nobody reads ember's stdout while the guest prints 160 KiB: the pipe
    # (shrunk to 4 KiB) and ember's 64 KiB ring fill, the rest is dropped and
    # counted, and the guest still runs to its reset.
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    p, log = start(tmp_path, "test=flood flood_kib=160", stdout=w, level="Debug")
    os.close(w)
    try:
        rc = p.wait(timeout=60)
    finally:
        os.set_blocking(r, False)
        try:
            while os.read(r, 65536):
                pass
        except BlockingIOError:
            pass
        os.close(r)
    assert rc == EXIT_OK
    text = log.read_text()
    assert "guest requested a reset through the i8042" in text
    m = re.search(r"console: (\d+) bytes out, (\d+) dropped", text)
    assert m, text
    out, dropped = map(int, m.groups())
    assert out > 160 * 1024 and dropped > 60 * 1024, text


def test_closed_reader_is_not_fatal(tmp_path):
    # Every line the guest prints meets EPIPE: the output is dropped and
    # counted, and the warning is rate-limited (10 per 5 s, then a count).
    r, w = os.pipe()
    os.close(r)  # writes to w now fail with EPIPE
    p, log = start(tmp_path, "test=flood flood_kib=64", stdout=w, level="Debug")
    os.close(w)
    assert p.wait(timeout=30) == EXIT_OK
    text = log.read_text()
    m = re.search(r"console: (\d+) bytes out, (\d+) dropped", text)
    assert m and int(m.group(1)) >= 65536 and m.group(1) == m.group(2), text
    # 1024 lines in about a second: 10 warnings (20 if a 5-second window
    # ended meanwhile).
    failed = text.count("console output failed (Broken pipe); output is being dropped")
    assert 10 <= failed <= 20, text


def _run_on_pty(tmp_path, boot_args, action):
    """Runs ember with a pty as its console; returns (rc, before, during,
    after) terminal attributes and the output."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p, log = start(tmp_path, boot_args, stdin=slave, stdout=slave)
    out = b""
    during = None
    deadline = time.monotonic() + 30
    while p.poll() is None and time.monotonic() < deadline:
        os.set_blocking(master, False)
        try:
            out += os.read(master, 65536)
        except (BlockingIOError, OSError):
            time.sleep(0.02)
        if during is None and b"READY" in out:
            during = termios.tcgetattr(slave)
            action(p, master)
    rc = p.wait(timeout=10)
    after = termios.tcgetattr(slave)
    try:
        while chunk := os.read(master, 65536):
            out += chunk
    except (BlockingIOError, OSError):
        pass
    os.close(master)
    os.close(slave)
    return rc, before, during, after, out


def test_terminal_raw_while_running_and_restored(tmp_path):
    rc, before, during, after, out = _run_on_pty(
        tmp_path, "test=echo", lambda p, m: os.write(m, b"typed\n"))
    assert rc == EXIT_OK, out
    assert b"TEST echo PASS got=typed" in out
    assert not during[3] & (termios.ICANON | termios.ECHO | termios.ISIG)
    assert after == before


def test_terminal_restored_after_sigterm(tmp_path):
    rc, before, during, after, _ = _run_on_pty(
        tmp_path, "test=idle idle_timeout_s=30", lambda p, m: p.send_signal(signal.SIGTERM))
    assert rc == 128 + signal.SIGTERM
    assert during is not None and not during[3] & termios.ICANON
    assert after == before


def test_terminal_restored_after_a_guest_crash(tmp_path):
    rc, before, _, after, out = _run_on_pty(tmp_path, "test=triplefault", lambda p, m: None)
    assert rc == EXIT_GENERIC, out
    assert after == before


def test_sigint_is_an_orderly_stop(tmp_path):
    p, log = start(tmp_path, "test=idle idle_timeout_s=30")
    for _ in range(300):
        if "VM started" in (log.read_text() if log.exists() else ""):
            break
        time.sleep(0.01)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 128 + signal.SIGINT
    text = log.read_text()
    assert "received Interrupt; stopping" in text
    assert "VM stopped; exit code 130" in text
