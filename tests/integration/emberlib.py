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
# EMBER_ASAN=1 (`make integration-asan`): the same tests drive ember built
# with ASan+UBSan (build/ember-asan, build/ember-testhooks-asan). Each
# sanitizer report goes to a file under sanitizer_log_dir(), and conftest.py
# fails the test during which one appears.
ASAN = os.environ.get("EMBER_ASAN", "") == "1"
EMBER = BUILD / ("ember-asan" if ASAN else "ember")
TESTHOOKS = BUILD / ("ember-testhooks-asan" if ASAN else "ember-testhooks")
# What `make integration-asan` sets; conftest.py sets the same when a run
# with EMBER_ASAN=1 names no log_path. Any report is fatal (ASan halts on
# its first error by default; UBSan's checks are built not to recover),
# with an exit code no ember path uses. symbolize=0 and detect_leaks=0 are
# ember-asan's own defaults too (src/seccomp/seccomp.c says why).
SANITIZER_EXIT = 86
SANITIZER_LOG_PREFIX = "ember"


def sanitizer_options(log_dir):
    return (f"halt_on_error=1:exitcode={SANITIZER_EXIT}:symbolize=0:detect_leaks=0:"
            f"log_path={log_dir}/{SANITIZER_LOG_PREFIX}")


def skip_under_asan(why):
    """Marks a test that cannot work against the ASan build, saying why."""
    import pytest
    return pytest.mark.skipif(ASAN, reason=f"ASan build: {why}")


def sanitizer_log_dir(env=None):
    """The directory of log_path in ASAN_OPTIONS, or None."""
    m = re.search(r"(?:^|:)log_path=([^:]+)", (env or os.environ).get("ASAN_OPTIONS", ""))
    return Path(m.group(1)).parent if m else None


def sanitizer_reports(log_dir):
    """{path: text} of every report file under log_dir that has a report in
    it. ember-asan opens its report file when it starts (before any seccomp
    filter), so most files stay empty; those are not reports."""
    return {p: p.read_text(errors="replace") for p in sorted(Path(log_dir).glob("*"))
            if p.is_file() and p.stat().st_size > 0}


def symbolize(report):
    """A report's frames, "(module+0xoffset)" (ember-asan does not symbolize
    under its filters), with function and file:line added by addr2line."""
    import shutil
    if not shutil.which("addr2line"):
        return report
    frames = list(re.finditer(r"#(\d+) 0x[0-9a-f]+\s+\((/[^+()]+)\+(0x[0-9a-f]+)\)", report))
    names = {}
    for module in {m.group(2) for m in frames}:
        # A return address (every frame but #0) points after its call.
        want = sorted({(m.group(3), int(m.group(3), 16) - (m.group(1) != "0"))
                       for m in frames if m.group(2) == module})
        try:
            out = subprocess.run(["addr2line", "-f", "-p", "-e", module,
                                  *[hex(a) for _, a in want]],
                                 capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for (off, _), line in zip(want, out.splitlines()):
            if not line.startswith("??"):
                names[(module, off)] = line.strip()
    return re.sub(r"(#(\d+) 0x[0-9a-f]+\s+\((/[^+()]+)\+(0x[0-9a-f]+)\))",
                  lambda m: m.group(1) + (f" in {names[(m.group(3), m.group(4))]}"
                                          if (m.group(3), m.group(4)) in names else ""),
                  report)


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
