"""Shared helpers for ember's benchmarks: commands for ember and QEMU
microvm on the same guest, the firstbyte harness, medians, /proc readings."""

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
EMBER = BUILD / "ember"
GUEST = BUILD / "testguest.elf"
FIRSTBYTE = BUILD / "bench" / "firstbyte"
QEMU = "qemu-system-x86_64"


def ember_cmd(workdir, boot_args, vcpus=1, mem_mib=128, extra=()):
    cfg = Path(workdir) / f"ember-{abs(hash((boot_args, vcpus, mem_mib)))}.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": str(GUEST), "boot_args": boot_args},
        "machine-config": {"vcpu_count": vcpus, "mem_size_mib": mem_mib},
    }))
    return [str(EMBER), "--no-api", "--config-file", str(cfg), "--level", "Off", *extra]


def qemu_cmd(boot_args, vcpus=1, mem_mib=128):
    # QEMU 7.2 on these hosts: `-cpu host` alone aborts on MSR 0x10a.
    return [QEMU, "-M", "microvm,x-option-roms=off,rtc=off,isa-serial=on", "-accel", "kvm",
            "-cpu", "host,-arch-capabilities", "-m", str(mem_mib), "-smp", str(vcpus),
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
            "-no-reboot", "-kernel", str(GUEST), "-append", boot_args]


def firstbyte(cmd, match=None, timeout_ms=60000):
    args = [str(FIRSTBYTE), "-t", str(timeout_ms)]
    if match:
        args += ["-m", match]
    out = subprocess.run(args + ["--"] + cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def host_summary():
    kvm = sorted(m for m in os.listdir("/sys/module") if m.startswith("kvm"))
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"kernel": platform.release(), "kvm": ",".join(kvm), "cpu": cpu,
            "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}


def vmm_overhead_kib(pid, guest_mib):
    """RSS and PSS (KiB) of a process, minus its guest-RAM mapping: the
    anonymous mapping whose size is at least the guest's memory size."""
    rss = pss = 0
    guest_rss = guest_pss = 0
    size = 0
    in_guest = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                size = (hi - lo) >> 10
                anon = len(parts) == 5
                in_guest = anon and size >= guest_mib * 1024
            elif parts[0] == "Rss:":
                rss += int(parts[1])
                if in_guest:
                    guest_rss += int(parts[1])
            elif parts[0] == "Pss:":
                pss += int(parts[1])
                if in_guest:
                    guest_pss += int(parts[1])
    return {"rss_kib": rss - guest_rss, "pss_kib": pss - guest_pss, "guest_rss_kib": guest_rss}
