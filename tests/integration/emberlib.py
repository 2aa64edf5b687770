"""Helpers for driving the real build/ember binary from tests."""

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
EMBER = BUILD / "ember"
TESTGUEST_ELF = BUILD / "testguest.elf"
TESTGUEST_BZ = BUILD / "testguest.bzImage"
LINUX_VMLINUX = BUILD / "linux" / "vmlinux"
LINUX_ROOTFS = BUILD / "linux" / "rootfs.ext4"

# Exit codes (README.md, src/common/exit_codes.h).
EXIT_OK = 0
EXIT_GENERIC = 1
EXIT_BAD_CONFIG = 152
EXIT_ARG_PARSING = 153


def kvm_usable():
    """(True, "") when /dev/kvm can be opened read-write, else (False, why)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError as e:
        return False, f"/dev/kvm unavailable: {e.strerror}"
    os.close(fd)
    return True, ""


def host_kind():
    """'pvm' on the software nested hypervisor, 'hw' on VT-x / AMD-V."""
    if Path("/sys/module/kvm_pvm").exists():
        return "pvm"
    if Path("/sys/module/kvm_intel").exists() or Path("/sys/module/kvm_amd").exists():
        return "hw"
    return "unknown"


@dataclass
class Result:
    rc: int
    out: str
    err: str
    seconds: float

    @property
    def text(self):
        return self.out + self.err

    def tests(self):
        """{name: (verdict, detail)} from the test guest's TEST lines."""
        res = {}
        for m in re.finditer(r"^TEST (\S+) (PASS|FAIL|READY)\s*(.*)$", self.out, re.M):
            res[m.group(1)] = (m.group(2), m.group(3))
        return res


def config(kernel=TESTGUEST_ELF, boot_args="test=hello", vcpus=1, mem_mib=128,
           initrd=None, **extra):
    cfg = {
        "boot-source": {"kernel_image_path": str(kernel), "boot_args": boot_args},
        "machine-config": {"vcpu_count": vcpus, "mem_size_mib": mem_mib},
    }
    if initrd is not None:
        cfg["boot-source"]["initrd_path"] = str(initrd)
    cfg.update(extra)
    return cfg


def run(args, timeout=30, stdin=subprocess.DEVNULL, env=None):
    t0 = time.monotonic()
    p = subprocess.run([str(EMBER)] + [str(a) for a in args], stdin=stdin,
                       capture_output=True, text=True, errors="replace",
                       timeout=timeout, env=env)
    return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def run_config(tmp_path, cfg, args=(), timeout=30, raw=None, **kw):
    """Writes cfg (a dict, or raw text) to a file and boots it with --no-api."""
    path = tmp_path / "vm.json"
    path.write_text(raw if raw is not None else json.dumps(cfg))
    return run(["--no-api", "--config-file", path, *args], timeout=timeout, **kw)
