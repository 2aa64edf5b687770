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
        for m in re.finditer(r"^TEST (\S+) (PASS|FAIL|READY|START)(?:[ \t]+(.*))?$", self.out,
                             re.M):
            name, verdict, detail = m.group(1), m.group(2), m.group(3) or ""
            # A verdict outranks the progress lines (READY, START) before it.
            if verdict in ("PASS", "FAIL") or name not in res:
                res[name] = (verdict, detail)
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


class Live:
    """ember running in the background, its console read line by line, so a
    test can act when the guest reaches a point (READY, START)."""

    def __init__(self, tmp_path, cfg, args=(), prefix=(), level="Debug", stdin=None):
        import queue
        import threading
        self.log_path = tmp_path / "ember.log"
        path = tmp_path / "vm.json"
        path.write_text(json.dumps(cfg))
        self.p = subprocess.Popen(
            [*prefix, str(EMBER), "--no-api", "--config-file", str(path), "--log-path",
             str(self.log_path), "--level", level, *args],
            stdin=stdin if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, errors="replace")
        self.lines = []
        self.times = []
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for line in self.p.stdout:
            self._q.put((time.monotonic(), line))
        self._q.put((time.monotonic(), None))

    def wait_for(self, text, timeout=30):
        """Returns the monotonic time the first line containing text arrived."""
        import queue
        for t, line in zip(self.times, self.lines):
            if text in line:
                return t
        deadline = time.monotonic() + timeout
        while True:
            try:
                t, line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s:\n" + "".join(self.lines))
            if line is None:
                self._q.put((t, None))
                raise AssertionError(f"ember ended before {text!r}:\n" + "".join(self.lines)
                                     + self.log())
            self.lines.append(line)
            self.times.append(t)
            if text in line:
                return t

    def finish(self, timeout=60):
        rc = self.p.wait(timeout=timeout)
        self._t.join(timeout=5)
        while not self._q.empty():
            _, line = self._q.get()
            if line is not None:
                self.lines.append(line)
        self.err = self.p.stderr.read()
        return rc

    @property
    def out(self):
        return "".join(self.lines)

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def tests(self):
        return Result(0, self.out, "", 0).tests()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
