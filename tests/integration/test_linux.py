"""Linux, built from Debian's linux-source-6.1 for ember (make guest-linux).

Everywhere: Linux's own early boot log, read from ember's console, shows it
read ember's command line, E820 map, MP table and virtio-mmio devices. On
hardware KVM the boot goes on to /sbin/init, the boot timer and the network;
on PVM hosts guest ring 0 is emulated and Linux stops early with an emulation
failure, which ember must report as such."""

import json
import re
import shutil
import signal
import subprocess
import threading

import pytest

from emberlib import (EMBER, EXIT_GENERIC, EXIT_OK, LINUX_ROOTFS, LINUX_VMLINUX, Result, config,
                      host_kind, run_config)

pytestmark = [pytest.mark.kvm, pytest.mark.slow]

PVM_REASON = ("PVM host: guest ring 0 is emulated and Linux stops in early boot with an "
              "emulation failure; booting to /sbin/init needs hardware KVM")


@pytest.fixture
def vmlinux():
    if not LINUX_VMLINUX.exists():
        pytest.fail("build/linux/vmlinux is missing: run `make guest-linux`")
    return LINUX_VMLINUX


@pytest.fixture
def rootfs(tmp_path):
    copy = tmp_path / "rootfs.ext4"  # the guest writes to its root
    shutil.copyfile(LINUX_ROOTFS, copy)
    return copy


def boot_linux(tmp_path, vmlinux, boot_args, vcpus, mem_mib, drives=(), args=(), timeout=300,
               stop_after=None):
    """Boots Linux; with stop_after, stops ember (SIGTERM) once that text is
    on the console (the rest of an emulated boot is not worth the wait)."""
    log = tmp_path / "ember.log"
    cfg = config(kernel=vmlinux, boot_args=boot_args, vcpus=vcpus, mem_mib=mem_mib)
    cfg["drives"] = list(drives)
    if stop_after is None:
        r = run_config(tmp_path, cfg, args=["--log-path", log, *args], timeout=timeout)
    else:
        path = tmp_path / "vm.json"
        path.write_text(json.dumps(cfg))
        p = subprocess.Popen([str(EMBER), "--no-api", "--config-file", str(path), "--log-path",
                              str(log), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, errors="replace")
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        out = []
        for line in p.stdout:
            out.append(line)
            if stop_after in line:
                p.send_signal(signal.SIGTERM)
        err = p.stderr.read()
        p.wait()
        timer.cancel()
        r = Result(p.returncode, "".join(out), err, 0.0)
    r.log = log.read_text()
    return r


def check_memory_map(r, cmdline, mem_mib):
    out = r.out
    # The command line, exactly as ember built it.
    assert f"Command line: {cmdline}\n" in out, out[:3000]
    # The E820 map: low RAM, the reserved hole, RAM from 1 MiB, and above
    # 4 GiB what does not fit below the 3 GiB MMIO gap.
    usable = [(int(a, 16), int(b, 16)) for a, b in
              re.findall(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable", out)]
    mem = mem_mib << 20
    low_end = min(mem, 3 << 30)
    expect = [(0, 0x9FBFF), (0x100000, low_end - 1)]
    if mem > 3 << 30:
        expect.append((1 << 32, (1 << 32) + mem - (3 << 30) - 1))
    assert usable == expect, out[:3000]
    assert re.search(r"BIOS-e820: \[mem 0x000000000009fc00-0x[0-9a-f]+\] reserved", out)
    assert "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]" in out


def check_early_log(r, cmdline, vcpus, mem_mib):
    check_memory_map(r, cmdline, mem_mib)
    out = r.out
    # The CPUs, from ember's MP table.
    assert "MPTABLE: OEM ID: EMBER" in out
    assert f"Processors: {vcpus}" in out
    assert f"smpboot: Allowing {vcpus} CPUs, 0 hotplug CPUs" in out
    assert "Hypervisor detected: KVM" in out
    # virtio_mmio.device= is a parameter of the built-in virtio_mmio driver:
    # Linux parsed it (an unknown one would be listed as such).
    unknown = re.search(r'Unknown kernel command line parameters "([^"]*)"', out)
    assert not unknown or "virtio_mmio" not in unknown.group(1)
    assert re.search(r"Kernel command line: .*virtio_mmio\.device=4K@0xc0001000:5", out)


def check_outcome(r):
    if host_kind() == "pvm":
        # ember says what stopped the guest, with the instruction's bytes.
        assert r.rc == EXIT_GENERIC, r.log
        m = re.search(r"KVM internal error \(KVM_EXIT_INTERNAL_ERROR\), suberror 1: emulation "
                      r"failure; instruction bytes: ([0-9a-f]{2}( [0-9a-f]{2})*); rip=0x", r.log)
        assert m, r.log
    else:
        assert r.rc == EXIT_OK, r.log
        assert "EMBER-LINUX: READY" in r.out


def test_linux_early_boot_pvh(tmp_path, vmlinux, rootfs):
    args = "console=ttyS0 earlyprintk=ttyS0 reboot=k panic=1"
    drive = {"drive_id": "rootfs", "path_on_host": str(rootfs), "is_root_device": True}
    r = boot_linux(tmp_path, vmlinux, args, vcpus=2, mem_mib=256, drives=[drive])
    assert "kernel loaded: PVH entry" in r.log
    check_early_log(r, args + " pci=off root=/dev/vda rw virtio_mmio.device=4K@0xc0001000:5",
                    2, 256)
    check_outcome(r)


def test_linux_early_boot_64bit_protocol_above_the_gap(tmp_path, vmlinux, rootfs):
    args = "console=ttyS0 earlyprintk=ttyS0 reboot=k panic=1"
    drive = {"drive_id": "rootfs", "path_on_host": str(rootfs), "is_root_device": True,
             "is_read_only": True}
    # Linux initialises a struct page for every page early on; emulated, that
    # takes about a minute for 3.5 GiB, so the VM is stopped once Linux has
    # printed the memory map and found the MP table.
    r = boot_linux(tmp_path, vmlinux, args, vcpus=4, mem_mib=3584, drives=[drive],
                   args=["--boot-protocol", "linux"], stop_after="found SMP MP-table")
    assert "kernel loaded: 64-bit Linux boot protocol" in r.log
    check_memory_map(r, args + " pci=off root=/dev/vda ro virtio_mmio.device=4K@0xc0001000:5",
                     3584)
    assert r.rc in (EXIT_OK, 128 + signal.SIGTERM), r.log


def test_linux_boots_to_init_with_boot_timer(tmp_path, vmlinux, rootfs):
    if host_kind() == "pvm":
        pytest.skip(PVM_REASON)
    drive = {"drive_id": "rootfs", "path_on_host": str(rootfs), "is_root_device": True}
    r = boot_linux(tmp_path, vmlinux, "console=ttyS0 reboot=k panic=1", vcpus=2, mem_mib=256,
                   drives=[drive], args=["--boot-timer"], timeout=120)
    assert r.rc == EXIT_OK, r.log
    assert "EMBER-INIT: boot-timer written" in r.out
    assert "EMBER-LINUX: READY" in r.out and "EMBER-LINUX: nproc 2" in r.out
    assert re.search(r"Guest-boot-time = +\d+ us", r.log)


def test_linux_reaches_the_network(tmp_path, vmlinux, rootfs):
    if host_kind() == "pvm":
        pytest.skip(PVM_REASON)
    import netns
    ok, why = netns.available()
    if not ok:
        pytest.skip(why)
    ns = netns.NetNS()
    try:
        ns.add_tap("tap0")
        subprocess.run(ns.prefix() + ["ip", "addr", "add", "10.0.0.1/24", "dev", "tap0"],
                       check=True)
        cfg = config(kernel=vmlinux, boot_args="console=ttyS0 reboot=k panic=1 "
                     "ember.run=/etc/ember/net", vcpus=2, mem_mib=256)
        cfg["drives"] = [{"drive_id": "rootfs", "path_on_host": str(rootfs),
                          "is_root_device": True}]
        cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": "tap0",
                                      "guest_mac": "06:00:0a:00:00:02"}]
        path = tmp_path / "vm.json"
        path.write_text(json.dumps(cfg))
        p = subprocess.run(ns.prefix() + [str(EMBER), "--no-api", "--config-file", str(path)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == EXIT_OK, p.stdout + p.stderr
        assert "EMBER-LINUX: mac 06:00:0a:00:00:02" in p.stdout
        assert "EMBER-LINUX: ping ok" in p.stdout
    finally:
        ns.close()
