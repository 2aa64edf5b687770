"""Hostile guests: each breaks the virtio contract one way (docs/virtio.md)
and checks the defined outcome; then the device must recover after a reset
and the VM's other device must have kept working. ember keeps running."""

import re

import pytest

import disks
import netns
from disks import drive
from emberlib import EXIT_OK, Live, config, run_config

pytestmark = pytest.mark.kvm

BOTH = ["hostile-desc-loop", "hostile-next-oob", "hostile-head-oob", "hostile-indirect",
        "hostile-avail-jump", "hostile-buf-outside-ram", "hostile-len-overflow", "hostile-qsize",
        "hostile-ring-addr", "hostile-queue-sel", "hostile-notify-early", "hostile-features",
        "hostile-mmio-width", "hostile-reset-io"]
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


def test_broken_queue_is_logged_and_rate_limited(tmp_path):
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, block_vm(tmp_path, "hostile-desc-loop"),
                   args=["--log-path", log, "--level", "Debug"])
    text = log.read_text()
    check(r.out, text, r.rc, "hostile-desc-loop")
    assert re.search(r"virtio-block d0: queue 0 broken by the driver \(descriptor chain longer "
                     r"than the queue \(a loop\)\); the device needs a reset", text)
    assert re.search(r"block d0: .* queue_faults=[1-9]", text)


def test_doorbell_storm(tmp_path):
    # 100,000 notifications with nothing in the ring: ember absorbs them
    # (ioeventfd), stays responsive, and the device and console still work.
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, block_vm(tmp_path, "hostile-doorbell", "count=100000"),
                   args=["--log-path", log, "--level", "Debug"], timeout=120)
    check(r.out, log.read_text(), r.rc, "hostile-doorbell")
    # Every notification went through the ioeventfd: none exited to ember.
    assert re.search(r"mmio_write=\d{1,4} ", log.read_text()), log.read_text()


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
