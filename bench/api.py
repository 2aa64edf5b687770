#!/usr/bin/env python3
"""API benchmark.
- exec -> API socket accepting: wall time, CPU time (the sum of every thread's
  schedstat runtime at that moment) and, under valgrind --tool=callgrind,
  instructions executed until then (callgrind_control dumps at the moment
  the socket accepts); beside QEMU microvm exec -> QMP greeting (-S, -qmp
  unix:...) measured the same way, interleaved.
- API latency p50/p90/p99 for GET / and PUT /machine-config over 10,000
  requests on one keep-alive connection (bench/apilat.c)."""

import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import common

ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "20"))
APILAT = common.BUILD / "bench" / "apilat"


def cpu_ns(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError):
            pass
    return total


def wait_ready(path, pid, greeting=False, timeout=20):
    """Polls until the Unix socket accepts (and, for QMP, greets)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            if greeting:
                s.settimeout(5)
                data = b""
                while b"\n" not in data:
                    data += s.recv(4096)
                assert b'"QMP"' in data
            return
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.0002)
        finally:
            s.close()
    raise RuntimeError(f"{path} never became ready")


def ember_cmd(sock):
    return [str(common.EMBER), "--api-sock", sock, "--level", "Off"]


def qemu_cmd(sock):
    return ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=off", "-accel", "kvm",
            "-cpu", "host,-arch-capabilities", "-m", "128", "-nodefaults", "-no-user-config",
            "-display", "none", "-S", "-qmp", f"unix:{sock},server=on,wait=off"]


def startup(cmd_fn, work, greeting):
    sock = os.path.join(work, f"s{time.monotonic_ns()}")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd_fn(sock), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_ready(sock, p.pid, greeting)
    wall = time.monotonic() - t0
    cpu = cpu_ns(p.pid)
    p.terminate()
    p.wait()
    return wall * 1e6, cpu / 1e3


def instructions(cmd_fn, work, greeting):
    sock = os.path.join(work, f"c{time.monotonic_ns()}")
    out = os.path.join(work, "callgrind.out")
    # valgrind does not implement seccomp(2): ember runs without its filters
    # here (installing them is three prctl calls' worth of instructions).
    cmd = cmd_fn(sock) + (["--no-seccomp"] if cmd_fn is ember_cmd else [])
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          *cmd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_ready(sock, p.pid, greeting, timeout=120)
    subprocess.run(["callgrind_control", "--dump=ready", str(p.pid)], capture_output=True)
    p.terminate()
    p.wait()
    total = 0
    for f in glob.glob(out + "*"):
        text = open(f).read()
        if re.search(r"^desc: Trigger: dump ready", text, re.M):
            total = int(re.search(r"^summary:\s+(\d+)", text, re.M).group(1))
        os.unlink(f)
    return total


def latency(work):
    sock = os.path.join(work, "lat.sock")
    p = subprocess.Popen(ember_cmd(sock), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_ready(sock, p.pid)
    res = {}
    for name, args in [("GET /", ["GET", "/"]),
                       ("PUT /machine-config", ["PUT", "/machine-config",
                                                '{"vcpu_count":2,"mem_size_mib":256}'])]:
        out = subprocess.run([str(APILAT), sock, "10000", *args], capture_output=True, text=True,
                             check=True)
        res[name] = json.loads(out.stdout)
    p.terminate()
    p.wait()
    return res


def main():
    res = {"host": common.host_summary(), "rounds": ROUNDS}
    with tempfile.TemporaryDirectory() as work:
        rows = {"ember": [], "qemu": []}
        for i in range(ROUNDS):
            for who in (["ember", "qemu"] if i % 2 == 0 else ["qemu", "ember"]):
                fn, greet = (ember_cmd, False) if who == "ember" else (qemu_cmd, True)
                rows[who].append(startup(fn, work, greet))
        for who in rows:
            res[who] = {"wall_us": common.median([r[0] for r in rows[who]]),
                        "cpu_us": common.median([r[1] for r in rows[who]])}
        res["ember"]["instructions"] = instructions(ember_cmd, work, False)
        res["qemu"]["instructions"] = instructions(qemu_cmd, work, True)
        res["latency"] = latency(work)
    out = common.BUILD / "bench" / "api.json"
    out.write_text(json.dumps(res, indent=2))
    e, q = res["ember"], res["qemu"]
    print(f"API benchmark, {ROUNDS} interleaved rounds, medians ({res['host']['kvm']})")
    print(f"{'exec -> socket ready':32} {'ember':>12} {'qemu (QMP)':>12} {'ember/qemu':>11}")
    for k, label in [("wall_us", "wall (us)"), ("cpu_us", "CPU (us)"),
                     ("instructions", "instructions (callgrind)")]:
        print(f"{label:32} {e[k]:>12.0f} {q[k]:>12.0f} {e[k] / q[k] if q[k] else 0:>11.3f}")
    for name, r in res["latency"].items():
        print(f"latency {name:24} p50 {r['p50_us']:.0f} us  p90 {r['p90_us']:.0f} us  "
              f"p99 {r['p99_us']:.0f} us  max {r['max_us']:.0f} us  (n={r['n']})")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
