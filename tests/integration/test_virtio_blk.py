"""virtio-blk, proven by the test guest driving it from ring 3."""

import os
import re
import subprocess

import pytest

import disks
from disks import drive
from emberlib import EXIT_BAD_CONFIG, EXIT_OK, Live, config, run_config

pytestmark = pytest.mark.kvm
ENGINES = ["Sync", "Async"]


def boot(tmp_path, boot_args, drives, args=(), mem_mib=128, timeout=60):
    cfg = config(boot_args=boot_args, mem_mib=mem_mib)
    cfg["drives"] = drives
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, cfg, args=["--log-path", log, "--level", "Debug", *args],
                   timeout=timeout)
    r.log = log.read_text() if log.exists() else ""
    return r


def passed(r, name):
    v = r.tests().get(name)
    assert v and v[0] == "PASS", r.out + r.log
    assert r.rc == EXIT_OK
    return v[1]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("irq", [0, 1])
def test_read_every_sector(tmp_path, engine, irq):
    img = disks.pattern_image(tmp_path / "d0.img", 8192)
    r = boot(tmp_path, f"test=blk-read irq={irq}", [drive("d0", img, io_engine=engine)])
    detail = passed(r, "blk-read")
    assert detail.startswith("sectors=8192")
    if irq:
        assert int(re.search(r"interrupts=(\d+)", detail).group(1)) > 0
    # Polling, the guest asked for no interrupts; reads cost no exits.
    assert re.search(r"block d0: reads=\d+ \(4194304 bytes\)", r.log)


@pytest.mark.parametrize("engine", ENGINES)
def test_write_then_flush_reaches_the_file(tmp_path, engine):
    d0 = disks.pattern_image(tmp_path / "d0.img", 64)
    d1 = disks.zero_image(tmp_path / "d1.img", 2 << 20)
    r = boot(tmp_path, "test=blk-write", [drive("d0", d0, io_engine=engine),
                                           drive("d1", d1, cache_type="Writeback",
                                                 io_engine=engine)])
    assert passed(r, "blk-write") == "sectors=4096"
    assert disks.check_blk_write_pattern(d1) is None
    assert re.search(r"block d1: .* flushes=1 ", r.log), r.log


def test_flush_not_offered_without_writeback(tmp_path):
    d0 = disks.pattern_image(tmp_path / "d0.img", 64)
    d1 = disks.zero_image(tmp_path / "d1.img", 1 << 20)
    r = boot(tmp_path, "test=blk-write", [drive("d0", d0), drive("d1", d1)])
    verdict, detail = r.tests()["blk-write"]
    assert verdict == "FAIL" and "FLUSH" in detail, r.out


@pytest.mark.parametrize("engine", ENGINES)
def test_read_only_drive_refuses_writes(tmp_path, engine):
    img = disks.pattern_image(tmp_path / "ro.img", 256)
    before = disks.sha256(img)
    r = boot(tmp_path, "test=blk-ro", [drive("ro", img, ro=True, io_engine=engine)])
    passed(r, "blk-ro")
    assert disks.sha256(img) == before


def test_four_drives_at_once(tmp_path):
    drives = [drive(f"d{i}", disks.pattern_image(tmp_path / f"d{i}.img", 2048 * (i + 1), tag=i))
              for i in range(4)]
    r = boot(tmp_path, "test=blk-multi expect_drives=4", drives)
    assert passed(r, "blk-multi") == f"drives=4 sectors={2048 * 10}"


def test_get_id_is_the_drive_id(tmp_path):
    ids = ["rootfs", "data_1", "a_drive_id_of_25_chars_x"]
    drives = [drive(i, disks.pattern_image(tmp_path / f"{n}.img", 8), root=(n == 1))
              for n, i in enumerate(ids)]
    r = boot(tmp_path, "test=blk-id", drives)
    # The root drive comes first; ids longer than 20 bytes are cut there.
    assert passed(r, "blk-id") == "ids=data_1,rootfs,a_drive_id_of_25_cha"


def test_capacity_rounds_down_with_a_warning(tmp_path):
    img = disks.pattern_image(tmp_path / "d0.img", 100)
    with open(img, "ab") as f:
        f.write(b"x" * 100)
    r = boot(tmp_path, "test=blk-capacity", [drive("d0", img)])
    assert passed(r, "blk-capacity") == "sectors=100"
    assert "is not a multiple of 512; the last 100 bytes are not visible" in r.log


def test_root_device_on_the_command_line(tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    b = disks.pattern_image(tmp_path / "b.img", 8)
    r = boot(tmp_path, "test=hello", [drive("data", a), drive("root", b, root=True, ro=True)])
    passed(r, "hello")
    assert ("command line: test=hello pci=off root=/dev/vda ro "
            "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6") in r.log
    r = boot(tmp_path, "test=hello",
             [drive("root", b, root=True, partuuid="0eaa91a0-01")])
    assert "root=PARTUUID=0eaa91a0-01 rw virtio_mmio.device=4K@0xc0001000:5" in r.log


def stream_rate(tmp_path, limiter, boot_args, sectors=32768):
    img = disks.pattern_image(tmp_path / "d0.img", sectors)
    cfg = config(boot_args=boot_args)
    cfg["drives"] = [drive("d0", img, rate_limiter=limiter)]
    live = Live(tmp_path, cfg)
    try:
        t0 = live.wait_for("TEST blk-stream START")
        t1 = live.wait_for("TEST blk-stream PASS", timeout=60)
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    nbytes = int(re.search(r"TEST blk-stream PASS bytes=(\d+)", live.out).group(1))
    return nbytes, t1 - t0, live.log()


def test_bandwidth_limiter_slows_a_stream(tmp_path):
    # 1 MiB per 100 ms = 10 MiB/s; the bucket starts full (1 MiB free).
    # 8 MiB should take (8 - 1) / 10 = 0.7 s. Tolerance: 0.5x to 2x of the
    # configured rate (timer granularity, a loaded 2-core host).
    lim = {"bandwidth": {"size": 1 << 20, "refill_time": 100}}
    nbytes, secs, log = stream_rate(tmp_path, lim, "test=blk-stream total_mib=8")
    assert nbytes == 8 << 20
    rate = (nbytes - (1 << 20)) / secs
    assert 5 << 20 <= rate <= 20 << 20, f"{rate / 2**20:.1f} MiB/s in {secs:.2f} s"
    assert re.search(r"block d0: .* throttled=[1-9]", log)


def test_ops_limiter_slows_a_stream(tmp_path):
    # 100 requests per 100 ms = 1000 IOPS; 600 4-KiB reads, 100 free.
    lim = {"ops": {"size": 100, "refill_time": 100}}
    nbytes, secs, _ = stream_rate(tmp_path, lim,
                                  "test=blk-stream req_kib=4 depth=4 total_mib=2")
    ops = nbytes // 4096
    rate = (ops - 100) / secs
    assert ops == 512
    assert 500 <= rate <= 2000, f"{rate:.0f} IOPS in {secs:.2f} s"


def test_one_time_burst_then_limit(tmp_path):
    # A 4 MiB one-time burst on top of a 1 MiB bucket: the first 5 MiB are
    # free, the next 3 MiB take about 0.3 s at 10 MiB/s.
    lim = {"bandwidth": {"size": 1 << 20, "one_time_burst": 4 << 20, "refill_time": 100}}
    nbytes, secs, _ = stream_rate(tmp_path, lim, "test=blk-stream total_mib=8")
    assert 0.15 <= secs <= 1.5, f"{secs:.2f} s"


# ---------------------------------------------------------------- bad config

@pytest.mark.parametrize("drives,needle", [
    ([drive("d0", "/nonexistent.img")], "drives[0] 'd0': path_on_host: cannot open '/nonexistent.img'"),
    ([drive("d0", "X"), drive("d0", "Y")], "drives[1].drive_id: 'd0' is used twice"),
    ([drive("a", "X", root=True), drive("b", "Y", root=True)],
     "drives[1].is_root_device: a root block device already exists"),
    ([drive("a-b", "X")], "drives[0].drive_id: 'a-b'"),
    ([drive("a", "X", cache_type="Sometimes")], "drives[0].cache_type"),
    ([drive("a", "X", io_engine="Turbo")], "drives[0].io_engine"),
    ([drive("a", "X", rate_limiter={"bandwidth": {"size": 1}})],
     "drives[0].rate_limiter.bandwidth.refill_time: missing"),
    ([{"drive_id": "a", "path_on_host": "X"}], "drives[0].is_root_device: missing"),
    ([drive("a", "X", socket="/tmp/vhost.sock")], "drives[0].socket"),
])
def test_bad_drive_config(tmp_path, drives, needle):
    for name in ("X", "Y"):
        disks.zero_image(tmp_path / name, 4096)
    for d in drives:
        if d["path_on_host"] in ("X", "Y"):
            d["path_on_host"] = str(tmp_path / d["path_on_host"])
    r = boot(tmp_path, "test=hello", drives)
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert needle in r.err, r.err
    assert "VM started" not in r.log


@pytest.mark.parametrize("ro,needle", [(False, "Is a directory"),
                                       (True, "not a regular file or a block device")])
def test_drive_that_is_a_directory(tmp_path, ro, needle):
    r = boot(tmp_path, "test=hello", [drive("d", tmp_path, ro=ro)])
    assert r.rc == EXIT_BAD_CONFIG
    assert needle in r.err


# ---------------------------------------------------------------- host faults

def test_file_truncated_while_the_guest_reads(tmp_path):
    img = disks.pattern_image(tmp_path / "d0.img", 32768)
    cfg = config(boot_args="test=blk-stream total_mib=100000")
    cfg["drives"] = [drive("d0", img)]
    live = Live(tmp_path, cfg)
    try:
        live.wait_for("TEST blk-stream START")
        os.truncate(img, 1 << 20)
        live.wait_for("TESTGUEST DONE", timeout=60)
        rc = live.finish()
    finally:
        live.kill()
    verdict, detail = live.tests()["blk-stream"]
    assert verdict == "FAIL" and "status 1" in detail, live.out  # S_IOERR
    assert rc == EXIT_OK
    log = live.log()
    assert "virtio-block d0: read: short transfer; the guest gets an I/O error" in log
    assert re.search(r"block d0: .* execute_fails=[1-9]", log)


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_write_to_a_full_filesystem(tmp_path, small_fs, engine):
    d0 = disks.pattern_image(tmp_path / "d0.img", 64)
    d1 = disks.zero_image(small_fs / "d1.img", 4 << 20)  # sparse: 4 MiB on 1 MiB
    r = boot(tmp_path, "test=blk-write", [drive("d0", d0),
                                           drive("d1", d1, cache_type="Writeback",
                                                 io_engine=engine)])
    verdict, detail = r.tests()["blk-write"]
    assert verdict == "FAIL", r.out
    assert r.rc == EXIT_OK, r.log
    assert "No space left on device; the guest gets an I/O error" in r.log
    assert re.search(r"block d1: .* execute_fails=[1-9]", r.log)
