"""Every endpoint ember serves, used the way it is meant to be: the exact
status, and an answer that fits ember's spec (apilib validates every one).
Firecracker's routes that ember does not serve answer 400 saying so."""

import os
import re
import subprocess

import pytest

import disks
import openapi
from apilib import (DESER, TESTGUEST_ELF, Ember, api, iface, ns,  # noqa: F401
                    start_ember)
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)
from emberlib import EMBER, REPO

VERSION = (REPO / "VERSION").read_text().strip()
FC_API_VERSION = openapi.ember_spec()["x-ember-firecracker-api-version"]

MACHINE_DEFAULTS = {"vcpu_count": 1, "mem_size_mib": 128, "smt": False,
                    "track_dirty_pages": False, "huge_pages": "None"}


# ---------------------------------------------------------------- reads


def test_instance_info_before_boot(api):
    assert api.get("/").json() == {"app_name": "ember", "id": "anonymous-instance",
                                   "state": "Not started", "vmm_version": VERSION}


def test_instance_info_carries_the_id(start_ember):
    e = start_ember(args=["--id", "vm-42-a"])
    assert e.get("/").json()["id"] == "vm-42-a"


def test_version_is_the_firecracker_api_version(api):
    assert api.get("/version").json() == {"firecracker_version": FC_API_VERSION}


def test_version_flag_matches_get_version(api):
    # Firecracker prints "Firecracker v<version>" and an empty line; tools
    # split the first line on spaces.
    p = subprocess.run([str(EMBER), "--version"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert p.stdout == f"Firecracker v{FC_API_VERSION}\n\n"
    assert p.stdout.split()[1] == "v" + api.get("/version").json()["firecracker_version"]


def test_machine_config_defaults(api):
    assert api.get("/machine-config").json() == MACHINE_DEFAULTS


def test_vm_config_before_anything(api):
    cfg = api.vm_config()
    assert cfg["machine-config"] == MACHINE_DEFAULTS
    assert cfg.get("drives") in ([], None)
    assert cfg.get("network-interfaces") in ([], None)
    assert cfg.get("boot-source") is None


# ---------------------------------------------------------------- machine-config


def test_put_machine_config(api):
    body = {"vcpu_count": 2, "mem_size_mib": 256, "smt": True, "track_dirty_pages": True,
            "huge_pages": "None", "cpu_template": "None"}
    api.put("/machine-config", body)
    got = api.get("/machine-config").json()
    assert got == {"vcpu_count": 2, "mem_size_mib": 256, "smt": True,
                   "track_dirty_pages": True, "huge_pages": "None"}
    assert api.vm_config()["machine-config"] == got


def test_put_machine_config_resets_omitted_fields(api):
    api.put("/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": True,
                                "track_dirty_pages": True})
    api.put("/machine-config", {"vcpu_count": 4, "mem_size_mib": 512})
    assert api.get("/machine-config").json() == dict(MACHINE_DEFAULTS, vcpu_count=4,
                                                     mem_size_mib=512)


def test_patch_machine_config_changes_only_what_it_names(api):
    api.put("/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "track_dirty_pages": True})
    api.patch("/machine-config", {"mem_size_mib": 64})
    assert api.get("/machine-config").json() == dict(MACHINE_DEFAULTS, vcpu_count=2,
                                                     mem_size_mib=64, track_dirty_pages=True)
    api.patch("/machine-config", {"smt": True})
    assert api.get("/machine-config").json()["smt"] is True


def test_huge_pages_2m(api):
    api.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"})
    assert api.get("/machine-config").json()["huge_pages"] == "2M"


def test_huge_pages_transparent_is_refused(api):
    """Firecracker takes only None and 2M; "Transparent" is refused and
    what ember answers afterwards still fits the spec."""
    msg = api.fault("PUT", "/machine-config",
                    {"vcpu_count": 2, "mem_size_mib": 128, "huge_pages": "Transparent"})
    assert "huge_pages" in msg and "Transparent" in msg
    assert api.get("/machine-config").json()["huge_pages"] == "None"
    api.get("/vm/config")


# ---------------------------------------------------------------- boot-source


def test_put_boot_source(api, tmp_path):
    initrd = tmp_path / "initrd.img"
    initrd.write_bytes(b"\0" * 4096)
    body = {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "test=hello console=ttyS0",
            "initrd_path": str(initrd)}
    api.put("/boot-source", body)
    assert api.vm_config()["boot-source"] == body


def test_put_boot_source_twice_replaces(api):
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": "a=1"})
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF)})
    bs = api.vm_config()["boot-source"]
    assert bs["kernel_image_path"] == str(TESTGUEST_ELF)
    assert bs.get("boot_args") is None and bs.get("initrd_path") is None


def test_boot_source_files_are_checked_at_put(api, tmp_path):
    msg = api.fault("PUT", "/boot-source", {"kernel_image_path": str(tmp_path / "missing")})
    assert msg.startswith("Boot source error: The kernel file cannot be opened")
    msg = api.fault("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF),
                                            "initrd_path": str(tmp_path / "missing")})
    assert msg.startswith("Boot source error: The initrd file cannot be opened")
    assert api.vm_config().get("boot-source") is None


# ---------------------------------------------------------------- drives


def test_put_drive_every_field(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    body = {"drive_id": "rootfs", "path_on_host": str(img), "is_root_device": True,
            "is_read_only": True, "partuuid": "0eaa91a0-01", "cache_type": "Writeback",
            "io_engine": "Async",
            "rate_limiter": {"bandwidth": {"size": 1000, "one_time_burst": 5, "refill_time": 100},
                             "ops": {"size": 10, "refill_time": 1000}}}
    api.put("/drives/rootfs", body)
    assert api.vm_config()["drives"] == [body]


def test_put_drive_defaults(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    api.put("/drives/d0", {"drive_id": "d0", "path_on_host": str(img), "is_root_device": False})
    (d,) = api.vm_config()["drives"]
    assert d["cache_type"] == "Unsafe" and d["io_engine"] == "Sync"
    assert d["is_read_only"] is False and d.get("rate_limiter") is None


def test_put_drive_is_an_upsert(api, tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    b = disks.pattern_image(tmp_path / "b.img", 8)
    api.put("/drives/d0", disks.drive("d0", a))
    api.put("/drives/d1", disks.drive("d1", a))
    api.put("/drives/d0", disks.drive("d0", b, ro=True))
    drives = {d["drive_id"]: d for d in api.vm_config()["drives"]}
    assert sorted(drives) == ["d0", "d1"]
    assert drives["d0"]["path_on_host"] == str(b) and drives["d0"]["is_read_only"] is True


def test_one_root_device_only(api, tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    api.put("/drives/root", disks.drive("root", a, root=True))
    msg = api.fault("PUT", "/drives/other", disks.drive("other", a, root=True))
    assert msg == "Drive config error: A root block device already exists!"
    # The root itself may be replaced, and the root role handed over.
    api.put("/drives/root", disks.drive("root", a, root=True, ro=True))
    api.put("/drives/root", disks.drive("root", a, root=False))
    api.put("/drives/other", disks.drive("other", a, root=True))
    roots = [d["drive_id"] for d in api.vm_config()["drives"] if d["is_root_device"]]
    assert roots == ["other"]


def test_vm_config_lists_the_root_drive_first(api, tmp_path):
    a = disks.pattern_image(tmp_path / "a.img", 8)
    api.put("/drives/data", disks.drive("data", a))
    api.put("/drives/root", disks.drive("root", a, root=True))
    assert [d["drive_id"] for d in api.vm_config()["drives"]] == ["root", "data"]


def test_drive_backing_file_is_checked_at_put(api, tmp_path):
    msg = api.fault("PUT", "/drives/d0", disks.drive("d0", tmp_path / "missing.img"))
    assert msg.startswith("Drive config error:") and "missing.img" in msg
    ro = disks.pattern_image(tmp_path / "ro.img", 8)
    os.chmod(ro, 0o444)
    if os.geteuid() != 0:  # root opens it read-write anyway
        assert "Drive config error" in api.fault("PUT", "/drives/d0", disks.drive("d0", ro))
    api.put("/drives/d0", disks.drive("d0", ro, ro=True))


def test_directory_as_a_read_only_drive_is_refused_at_put(api, tmp_path):
    msg = api.fault("PUT", "/drives/d0", disks.drive("d0", tmp_path, ro=True))
    assert msg.startswith("Drive config error:")


def test_directory_as_a_drive(api, tmp_path):
    msg = api.fault("PUT", "/drives/d0", disks.drive("d0", tmp_path))
    assert msg.startswith("Drive config error:") and "directory" in msg


def test_vhost_user_drive_is_refused_by_name(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    msg = api.fault("PUT", "/drives/d0", disks.drive("d0", img, socket="/tmp/vhost.sock"))
    assert "socket" in msg and "not supported" in msg


def test_drive_count_is_bounded(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    accepted = 0
    for i in range(64):
        r = api.request("PUT", f"/drives/d{i}", disks.drive(f"d{i}", img))
        if r.status == 400:
            assert r.fault_message.startswith("Drive config error:"), r.body
            break
        assert r.status == 204
        accepted += 1
    assert 1 <= accepted < 64
    assert len(api.vm_config()["drives"]) == accepted


# ---------------------------------------------------------------- network interfaces


def test_put_network_interface(start_ember, ns):
    e = start_ember(prefix=ns.prefix())
    body = iface(mtu=1400, rx_rate_limiter={"ops": {"size": 100, "refill_time": 100}},
                 tx_rate_limiter={"bandwidth": {"size": 1 << 20, "refill_time": 1000,
                                                "one_time_burst": 4096}})
    e.put("/network-interfaces/eth0", body)
    assert e.vm_config()["network-interfaces"] == [body]


def test_network_interface_upsert_and_uniqueness(start_ember, ns):
    e = start_ember(prefix=ns.prefix())
    e.put("/network-interfaces/eth0", iface())
    # The same id replaces.
    e.put("/network-interfaces/eth0", iface(mac="06:00:ac:10:00:03"))
    assert [i["guest_mac"] for i in e.vm_config()["network-interfaces"]] == ["06:00:ac:10:00:03"]
    # A MAC or a tap used by another interface is refused.
    msg = e.fault("PUT", "/network-interfaces/eth1", iface("eth1", "tap1", "06:00:AC:10:00:03"))
    assert msg.startswith("Network config error: The MAC address is already in use")
    msg = e.fault("PUT", "/network-interfaces/eth1", iface("eth1", "tap0", "06:00:ac:10:00:09"))
    assert msg.startswith("Network config error:") and "tap0" in msg
    e.put("/network-interfaces/eth1", iface("eth1", "tap1", mac=None))
    assert [i["iface_id"] for i in e.vm_config()["network-interfaces"]] == ["eth0", "eth1"]


def test_network_interface_tap_is_checked_at_put(start_ember, ns):
    e = start_ember(prefix=ns.prefix())
    msg = e.fault("PUT", "/network-interfaces/eth0", iface(tap="nosuchtap"))
    assert msg.startswith("Network config error: Cannot open/create the tap device")
    assert "nosuchtap" in msg
    assert e.vm_config()["network-interfaces"] == []


@pytest.mark.parametrize("field,value,needle", [
    ("guest_mac", "06:00:ac:10:00", "guest_mac"),
    ("guest_mac", "zz:00:ac:10:00:02", "guest_mac"),
    ("mtu", 67, "mtu"),
    ("mtu", 65536, "mtu"),
    ("host_dev_name", "", "host_dev_name"),
    ("host_dev_name", "a-very-long-tap-name", "host_dev_name"),
])
def test_network_interface_bad_fields(start_ember, ns, field, value, needle):
    e = start_ember(prefix=ns.prefix())
    msg = e.fault("PUT", "/network-interfaces/eth0", dict(iface(), **{field: value}))
    assert needle in msg


# ---------------------------------------------------------------- logger, metrics, serial


@pytest.mark.parametrize("level", ["Error", "Warning", "Info", "Debug", "Trace", "Off", "warn",
                                   "DEBUG", "info"])
def test_put_logger_levels(api, level):
    api.put("/logger", {"level": level})


def test_put_logger_every_field(start_ember, tmp_path):
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(tmp_path / "l.log"), "level": "Info", "show_level": True,
                      "show_log_origin": True, "module": "src/"})
    assert (tmp_path / "l.log").exists()


def test_put_logger_bad_path(api, tmp_path):
    msg = api.fault("PUT", "/logger", {"log_path": str(tmp_path / "no" / "such" / "dir.log")})
    assert msg.startswith("Logger error:") and "dir.log" in msg


def test_put_metrics_once(api, tmp_path):
    api.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})
    assert (tmp_path / "m.json").exists()
    msg = api.fault("PUT", "/metrics", {"metrics_path": str(tmp_path / "m2.json")})
    assert msg == "Metrics error: Reinitialization of metrics not allowed."


def test_metrics_path_flag_counts_as_the_one_initialisation(start_ember, tmp_path):
    e = start_ember(args=["--metrics-path", tmp_path / "m.json"])
    msg = e.fault("PUT", "/metrics", {"metrics_path": str(tmp_path / "m2.json")})
    assert msg == "Metrics error: Reinitialization of metrics not allowed."


def test_put_metrics_bad_path(api, tmp_path):
    msg = api.fault("PUT", "/metrics", {"metrics_path": str(tmp_path / "no" / "m.json")})
    assert msg.startswith("Metrics error:")
    # A refused attempt does not use up the one initialisation.
    api.put("/metrics", {"metrics_path": str(tmp_path / "m.json")})


@pytest.mark.parametrize("body", [{}, {"serial_out_path": None}, {"rate_limiter": None}])
def test_put_serial_without_a_path(api, body):
    api.put("/serial", body)


def test_put_serial_rate_limiter_is_refused_by_name(api):
    msg = api.fault("PUT", "/serial", {"rate_limiter": {"size": 100, "refill_time": 100}})
    assert "rate limiter" in msg and "not supported" in msg


def test_put_serial_bad_path(api, tmp_path):
    msg = api.fault("PUT", "/serial", {"serial_out_path": str(tmp_path / "no" / "s.out")})
    assert msg.startswith("Serial error:") and "s.out" in msg


def test_put_serial_fifo_without_a_reader(api, tmp_path):
    fifo = tmp_path / "serial.fifo"
    os.mkfifo(fifo)
    api.put("/serial", {"serial_out_path": str(fifo)})


@pytest.mark.kvm
def test_serial_out_path_takes_the_console(api, tmp_path):
    out = tmp_path / "serial.out"
    api.put("/serial", {"serial_out_path": str(out)})
    api.boot("test=hello")
    assert api.finish() == 0
    assert "TEST hello PASS" in out.read_text()
    assert "TEST hello" not in api.out


# ---------------------------------------------------------------- actions


@pytest.mark.kvm
def test_instance_start_boots_the_guest(api, tmp_path):
    img = disks.pattern_image(tmp_path / "root.img", 64)
    api.boot("test=hello", vcpus=2, mem_mib=64, drives=[disks.drive("root", img, root=True)])
    api.wait_for("TEST hello PASS")
    assert api.finish() == 0
    assert "cpus=2 ram=63MiB initrd=0 virtio=1 test=hello" in api.out


@pytest.mark.kvm
def test_state_is_running_after_start(api):
    api.boot("test=idle idle_timeout_s=20")
    api.wait_for("TEST idle READY")
    assert api.get("/").json() == {"app_name": "ember", "id": "anonymous-instance",
                                   "state": "Running", "vmm_version": VERSION}


@pytest.mark.parametrize("body,needle", [
    ({"action_type": "Reboot"}, "unknown variant `Reboot`"),
    ({"action_type": "instancestart"}, "unknown variant"),
    ({}, "action_type"),
    ({"action_type": "InstanceStart", "extra": 1}, "extra"),
])
def test_bad_actions(api, body, needle):
    msg = api.fault("PUT", "/actions", body)
    assert msg.startswith(DESER) and needle in msg


# ---------------------------------------------------------------- routes ember does not serve


def concrete(path):
    return re.sub(r"\{[^}]+\}", "x1", path)


NOT_IMPLEMENTED = sorted(openapi.not_implemented("ember")) + [
    ("DELETE", "/drives/{drive_id}"), ("DELETE", "/network-interfaces/{iface_id}"),
    ("DELETE", "/pmem/{id}")]


@pytest.fixture(scope="module")
def shared_ember(tmp_path_factory):
    e = Ember(tmp_path_factory.mktemp("shared"))
    yield e
    e.kill()


@pytest.mark.parametrize("method,path", NOT_IMPLEMENTED, ids=lambda v: str(v))
def test_firecracker_routes_ember_lacks_are_refused_by_name(shared_ember, method, path):
    body = {"x": 1} if method in ("PUT", "PATCH") else None
    msg = shared_ember.fault(method, concrete(path), body)
    assert "not supported" in msg and concrete(path) in msg, msg


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"), ("GET", "/version/"), ("GET", "//"), ("GET", "/drives"),
    ("GET", "/drives/x1"), ("PUT", "/vm/config"), ("PUT", "/"),
    ("GET", "/actions"), ("PATCH", "/boot-source"), ("PUT", "/vm"),
    ("DELETE", "/machine-config"), ("GET", "/drives/x1/y"), ("PUT", "/drives/x1/y"),
])
def test_unknown_route_or_method(shared_ember, method, path):
    body = {"x": 1} if method in ("PUT", "PATCH", "POST") else None
    msg = shared_ember.fault(method, path, body)
    assert msg == f"Invalid request method and/or path: {method} {path}."


@pytest.mark.parametrize("method", ["POST", "OPTIONS", "TRACE"])
def test_methods_firecracker_does_not_know(shared_ember, method):
    msg = shared_ember.fault(method, "/actions", {"action_type": "InstanceStart"})
    assert msg == "Invalid HTTP Method: Unsupported HTTP method."
    assert shared_ember.state() == "Not started"


def test_every_served_route_is_in_the_spec():
    # The routes this file exercises are exactly the spec's.
    ops = set(openapi.operations("ember"))
    assert ops == {
        ("GET", "/"), ("GET", "/version"), ("GET", "/vm/config"), ("PUT", "/actions"),
        ("GET", "/machine-config"), ("PUT", "/machine-config"), ("PATCH", "/machine-config"),
        ("PUT", "/boot-source"), ("PUT", "/drives/{drive_id}"), ("PATCH", "/drives/{drive_id}"),
        ("PUT", "/network-interfaces/{iface_id}"), ("PATCH", "/network-interfaces/{iface_id}"),
        ("PUT", "/logger"), ("PUT", "/metrics"), ("PATCH", "/vm"), ("PUT", "/serial")}
