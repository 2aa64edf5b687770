"""When each request is allowed: Firecracker's pre-boot / post-boot rules and
their exact messages, InstanceStart's own rules, and that a refused request
changes nothing."""

import json
import os
import shutil

import pytest

import disks
from apilib import (MSG_AFTER, MSG_BEFORE, TESTGUEST_ELF, api, iface,  # noqa: F401
                    metrics_lines, ns, start_ember)
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)

pytestmark = pytest.mark.kvm

# A guest that stays up (halted) until Ctrl-Alt-Del or 30 s.
IDLE = "test=idle idle_timeout_s=30"


def booted(e, tmp_path, drives=True, nets=()):
    img = disks.pattern_image(tmp_path / "d0.img", 64)
    e.boot(IDLE, drives=[disks.drive("d0", img)] if drives else (), nets=nets)
    e.wait_for("TEST idle READY")
    return img


def pre_boot_only_requests(tmp_path):
    img = disks.pattern_image(tmp_path / "other.img", 8)
    return [
        ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}),
        ("PATCH", "/machine-config", {"vcpu_count": 1}),
        ("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF)}),
        ("PUT", "/drives/d0", disks.drive("d0", img)),  # replacing one
        ("PUT", "/drives/d9", disks.drive("d9", img)),  # adding one
        ("PUT", "/logger", {"level": "Info"}),
        ("PUT", "/serial", {}),
        ("PUT", "/serial", {"serial_out_path": str(tmp_path / "serial.out")}),
    ]


def test_pre_boot_requests_are_refused_after_start(api, tmp_path):
    booted(api, tmp_path)
    before = api.vm_config()
    for method, path, body in pre_boot_only_requests(tmp_path):
        assert api.fault(method, path, body) == MSG_AFTER, (method, path)
    assert api.vm_config() == before
    assert api.state() == "Running"
    api.action("SendCtrlAltDel")
    assert api.finish() == 0


def test_put_network_interface_is_refused_after_start(start_ember, ns, tmp_path):
    e = start_ember(prefix=ns.prefix())
    booted(e, tmp_path, nets=[iface()])
    assert e.fault("PUT", "/network-interfaces/eth0", iface()) == MSG_AFTER
    assert e.fault("PUT", "/network-interfaces/eth1", iface("eth1", "tap1", None)) == MSG_AFTER


def test_put_metrics_is_refused_after_start(api, tmp_path):
    booted(api, tmp_path)
    assert api.fault("PUT", "/metrics", {"metrics_path": str(tmp_path / "m.json")}) == MSG_AFTER


@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
    ("PUT", "/actions", {"action_type": "FlushMetrics"}),
    ("PATCH", "/vm", {"state": "Paused"}),
    ("PATCH", "/vm", {"state": "Resumed"}),
    ("PATCH", "/drives/d0", {"drive_id": "d0", "rate_limiter": {"ops": {"size": 1,
                                                                        "refill_time": 1}}}),
    ("PATCH", "/drives/d0", {"drive_id": "d0"}),
    ("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0"}),
])
def test_post_boot_requests_are_refused_before_start(api, tmp_path, method, path, body):
    img = disks.pattern_image(tmp_path / "d0.img", 8)
    api.put("/drives/d0", disks.drive("d0", img))
    api.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})
    assert api.fault(method, path, body) == MSG_BEFORE
    assert api.state() == "Not started"
    assert metrics_lines(tmp_path / "m.json") == []


def test_patch_drive_path_is_refused_before_start(api, tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    b = disks.pattern_image(tmp_path / "b.img", 16)
    api.put("/drives/d0", disks.drive("d0", a))
    assert api.fault("PATCH", "/drives/d0", {"drive_id": "d0", "path_on_host": str(b)}) \
        == MSG_BEFORE
    assert api.vm_config()["drives"][0]["path_on_host"] == str(a)


def test_reads_work_in_every_phase(api, tmp_path):
    def reads():
        for path in ("/", "/version", "/vm/config", "/machine-config"):
            api.get(path)

    reads()
    booted(api, tmp_path)
    reads()
    api.patch("/vm", {"state": "Paused"})
    reads()
    api.patch("/vm", {"state": "Resumed"})
    reads()


def test_instance_start_twice(api, tmp_path):
    booted(api, tmp_path)
    assert api.fault("PUT", "/actions", {"action_type": "InstanceStart"}) == MSG_AFTER
    assert api.state() == "Running"
    api.action("SendCtrlAltDel")
    api.wait_for("TEST idle PASS")
    assert api.finish() == 0
    assert api.out.count("testguest: boot=") == 1


def test_instance_start_without_a_kernel(api, tmp_path):
    api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    assert api.fault("PUT", "/actions", {"action_type": "InstanceStart"}) == \
        "Start microvm error: Cannot start microvm without kernel configuration."
    assert api.state() == "Not started"
    # Nothing was lost: configure the kernel and start.
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "test=hello"})
    api.action("InstanceStart")
    assert api.finish() == 0
    assert "ram=63MiB" in api.out and "TEST hello PASS" in api.out


def test_failed_instance_start_can_be_retried(api, tmp_path):
    kernel = tmp_path / "kernel.elf"
    shutil.copy(TESTGUEST_ELF, kernel)
    api.put("/boot-source", {"kernel_image_path": str(kernel), "boot_args": "test=hello"})
    os.unlink(kernel)  # gone between the PUT and the start
    msg = api.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    assert msg.startswith("Start microvm error:") and "kernel.elf" in msg
    (tmp_path / "junk").write_bytes(b"not a kernel" * 100)
    api.put("/boot-source", {"kernel_image_path": str(tmp_path / "junk")})
    msg = api.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    assert msg.startswith("Start microvm error:")
    assert api.state() == "Not started"
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "test=hello"})
    api.action("InstanceStart")
    assert api.finish() == 0
    assert "TEST hello PASS" in api.out


def test_refused_requests_change_nothing(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    api.put("/machine-config", {"vcpu_count": 2, "mem_size_mib": 256})
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "x=1"})
    api.put("/drives/d0", disks.drive("d0", img, root=True))
    before = api.vm_config()
    bad = [
        ("PUT", "/machine-config", {"vcpu_count": 3, "mem_size_mib": 64, "smt": True}),
        ("PUT", "/machine-config", {"vcpu_count": 4}),
        ("PATCH", "/machine-config", {"vcpu_count": 8, "huge_pages": "2M", "mem_size_mib": 3}),
        ("PATCH", "/machine-config", {"vcpu_count": 0}),
        ("PUT", "/boot-source", {"kernel_image_path": str(tmp_path / "nope")}),
        ("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "bogus": 1}),
        ("PUT", "/drives/d0", disks.drive("d0", tmp_path / "nope.img", root=True)),
        ("PUT", "/drives/d0", dict(disks.drive("d0", img), cache_type="Sometimes")),
        ("PUT", "/drives/d1", disks.drive("d1", img, root=True)),
    ]
    for method, path, body in bad:
        api.fault(method, path, body)
        assert api.vm_config() == before, (method, path, body)


def test_flush_metrics_without_a_metrics_file(api, tmp_path):
    booted(api, tmp_path)
    api.action("FlushMetrics")


def test_api_after_a_config_file_boot(start_ember, tmp_path):
    """With --config-file the VM boots at once and the API serves the
    post-boot phase."""
    cfg = {"boot-source": {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": IDLE},
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
    (tmp_path / "vm.json").write_text(json.dumps(cfg))
    e = start_ember(args=["--config-file", tmp_path / "vm.json"])
    e.wait_for("TEST idle READY")
    assert e.state() == "Running"
    got = e.vm_config()
    assert got["boot-source"]["boot_args"] == IDLE
    assert got["machine-config"]["mem_size_mib"] == 64
    assert e.fault("PUT", "/actions", {"action_type": "InstanceStart"}) == MSG_AFTER
    assert e.fault("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}) == MSG_AFTER
    e.patch("/vm", {"state": "Paused"})
    e.patch("/vm", {"state": "Resumed"})
    e.action("SendCtrlAltDel")
    assert e.finish() == 0


def test_failed_instance_starts_leak_nothing(api, tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    b = disks.pattern_image(tmp_path / "b.img", 8)
    api.put("/drives/d0", disks.drive("d0", a))
    api.put("/drives/d1", disks.drive("d1", b))
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "test=hello"})
    os.unlink(b)  # the start fails on the second drive, after the first is open
    api.get("/")
    fds, rss = api.fd_count(), api.rss_kib()
    for _ in range(30):
        msg = api.fault("PUT", "/actions", {"action_type": "InstanceStart"})
        assert msg.startswith("Start microvm error:") and "b.img" in msg
    assert api.fd_count() == fds
    assert api.rss_kib() - rss < 2048
    disks.pattern_image(b, 8)
    api.action("InstanceStart")
    assert api.finish() == 0
    assert "virtio=2 test=hello" in api.out
