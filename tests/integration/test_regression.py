"""Regression checks on ember's deterministic figures, against
bench/baseline.json with a generous margin (docs/performance.md): the size
of the production binary, the instructions it executes from exec to a ready
API socket (callgrind), and its resident memory minus guest memory while
the test guest idles. Wall-clock figures are never checked here.

A change that moves one of these on purpose updates bench/baseline.json in
the same commit and says why."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from emberlib import BUILD, REPO, TESTGUEST_ELF, skip_under_asan

pytestmark = skip_under_asan("these measure the production build/ember, which "
                             "`make integration` checks")

BASELINE = json.loads((REPO / "bench" / "baseline.json").read_text())
# The production binary, whatever build the rest of the suite drives.
EMBER = BUILD / "ember"


def limit(name):
    b = BASELINE[name]
    return min(b["value"] * b["margin"], b.get("ceiling", float("inf")))


def wait_socket(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return
        except OSError:
            time.sleep(0.005)
        finally:
            s.close()
    raise AssertionError(f"{path} never accepted a connection")


def test_binary_size():
    size = EMBER.stat().st_size
    assert size <= limit("binary_bytes"), (
        f"build/ember is {size} bytes; baseline {BASELINE['binary_bytes']['value']}, "
        f"limit {limit('binary_bytes'):.0f}")
    desc = subprocess.run(["file", "-b", str(EMBER)], capture_output=True, text=True).stdout \
        if shutil.which("file") else ""
    if desc:
        assert "static" in desc and "dynamically linked" not in desc, desc


def test_instructions_to_a_ready_socket(tmp_path):
    if not shutil.which("valgrind"):
        pytest.skip("valgrind is not installed (scripts/install-deps installs it)")
    sock, out = tmp_path / "api.sock", tmp_path / "callgrind.out"
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          str(EMBER), "--api-sock", str(sock), "--level", "Off",
                          "--no-seccomp"],  # valgrind cannot run seccomp(2)
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_socket(sock, 120)
        subprocess.run(["callgrind_control", "--dump=ready", str(p.pid)], check=True,
                       capture_output=True, timeout=60)
    finally:
        p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=60)[1]
    total = None
    for f in tmp_path.glob("callgrind.out*"):
        text = f.read_text()
        if re.search(r"^desc: Trigger: dump ready", text, re.M):
            total = int(re.search(r"^summary:\s+(\d+)", text, re.M).group(1))
    assert total is not None, f"no callgrind dump: {err[-2000:]}"
    assert total <= limit("api_ready_instructions"), (
        f"{total} instructions from exec to a ready socket; baseline "
        f"{BASELINE['api_ready_instructions']['value']}, limit "
        f"{limit('api_ready_instructions'):.0f}")


def overhead_kib(pid, guest_mib):
    """Resident KiB of every mapping but the guest-memory one."""
    rss = 0
    in_guest = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and ":" not in parts[0]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                in_guest = len(parts) == 5 and (hi - lo) >= guest_mib << 20
            elif parts[0] == "Rss:" and not in_guest:
                rss += int(parts[1])
    return rss


@pytest.mark.kvm
def test_memory_overhead_of_an_idle_microvm(tmp_path):
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": str(TESTGUEST_ELF),
                        "boot_args": "test=idle idle_timeout_s=60"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}))
    p = subprocess.Popen([str(EMBER), "--no-api", "--config-file", str(cfg), "--level", "Off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        for line in p.stdout:
            if "TEST idle READY" in line or time.monotonic() > deadline:
                break
        assert p.poll() is None, "ember exited before the guest was ready"
        kib = overhead_kib(p.pid, 128)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert kib <= limit("idle_rss_minus_guest_kib"), (
        f"ember holds {kib} KiB besides guest memory; baseline "
        f"{BASELINE['idle_rss_minus_guest_kib']['value']}, limit "
        f"{limit('idle_rss_minus_guest_kib'):.0f}")
