"""build/ember-jailer: jails built for real (root), ember run inside them as an
unprivileged uid, the result inspected from /proc; every refused input leaves
nothing behind. See docs/jailer.md."""

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

import disks
import netns
from emberlib import BUILD, EMBER, EXIT_OK, TESTGUEST_ELF, Result, skip_under_asan

JAILER = BUILD / "ember-jailer"
UID = GID = 123456
EXEC_NAME = EMBER.name  # "ember": the jail is <base>/ember/<id>/root
GUEST_MAC = "06:00:ac:10:00:02"
SIGTERM_EXIT = 128 + signal.SIGTERM  # ember's code for a stop by SIGTERM

pytestmark = [pytest.mark.skipif(os.geteuid() != 0,
                                 reason="the jailer needs root (mount namespaces, mknod, setuid)"),
              skip_under_asan("the jailer is not an ASan build, and it runs only a static "
                              "--exec-file, which ember-asan is not")]


@pytest.fixture(scope="module", autouse=True)
def jailer_built():
    if not JAILER.exists():
        pytest.fail("build/ember-jailer is missing: run `make`")


def new_id():
    return f"t-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- jails


class Jails:
    """A fresh chroot base dir per test, and everything to clean up after it:
    jailed processes (started here, or read from their pid files), the base
    dir, cgroups and cgroup.subtree_control changes."""

    def __init__(self, base):
        self.base = base
        self.base.mkdir()
        self.popens = []
        self.pids = set()  # learned from pid files (never read one we wrote)
        self.cgroup_dirs = []  # removed deepest first
        self.subtree_restore = []  # (file, controller) to disable again

    def root(self, jail_id, name=EXEC_NAME):
        return self.base / name / jail_id / "root"

    def stage(self, jail_id, files=(), cfg=None):
        """<chroot>/ with files hard-linked or copied in and vm.json, owned by
        the jail's uid, as Firecracker's users prepare a jail."""
        root = self.root(jail_id)
        root.mkdir(parents=True)
        for src, name in files:
            dst = root / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
            os.chown(dst, UID, GID)
        if cfg is not None:
            (root / "vm.json").write_text(json.dumps(cfg))
            os.chown(root / "vm.json", UID, GID)
        return root

    def pid(self, jail_id, timeout=10):
        """The jailed process's pid from <chroot>/<exec_name>.pid."""
        path = self.root(jail_id) / f"{EXEC_NAME}.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.read_text():
                pid = int(path.read_text())
                self.pids.add(pid)
                return pid
            time.sleep(0.01)
        raise AssertionError(f"no pid file {path} within {timeout} s")

    def cleanup(self):
        for p in self.popens:
            p.kill()
        for pid in self.pids:
            kill_and_wait(pid, signal.SIGKILL)
        for p in self.popens:
            p.wait()
        # The jails' mounts live in the jailed processes' own mount
        # namespaces; nothing is mounted on the host. Make sure.
        for line in Path("/proc/mounts").read_text().splitlines():
            mnt = line.split()[1]
            if mnt.startswith(str(self.base)):
                subprocess.run(["umount", "-l", mnt], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        for d in sorted(self.cgroup_dirs, key=lambda p: -len(p.parts)):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        for f, ctl in self.subtree_restore:
            try:
                f.write_text(f"-{ctl}\n")
            except OSError:
                pass


@pytest.fixture
def jails(tmp_path):
    j = Jails(tmp_path / "jails")
    yield j
    j.cleanup()


def alive(pid):
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"


def kill_and_wait(pid, sig=signal.SIGTERM, timeout=10):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid), f"pid {pid} still alive {timeout} s after signal {sig}"


def run_jailer(args, timeout=60, **kw):
    t0 = time.monotonic()
    p = subprocess.run([str(JAILER), *map(str, args)], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, errors="replace", timeout=timeout, **kw)
    return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def jail_args(jails, jail_id, *extra, uid=UID, gid=GID, exec_file=EMBER):
    return ["--id", jail_id, "--exec-file", exec_file, "--uid", uid, "--gid", gid,
            "--chroot-base-dir", jails.base, *extra]


class Running:
    """The jailer started in the background; its (and then ember's) stdout
    read line by line."""

    def __init__(self, jails, args, **kw):
        self.p = subprocess.Popen([str(JAILER), *map(str, args)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  errors="replace", **kw)
        jails.popens.append(self.p)
        self.lines, self.err = [], []
        self._q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while not any(text in l for l in self.lines):
            try:
                line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.text()}")
            if line is None:
                self._q.put(None)
                raise AssertionError(f"output ended before {text!r}:\n{self.text()}")
            self.lines.append(line)

    def drain(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                return
            self.lines.append(line)

    def text(self):
        return "".join(self.lines) + "".join(self.err)


def guest_cfg(boot_args, drive=False, tap=False):
    cfg = {"boot-source": {"kernel_image_path": "/kernel", "boot_args": boot_args},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
    if drive:
        cfg["drives"] = [disks.drive("d0", "/disk.img", root=False, ro=False)]
    if tap:
        cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": "tap0",
                                      "guest_mac": GUEST_MAC}]
    return cfg


@pytest.fixture
def ns():
    ok, why = netns.available()
    if not ok:
        pytest.skip(f"netns: {why}")
    n = netns.NetNS()
    n.add_tap("tap0")
    yield n
    n.close()


def stage_guest(jails, jail_id, tmp_path, boot_args, drive=True, tap=True):
    if not TESTGUEST_ELF.exists():
        pytest.fail("build/testguest.elf is missing: run `make testguest`")
    files = [(TESTGUEST_ELF, "kernel")]
    if drive:
        img = disks.pattern_image(tmp_path / "disk.img", 2048)
        files.append((img, "disk.img"))
    return jails.stage(jail_id, files, guest_cfg(boot_args, drive, tap))


# The log goes to a file in the jail, so that it never splits a console line.
VM_ARGS = ["--", "--no-api", "--config-file", "/vm.json", "--log-path", "/ember.log"]

# ---------------------------------------------------------------- booting


@pytest.mark.kvm
def test_jailed_ember_reads_a_drive(tmp_path, jails, ns):
    jid = new_id()
    stage_guest(jails, jid, tmp_path, "test=blk-read")
    r = run_jailer(jail_args(jails, jid, "--netns", f"/var/run/netns/{ns.name}", *VM_ARGS))
    assert r.tests().get("blk-read", ("",))[0] == "PASS", r.text
    assert r.tests()["blk-read"][1].startswith("sectors=2048")
    assert "TESTGUEST DONE" in r.out
    assert r.rc == EXIT_OK, r.text


@pytest.mark.kvm
def test_jailed_ember_sends_on_a_tap(tmp_path, jails, ns):
    jid = new_id()
    stage_guest(jails, jid, tmp_path, "test=net-send count=5")
    sock = ns.packet_socket("tap0")
    sock.settimeout(0.2)
    r = run_jailer(jail_args(jails, jid, "--netns", f"/var/run/netns/{ns.name}", *VM_ARGS))
    assert r.tests().get("net-send", ("",))[0] == "PASS", r.text
    assert r.rc == EXIT_OK, r.text
    frames = []
    try:
        while True:
            f = sock.recv(65536)
            if len(f) >= 14 and f[12:14] == b"\x88\xb5":
                frames.append(f)
    except socket.timeout:
        pass
    assert len(frames) == 5
    assert frames[0][6:12] == bytes.fromhex(GUEST_MAC.replace(":", ""))


# ---------------------------------------------------------------- a live jail


def proc_status(pid):
    return dict(l.split(":", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines())


def ns_ino(pid, kind):
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def limits(pid):
    out = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        m = re.match(r"(.+?)\s{2,}(\S+)\s+(\S+)", line)
        out[m.group(1)] = (m.group(2), m.group(3))
    return out


def same_file(a, b):
    sa, sb = os.stat(a), os.stat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def wait_log(root, text, timeout=10):
    """Until ember's log in the jail (which it may not have opened yet) says text."""
    log = root / "ember.log"
    deadline = time.monotonic() + timeout
    while not (log.exists() and text in log.read_text()):
        assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
        time.sleep(0.02)


def check_jail_layout(root):
    """What the jailer leaves in <chroot>: folders, device nodes, the copy."""
    for d in ["", "dev", "dev/net", "run"]:
        st = os.stat(root / d)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o700, UID, GID), d
    nodes = {"dev/net/tun": (10, 200), "dev/kvm": (10, 232), "dev/urandom": (1, 9)}
    if Path("/dev/userfaultfd").exists():
        nodes["dev/userfaultfd"] = (10, os.minor(os.stat("/dev/userfaultfd").st_rdev))
    for path, (major, minor) in nodes.items():
        st = os.lstat(root / path)
        assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, path
        assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor), path
        assert (st.st_uid, st.st_gid) == (UID, GID), path
    copy, orig = os.lstat(root / EXEC_NAME), os.stat(EMBER)
    assert stat.S_ISREG(copy.st_mode) and copy.st_nlink == 1
    assert (copy.st_dev, copy.st_ino) != (orig.st_dev, orig.st_ino)  # a copy, not a link
    assert (copy.st_uid, copy.st_gid) == (UID, GID)
    assert stat.S_IMODE(copy.st_mode) == stat.S_IMODE(orig.st_mode) & 0o777
    assert (hashlib.sha256((root / EXEC_NAME).read_bytes()).digest()
            == hashlib.sha256(EMBER.read_bytes()).digest())
    assert not (root / "old_root").exists()


@pytest.mark.kvm
def test_live_jail_as_seen_from_proc(tmp_path, jails, ns):
    jid = new_id()
    root = stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30")
    # An inherited fd and environment variable the jailer must not pass on.
    leak = open(tmp_path / "leaked-fd", "w")
    j = Running(jails, jail_args(jails, jid, "--netns", f"/var/run/netns/{ns.name}",
                                 "--resource-limit", "fsize=1073741824",
                                 "--resource-limit", "no-file=1024", *VM_ARGS),
                pass_fds=[leak.fileno()], env={"PATH": "/usr/bin", "EMBER_LEAK": "1"})
    j.wait_for("TEST idle READY")
    pid = j.p.pid  # the jailer exec'd into ember: same process
    assert jails.pid(jid) == pid

    st = proc_status(pid)
    assert st["Uid"].split() == [str(UID)] * 4
    assert st["Gid"].split() == [str(GID)] * 4
    assert st["Groups"].strip() == ""
    assert st["CapEff"].strip() == "0000000000000000"
    assert st["CapPrm"].strip() == "0000000000000000"
    assert same_file(f"/proc/{pid}/root", root)  # its / is the jail
    assert same_file(f"/proc/{pid}/cwd", root)
    assert sorted(os.listdir(f"/proc/{pid}/root")) == sorted(
        ["dev", "disk.img", "ember", "ember.log", "ember.pid", "kernel", "run", "vm.json"])
    lim = limits(pid)
    assert lim["Max open files"] == ("1024", "1024")
    assert lim["Max file size"] == ("1073741824", "1073741824")
    assert ns_ino(pid, "mnt") != ns_ino("self", "mnt")
    assert ns_ino(pid, "net") == os.stat(f"/var/run/netns/{ns.name}").st_ino
    assert ns_ino(pid, "pid") == ns_ino("self", "pid")  # no --new-pid-ns
    assert Path(f"/proc/{pid}/environ").read_bytes() == b""
    fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert not any("leaked-fd" in t for t in fds), fds
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert argv[:3] == ["/ember", "--id", jid]
    assert argv[3] == "--start-time-us" and argv[5] == "--start-time-cpu-us"
    assert argv[7] == "--parent-cpu-time-us" and all(a.isdigit() for a in argv[4:9:2])
    assert argv[9:] == VM_ARGS[1:]
    # The jail's mounts are private to ember's namespace.
    assert str(root) not in Path("/proc/self/mounts").read_text()
    check_jail_layout(root)

    os.kill(pid, signal.SIGTERM)
    assert j.p.wait(timeout=10) == SIGTERM_EXIT
    leak.close()


def test_api_socket_inside_the_jail(tmp_path, jails):
    """Without --no-api ember listens on /run/firecracker.socket, which is
    <chroot>/run/firecracker.socket from the host."""
    jid = new_id()
    root = jails.stage(jid)
    j = Running(jails, jail_args(jails, jid))
    sock_path = root / "run" / "firecracker.socket"
    deadline = time.monotonic() + 10
    while not sock_path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    st = os.lstat(sock_path)
    assert stat.S_ISSOCK(st.st_mode) and st.st_uid == UID
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    d = os.open(sock_path.parent, os.O_PATH)  # the full path is too long for AF_UNIX
    s.connect(f"/proc/self/fd/{d}/{sock_path.name}")
    os.close(d)
    s.sendall(b"GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answer = s.recv(4096).decode()
    s.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    assert "firecracker_version" in answer
    os.kill(j.p.pid, signal.SIGTERM)
    assert j.p.wait(timeout=10) == SIGTERM_EXIT


@pytest.mark.kvm
def test_daemonize(tmp_path, jails):
    jid = new_id()
    root = stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30", drive=False,
                       tap=False)
    r = run_jailer(jail_args(jails, jid, "--daemonize", *VM_ARGS),
                   timeout=10)
    # The jailer returns at once; the daemon carries on.
    assert r.rc == 0 and r.out == "", r.text
    pid = jails.pid(jid)
    # The pid file is written just before the exec: wait for ember itself.
    wait_log(root, "VM started")
    assert alive(pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ppid, pgrp, session = int(fields[1]), int(fields[2]), int(fields[3])
    assert session != pid and pgrp == session  # setsid, then a second fork
    assert ppid != os.getpid()
    assert os.getsid(0) != session
    for fd in range(3):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    assert proc_status(pid)["Uid"].split() == [str(UID)] * 4
    assert same_file(f"/proc/{pid}/root", root)
    # Firecracker's default resource limits: 2048 fds; fsize inherited.
    assert limits(pid)["Max open files"] == ("2048", "2048")
    assert limits(pid)["Max file size"] == limits("self")["Max file size"]
    check_jail_layout(root)
    kill_and_wait(pid)
    assert f"exit code {SIGTERM_EXIT}" in (root / "ember.log").read_text()


@pytest.mark.kvm
@pytest.mark.parametrize("daemonize", [False, True])
def test_new_pid_ns(tmp_path, jails, daemonize):
    jid = new_id()
    root = stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30", drive=False,
                       tap=False)
    extra = ["--new-pid-ns"] + (["--daemonize"] if daemonize else [])
    j = Running(jails, jail_args(jails, jid, *extra, *VM_ARGS))
    # The jailer's process writes the child's pid and exits 0.
    assert j.p.wait(timeout=10) == 0, j.text()
    pid = jails.pid(jid)
    # The pid file is written just before the child execs: wait for ember.
    wait_log(root, "VM started")
    assert pid != j.p.pid and alive(pid)
    nspid = proc_status(pid)["NSpid"].split()
    assert nspid == [str(pid), "1"]  # PID 1 of its own namespace
    assert ns_ino(pid, "pid") != ns_ino("self", "pid")
    assert ns_ino(pid, "mnt") != ns_ino("self", "mnt")
    assert proc_status(pid)["Uid"].split() == [str(UID)] * 4
    assert same_file(f"/proc/{pid}/root", root)
    if not daemonize:
        j.wait_for("TEST idle READY")
    # PID 1 gets SIGTERM because ember blocks it and reads it from a signalfd.
    kill_and_wait(pid)
    assert f"exit code {SIGTERM_EXIT}" in (root / "ember.log").read_text()


# ---------------------------------------------------------------- cgroups


def cgroup_mounts():
    """({controller: (dir, read_only)} for v1, (dir, read_only) or None for v2)."""
    v1, v2 = {}, None
    for line in Path("/proc/mounts").read_text().splitlines():
        f = line.split()
        d = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f[1])
        opts = f[3].split(",")
        if f[2] == "cgroup":
            for o in opts:
                v1.setdefault(o, (Path(d), "ro" in opts))
        elif f[2] == "cgroup2" and v2 is None:
            v2 = (Path(d), "ro" in opts)
    return v1, v2


def probe_mkdir(where, what):
    probe = where / f"ember-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        pytest.skip(f"{what}: cannot create a cgroup under {where} here ({e.strerror})")


def v1_or_skip(*controllers):
    v1, _ = cgroup_mounts()
    for c in controllers:
        if c not in v1:
            pytest.skip(f"cgroup v1: no v1 hierarchy with the {c} controller is mounted "
                        f"on this host (/proc/mounts)")
        if v1[c][1]:
            pytest.skip(f"cgroup v1: the {c} hierarchy {v1[c][0]} is mounted read-only here")
        probe_mkdir(v1[c][0], "cgroup v1")
    return {c: v1[c][0] for c in controllers}


# A value each v2 controller accepts, and how it reads back.
V2_SETTINGS = [("cpu", "cpu.weight", "50", "50"),
               ("pids", "pids.max", "1000", "1000"),
               ("memory", "memory.max", "1073741824", "1073741824"),
               ("hugetlb", "hugetlb.2MB.max", "0", "0")]


def v2_or_skip():
    _, v2 = cgroup_mounts()
    if not v2:
        pytest.skip("cgroup v2: no cgroup2 hierarchy is mounted on this host (/proc/mounts)")
    if v2[1]:
        pytest.skip(f"cgroup v2: the unified hierarchy {v2[0]} is mounted read-only here")
    probe_mkdir(v2[0], "cgroup v2")
    return v2[0]


def cgroup_lines(pid):
    return Path(f"/proc/{pid}/cgroup").read_text().splitlines()


@pytest.mark.kvm
def test_cgroup_v1(tmp_path, jails):
    mounts = v1_or_skip("cpuset", "cpu")
    parent = f"ember-test-{uuid.uuid4().hex[:8]}"
    jid = new_id()
    for m in mounts.values():
        jails.cgroup_dirs += [m / parent, m / parent / jid]
    stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30", drive=False, tap=False)
    # cpuset.cpus/mems start empty in a new cgroup: the jailer copies the
    # parent's value down before writing (here into the new parent too).
    j = Running(jails, jail_args(jails, jid, "--cgroup", "cpuset.cpus=0", "--cgroup",
                                 "cpuset.mems=0", "--cgroup", "cpu.shares=512",
                                 "--parent-cgroup", parent, *VM_ARGS))
    j.wait_for("TEST idle READY")
    pid = j.p.pid
    lines = cgroup_lines(pid)
    for c in mounts:
        assert any(re.fullmatch(rf"\d+:([^:]*,)?{c}(,[^:]*)?:/{parent}/{jid}", l)
                   for l in lines), (c, lines)
    cg = mounts["cpuset"] / parent / jid
    assert (cg / "cpuset.cpus").read_text().strip() == "0"
    assert (cg / "cpuset.mems").read_text().strip() == "0"
    assert (mounts["cpuset"] / parent / "cpuset.cpus").read_text().strip() != ""
    assert (mounts["cpu"] / parent / jid / "cpu.shares").read_text().strip() == "512"
    assert str(pid) in (cg / "tasks").read_text().split()
    os.kill(pid, signal.SIGTERM)
    assert j.p.wait(timeout=10) == SIGTERM_EXIT


@pytest.fixture
def v2_setting(jails):
    unified = v2_or_skip()
    offered = (unified / "cgroup.controllers").read_text().split()
    for ctl, file, value, back in V2_SETTINGS:
        if ctl not in offered:
            continue
        if ctl == "hugetlb" and not Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists():
            continue
        root_ctl = unified / "cgroup.subtree_control"
        if ctl not in root_ctl.read_text().split():
            jails.subtree_restore.append((root_ctl, ctl))
        return unified, ctl, file, value, back
    pytest.skip(f"cgroup v2: {unified} offers no controller this test can set "
                f"(cgroup.controllers: {' '.join(offered) or 'none'})")


@pytest.mark.kvm
def test_cgroup_v2(tmp_path, jails, v2_setting):
    unified, ctl, file, value, back = v2_setting
    parent = f"ember-test-{uuid.uuid4().hex[:8]}/nested"
    jid = new_id()
    jails.cgroup_dirs += [unified / parent.split("/")[0], unified / parent, unified / parent / jid]
    jails.subtree_restore.append((unified / parent.split("/")[0] / "cgroup.subtree_control", ctl))
    stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30", drive=False, tap=False)
    j = Running(jails, jail_args(jails, jid, "--cgroup-version", "2", "--cgroup",
                                 f"{file}={value}", "--parent-cgroup", parent, *VM_ARGS))
    j.wait_for("TEST idle READY")
    pid = j.p.pid
    assert f"0::/{parent}/{jid}" in cgroup_lines(pid)
    assert (unified / parent / jid / file).read_text().strip() == back
    # Enabled from the top down to the parent.
    for d in [unified, unified / parent.split("/")[0], unified / parent]:
        assert ctl in (d / "cgroup.subtree_control").read_text().split(), d
    assert str(pid) in (unified / parent / jid / "cgroup.procs").read_text().split()
    os.kill(pid, signal.SIGTERM)
    assert j.p.wait(timeout=10) == SIGTERM_EXIT


@pytest.mark.kvm
def test_cgroup_v2_without_values_joins_the_parent(tmp_path, jails):
    unified = v2_or_skip()
    parent = f"ember-test-{uuid.uuid4().hex[:8]}"
    (unified / parent).mkdir()
    jails.cgroup_dirs.append(unified / parent)
    jid = new_id()
    stage_guest(jails, jid, tmp_path, "test=idle idle_timeout_s=30", drive=False, tap=False)
    j = Running(jails, jail_args(jails, jid, "--cgroup-version", "2", "--parent-cgroup", parent,
                                 *VM_ARGS))
    j.wait_for("TEST idle READY")
    assert f"0::/{parent}" in cgroup_lines(j.p.pid)
    # Nothing created under it.
    assert not [p for p in (unified / parent).iterdir() if p.is_dir()]
    os.kill(j.p.pid, signal.SIGTERM)
    assert j.p.wait(timeout=10) == SIGTERM_EXIT


@pytest.mark.kvm
def test_cgroup_v2_missing_parent_is_no_error(tmp_path, jails):
    unified = v2_or_skip()
    parent = f"ember-test-{uuid.uuid4().hex[:8]}"
    jid = new_id()
    stage_guest(jails, jid, tmp_path, "test=hello", drive=False, tap=False)
    before = [l for l in cgroup_lines("self") if l.startswith("0::")]
    r = run_jailer(jail_args(jails, jid, "--cgroup-version", "2", "--parent-cgroup", parent,
                             *VM_ARGS))
    assert r.tests().get("hello", ("",))[0] == "PASS" and r.rc == 0, r.text
    assert not (unified / parent).exists()
    assert before  # (the test process itself stayed where it was)


# ---------------------------------------------------------------- refused input


def jail_gone(jails, jid, name=EXEC_NAME):
    """Nothing of the jail left: not <base>/<name>/<id>, and <base>/<name>
    only if it was there before."""
    assert not (jails.base / name / jid).exists(), list((jails.base / name).rglob("*"))
    assert not (jails.base / name).exists(), list((jails.base / name).rglob("*"))


def refused(r, fragment):
    assert r.rc == 1, r.text
    assert fragment in r.err, r.err
    errors = [l for l in r.err.splitlines() if not l.startswith("ember-jailer: warning:")]
    assert len(errors) == 1 and errors[0].startswith("ember-jailer: "), r.err


def v1_controller_fragment():
    v1, _ = cgroup_mounts()
    if not v1:
        return "no cgroup v1 hierarchy is mounted"
    return "unknown cgroup controller 'bogus' in --cgroup bogus.thing=1"


BAD = {
    "id-slash": (dict(jid="a/b"), "invalid --id 'a/b': '/' at position 1"),
    "id-dotdot": (dict(jid=".."), "invalid --id '..': '.' at position 0"),
    "id-too-long": (dict(jid="a" * 65), "invalid --id: 65 characters (an id is 1 to 64"),
    "id-empty": (dict(jid=""), "invalid --id: 0 characters"),
    "uid-name": (dict(uid="nobody"), "invalid --uid 'nobody': not a number"),
    "gid-name": (dict(gid="root"), "invalid --gid 'root': not a number"),
    "uid-negative": (dict(uid="-1"), "invalid --uid '-1': not a number"),
    "uid-minus-one": (dict(uid="4294967295"), "invalid --uid '4294967295': out of range"),
    "cgroup-malformed": (dict(extra=["--cgroup", "cpu.shares"]),
                         "invalid --cgroup 'cpu.shares': expected <file>=<value>"),
    "cgroup-no-controller": (dict(extra=["--cgroup", "tasks=1"]),
                             "'tasks' is not a cgroup file name"),
    "cgroup-path": (dict(extra=["--cgroup", "../cpu.shares=1"]), "is not a cgroup file name"),
    "cgroup-version": (dict(extra=["--cgroup-version", "3"]), "invalid --cgroup-version '3'"),
    "parent-cgroup": (dict(extra=["--parent-cgroup", "../x"]),
                      "invalid --parent-cgroup '../x'"),
    "rlimit-unknown": (dict(extra=["--resource-limit", "cpu=1"]), "unknown resource 'cpu'"),
    "rlimit-value": (dict(extra=["--resource-limit", "no-file=many"]), "'many' is not a number"),
    "unknown-flag": (dict(extra=["--node", "0"]), "unknown flag '--node'"),
    "flag-equals": (dict(extra=["--netns=/x"]), "unknown flag '--netns=/x' (write '--netns VALUE')"),
    "duplicate-flag": (dict(extra=["--daemonize", "--daemonize"]),
                       "--daemonize given more than once"),
    "missing-value": (dict(extra=["--netns"]), "--netns needs a value"),
    "stray-argument": (dict(extra=["vm.json"]), "unexpected argument 'vm.json'"),
    "base-missing": (dict(base="/nonexistent-base"),
                     "invalid --chroot-base-dir /nonexistent-base: No such file or directory"),
}


@pytest.mark.parametrize("case", BAD.keys())
def test_bad_input_is_refused_and_leaves_nothing(jails, case):
    kw, fragment = BAD[case]
    jid = kw.get("jid", new_id())
    args = ["--id", jid, "--exec-file", EMBER, "--uid", kw.get("uid", UID), "--gid",
            kw.get("gid", GID), "--chroot-base-dir", kw.get("base", jails.base),
            *kw.get("extra", [])]
    r = run_jailer(args)
    refused(r, fragment)
    if jid and "/" not in jid and jid != "..":
        jail_gone(jails, jid)
    assert os.listdir(jails.base) == []


def test_uid_that_does_not_exist(jails):
    """A uid with no entry in the user database is Firecracker's normal
    practice (a bare per-VM number): only a warning. A uid that does not
    exist for the kernel, one outside the user namespace's map, can never
    be taken: refused before anything is built."""
    jid = new_id()
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    # In a user namespace that maps only root, 123456 does not exist.
    p = subprocess.run(["unshare", "--user", "--map-root-user", "--", str(JAILER),
                        *map(str, jail_args(jails, jid))], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0 and "unshare failed" in p.stderr:
        pytest.skip(f"step 'drop to uid': this host forbids user namespaces ({p.stderr.strip()})")
    refused(Result(p.returncode, p.stdout, p.stderr, 0),
            f"invalid --uid {UID}: not mapped in this user namespace")
    jail_gone(jails, jid)
    assert os.listdir(jails.base) == []


@pytest.mark.parametrize("missing", ["--id", "--exec-file", "--uid", "--gid"])
def test_missing_required_flag(jails, missing):
    args = dict(zip(["--id", "--exec-file", "--uid", "--gid", "--chroot-base-dir"],
                    [new_id(), EMBER, UID, GID, jails.base]))
    del args[missing]
    r = run_jailer([x for kv in args.items() for x in kv])
    refused(r, f"missing required flag {missing}")
    assert os.listdir(jails.base) == []


def test_unknown_cgroup_controller(jails):
    jid = new_id()
    r = run_jailer(jail_args(jails, jid, "--cgroup", "bogus.thing=1"))
    refused(r, v1_controller_fragment())
    assert os.listdir(jails.base) == []


def test_unknown_cgroup_v2_controller(jails):
    _, v2 = cgroup_mounts()
    if not v2:
        pytest.skip("cgroup v2: no cgroup2 hierarchy is mounted on this host (/proc/mounts)")
    r = run_jailer(jail_args(jails, new_id(), "--cgroup-version", "2", "--cgroup",
                             "bogus.max=1"))
    refused(r, "unknown cgroup controller 'bogus' in --cgroup bogus.max=1")
    assert os.listdir(jails.base) == []


def exec_file_case(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "no-such-ember", "No such file or directory"
    if kind == "symlink":
        link = tmp_path / "ember-link"
        link.symlink_to(EMBER)
        return link, f"invalid --exec-file {link}: a symbolic link (to {EMBER.resolve()})"
    if kind == "directory":
        d = tmp_path / "ember-dir"
        d.mkdir()
        return d, "not a regular file (a directory)"
    if kind == "fifo":
        f = tmp_path / "ember-fifo"
        os.mkfifo(f)
        return f, "not a regular file (a FIFO)"
    if kind == "not-executable":
        f = tmp_path / "ember-rw"
        shutil.copyfile(EMBER, f)
        os.chmod(f, 0o644)
        return f, "not executable by its owner (mode 0644)"
    if kind == "dynamic":
        return Path("/bin/true"), "is dynamically linked and its program interpreter"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["missing", "symlink", "directory", "fifo", "not-executable",
                                  "dynamic"])
def test_bad_exec_file(tmp_path, jails, kind):
    path, fragment = exec_file_case(tmp_path, kind)
    jid = new_id()
    r = run_jailer(jail_args(jails, jid, exec_file=path))
    refused(r, fragment)
    assert os.listdir(jails.base) == []


def test_existing_jail_is_refused_and_kept(tmp_path, jails):
    """An id whose jail holds the copy of an earlier run: refused, untouched.
    (A jail holding only what the user put there is fine: that is how a
    jail is prepared for --config-file.)"""
    jid = new_id()
    root = jails.stage(jid, [(TESTGUEST_ELF, "kernel")])
    (root / EXEC_NAME).write_bytes(b"from an earlier run")
    before = sorted(p.name for p in root.iterdir())
    r = run_jailer(jail_args(jails, jid))
    refused(r, f"jail {root} already exists (it holds /ember from an earlier run")
    assert sorted(p.name for p in root.iterdir()) == before
    assert (root / EXEC_NAME).read_bytes() == b"from an earlier run"
    (root / EXEC_NAME).unlink()
    (root / f"{EXEC_NAME}.pid").write_text("1")
    r = run_jailer(jail_args(jails, jid))
    refused(r, "already exists (it holds /ember.pid")


def test_bad_netns_rolls_back(jails):
    """Fails in step 5, after the jail directory and the copy exist."""
    jid = new_id()
    r = run_jailer(jail_args(jails, jid, "--netns", "/var/run/netns/no-such-ns"))
    refused(r, "cannot open the network namespace /var/run/netns/no-such-ns")
    jail_gone(jails, jid)


def test_impossible_rlimit_rolls_back(jails):
    """Fails in step 6 (above fs.nr_open)."""
    nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
    jid = new_id()
    r = run_jailer(jail_args(jails, jid, "--resource-limit", f"no-file={nr_open + 1}"))
    refused(r, f"cannot set the no-file resource limit to {nr_open + 1}")
    jail_gone(jails, jid)


def test_failure_inside_the_jail_rolls_back_to_what_was_staged(tmp_path, jails):
    """Fails in step 12 (mknod /dev/kvm: a file is in the way), after the
    chroot: only what the user staged is left."""
    jid = new_id()
    root = jails.stage(jid, [(TESTGUEST_ELF, "kernel")])
    (root / "dev").mkdir()
    (root / "dev" / "kvm").write_text("in the way")
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    r = run_jailer(jail_args(jails, jid))
    refused(r, "cannot create /dev/kvm (10:232) in the jail: File exists")
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before


def test_exec_failure_rolls_back_everything(tmp_path, jails):
    """Fails in step 14, at execve, after the drop to the unprivileged uid:
    the jail, the cgroups (v1 if this host has one) and the copy all go."""
    bogus = tmp_path / "not-elf"
    bogus.write_text("neither ELF nor #!\n")
    bogus.chmod(0o755)
    jid = new_id()
    extra, made = [], []
    v1, _ = cgroup_mounts()
    parent = f"ember-test-{uuid.uuid4().hex[:8]}"
    if "cpu" in v1 and not v1["cpu"][1]:
        extra = ["--cgroup", "cpu.shares=512", "--parent-cgroup", parent]
        made = [v1["cpu"][0] / parent / jid, v1["cpu"][0] / parent]
        jails.cgroup_dirs += made
    r = run_jailer(jail_args(jails, jid, *extra, exec_file=bogus))
    refused(r, f"cannot exec /not-elf in the jail {jails.root(jid, 'not-elf')} as "
               f"{UID}:{GID}: Exec format error")
    jail_gone(jails, jid, "not-elf")
    for d in made:
        assert not d.exists(), d


@pytest.mark.parametrize("daemonize", [False, True])
def test_exec_failure_in_a_detached_process_rolls_back(tmp_path, jails, daemonize):
    """With --new-pid-ns (and --daemonize) the jailer has exited 0 when the
    exec fails in its child; the child still removes the whole jail."""
    bogus = tmp_path / "not-elf"
    bogus.write_text("neither ELF nor #!\n")
    bogus.chmod(0o755)
    jid = new_id()
    extra = ["--new-pid-ns"] + (["--daemonize"] if daemonize else [])
    r = run_jailer(jail_args(jails, jid, *extra, exec_file=bogus))
    assert r.rc == 0, r.text
    if not daemonize:
        assert "Exec format error" in r.err
    deadline = time.monotonic() + 10
    while (jails.base / "not-elf").exists():
        assert time.monotonic() < deadline, list(jails.base.rglob("*"))
        time.sleep(0.02)


def test_help_and_version():
    r = run_jailer(["--help"])
    assert r.rc == 0 and "--exec-file" in r.out and "--resource-limit" in r.out
    assert "Usage: ember-jailer" in r.out
    r = run_jailer(["--version"])
    assert r.rc == 0 and re.fullmatch(r"Jailer v\d+\.\d+\.\d+\n\n", r.out), r.out
    r = run_jailer(["--bogus", "-h"])
    assert r.rc == 0 and "Usage" in r.out
