#!/usr/bin/env python3
"""virtio benchmark: the test guest streams block I/O (64 KiB sequential
reads and writes, 4 KiB random reads) and network frames (TX and RX), on
ember and on QEMU microvm with the same guest, image and tap, interleaved.
Throughput is timed on the host from the guest's START line to its PASS
line. Also: exits to ember per block request in steady state."""

import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import common

ROUNDS = int(os.environ.get("BENCH_VIRTIO_ROUNDS", "9"))
IMG_MIB = 256
GUEST_MAC = "06:00:ac:10:00:02"

BLOCK = [
    ("blk seq read 64K", "test=blk-stream req_kib=64 depth=8 total_mib=2048"),
    ("blk seq write 64K", "test=blk-stream req_kib=64 depth=8 total_mib=1024 write=1"),
    ("blk rand read 4K", "test=blk-stream random=1 depth=8 total_mib=128"),
]
NET = [
    ("net tx 1500B", "test=net-stream count=200000 size=1500", False),
    ("net rx 1500B", f"test=net-stream rx=1 count=100000 ethertype={0x88b5}", True),
]


def make_image(path):
    with open(path, "wb") as f:
        chunk = b"".join(struct.pack("<Q", n) + bytes(504) for n in range(2048))
        for i in range(IMG_MIB):
            # sector numbers stay right: rewrite the first 8 bytes per MiB
            base = i * 2048
            f.write(b"".join(struct.pack("<Q", base + n) + chunk[n * 512 + 8:(n + 1) * 512]
                             for n in range(2048)))


def ember_vm(work, boot_args, img=None, tap=None):
    cfg = {"boot-source": {"kernel_image_path": str(common.GUEST), "boot_args": boot_args},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
    if img:
        cfg["drives"] = [{"drive_id": "d0", "path_on_host": str(img), "is_root_device": False}]
    if tap:
        cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": tap,
                                      "guest_mac": GUEST_MAC}]
    path = os.path.join(work, f"vm-{uuid.uuid4().hex[:6]}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return [str(common.EMBER), "--no-api", "--config-file", path, "--level", "Debug",
            "--log-path", path + ".log"], path + ".log"


def qemu_vm(boot_args, img=None, tap=None):
    cmd = common.qemu_cmd(boot_args, mem_mib=256)
    i = cmd.index("-M")
    cmd[i + 1] = "microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on"
    cmd += ["-global", "virtio-mmio.force-legacy=false"]
    if img:
        cmd += ["-drive", f"id=d0,file={img},format=raw,if=none", "-device",
                "virtio-blk-device,drive=d0"]
    if tap:
        cmd += ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no", "-device",
                f"virtio-net-device,netdev=n0,mac={GUEST_MAC}"]
    return cmd


def timed(cmd, prefix=(), on_start=None):
    """Runs a VM; returns seconds from START to PASS and the PASS line."""
    p = subprocess.Popen([*prefix, *cmd], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, errors="replace")
    t0 = t1 = None
    helper = None
    line_pass = ""
    killer = threading.Timer(120, p.kill)
    killer.start()
    for line in p.stdout:
        if "START" in line and line.startswith("TEST ") and t0 is None:
            t0 = time.monotonic()
            if on_start:
                helper = on_start()
        elif line.startswith("TEST ") and (" PASS" in line or " FAIL" in line):
            t1 = time.monotonic()
            line_pass = line.strip()
            if helper:
                helper.stdin.close()
                helper.wait()
                helper = None
    p.wait()
    killer.cancel()
    if helper:
        helper.kill()
    if t0 is None or t1 is None or " PASS" not in line_pass:
        sys.exit(f"benchmark run failed: {' '.join(cmd)}\n{line_pass}")
    return t1 - t0, line_pass


def ns_setup():
    ns = f"ember-bench-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    pre = ["ip", "netns", "exec", ns]
    subprocess.run(pre + ["ip", "tuntap", "add", "dev", "tapb", "mode", "tap"], check=True)
    subprocess.run(pre + ["sysctl", "-qw", "net.ipv6.conf.tapb.disable_ipv6=1"],
                   capture_output=True)
    subprocess.run(pre + ["ip", "link", "set", "tapb", "up", "txqueuelen", "10000"], check=True)
    return ns, pre


def exits_per_request(log_path, nbytes, req):
    text = open(log_path).read()
    m = re.search(r"mmio_read=(\d+) mmio_write=(\d+)", text)
    return (int(m.group(1)) + int(m.group(2))) / (nbytes / req) if m else float("nan")


def main():
    res = {"host": common.host_summary(), "rounds": ROUNDS, "results": {}}
    with tempfile.TemporaryDirectory() as work:
        img = os.path.join(work, "disk.img")
        make_image(img)
        for name, args in BLOCK:
            rows = {"ember": [], "qemu": []}
            epr = []
            for i in range(ROUNDS):
                for who in (["ember", "qemu"] if i % 2 == 0 else ["qemu", "ember"]):
                    if who == "ember":
                        cmd, log = ember_vm(work, args, img=img)
                    else:
                        cmd, log = qemu_vm(args, img=img), None
                    secs, line = timed(cmd)
                    nbytes = int(re.search(r"bytes=(\d+)", line).group(1))
                    rows[who].append(nbytes / secs / 2**20)
                    if log:
                        req = 4096 if "random" in args else 65536
                        epr.append(exits_per_request(log, nbytes, req))
            res["results"][name] = {"unit": "MiB/s", "ember": common.median(rows["ember"]),
                                    "qemu": common.median(rows["qemu"]), "rows": rows,
                                    "ember_exits_per_request": common.median(epr),
                                    "guest_args": args}
        if os.geteuid() == 0:
            ns, pre = ns_setup()
            try:
                flood = str(common.BUILD / "bench" / "tapflood")
                for name, args, rx in NET:
                    rows = {"ember": [], "qemu": []}
                    for i in range(ROUNDS):
                        for who in (["ember", "qemu"] if i % 2 == 0 else ["qemu", "ember"]):
                            cmd = (ember_vm(work, args, tap="tapb")[0] if who == "ember"
                                   else qemu_vm(args, tap="tapb"))
                            start = (lambda: subprocess.Popen(
                                pre + [flood, "tapb", GUEST_MAC, "1514"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL)) if rx else None
                            secs, line = timed(cmd, prefix=pre, on_start=start)
                            frames = int(re.search(r"frames=(\d+)", line).group(1))
                            rows[who].append(frames / secs)
                    res["results"][name] = {"unit": "frames/s",
                                            "ember": common.median(rows["ember"]),
                                            "qemu": common.median(rows["qemu"]), "rows": rows,
                                            "guest_args": args}
            finally:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    out = common.BUILD / "bench" / "virtio.json"
    out.write_text(json.dumps(res, indent=2))
    print(f"virtio benchmark, {ROUNDS} interleaved rounds, medians ({res['host']['kvm']})")
    print(f"{'':22} {'ember':>12} {'qemu':>12} {'ember/qemu':>11}  exits/request (ember)")
    for name, r in res["results"].items():
        e, q = r["ember"], r["qemu"]
        epr = r.get("ember_exits_per_request")
        print(f"{name:22} {e:>12.1f} {q:>12.1f} {e / q:>11.2f}  "
              f"{'' if epr is None else f'{epr:.4f}'}  {r['unit']}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
