"""Hostile guests: each breaks the virtio contract one way (docs/virtio.md)
and checks the defined outcome; then the device must recover after a reset
and the VM's other device must have kept working. ember keeps running.
And guests that keep a vCPU busy (a doorbell storm, a console flood, a
spin that never halts) while the API must stay in charge."""

import fcntl
import os
import re
import time

import pytest

import disks
import netns
from apilib import api, start_ember  # noqa: F401
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)
from disks import drive
from emberlib import EXIT_OK, Live, config, run_config

pytestmark = pytest.mark.kvm

BOTH = ["hostile-desc-loop", "hostile-next-oob", "hostile-head-oob", "hostile-indirect",
        "hostile-avail-jump", "hostile-buf-outside-ram", "hostile-len-overflow", "hostile-qsize",
        "hostile-ring-addr", "hostile-queue-sel", "hostile-notify-early", "hostile-features",
        "hostile-mmio-width", "hostile-reset-io", "hostile-ring-overlap", "hostile-zero-len"]
BLOCK_ONLY = ["hostile-blk-short-header", "hostile-blk-request", "hostile-blk-ro-status"]


def check(out, log, rc, name):
    verdict = re.search(rf"^TEST {name} (PASS|FAIL)(.*)$", out, re.M)
    assert verdict and verdict.group(1) == "PASS", out
    assert rc == EXIT_OK, log
    return verdict.group(2)


def block_vm(tmp_path, name, extra=""):
    d0 = disks.pattern_image(tmp_path / "d0.img", 2048)
    d1 = disks.pattern_image(tmp_path / "d1.img", 2048)
    cfg = config(boot_args=f"test={name} dev=0 {extra}".strip())
    cfg["drives"] = [drive("d0", d0, cache_type="Writeback"), drive("d1", d1)]
    return cfg


@pytest.mark.parametrize("name", BOTH + BLOCK_ONLY)
def test_hostile_block(tmp_path, name):
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, block_vm(tmp_path, name), args=["--log-path", log], timeout=60)
    detail = check(r.out, log.read_text(), r.rc, name)
    assert "others=1" in detail, detail  # the other drive was checked


def test_buffer_running_into_the_mmio_gap(tmp_path):
    # With more than 3 GiB the buffer really starts in RAM below the gap.
    log = tmp_path / "ember.log"
    cfg = block_vm(tmp_path, "hostile-buf-gap")
    cfg["machine-config"]["mem_size_mib"] = 3584
    r = run_config(tmp_path, cfg, args=["--log-path", log], timeout=60)
    assert "ram_to_gap=1" in check(r.out, log.read_text(), r.rc, "hostile-buf-gap")


def test_ring_running_into_the_mmio_gap(tmp_path):
    # With more than 3 GiB, RAM reaches 3 GiB: an avail ring that starts
    # 256 bytes below it really runs from RAM into the gap. Refused.
    log = tmp_path / "ember.log"
    cfg = block_vm(tmp_path, "hostile-ring-addr", "round=5")
    cfg["machine-config"]["mem_size_mib"] = 3584
    r = run_config(tmp_path, cfg, args=["--log-path", log], timeout=60)
    assert "rounds=1" in check(r.out, log.read_text(), r.rc, "hostile-ring-addr")
    assert "virtio-block d0: queue 0 refused: ring not in guest RAM" in log.read_text()


def test_broken_queue_is_logged_and_rate_limited(tmp_path):
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, block_vm(tmp_path, "hostile-desc-loop"),
                   args=["--log-path", log, "--level", "Debug"])
    text = log.read_text()
    check(r.out, text, r.rc, "hostile-desc-loop")
    assert re.search(r"virtio-block d0: queue 0 broken by the driver \(descriptor chain longer "
                     r"than the queue \(a loop\)\); the device needs a reset", text)
    assert re.search(r"block d0: .* queue_faults=[1-9]", text)


NARROW_NOTIFY = "virtio-block d0: 2-byte write at register 0x50 ignored"


def test_doorbell_storm(tmp_path):
    # 100,000 notifications with nothing in the ring: ember absorbs them
    # (ioeventfd), stays responsive, and the device and console still work.
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, block_vm(tmp_path, "hostile-doorbell", "count=100000"),
                   args=["--log-path", log, "--level", "Debug"], timeout=120)
    text = log.read_text()
    check(r.out, text, r.rc, "hostile-doorbell")
    # Every notification went through the ioeventfd: none exited to ember.
    assert re.search(r"mmio_write=\d{1,4} ", text), text
    # Then 1000 for no queue and 1000 of the wrong width, which do exit:
    # counted, and the second kind logged 10 times (one 5-second window).
    assert re.search(r"block d0: .* bad_accesses=2000$", text, re.M), text
    assert text.count(NARROW_NOTIFY) == 10, text


def timed(f, *a, **kw):
    t0 = time.monotonic()
    r = f(*a, **kw)
    return r, time.monotonic() - t0


def api_stays_in_charge(api, what):
    """While a vCPU is busy: GET / answers at once, PATCH /vm pauses (the
    vCPU stops using the CPU) and resumes (it goes on)."""
    worst = 0
    for _ in range(20):
        r, secs = timed(api.get, "/")
        assert r.json()["state"] == "Running"
        worst = max(worst, secs)
    assert worst < 0.5, f"GET / took {worst:.2f} s during {what}"

    def vcpu_ticks_over(secs):
        a = api.vcpu_ticks()
        time.sleep(secs)
        return api.vcpu_ticks() - a

    busy = vcpu_ticks_over(0.5)
    _, t_pause = timed(api.patch, "/vm", {"state": "Paused"})
    assert t_pause < 0.5, f"pausing took {t_pause:.2f} s during {what}"
    assert api.state() == "Paused"
    paused = vcpu_ticks_over(0.5)
    api.patch("/vm", {"state": "Resumed"})
    assert api.state() == "Running"
    resumed = vcpu_ticks_over(0.5)
    ticks = f"busy {busy}, paused {paused}, resumed {resumed} ticks of 0.5 s"
    assert busy >= 15 and resumed >= 15, ticks
    assert paused <= 1, ticks


def test_doorbell_storm_keeps_the_api_answering(api, tmp_path):
    # The guest rings the doorbell until Ctrl-Alt-Del arrives: the API
    # answers, pauses and resumes meanwhile, and the keys get through.
    d0 = disks.pattern_image(tmp_path / "d0.img", 2048)
    d1 = disks.pattern_image(tmp_path / "d1.img", 2048)
    api.boot("test=hostile-doorbell dev=0 until_cad=1 timeout_s=60",
             drives=[drive("d0", d0), drive("d1", d1)])
    api.wait_for("TEST hostile-doorbell START")
    api_stays_in_charge(api, "a doorbell storm")
    api.action("SendCtrlAltDel")
    api.wait_for("TEST hostile-doorbell PASS", timeout=20)
    assert api.finish() == 0
    verdict, detail = api.tests()["hostile-doorbell"]
    assert "others=1" in detail and "cad=1" in detail, detail
    assert api.log().count(NARROW_NOTIFY) == 10, api.log()


def test_spinning_vcpu_keeps_the_api_answering(api):
    # A vCPU that never halts and never exits (ring 3, interrupts on): the
    # API answers, PATCH /vm stops and restarts it, Ctrl-Alt-Del reaches it.
    api.boot("test=spin spin_timeout_s=60")
    api.wait_for("TEST spin READY")
    api_stays_in_charge(api, "a spin")
    api.action("SendCtrlAltDel")
    api.wait_for("TEST spin PASS", timeout=5)
    assert api.finish() == 0
    assert re.search(r"exits to user space: io_in=\d+ io_out=\d+ mmio_read=\d+ ",
                     api.log()), api.log()


def test_halted_vcpu_costs_no_cpu(api):
    # A vCPU that halts with nothing due to wake it (the idle guest's only
    # timer is set past the test): it sleeps in the kernel, not in a loop,
    # and the keyboard interrupt of Ctrl-Alt-Del wakes it.
    api.boot("test=idle idle_timeout_s=60")
    api.wait_for("TEST idle READY")
    time.sleep(0.2)  # past the guest's last steps before it halts
    a = api.vcpu_ticks()
    time.sleep(1)
    halted = api.vcpu_ticks() - a
    assert halted <= 2, f"{halted} ticks of 1 s while halted"
    api.action("SendCtrlAltDel")
    api.wait_for("TEST idle PASS", timeout=5)
    assert api.finish() == 0


def test_ctrl_alt_del_to_a_guest_that_never_reads_it(api):
    # The i8042 holds 16 bytes: four Ctrl-Alt-Del sequences. Past that the
    # API says why (400), queues nothing partial, and the guest runs on.
    api.boot("test=flood flood_kib=100000")
    api.wait_for("flood 00000010")
    for _ in range(4):
        api.action("SendCtrlAltDel")
    r = api.action("SendCtrlAltDel", expect=400)
    assert r.fault_message == ("Internal error: the i8042's buffer is full; the guest is "
                               "not reading its keyboard.")
    assert api.state() == "Running"
    api.wait_for("flood 00000200")
    assert api.stop() == 143


F_SETPIPE_SZ = 1031


def test_console_flood_keeps_the_api_answering(api, tmp_path):
    # The guest prints as fast as it can to a console whose reader never
    # reads (a FIFO of 4 KiB): ember's output stays bounded (its 64 KiB
    # ring; the rest dropped and counted), nothing is logged per byte, and
    # the API answers, pauses and resumes meanwhile.
    fifo = tmp_path / "console.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.fcntl(reader, F_SETPIPE_SZ, 4096)
        api.put("/serial", {"serial_out_path": str(fifo)})
        api.boot("test=flood flood_kib=400")
        deadline = time.monotonic() + 10
        while "VM started" not in api.log():
            assert time.monotonic() < deadline, api.log()
            time.sleep(0.01)
        time.sleep(0.3)  # the pipe and the ring fill
        rss = api.rss_kib()
        api_stays_in_charge(api, "a console flood")
        assert api.rss_kib() - rss < 1024
        assert api.finish(timeout=60) == 0
        waiting = len(os.read(reader, 1 << 20))
    finally:
        os.close(reader)
    assert waiting <= 4096
    log = api.log()
    m = re.search(r"console: (\d+) bytes out, (\d+) dropped", log)
    assert m, log
    out, dropped = map(int, m.groups())
    assert out >= 400 * 1024 and dropped >= out - 4096 - 65536, log
    # One line at the end (the reader never took the rest), none before.
    assert [l.split("] ", 1)[1] for l in log.splitlines()
            if re.search(r"\] console (output|reader)", l)] == [
        "console reader too slow; dropping the rest of the output"], log


@pytest.fixture
def ns():
    ok, why = netns.available()
    if not ok:
        pytest.skip(why)
    n = netns.NetNS()
    n.add_tap("tap0")
    yield n
    n.close()


@pytest.mark.parametrize("name", BOTH + ["hostile-net-short"])
def test_hostile_net(tmp_path, ns, name):
    d0 = disks.pattern_image(tmp_path / "d0.img", 2048)
    cfg = config(boot_args=f"test={name} dev=1")
    cfg["drives"] = [drive("d0", d0)]
    cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": "tap0",
                                  "guest_mac": "06:00:00:00:00:02"}]
    live = Live(tmp_path, cfg, prefix=ns.prefix(), level="Info")
    try:
        rc = live.finish(timeout=60)
    finally:
        live.kill()
    assert "others=1" in check(live.out, live.log(), rc, name)


def test_zero_length_tx_descriptors(tmp_path, ns):
    # hostile-zero-len on a net device: a header with an empty frame goes to
    # the tap, which refuses it (tap_write_fails); a zero-length descriptor
    # between header and frame is just no bytes (the frame goes out); a
    # chain of one empty descriptor is malformed. The queue serves on.
    sock = ns.packet_socket("tap0")
    sock.setblocking(False)
    d0 = disks.pattern_image(tmp_path / "d0.img", 2048)
    cfg = config(boot_args="test=hostile-zero-len dev=1")
    cfg["drives"] = [drive("d0", d0)]
    cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": "tap0",
                                  "guest_mac": "06:00:00:00:00:02"}]
    live = Live(tmp_path, cfg, prefix=ns.prefix(), level="Debug")
    try:
        rc = live.finish(timeout=60)
    finally:
        live.kill()
    check(live.out, live.log(), rc, "hostile-zero-len")
    frames = []
    while True:
        try:
            frames.append(sock.recv(65536))
        except BlockingIOError:
            break
    sock.close()
    bad = [f for f in frames if f[14:28] == b"ember-hostile\0"]
    assert len(bad) == 1 and len(bad[0]) == 60, frames
    assert re.search(r"net eth0: .* tx_malformed=1 .* tap_write_fails=1 .* queue_faults=0",
                     live.log()), live.log()
