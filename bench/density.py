#!/usr/bin/env python3
"""Density benchmark: N microVMs (test guest `idle`: READY, then halted
until told to stop; 1 vCPU, 128 MiB, one read-only drive) up at once, for
N in BENCH_DENSITY_N (default 10,50,100,200), first ember, then QEMU
microvm at the same N. For each VMM process: RSS and PSS minus its guest
memory, and the guest memory the guest actually touched; for the host:
MemAvailable before minus after, per microVM (what a microVM costs the host
in all: VMM, touched guest memory, kernel structures)."""

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time

import common

NS = [int(x) for x in os.environ.get("BENCH_DENSITY_N", "10,50,100,200").split(",")]
MEM_MIB = 128
IDLE = "test=idle idle_timeout_s=3600"


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def settled_mem_available_kib():
    """MemAvailable with the page cache and reclaimable slab dropped first
    (as root), the median of three readings: without that, the cache's
    coming and going is as large as ten microVMs' whole cost."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass
    time.sleep(0.5)
    readings = []
    for _ in range(3):
        readings.append(mem_available_kib())
        time.sleep(0.2)
    return common.median(readings)


def ember_cmd(work, img, i):
    cfg = os.path.join(work, "vm.json")
    if not os.path.exists(cfg):
        with open(cfg, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": str(common.GUEST),
                                       "boot_args": IDLE},
                       "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM_MIB},
                       "drives": [{"drive_id": "rootfs", "path_on_host": img,
                                   "is_root_device": True, "is_read_only": True}]}, f)
    return [str(common.EMBER), "--api-sock", os.path.join(work, f"api-{i}.sock"),
            "--config-file", cfg, "--level", "Off"]


def qemu_cmd(work, img, i):
    cmd = common.qemu_cmd(IDLE, mem_mib=MEM_MIB)
    cmd[cmd.index("-M") + 1] = "microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on"
    return cmd + ["-global", "virtio-mmio.force-legacy=false",
                  "-drive", f"id=d0,file={img},format=raw,if=none,readonly=on",
                  "-device", "virtio-blk-device,drive=d0"]


def start_all(cmd_fn, work, img, n):
    """Starts n VMs, at most 8 booting at a time; returns them once every
    one printed READY."""
    procs, sel = [], selectors.DefaultSelector()
    pending = 0
    bufs = {}
    i = 0
    deadline = time.monotonic() + 120 + n
    while i < n or pending:
        while i < n and pending < 8:
            p = subprocess.Popen(cmd_fn(work, img, i), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            os.set_blocking(p.stdout.fileno(), False)
            sel.register(p.stdout, selectors.EVENT_READ, p)
            bufs[p.pid] = b""
            procs.append(p)
            pending += 1
            i += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending} VMs never became ready")
        for key, _ in sel.select(timeout=1):
            p = key.data
            data = p.stdout.read() or b""
            bufs[p.pid] += data
            if b"TEST idle READY" in bufs[p.pid]:
                sel.unregister(p.stdout)
                pending -= 1
            elif not data and p.poll() is not None:
                raise RuntimeError(f"a VM exited {p.returncode}: {bufs[p.pid][-500:]!r}")
    sel.close()
    return procs


def stop_all(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()


def measure(cmd_fn, work, img, n):
    time.sleep(1)
    avail0 = settled_mem_available_kib()
    procs = start_all(cmd_fn, work, img, n)
    time.sleep(2)  # let start-up garbage settle (freed pages)
    avail1 = settled_mem_available_kib()
    rows = [common.vmm_overhead_kib(p.pid, MEM_MIB) for p in procs]
    stop_all(procs)
    return {"n": n,
            "rss_kib": common.median([r["rss_kib"] for r in rows]),
            "pss_kib": common.median([r["pss_kib"] for r in rows]),
            "rss_kib_max": max(r["rss_kib"] for r in rows),
            "guest_touched_kib": common.median([r["guest_rss_kib"] for r in rows]),
            "host_kib_per_vm": (avail0 - avail1) / n}


def main():
    res = {"host": common.host_summary(), "mem_mib": MEM_MIB, "boot_args": IDLE,
           "ember": [], "qemu": []}
    with tempfile.TemporaryDirectory() as work:
        img = os.path.join(work, "rootfs.img")
        with open(img, "wb") as f:
            f.truncate(8 << 20)
        res["commands"] = {"ember": ember_cmd(work, img, 0), "qemu": qemu_cmd(work, img, 0)}
        for n in NS:
            for who, fn in (("ember", ember_cmd), ("qemu", qemu_cmd)):
                try:
                    res[who].append(measure(fn, work, img, n))
                except RuntimeError as e:
                    sys.exit(f"density benchmark, {who} at N={n}: {e}")
    out = common.BUILD / "bench" / "density.json"
    out.write_text(json.dumps(res, indent=2))
    print(f"density, {MEM_MIB} MiB guests idle ({res['host']['kvm']}); medians per microVM, KiB")
    print(f"{'N':>5} {'':8} {'RSS-guest':>10} {'PSS-guest':>10} {'guest used':>11} "
          f"{'host/VM':>9}")
    for e, q in zip(res["ember"], res["qemu"]):
        for who, r in (("ember", e), ("qemu", q)):
            print(f"{r['n']:>5} {who:8} {r['rss_kib']:>10.0f} {r['pss_kib']:>10.0f} "
                  f"{r['guest_touched_kib']:>11.0f} {r['host_kib_per_vm']:>9.0f}")
        print(f"{'':5} {'ratio':8} {e['rss_kib'] / q['rss_kib']:>10.3f} "
              f"{e['pss_kib'] / q['pss_kib']:>10.3f} {'':>11} "
              f"{e['host_kib_per_vm'] / q['host_kib_per_vm']:>9.3f}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
