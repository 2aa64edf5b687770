"""The test guest's scenarios, through each boot path ember offers."""

import re
import struct

import pytest

from emberlib import (EXIT_GENERIC, EXIT_OK, TESTGUEST_BZ, TESTGUEST_ELF, config,
                      run_config)

pytestmark = pytest.mark.kvm

# (id, kernel, extra flags, the boot path the guest must report)
PATHS = [
    ("elf-pvh", TESTGUEST_ELF, [], "pvh"),
    ("elf-linux", TESTGUEST_ELF, ["--boot-protocol", "linux"], "linux"),
    ("bzimage", TESTGUEST_BZ, [], "linux"),
]


def boot(tmp_path, kernel, args, boot_args, vcpus=1, mem_mib=128, initrd=None, timeout=30):
    log = tmp_path / "ember.log"
    r = run_config(tmp_path, config(kernel=kernel, boot_args=boot_args, vcpus=vcpus,
                                    mem_mib=mem_mib, initrd=initrd),
                   args=["--log-path", log, *args], timeout=timeout)
    r.log = log.read_text() if log.exists() else ""
    return r


def passed(r, name):
    verdict = r.tests().get(name)
    assert verdict and verdict[0] == "PASS", r.out + r.log
    assert "TESTGUEST DONE" in r.out
    assert r.rc == EXIT_OK, r.log
    return verdict[1]


@pytest.mark.parametrize("path", PATHS, ids=[p[0] for p in PATHS])
def test_hello(tmp_path, path):
    _, kernel, args, proto = path
    r = boot(tmp_path, kernel, args, "test=hello")
    passed(r, "hello")
    assert re.search(rf"^testguest: boot={proto} ", r.out, re.M), r.out
    assert "guest requested a reset through the i8042" in r.log


@pytest.mark.parametrize("path", PATHS, ids=[p[0] for p in PATHS])
def test_memory_layout_and_every_page(tmp_path, path):
    _, kernel, args, _ = path
    r = boot(tmp_path, kernel, args, "test=memory expect_mem_mib=128", mem_mib=128)
    detail = passed(r, "memory")
    assert f"ram={128 * 1024 - 0x60400 // 1024}KiB" in detail
    # The guest prints the map it was given; it must be ember's layout.
    e820 = re.findall(r"^E820 (0x[0-9a-f]+) (0x[0-9a-f]+) (\d+)$", r.out, re.M)
    ram = [(int(a, 16), int(b, 16)) for a, b, t in e820 if t == "1"]
    assert ram == [(0, 0x9FC00), (0x100000, 128 << 20)]


@pytest.mark.parametrize("mem_mib", [8, 3072, 3073, 4608])
def test_memory_sizes_around_the_gap(tmp_path, mem_mib):
    # Above 3 GiB the RAM continues at 4 GiB; sample one page per MiB there.
    r = boot(tmp_path, TESTGUEST_ELF, [],
             f"test=memory expect_mem_mib={mem_mib} memory_stride_kib=1024", mem_mib=mem_mib)
    passed(r, "memory")
    e820 = re.findall(r"^E820 (0x[0-9a-f]+) (0x[0-9a-f]+) 1$", r.out, re.M)
    top = max(int(end, 16) for _, end in e820)
    expect = (mem_mib << 20) if mem_mib <= 3072 else (1 << 32) + ((mem_mib - 3072) << 20)
    assert top == expect


@pytest.mark.parametrize("vcpus", [1, 2, 4, 32])
def test_smp(tmp_path, vcpus):
    r = boot(tmp_path, TESTGUEST_ELF, [], f"test=smp expect_cpus={vcpus}", vcpus=vcpus)
    assert passed(r, "smp") == f"{vcpus} cpus"


def test_smp_linux_path(tmp_path):
    r = boot(tmp_path, TESTGUEST_BZ, [], "test=smp expect_cpus=2", vcpus=2)
    assert passed(r, "smp") == "2 cpus"


def test_boot_timer(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, ["--boot-timer"], "test=boottimer")
    passed(r, "boottimer")
    m = re.search(r"Guest-boot-time = +(\d+) us (\d+) ms, +(\d+) CPU us (\d+) CPU ms", r.log)
    assert m, r.log
    us, ms, cpu_us, cpu_ms = map(int, m.groups())
    assert ms == us // 1000 and cpu_ms == cpu_us // 1000
    assert 0 < us < 30_000_000


def test_boot_timer_absent_without_flag(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, [], "test=boottimer")
    passed(r, "boottimer")
    assert "Guest-boot-time" not in r.log
    # Without the device, the write is an unclaimed MMIO access.
    assert "mmio: write of 1 bytes at 0xc0000000 hits no device" in r.log


@pytest.mark.parametrize("path", PATHS, ids=[p[0] for p in PATHS])
def test_triple_fault(tmp_path, path):
    _, kernel, args, _ = path
    r = boot(tmp_path, kernel, args, "test=triplefault")
    assert r.rc == EXIT_GENERIC, r.log
    assert "triple-faulting now" in r.out
    assert "TESTGUEST DONE" not in r.out
    line = [l for l in r.log.splitlines() if "KVM_EXIT_SHUTDOWN" in l]
    assert len(line) == 1, r.log
    assert re.search(r"vCPU 0: triple fault \(KVM_EXIT_SHUTDOWN\); rip=0x[0-9a-f]+ rsp=", line[0])


def test_reset_storm_stops_the_vm_and_is_logged_once(tmp_path):
    # 65536 reset commands in a row: the first stops the VM (exit 0, the
    # guest does not run on to its FAIL line); the ones that arrive before
    # the vCPU has stopped are counted, not logged.
    r = boot(tmp_path, TESTGUEST_ELF, [], "test=reset-storm")
    assert r.rc == EXIT_OK, r.log
    assert "reset-storm: 65536 reset commands" in r.out
    assert "TEST reset-storm" not in r.out
    assert r.log.count("guest requested a reset through the i8042") == 1, r.log


def test_unmapped_accesses_are_survived_and_rate_limited(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, [], "test=unmapped")
    passed(r, "unmapped")
    reads = [l for l in r.log.splitlines() if "hits no device; returning all ones" in l]
    writes = [l for l in r.log.splitlines() if "hits no device; ignored" in l]
    # The guest makes 34 unclaimed reads and 17 writes, all within one
    # 5-second window: each call site logs its first 10.
    assert len(reads) == 10 and len(writes) == 10, r.log


@pytest.mark.parametrize("path", PATHS, ids=[p[0] for p in PATHS])
def test_initrd(tmp_path, path):
    _, kernel, args, _ = path
    data = bytes((i * 7 + 3) & 0xFF for i in range(300_001))
    initrd = tmp_path / "initrd.img"
    initrd.write_bytes(data)
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    r = boot(tmp_path, kernel, args, "test=initrd", initrd=initrd)
    assert passed(r, "initrd") == f"size={len(data)} fnv1a={h:016x}"


def test_unknown_scenario(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, [], "test=no-such-thing")
    assert r.tests()["no-such-thing"][0] == "FAIL"
    assert r.rc == EXIT_OK


def test_guest_exception_is_reported_not_hung(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, [], "test=fault fault=pf")
    verdict, detail = r.tests()["fault"]
    assert verdict == "FAIL" and detail.startswith("exception 14"), r.out
    assert r.rc == EXIT_OK


def test_command_line_reaches_the_guest(tmp_path):
    r = boot(tmp_path, TESTGUEST_ELF, [], 'test=hello extra="quoted value"')
    passed(r, "hello")
    assert "command line: test=hello extra=\"quoted value\" pci=off" in r.log


def test_default_boot_args(tmp_path):
    log = tmp_path / "ember.log"
    cfg = config()
    del cfg["boot-source"]["boot_args"]
    r = run_config(tmp_path, cfg, args=["--log-path", log])
    assert r.rc == EXIT_OK
    assert ("command line: reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux "
            "i8042.nomux i8042.dumbkbd swiotlb=noforce pci=off") in log.read_text()
    assert "TEST hello PASS" in r.out  # the test guest's default scenario
