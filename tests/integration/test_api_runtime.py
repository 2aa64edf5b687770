"""Post-boot requests that must really act on the running guest: a drive
resized under it, rate limiters changed while it streams, Ctrl-Alt-Del,
pause and resume."""

import struct
import threading
import time

import pytest

import disks
from apilib import (MSG_AFTER, api, iface, metrics_lines, ns,  # noqa: F401
                    start_ember)
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)

pytestmark = pytest.mark.kvm

MIB = 1 << 20
GUEST_MAC = "06:00:ac:10:00:02"
ETHERTYPE = 0x88B5


class Meter:
    """Counter rates from two FlushMetrics lines (delta counters)."""

    def __init__(self, e, path):
        self.e, self.path = e, path

    def delta(self, group, field, secs):
        self.e.action("FlushMetrics")
        t0 = time.monotonic()
        time.sleep(secs)
        self.e.action("FlushMetrics")
        dt = time.monotonic() - t0
        return metrics_lines(self.path)[-1][group][field], dt

    def rate(self, group, field, secs=0.25):
        n, dt = self.delta(group, field, secs)
        return n / dt


# ---------------------------------------------------------------- (a) resize


def test_patch_drive_path_resizes_the_disk_live(api, tmp_path):
    small = disks.pattern_image(tmp_path / "small.img", 8)
    big = disks.pattern_image(tmp_path / "big.img", 64, tag=1)
    api.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})
    api.boot("test=blk-capacity wait_config=1 timeout_s=20", drives=[disks.drive("d0", small)])
    api.wait_for("TEST blk-capacity READY")
    # Not there: refused, and the guest is told nothing.
    msg = api.fault("PATCH", "/drives/d0", {"drive_id": "d0",
                                            "path_on_host": str(tmp_path / "nope.img")})
    assert msg.startswith("Drive config error:") and "nope.img" in msg
    api.patch("/drives/d0", {"drive_id": "d0", "path_on_host": str(big)})
    api.wait_for("TEST blk-capacity PASS")
    assert api.finish() == 0
    verdict, detail = api.tests()["blk-capacity"]
    assert verdict == "PASS" and detail.startswith("sectors=64 old_sectors=8 config_irq=1"), detail
    lines = metrics_lines(tmp_path / "m.json")
    assert sum(m["block_d0"]["update_count"] for m in lines) == 1
    assert sum(m["block_d0"]["update_fails"] for m in lines) == 1
    assert sum(m["patch_api_requests"]["drive_count"] for m in lines) == 2
    assert sum(m["patch_api_requests"]["drive_fails"] for m in lines) == 1


def test_patch_drive_errors_after_start(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    api.boot("test=idle idle_timeout_s=30", drives=[disks.drive("d0", img)])
    api.wait_for("TEST idle READY")
    msg = api.fault("PATCH", "/drives/nope", {"drive_id": "nope"})
    assert msg.startswith("Drive config error:") and "nope" in msg
    assert api.fault("PATCH", "/drives/d0", {"drive_id": "d1"}) == \
        "The id from the path does not match the id from the body!"
    msg = api.fault("PATCH", "/drives/d0", {"drive_id": "d0", "is_read_only": True})
    assert "is_read_only" in msg
    msg = api.fault("PATCH", "/drives/d0", {"path_on_host": str(img)})
    assert "drive_id" in msg
    msg = api.fault("PATCH", "/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": {}}})
    assert "size" in msg or "refill_time" in msg
    # Neither field: accepted, nothing changes.
    api.patch("/drives/d0", {"drive_id": "d0"})
    assert api.vm_config()["drives"][0] == disks.drive("d0", img, cache_type="Unsafe",
                                                       io_engine="Sync")
    api.action("SendCtrlAltDel")
    assert api.finish() == 0


def test_patch_drive_null_fields_mean_absent(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    api.boot("test=idle idle_timeout_s=30", drives=[disks.drive("d0", img)])
    api.wait_for("TEST idle READY")
    api.patch("/drives/d0", {"drive_id": "d0", "rate_limiter": None})
    api.patch("/drives/d0", {"drive_id": "d0", "path_on_host": None})


# ---------------------------------------------------------------- (b) drive rate limiter


def test_patch_drive_rate_limiter_changes_throughput(api, tmp_path):
    img = disks.pattern_image(tmp_path / "d0.img", 2048)
    m = tmp_path / "m.json"
    api.put("/metrics", {"metrics_path": str(m)})
    api.boot("test=blk-stream total_mib=10000000", drives=[disks.drive("d0", img)])
    api.wait_for("TEST blk-stream START")
    meter = Meter(api, m)
    free = meter.rate("block_d0", "read_bytes")

    # 1 MiB per 100 ms = 10 MiB/s.
    bw = {"bandwidth": {"size": MIB, "refill_time": 100}}
    api.patch("/drives/d0", {"drive_id": "d0", "rate_limiter": bw})
    meter.rate("block_d0", "read_bytes", 0.15)  # the bucket's first MiB goes here
    limited = meter.rate("block_d0", "read_bytes", 0.5)
    assert api.vm_config()["drives"][0]["rate_limiter"] == bw

    # An ops bucket alone leaves the bandwidth bucket as it was.
    ops = {"size": 1000, "refill_time": 100}
    api.patch("/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": ops}})
    assert api.vm_config()["drives"][0]["rate_limiter"] == dict(bw, ops=ops)
    still = meter.rate("block_d0", "read_bytes", 0.3)

    # size 0 switches a bucket off.
    off = {"size": 0, "refill_time": 0}
    api.patch("/drives/d0", {"drive_id": "d0", "rate_limiter": {"bandwidth": off, "ops": off}})
    meter.rate("block_d0", "read_bytes", 0.15)
    again = meter.rate("block_d0", "read_bytes")
    throttled, _ = meter.delta("block_d0", "rate_limiter_throttled_events", 0.01)
    assert api.stop() == 143

    rates = f"free {free / MIB:.0f}, limited {limited / MIB:.1f}, still {still / MIB:.1f}, " \
            f"again {again / MIB:.0f} MiB/s"
    assert 5 * MIB <= limited <= 20 * MIB, rates
    assert 5 * MIB <= still <= 20 * MIB, rates
    # Unlimited it runs at memory speed (~5 GiB/s here); a loaded host
    # still manages well over 4x the limit.
    assert free > 80 * MIB and again > 80 * MIB, rates
    assert sum(x["block_d0"]["rate_limiter_throttled_events"] for x in metrics_lines(m)) > 0


# ---------------------------------------------------------------- (c) net rate limiters


def test_patch_tx_rate_limiter_changes_throughput(start_ember, ns, tmp_path):
    e = start_ember(prefix=ns.prefix())
    m = tmp_path / "m.json"
    e.put("/metrics", {"metrics_path": str(m)})
    e.boot("test=net-stream count=1000000000 size=200", nets=[iface()])
    e.wait_for("TEST net-stream START")
    meter = Meter(e, m)
    free = meter.rate("net_eth0", "tx_packets_count")
    # 100 frames per 100 ms = 1000 frames/s.
    e.patch("/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": {
        "ops": {"size": 100, "refill_time": 100}}})
    meter.rate("net_eth0", "tx_packets_count", 0.15)
    limited = meter.rate("net_eth0", "tx_packets_count", 0.5)
    cfg = e.vm_config()["network-interfaces"][0]
    assert cfg["tx_rate_limiter"] == {"ops": {"size": 100, "refill_time": 100}}
    assert cfg.get("rx_rate_limiter") is None
    e.patch("/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": {
        "ops": {"size": 0, "refill_time": 0}}})
    meter.rate("net_eth0", "tx_packets_count", 0.15)
    again = meter.rate("net_eth0", "tx_packets_count")
    assert e.stop() == 143
    rates = f"free {free:.0f}, limited {limited:.0f}, again {again:.0f} frames/s"
    assert 500 <= limited <= 2000, rates
    assert free > 5 * 2000 and again > 5 * 2000, rates


def test_patch_rx_rate_limiter_changes_throughput(start_ember, ns, tmp_path):
    e = start_ember(prefix=ns.prefix())
    m = tmp_path / "m.json"
    e.put("/metrics", {"metrics_path": str(m)})
    e.boot(f"test=net-stream rx=1 count=1000000000 ethertype={ETHERTYPE}", nets=[iface()])
    e.wait_for("TEST net-stream START")
    sock = ns.packet_socket("tap0")
    frame = bytes.fromhex(GUEST_MAC.replace(":", "")) + bytes.fromhex("0a0000000001") + \
        struct.pack("!H", ETHERTYPE) + bytes(100)
    stop = threading.Event()

    def send():  # about 5000 frames/s, in bursts of 50
        while not stop.is_set():
            for _ in range(50):
                try:
                    sock.send(frame)
                except OSError:
                    pass
            time.sleep(0.01)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        meter = Meter(e, m)
        free = meter.rate("net_eth0", "rx_packets_count", 0.3)
        e.patch("/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {
            "ops": {"size": 50, "refill_time": 100}}})  # 500 frames/s
        meter.rate("net_eth0", "rx_packets_count", 0.15)
        limited = meter.rate("net_eth0", "rx_packets_count", 0.5)
        e.patch("/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {
            "ops": {"size": 0, "refill_time": 0}}})
        meter.rate("net_eth0", "rx_packets_count", 0.15)
        again = meter.rate("net_eth0", "rx_packets_count", 0.3)
    finally:
        stop.set()
        t.join(2)
        sock.close()
    assert e.stop() == 143
    rates = f"free {free:.0f}, limited {limited:.0f}, again {again:.0f} frames/s"
    assert 250 <= limited <= 1000, rates
    assert free > 2 * 1000 and again > 2 * 1000, rates


def test_patch_network_interface_errors_after_start(start_ember, ns, tmp_path):
    e = start_ember(prefix=ns.prefix())
    e.boot("test=idle idle_timeout_s=30", nets=[iface()])
    e.wait_for("TEST idle READY")
    msg = e.fault("PATCH", "/network-interfaces/eth9", {"iface_id": "eth9"})
    assert msg.startswith("Network config error:") and "eth9" in msg
    assert e.fault("PATCH", "/network-interfaces/eth0", {"iface_id": "eth1"}) == \
        "The id from the path [eth0] does not match the id from the body [eth1]!"
    # Only the rate limiters can change.
    for field, value in [("guest_mac", "06:00:00:00:00:01"), ("host_dev_name", "tap1"),
                         ("mtu", 1400)]:
        assert field in e.fault("PATCH", "/network-interfaces/eth0",
                                {"iface_id": "eth0", field: value})
    e.patch("/network-interfaces/eth0", {"iface_id": "eth0"})
    assert e.vm_config()["network-interfaces"] == [iface()]


# ---------------------------------------------------------------- (d) Ctrl-Alt-Del


def test_send_ctrl_alt_del_resets_the_guest(api, tmp_path):
    api.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})
    api.boot("test=idle idle_timeout_s=20")
    api.wait_for("TEST idle READY")
    t0 = time.monotonic()
    api.action("SendCtrlAltDel")
    api.wait_for("TEST idle PASS")
    assert api.finish() == 0
    assert time.monotonic() - t0 < 5
    verdict, detail = api.tests()["idle"]
    assert verdict == "PASS" and "kbd_irqs=" in detail
    last = metrics_lines(tmp_path / "m.json")
    assert sum(x["i8042"]["reset_count"] for x in last) == 1
    assert sum(x["put_api_requests"]["actions_count"] for x in last) == 2


# ---------------------------------------------------------------- (e) pause, resume


def timed(f, *a, **kw):
    t0 = time.monotonic()
    r = f(*a, **kw)
    return r, time.monotonic() - t0


def test_pause_stops_the_guest_and_resume_continues(api, tmp_path):
    img = disks.pattern_image(tmp_path / "d0.img", 2048)
    m = tmp_path / "m.json"
    api.put("/metrics", {"metrics_path": str(m)})
    api.boot("test=blk-stream total_mib=10000000", drives=[disks.drive("d0", img)])
    api.wait_for("TEST blk-stream START")
    meter = Meter(api, m)

    def vcpu_ticks_over(secs):
        a = api.vcpu_ticks()
        time.sleep(secs)
        return api.vcpu_ticks() - a

    running_ticks = vcpu_ticks_over(0.3)
    _, t_pause = timed(api.patch, "/vm", {"state": "Paused"})
    assert t_pause < 0.5
    state, t_get = timed(api.state)
    assert state == "Paused" and t_get < 0.2
    # Paused again: accepted, still paused.
    api.patch("/vm", {"state": "Paused"})
    assert api.state() == "Paused"
    paused_ticks = vcpu_ticks_over(0.3)
    paused_bytes, _ = meter.delta("block_d0", "read_bytes", 0.3)
    # Everything that reads or changes settings still works while paused.
    api.get("/vm/config")
    api.patch("/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": {"size": 0,
                                                                        "refill_time": 0}}})
    assert api.fault("PUT", "/actions", {"action_type": "InstanceStart"}) == MSG_AFTER

    api.patch("/vm", {"state": "Resumed"})
    api.patch("/vm", {"state": "Resumed"})
    assert api.state() == "Running"
    resumed_ticks = vcpu_ticks_over(0.3)
    resumed_bytes, _ = meter.delta("block_d0", "read_bytes", 0.3)
    assert api.stop() == 143

    ticks = f"running {running_ticks}, paused {paused_ticks}, resumed {resumed_ticks} ticks"
    assert running_ticks >= 5 and resumed_ticks >= 5, ticks
    assert paused_ticks <= 1, ticks
    assert paused_bytes == 0 and resumed_bytes > 10 * MIB, (paused_bytes, resumed_bytes)
    lines = metrics_lines(m)
    # Stored values (the last pause and resume took that long), not deltas.
    assert {"pause_vm", "resume_vm"} <= set(lines[-1]["latencies_us"])
    assert sum(x["patch_api_requests"]["vm_count"] for x in lines) == 4


def test_keys_sent_while_paused_are_seen_after_resume(api):
    api.boot("test=idle idle_timeout_s=20")
    api.wait_for("TEST idle READY")
    api.patch("/vm", {"state": "Paused"})
    api.action("SendCtrlAltDel")
    time.sleep(0.3)
    assert "TEST idle PASS" not in api.out and api.alive()
    assert api.state() == "Paused"
    api.patch("/vm", {"state": "Resumed"})
    api.wait_for("TEST idle PASS", timeout=5)
    assert api.finish() == 0


def test_resume_before_any_pause_is_a_no_op(api):
    api.boot("test=idle idle_timeout_s=20")
    api.wait_for("TEST idle READY")
    api.patch("/vm", {"state": "Resumed"})
    assert api.state() == "Running"
    api.action("SendCtrlAltDel")
    assert api.finish() == 0


def test_sigterm_while_paused(api, tmp_path):
    api.boot("test=idle idle_timeout_s=20", vcpus=2)
    api.wait_for("TEST idle READY")
    api.patch("/vm", {"state": "Paused"})
    rc, secs = timed(api.stop)
    assert rc == 143 and secs < 3
    assert not api.sock.exists()
