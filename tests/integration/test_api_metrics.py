"""Metrics through the API: PUT /metrics, FlushMetrics, Firecracker's line
format (one JSON object per line, its groups and field names, counters as
deltas since the previous line) and a target that never blocks ember."""

import json
import os
import time

import pytest

import disks
from apilib import api, metrics_lines, start_ember  # noqa: F401
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)

pytestmark = pytest.mark.kvm

# Firecracker's groups (docs/metrics.md) that ember emits, with fields each
# must have (Firecracker's names).
GROUPS = {
    "api_server": {"process_startup_time_us", "process_startup_time_cpu_us",
                   "sync_response_fails", "sync_vmm_send_timeout_count"},
    "get_api_requests": {"instance_info_count", "machine_cfg_count", "mmds_count",
                         "vmm_version_count"},
    "put_api_requests": {"actions_count", "actions_fails", "boot_source_count",
                         "boot_source_fails", "drive_count", "drive_fails", "logger_count",
                         "logger_fails", "machine_cfg_count", "machine_cfg_fails",
                         "metrics_count", "metrics_fails", "network_count", "network_fails"},
    "patch_api_requests": {"drive_count", "drive_fails", "network_count", "network_fails",
                           "machine_cfg_count", "machine_cfg_fails"},
    "block": {"activate_fails", "cfg_fails", "no_avail_buffer", "event_fails", "execute_fails",
              "invalid_reqs_count", "flush_count", "queue_event_count",
              "rate_limiter_event_count", "update_count", "update_fails", "read_bytes",
              "write_bytes", "read_count", "write_count", "rate_limiter_throttled_events",
              "io_engine_throttled_events", "remaining_reqs_count"},
    "net": {"activate_fails", "cfg_fails", "event_fails", "rx_queue_event_count",
            "rx_event_rate_limiter_count", "rx_tap_event_count", "rx_bytes_count",
            "rx_packets_count", "rx_fails", "rx_count", "rx_rate_limiter_throttled",
            "no_rx_avail_buffer", "tap_read_fails", "tap_write_fails", "tx_bytes_count",
            "tx_malformed_frames", "tx_fails", "tx_count", "tx_packets_count",
            "tx_queue_event_count", "tx_rate_limiter_event_count", "tx_rate_limiter_throttled",
            "tx_spoofed_mac_count", "no_tx_avail_buffer"},
    "uart": {"error_count", "flush_count", "missed_read_count", "missed_write_count",
             "read_count", "write_count"},
    "i8042": {"error_count", "missed_read_count", "missed_write_count", "read_count",
              "reset_count", "write_count"},
    "vcpu": {"exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures"},
    "latencies_us": {"pause_vm", "resume_vm"},
    "logger": {"missed_metrics_count", "metrics_fails", "missed_log_count"},
    "seccomp": {"num_faults"},
    "signals": {"sigbus", "sigsegv", "sigxfsz", "sigxcpu", "sigpipe", "sighup", "sigill"},
    "vmm": {"panic_count"},
    "deprecated_api": {"deprecated_http_api_calls"},
    "interrupts": {"triggers", "config_updates"},
    # Devices ember does not have: present, all zeros, as Firecracker emits them.
    "mmds": {"rx_accepted", "rx_count", "tx_count", "connections_created"},
    "vsock": {"activate_fails", "rx_bytes_count", "tx_bytes_count", "conns_added"},
    "balloon": {"activate_fails", "inflate_count", "deflate_count"},
    "entropy": {"activate_fails", "entropy_bytes", "host_rng_fails"},
}
ABSENT = ("mmds", "vsock", "balloon", "entropy")


def check_shape(line, drives=()):
    assert isinstance(line["utc_timestamp_ms"], int)
    assert abs(line["utc_timestamp_ms"] / 1000 - time.time()) < 60
    for group, fields in GROUPS.items():
        assert group in line, f"no group {group}"
        missing = fields - set(line[group])
        assert not missing, f"{group} lacks {sorted(missing)}"
        for k, v in line[group].items():
            assert isinstance(v, int) and v >= 0, (group, k, v)
    for d in drives:
        assert set(line[f"block_{d}"]) == set(line["block"])
    for group in ABSENT:
        assert not any(line[group].values()), (group, line[group])


def idle_vm(e, tmp_path, metrics=True):
    img = disks.pattern_image(tmp_path / "d0.img", 64)
    m = tmp_path / "m.json"
    if metrics:
        e.put("/metrics", {"metrics_path": str(m)})
    e.boot("test=idle idle_timeout_s=30", drives=[disks.drive("d0", img)])
    e.wait_for("TEST idle READY")
    return m


def test_no_line_before_boot_one_at_boot_one_per_flush(api, tmp_path):
    m = tmp_path / "m.json"
    api.put("/metrics", {"metrics_path": str(m)})
    api.get("/")
    assert m.read_text() == ""
    idle_vm(api, tmp_path, metrics=False)
    assert len(metrics_lines(m)) == 1  # written right after the start
    api.action("FlushMetrics")
    api.action("FlushMetrics")
    lines = metrics_lines(m)
    assert len(lines) == 3
    for line in lines:
        check_shape(line, drives=["d0"])
    assert lines[0]["utc_timestamp_ms"] <= lines[1]["utc_timestamp_ms"] <= \
        lines[2]["utc_timestamp_ms"]
    api.action("SendCtrlAltDel")
    assert api.finish() == 0
    assert len(metrics_lines(m)) == 4  # and one at exit


def test_interrupt_triggers_are_counted(api, tmp_path):
    """Ctrl-Alt-Del raises the i8042's interrupt: the line written at exit
    counts it (a delta since the last flush)."""
    m = idle_vm(api, tmp_path)
    api.action("FlushMetrics")
    assert metrics_lines(m)[-1]["interrupts"]["triggers"] == 0  # an idle guest
    api.action("SendCtrlAltDel")
    assert api.finish() == 0
    last = metrics_lines(m)[-1]
    assert last["interrupts"]["triggers"] >= 1
    assert last["interrupts"]["config_updates"] == 0


def test_counters_are_deltas(api, tmp_path):
    m = idle_vm(api, tmp_path)
    api.action("FlushMetrics")
    for _ in range(3):
        api.get("/machine-config")
    for _ in range(2):
        api.get("/")
    api.get("/version")
    api.fault("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                                    "is_root_device": False})
    api.fault("PATCH", "/machine-config", {"vcpu_count": 2})
    api.action("FlushMetrics")
    api.action("FlushMetrics")
    *_, before, first, second = metrics_lines(m)
    g, p = first["get_api_requests"], first["put_api_requests"]
    assert (g["machine_cfg_count"], g["instance_info_count"], g["vmm_version_count"]) == (3, 2, 1)
    assert (p["drive_count"], p["drive_fails"]) == (1, 1)
    assert p["actions_count"] == 1 and p["actions_fails"] == 0  # this FlushMetrics
    assert (first["patch_api_requests"]["machine_cfg_count"],
            first["patch_api_requests"]["machine_cfg_fails"]) == (1, 1)
    # Nothing happened between the last two flushes but the flush itself.
    assert second["get_api_requests"]["machine_cfg_count"] == 0
    assert second["put_api_requests"]["drive_count"] == 0
    assert second["put_api_requests"]["actions_count"] == 1
    # Values that are not counters are repeated as they are.
    for k in ("process_startup_time_us", "process_startup_time_cpu_us"):
        assert before["api_server"][k] == first["api_server"][k] == second["api_server"][k]
    assert first["api_server"]["process_startup_time_us"] > 0


def test_block_counters_after_a_read(api, tmp_path):
    sectors = 2048
    img = disks.pattern_image(tmp_path / "d0.img", sectors)
    m = tmp_path / "m.json"
    api.put("/metrics", {"metrics_path": str(m)})
    api.boot("test=blk-read", drives=[disks.drive("d0", img)])
    assert api.finish() == 0
    assert api.tests()["blk-read"][0] == "PASS", api.out
    lines = metrics_lines(m)
    assert len(lines) == 2  # at the start, at the exit

    def total(group, field):
        return sum(x[group][field] for x in lines)

    assert total("block_d0", "read_bytes") == sectors * 512
    assert total("block_d0", "read_count") >= sectors * 512 // (64 * 1024)
    assert total("block_d0", "write_count") == 0
    for f in ("read_bytes", "read_count", "queue_event_count"):
        assert total("block", f) == total("block_d0", f)
    assert total("vcpu", "exit_io_out") > 0 and total("vcpu", "exit_mmio_write") > 0
    assert total("uart", "write_count") > 0
    assert total("i8042", "reset_count") == 1
    assert total("put_api_requests", "drive_count") == 1
    assert total("put_api_requests", "metrics_count") == 1


def test_metrics_path_flag(start_ember, tmp_path):
    m = tmp_path / "m.json"
    e = start_ember(args=["--metrics-path", m])
    e.boot("test=hello")
    assert e.finish() == 0
    lines = metrics_lines(m)
    assert len(lines) == 2
    check_shape(lines[-1])


def test_metrics_file_is_appended_to(api, tmp_path):
    m = tmp_path / "m.json"
    m.write_text('{"earlier": 1}\n')
    api.put("/metrics", {"metrics_path": str(m)})
    api.boot("test=hello")
    assert api.finish() == 0
    lines = metrics_lines(m)
    assert lines[0] == {"earlier": 1} and len(lines) == 3


def read_available(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def flood(e, n=40):
    """n FlushMetrics, each answered promptly (204, or 400 once the target
    is full); the answers."""
    statuses = []
    for _ in range(n):
        t0 = time.monotonic()
        r = e.request("PUT", "/actions", {"action_type": "FlushMetrics"})
        assert time.monotonic() - t0 < 0.5
        assert r.status in (204, 400), r
        if r.status == 400:
            assert r.fault_message.startswith("Metrics error:"), r
        statuses.append(r.status)
    return statuses


def test_fifo_whose_reader_stops_reading(api, tmp_path):
    """A full pipe costs lines (counted), never ember's progress."""
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        api.put("/metrics", {"metrics_path": str(fifo)})
        idle_vm(api, tmp_path, metrics=False)
        statuses = flood(api)  # ~3 KiB a line: the 64 KiB pipe fills
        assert 400 in statuses
        assert api.state() == "Running"
        data = read_available(rfd)
        lines = data.decode().splitlines()
        assert all(json.loads(x) for x in lines)  # whole lines only
        assert 10 < len(lines) < 40
        api.action("FlushMetrics")
        last = json.loads(read_available(rfd).decode())
        assert last["logger"]["missed_metrics_count"] >= 1
        assert last["logger"]["metrics_fails"] >= 1
    finally:
        os.close(rfd)
    api.action("SendCtrlAltDel")
    assert api.finish() == 0


def test_fifo_without_a_reader(api, tmp_path):
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    api.put("/metrics", {"metrics_path": str(fifo)})
    assert time.monotonic() - t0 < 0.5
    idle_vm(api, tmp_path, metrics=False)
    flood(api)
    assert api.state() == "Running"
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        read_available(rfd)
        api.action("FlushMetrics")
        last = json.loads(read_available(rfd).decode())
        assert last["logger"]["missed_metrics_count"] >= 1
    finally:
        os.close(rfd)


def test_metrics_path_flag_fifo_without_a_reader(start_ember, tmp_path):
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    e = start_ember(args=["--metrics-path", fifo])
    e.get("/")
