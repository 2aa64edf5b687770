#!/usr/bin/env python3
"""Boot benchmark: exec -> first byte of the test guest on the console, for
ember and for QEMU microvm booting the same ELF (PVH), interleaved; plus each
VMM's own memory (RSS and PSS minus guest RAM) while the guest idles."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import common

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))


def boot_rounds(work):
    rows = {"ember": [], "qemu": []}
    cmds = {"ember": common.ember_cmd(work, "test=hello"), "qemu": common.qemu_cmd("test=hello")}
    for i in range(ROUNDS):
        order = ["ember", "qemu"] if i % 2 == 0 else ["qemu", "ember"]
        for who in order:
            r = common.firstbyte(cmds[who], match="TEST hello PASS")
            if r["status"] != 0 or not r["match_us"]:
                sys.exit(f"{who} did not boot the test guest: {r}")
            rows[who].append(r)
    return rows, cmds


def idle_overhead(cmd, guest_mib):
    """Starts the VMM on test=idle, waits for READY, reads /proc, stops it."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    for line in p.stdout:
        if "TEST idle READY" in line:
            break
        if time.monotonic() > deadline:
            break
    time.sleep(0.2)
    m = common.vmm_overhead_kib(p.pid, guest_mib)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return m


def main():
    with tempfile.TemporaryDirectory() as work:
        rows, cmds = boot_rounds(work)
        idle = "test=idle idle_timeout_s=60"
        mem = {"ember": idle_overhead(common.ember_cmd(work, idle), 128),
               "qemu": idle_overhead(common.qemu_cmd(idle), 128)}
    res = {"host": common.host_summary(), "rounds": ROUNDS, "commands": cmds,
           "rows": {who: [{k: r[k] for k in ("first_byte_us", "match_us", "exit_us")}
                          for r in rows[who]] for who in rows}}
    for who in ("ember", "qemu"):
        res[who] = {k: common.median([r[k] for r in rows[who]])
                    for k in ("first_byte_us", "match_us", "exit_us", "cpu_us", "max_rss_kib")}
        res[who].update({f"idle_{k}": v for k, v in mem[who].items()})
    out = common.BUILD / "bench" / "boot.json"
    out.write_text(json.dumps(res, indent=2))
    e, q = res["ember"], res["qemu"]
    print(f"boot benchmark, {ROUNDS} interleaved rounds, medians ({res['host']['kvm']}, "
          f"{res['host']['cpu']})")
    print(f"{'':32} {'ember':>10} {'qemu':>10} {'ember/qemu':>11}")
    for k, label in [("first_byte_us", "exec -> first console byte (us)"),
                     ("match_us", "exec -> TEST hello PASS (us)"),
                     ("exit_us", "exec -> exit (us)"),
                     ("cpu_us", "CPU time (us)"),
                     ("max_rss_kib", "peak RSS (KiB)"),
                     ("idle_rss_kib", "RSS - guest RAM, idle (KiB)"),
                     ("idle_pss_kib", "PSS - guest RAM, idle (KiB)")]:
        ratio = e[k] / q[k] if q[k] else float("nan")
        print(f"{label:32} {e[k]:>10.0f} {q[k]:>10.0f} {ratio:>11.3f}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
