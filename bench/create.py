#!/usr/bin/env python3
"""Creation-rate benchmark: for BENCH_CREATE_S seconds (default 60) per VMM,
keep starting microVMs (test guest, 1 vCPU, 128 MiB, one read-only drive)
that boot, print `TEST hello PASS` on the console and reset, PARALLEL at a
time (bench/churn.c); count the cycles completed per second. ember and QEMU
microvm run in alternating 10-second slices, so that both see the same
machine. ember also serves its API socket in every cycle (each one
created and removed). Afterwards: no VMM left running, no socket or file
left behind, and the host's threads, open files, taps and zombies back
where they were."""

import json
import os
import subprocess
import sys
import tempfile
import time

import common

DURATION = int(os.environ.get("BENCH_CREATE_S", "60"))
SLICE = min(10, DURATION)
PARALLEL = int(os.environ.get("BENCH_CREATE_PARALLEL", str(4 * (os.cpu_count() or 1))))
CHURN = common.BUILD / "bench" / "churn"
MATCH = "TEST hello PASS"


def ember_cmd(work, img):
    cfg = os.path.join(work, "vm.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": str(common.GUEST),
                                   "boot_args": "test=hello"},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
                   "drives": [{"drive_id": "rootfs", "path_on_host": img,
                               "is_root_device": True, "is_read_only": True}]}, f)
    return [str(common.EMBER), "--api-sock", os.path.join(work, "api-%n.sock"),
            "--config-file", cfg, "--level", "Off"]


def qemu_cmd(img):
    cmd = common.qemu_cmd("test=hello")
    i = cmd.index("-M")
    cmd[i + 1] = "microvm,acpi=off,x-option-roms=off,rtc=off,isa-serial=on"
    cmd[0] = subprocess.run(["sh", "-c", f"command -v {cmd[0]}"], capture_output=True,
                            text=True, check=True).stdout.strip()
    return cmd + ["-global", "virtio-mmio.force-legacy=false",
                  "-drive", f"id=d0,file={img},format=raw,if=none,readonly=on",
                  "-device", "virtio-blk-device,drive=d0"]


def host_state():
    """What a leak would show: ember or QEMU processes (running or zombie)
    and their threads, the host's allocated file handles, its network
    interfaces (taps)."""
    threads = zombies = vmms = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in ("ember", "qemu-system-x86"):
            threads += int(st[17])
            zombies += st[0] == "Z"
            vmms += 1
    with open("/proc/sys/fs/file-nr") as f:
        files = int(f.read().split()[0])
    slab = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                slab = int(line.split()[1])
    return {"threads": threads, "zombies": zombies, "vmms": vmms, "file_handles": files,
            "netdevs": sorted(os.listdir("/sys/class/net")), "slab_kib": slab}


def churn(cmd, seconds):
    out = subprocess.run([str(CHURN), "-d", str(seconds), "-j", str(PARALLEL), "-m", MATCH,
                          "--", *cmd], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"churn failed: {out.stderr}")
    return json.loads(out.stdout)


def merge(parts):
    r = {"completed": 0, "failed": 0, "per_second": [], "exit_us_all": [], "failures": [],
         "cpu_user_us": 0, "cpu_sys_us": 0}
    for p in parts:
        for k in ("completed", "failed", "cpu_user_us", "cpu_sys_us"):
            r[k] += p[k]
        r["per_second"] += p["per_second"]
        r["exit_us_all"] += p["exit_us_all"]
        r["failures"] += p["failures"]
    r["seconds"] = len(r["per_second"])
    r["rate"] = r["completed"] / r["seconds"] if r["seconds"] else 0
    xs = sorted(r["exit_us_all"])
    r["exit_us_p50"] = common.median(xs)
    r["exit_us_p99"] = xs[int(0.99 * (len(xs) - 1))] if xs else 0
    r["cpu_ms_per_vm"] = (r["cpu_user_us"] + r["cpu_sys_us"]) / 1e3 / max(r["completed"], 1)
    return r


def main():
    res = {"host": common.host_summary(), "parallel": PARALLEL, "duration_s": DURATION}
    with tempfile.TemporaryDirectory() as work:
        img = os.path.join(work, "rootfs.img")
        with open(img, "wb") as f:
            f.truncate(8 << 20)
        cmds = {"ember": ember_cmd(work, img), "qemu": qemu_cmd(img)}
        res["commands"] = cmds
        before_files = sorted(os.listdir(work))
        churn(cmds["ember"], 1)  # warm the page cache and the binary
        before = host_state()
        parts = {"ember": [], "qemu": []}
        t0 = time.monotonic()
        for _ in range(DURATION // SLICE):
            for who in ("ember", "qemu"):
                parts[who].append(churn(cmds[who], SLICE))
        res["wall_s"] = time.monotonic() - t0
        time.sleep(0.5)  # let the last exits settle
        after = host_state()
        after_files = sorted(os.listdir(work))
    for who in parts:
        res[who] = merge(parts[who])
    leaks = []
    for k in ("threads", "zombies", "vmms"):
        if after[k] > before[k]:
            leaks.append(f"{k}: {before[k]} -> {after[k]}")
    if after["netdevs"] != before["netdevs"]:
        leaks.append(f"network interfaces: {before['netdevs']} -> {after['netdevs']}")
    if after["file_handles"] > before["file_handles"] + 64:
        leaks.append(f"file handles: {before['file_handles']} -> {after['file_handles']}")
    if after_files != before_files:
        leaks.append(f"files left in the work directory: {set(after_files) - set(before_files)}")
    res["host_before"], res["host_after"], res["leaks"] = before, after, leaks
    out = common.BUILD / "bench" / "create.json"
    out.write_text(json.dumps(res, indent=2))

    e, q = res["ember"], res["qemu"]
    print(f"creation rate, {DURATION} s each in {SLICE} s slices, {PARALLEL} at a time "
          f"({res['host']['kvm']}, {res['host']['cpus']} CPUs)")
    print(f"{'':34} {'ember':>10} {'qemu':>10} {'ember/qemu':>11}")
    for k, label, fmt in [("rate", "microVMs per second", ".1f"),
                          ("completed", "cycles completed", ".0f"),
                          ("failed", "failures", ".0f"),
                          ("exit_us_p50", "start -> exit p50 (us)", ".0f"),
                          ("exit_us_p99", "start -> exit p99 (us)", ".0f"),
                          ("cpu_ms_per_vm", "CPU per microVM (ms)", ".2f")]:
        ratio = e[k] / q[k] if q[k] else float("nan")
        print(f"{label:34} {e[k]:>10{fmt}} {q[k]:>10{fmt}} {ratio:>11.3f}")
    print("leaks: " + ("; ".join(leaks) if leaks else "none (VMM processes, threads and "
                       "zombies, file handles, taps, files)"))
    print(f"written: {out}")
    if e["failed"] or q["failed"] or leaks:
        sys.exit("creation-rate benchmark: failures or leaks (see above)")


if __name__ == "__main__":
    main()
