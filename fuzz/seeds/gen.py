#!/usr/bin/env python3
"""Writes the seed corpora of ember's fuzz targets into fuzz/corpus/<target>/.

Each seed is a small, meaningful input in the encoding its target reads
(see the comment at the top of fuzz/<target>_fuzz.c). Run from the repo:

    python3 fuzz/seeds/gen.py            # every target but http
    python3 fuzz/seeds/gen.py blk net    # some

The loader seeds include build/testguest.elf and build/testguest.bzImage
when they exist (make testguest); the synthetic images come from
tests/integration/images.py. Existing files of a regenerated target are
replaced; fuzz/corpus/http/ (hand-written) is left alone.
"""

import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import images  # noqa: E402

u8 = lambda v: struct.pack("<B", v & 0xFF)
u16 = lambda v: struct.pack("<H", v & 0xFFFF)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

# fz_virtio.h: fv_addr selectors and fv_len encodings.
R0BUF, R1, R2, SEAM, R1END, RAMEND, GAP, WRAP, RINGS, RAW = 0, 4, 7, 9, 10, 11, 12, 13, 14, 15


def addr(sel, off=0, raw=None):
    return u8(sel) + u16(off) + (u64(raw) if sel == RAW else b"")


def length(n):
    """fv_len: 16, 1, 0, 512*k and small values have short forms."""
    if n == 16:
        return u8(2)
    if n == 1:
        return u8(4)
    if n == 0:
        return u8(6)
    if n % 512 == 0 and 1 <= n // 512 <= 4:
        return u8(3 | ((n // 512 - 1) << 6))
    if n < 32:
        return u8(n << 3)
    if n < 0x2000:
        return u8(5) + u16(n)
    return u8(7) + u32(n)


def write(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- cmdline
def cmdline():
    def app(s):
        return u8(0) + u8(len(s)) + s.encode()

    def has(s):
        return u8(1) + u8(len(s)) + s.encode()

    fc = "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd"
    write("cmdline", "firecracker_default", u16(2048) + app(fc) + app("swiotlb=noforce") + has("panic="))
    write("cmdline", "root_added", u16(2048) + app("console=ttyS0") + has("root=") +
          app("root=/dev/vda rw") + has("root=") + has("ro"))
    write("cmdline", "virtio_devices", u16(2048) + b"".join(
        app("virtio_mmio.device=4K@0x%x:%d" % (0xc0001000 + i * 0x1000, 5 + i)) for i in range(19)))
    write("cmdline", "exact_fit", u16(8) + app("abc") + app("def") + app("x"))
    write("cmdline", "cap_zero", u16(0) + app("") + app("a") + has(""))
    write("cmdline", "cap_one", u16(1) + app("") + app("a"))
    write("cmdline", "cap_past_buffer", u16(4999) + app("a" * 255) * 17)
    write("cmdline", "empty_strings", u16(64) + app("") + app("a") + app("") + app("b") + has(""))
    write("cmdline", "spaces", u16(64) + app("  a  b ") + has("a") + has(" a") + has("b") + has("a  b"))
    write("cmdline", "prefix_keys", u16(256) + app("init=/bin/sh") + has("init") + has("ini") +
          has("init=/bin/sh ") + has("nit="))
    write("cmdline", "nul_inside", u16(128) + u8(0) + u8(5) + b"ab\0cd" + has("ab"))
    write("cmdline", "e2big_then_fit", u16(20) + app("0123456789012345") + app("toolong") + app("ok"))


# ---------------------------------------------------------------- uart
def uart():
    BASE = 2  # guest_access: address = COM1 - 2 + byte % 12

    def wr(reg, val, width=1):
        return u8((width << 3) | 0) + u8(BASE + reg) + bytes([val] * width) + bytes(8 - width)

    def rd(reg, width=1):
        return u8((width << 3) | 3) + u8(BASE + reg) + bytes(8)

    def inp(data):
        return u8(5) + u8(len(data)) + data

    def drain(k=4096):
        return u8(6) + u16(k)

    probe = (wr(4, 0x10) + rd(6) + wr(4, 0x1f) + rd(6) + wr(4, 0x08) + wr(3, 0x80) + wr(0, 0x01) +
             wr(1, 0) + wr(3, 0x03) + rd(0) + rd(1) + rd(3))
    write("uart", "linux_probe", probe)
    write("uart", "hello_drain", b"".join(wr(0, c) for c in b"Hello, ember\n") + drain())
    write("uart", "thre_irq", wr(1, 0x02) + rd(2) + rd(2) + wr(0, 0x41) + rd(2) + rd(5))
    write("uart", "rx_irq", wr(1, 0x01) + inp(b"abc") + rd(2) + rd(5) + rd(0) + rd(0) + rd(0) + rd(5))
    write("uart", "rx_fifo_full", inp(bytes(range(64))) + inp(b"more") + u8(7) + rd(0) * 3 +
          u8(2 << 3 | 0) + u8(BASE + 2) + bytes([2] * 8) + inp(b"x"))
    write("uart", "loopback", wr(4, 0x10) + b"".join(wr(0, c) for c in b"loop") + rd(0) * 4 + rd(6))
    write("uart", "loopback_overflow", wr(4, 0x10) + b"".join(wr(0, i) for i in range(70)) + rd(5))
    write("uart", "wide_access", u8((8 << 3) | 0) + u8(BASE) + b"ABCDEFGH" +
          u8((8 << 3) | 3) + u8(BASE + 4) + bytes(8) + u8((2 << 3) | 3) + u8(BASE + 7) + bytes(8))
    write("uart", "outside_range", u8((4 << 3) | 0) + u8(0) + b"abcdefgh" + u8((1 << 3) | 3) + u8(11) +
          bytes(8))
    write("uart", "burst_full_ring", u8(7 | (3 << 3)) + u16(0xffff) + u8(0x30) + u8(7 | (3 << 3)) +
          u16(0x100) + u8(1) + drain(0xffff) + drain(0xffff))
    write("uart", "sink_broken", b"".join(wr(0, c) for c in b"lost") + u8(7 | (1 << 3)) + drain() +
          u8(7 | (2 << 3)) + wr(0, 0x21) + drain())
    write("uart", "dlab_divisor", wr(3, 0x80) + wr(0, 0x0c) + wr(1, 0x00) + rd(0) + rd(1) + wr(3, 0x03) +
          rd(1))
    write("uart", "fcr_clear_starved", inp(bytes(64)) + u8(7) + wr(2, 0x07) + rd(5) + inp(b"after"))


# ---------------------------------------------------------------- i8042
def i8042():
    def wr(off, val, width=1):
        return u8(1 | 2 | (width << 2)) + u8(2 + off) + bytes([val] * width) + bytes(8 - width)

    def rd(off, width=1):
        return u8(1 | (width << 2)) + u8(2 + off) + bytes(8)

    cad = u8(0)
    write("i8042", "reset_cpu", wr(4, 0xfe))
    write("i8042", "ctrl_alt_del", cad + rd(4) + rd(0) * 4 + rd(4))
    write("i8042", "ctrl_alt_del_full", cad * 5 + rd(0) * 2 + cad)
    write("i8042", "read_ctr", wr(4, 0x20) + rd(4) + rd(0))
    write("i8042", "write_ctr_no_irq", wr(4, 0x60) + wr(0, 0x04) + cad + wr(0, 0xff))
    write("i8042", "outp", wr(4, 0xd1) + wr(0, 0x55) + wr(4, 0xd0) + rd(0))
    write("i8042", "keyboard_ack", wr(0, 0xed) + rd(0) + wr(0, 0x02) + rd(4) + rd(0))
    write("i8042", "wide_and_outside", wr(0, 0x20, 2) + rd(0, 4) + rd(4, 2) + u8(1) + u8(0) + bytes(8) +
          u8(1 | (1 << 2)) + u8(8) + bytes(8))
    write("i8042", "overflow", wr(4, 0x20) * 20 + rd(0) * 17)
    write("i8042", "linux_probe", wr(4, 0x20) + rd(0) + wr(4, 0x60) + wr(0, 0x47) + wr(4, 0xaa) +
          rd(0) + wr(0, 0xff) + rd(0))


# ---------------------------------------------------------------- config / api_json
KERNEL = {"kernel_image_path": "vmlinux", "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"}
DRIVE = {"drive_id": "rootfs", "path_on_host": "rootfs.ext4", "is_root_device": True,
         "is_read_only": False}
NET = {"iface_id": "eth0", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}
RL = {"bandwidth": {"size": 52428800, "one_time_burst": 10485760, "refill_time": 1000},
      "ops": {"size": 1000, "refill_time": 1000}}


def config():
    c = lambda name, obj: write("config", name, json.dumps(obj, indent=2) + "\n")
    c("minimal", {"boot-source": {"kernel_image_path": "vmlinux"}})
    c("firecracker_getting_started", {
        "boot-source": KERNEL, "drives": [DRIVE],
        "machine-config": {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False,
                           "track_dirty_pages": False},
        "network-interfaces": [NET]})
    c("full", {
        "boot-source": dict(KERNEL, initrd_path="initrd.img"),
        "drives": [dict(DRIVE, drive_id="data", is_root_device=False, cache_type="Writeback",
                        io_engine="Async", rate_limiter=RL),
                   dict(DRIVE, partuuid="0eaa91a0-01", is_read_only=True)],
        "machine-config": {"vcpu_count": 4, "mem_size_mib": 2048, "smt": True,
                           "huge_pages": "2M", "cpu_template": "None"},
        "network-interfaces": [dict(NET, mtu=9000, rx_rate_limiter=RL, tx_rate_limiter=RL),
                               {"iface_id": "eth1", "host_dev_name": "tap1"}],
        "logger": {"log_path": "/tmp/ember.log", "level": "Debug", "show_level": True,
                   "show_log_origin": True, "module": "src/devices"},
        "vsock": None, "balloon": None, "metrics": None, "mmds-config": None, "entropy": None})
    c("nulls", {"boot-source": {"kernel_image_path": "k", "boot_args": None, "initrd_path": None},
                "drives": None, "network-interfaces": None, "machine-config": {
                    "vcpu_count": 1, "mem_size_mib": 128, "smt": None}})
    c("max_devices", {"boot-source": {"kernel_image_path": "k"},
                      "drives": [dict(DRIVE, drive_id="d%d" % i, is_root_device=i == 5)
                                 for i in range(10)],
                      "network-interfaces": [{"iface_id": "n%d" % i, "host_dev_name": "tap%d" % i,
                                              "guest_mac": "06:00:00:00:00:%02x" % i}
                                             for i in range(9)]})
    c("duplicate_mac", {"boot-source": {"kernel_image_path": "k"}, "network-interfaces": [
        NET, dict(NET, iface_id="eth1", host_dev_name="tap1")]})
    c("two_roots", {"boot-source": {"kernel_image_path": "k"},
                    "drives": [DRIVE, dict(DRIVE, drive_id="b")]})
    c("bad_types", {"boot-source": {"kernel_image_path": 5}, "machine-config": {"vcpu_count": "2"}})
    c("unknown_field", {"boot-source": {"kernel_image_path": "k", "foo": 1}})
    c("unsupported_vsock", {"boot-source": {"kernel_image_path": "k"},
                            "vsock": {"guest_cid": 3, "uds_path": "/v.sock"}})
    c("smt_odd", {"boot-source": {"kernel_image_path": "k"},
                  "machine-config": {"vcpu_count": 3, "mem_size_mib": 256, "smt": True}})
    c("rate_limiter_huge", {"boot-source": {"kernel_image_path": "k"}, "drives": [dict(
        DRIVE, rate_limiter={"bandwidth": {"size": 9223372036854775807, "refill_time": 9223372036854775807}})]})
    write("config", "duplicate_key", '{"boot-source":{"kernel_image_path":"a","kernel_image_path":"b"}}')
    write("config", "truncated", '{"boot-source":{"kernel_image_path":"vmlinux"},"drives":[{"drive_')
    write("config", "nul_in_string", '{"boot-source":{"kernel_image_path":"vm\\u0000linux"}}')
    write("config", "not_object", '[{"boot-source":{}}]')
    write("config", "escapes_utf8", '{"boot-source":{"kernel_image_path":"/k\\u00e9rnel \\ud83d\\ude00",'
          '"boot_args":"a=\\"b\\" \\\\ \\n"}}')


def api_json():
    a = lambda name, method, path, body=None: write(
        "api_json", name, "%s %s\n%s" % (method, path, "" if body is None else
                                         body if isinstance(body, str) else json.dumps(body)))
    a("get_root", "GET", "/")
    a("get_version", "GET", "/version")
    a("get_vm_config", "GET", "/vm/config")
    a("get_with_body", "GET", "/machine-config", {"x": 1})
    a("put_machine", "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False})
    a("patch_machine", "PATCH", "/machine-config", {"mem_size_mib": 512})
    a("patch_machine_empty", "PATCH", "/machine-config", {})
    a("put_boot", "PUT", "/boot-source", KERNEL)
    a("put_drive", "PUT", "/drives/rootfs", DRIVE)
    a("put_drive_rl", "PUT", "/drives/data", dict(DRIVE, drive_id="data", is_root_device=False,
                                                  rate_limiter=RL, io_engine="Async"))
    a("put_drive_id_mismatch", "PUT", "/drives/other", DRIVE)
    a("put_drive_bad_id", "PUT", "/drives/ro-otfs", DRIVE)
    a("put_drive_empty_id", "PUT", "/drives/", DRIVE)
    a("patch_drive", "PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "new.ext4"})
    a("patch_drive_rl", "PATCH", "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": RL})
    a("put_net", "PUT", "/network-interfaces/eth0", NET)
    a("put_net_mtu", "PUT", "/network-interfaces/eth0", dict(NET, mtu=1500, rx_rate_limiter=RL))
    a("patch_net", "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": RL})
    a("put_logger", "PUT", "/logger", {"log_path": "/tmp/l", "level": "Warning", "show_level": True})
    a("put_metrics", "PUT", "/metrics", {"metrics_path": "/tmp/m"})
    a("patch_vm", "PATCH", "/vm", {"state": "Paused"})
    a("put_actions", "PUT", "/actions", {"action_type": "InstanceStart"})
    a("put_serial", "PUT", "/serial", {"serial_out_path": "/tmp/s"})
    a("not_supported", "PUT", "/balloon", {"amount_mib": 1})
    a("delete_drive", "DELETE", "/drives/rootfs")
    a("bad_json", "PUT", "/machine-config", '{"vcpu_count": 2,')
    a("array_body", "PUT", "/logger", "[1,2]")
    a("duplicate_key", "PUT", "/boot-source", '{"kernel_image_path":"a","kernel_image_path":"b"}')
    a("long_id", "PUT", "/drives/" + "a" * 65, dict(DRIVE, drive_id="a" * 65))
    a("nested_sections", "PUT", "/actions", {"machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
                                             "drive": DRIVE, "net": NET, "logger": {"level": "Off"},
                                             "rate_limiter": RL, "boot": KERNEL})


# ---------------------------------------------------------------- virtqueue
def virtqueue():
    # activate(sel, sz): sel bits 0-5 placement (0: canonical), 6 nudge, 7 max 16;
    # sz bits 0-3 log2 size (9-15: odd sizes), bit 4 EVENT_IDX.
    def act(log2, event_idx=False, sel=0, extra=b""):
        return u8(sel) + u8(log2 | (0x10 if event_idx else 0)) + extra

    def chain(at, descs):  # op 0: write_chain
        out = u8(0) + u8(at) + u8(len(descs) - 1)
        for a, ln, w in descs:
            out += a + length(ln) + u8(2 if w else 0)
        return out

    POP, UNPOP, ADD, PUB, IRQ, NOTE, IOV = u8(2), u8(5), u8(6), u8(7), u8(8), u8(9), u8(10)
    blk = [(addr(R0BUF, 0), 16, False), (addr(R1, 0x200), 512, True), (addr(R2, 0), 1, True)]
    write("virtqueue", "pop_use_publish", act(4) + chain(0, blk) + POP + IOV + b"\0\3\0" +
          ADD + u32(513) + PUB + IRQ)
    write("virtqueue", "event_idx", act(4, True) + chain(0, blk) + POP + ADD + u32(1) + PUB + IRQ +
          chain(3, blk) + POP + ADD + u32(1) + PUB + IRQ + NOTE + u8(0x19) + u8(1) + NOTE)
    write("virtqueue", "size_1", act(0) + chain(0, blk[:1]) + POP + ADD + u32(0) + PUB + POP)
    write("virtqueue", "size_256", act(8, True) + b"".join(chain(i, blk) for i in range(0, 60, 3)) +
          POP * 20 + (ADD + u32(7)) * 20 + PUB + IRQ)
    write("virtqueue", "unpop", act(3) + chain(0, blk) + POP + UNPOP + POP + ADD + u32(3) + PUB)
    write("virtqueue", "avail_jump", act(3) + u8(11 + 2 * 16) + u8(20) + POP + POP)
    write("virtqueue", "loop", act(2) + u8(11 + 0 * 16) + u8(0) + addr(R0BUF) + length(8) + u8(1) +
          u8(0) + u8(11 + 1 * 16) + u8(0) + POP + POP + NOTE)
    write("virtqueue", "indirect", act(2) + u8(11) + u8(0) + addr(R0BUF) + length(16) + u8(4) + u8(0) +
          u8(11 + 16) + u8(0) + POP)
    write("virtqueue", "next_out_of_range", act(2) + u8(11) + u8(1) + addr(R1) + length(16) + u8(0x81) +
          u8(0) + u16(300) + u8(11 + 16) + u8(1) + POP)
    write("virtqueue", "bad_buffers", act(4) + chain(0, [(addr(SEAM, 4), 16, False),
                                                      (addr(GAP, 0), 512, True),
                                                      (addr(WRAP, 2), 64, True),
                                                      (addr(RAMEND, 0), 2, True)]) +
          POP + IOV + b"\0\4\0" + IOV + b"\1\1\0")
    write("virtqueue", "no_interrupt_flag", act(4) + u8(11 + 3 * 16) + u8(1) + chain(0, blk) + POP +
          ADD + u32(1) + PUB + IRQ)
    write("virtqueue", "misaligned_rings", act(4, sel=0x40, extra=u8(1)) + POP)
    write("virtqueue", "rings_in_r1", act(4, sel=0b010101) + b"\x10\x00\x00\x20\x00\x30" +
          chain(0, blk) + POP)
    write("virtqueue", "rings_straddle", act(5, sel=0b101010) + b"\x01\x01\x01" + POP)
    write("virtqueue", "rings_raw", act(3, sel=0x3f) + u64(0xffffffffffff0000) + u64(2) + u64(0x10004))
    write("virtqueue", "odd_size", act(12) + POP + u8(0xf8) + u8(0) + u8(4) + chain(0, blk) + POP)
    write("virtqueue", "wrap_65535", act(1) + b"".join(chain(0, blk[:1]) + POP + ADD + u32(1) + PUB
                                                       for _ in range(40)))


# ---------------------------------------------------------------- mmio
def mmio():
    def st(k):  # status_write: 0-3 next step, 4 reset, 5 FAILED
        return u8(5) + u8(k)

    feats = u8(7) + u8(0) + u64(0xffffffffffffffff)  # VERSION_1 + everything offered
    qset = lambda q, log2: u8(8 | (q << 4)) + u8(log2)
    ctrl, kick = u8(9), lambda q: u8(10 | (q << 4))

    def chain(q, bufs, loop=False):
        out = u8(12 | (q << 4)) + u8(len(bufs) - 1)
        for a, ln in bufs:
            out += a + length(ln)
        return out + u8(0xff if loop else 0)

    def rd(reg_index, width_code=0):
        return u8(3 | (width_code << 4)) + u8(reg_index) + u32(0)

    def wr(reg_index, val, width_code=0):
        return u8(0 | (width_code << 4)) + u8(reg_index) + (u64(val) if width_code == 7 else u32(val))

    up = st(0) + st(1) + feats + st(2)
    bufs = [(addr(R0BUF), 16), (addr(R1, 64), 512)]
    write("mmio", "probe_registers", b"".join(rd(i) for i in range(23)))
    write("mmio", "full_bringup", up + qset(0, 4) + qset(1, 4) + st(3) + ctrl + chain(0, bufs) +
          kick(0) + chain(1, bufs) + kick(1) + rd(13) + wr(14, 3) + rd(13))
    write("mmio", "activate_on_notify", up + qset(0, 3) + st(3) + chain(0, bufs) + kick(0))
    write("mmio", "no_ready_queue", up + st(3) + ctrl + rd(15))
    write("mmio", "activate_fails", up + qset(1, 2) + u8(13 | 0x10) + st(3) + ctrl + kick(1))
    write("mmio", "features_no_version1", st(0) + st(1) + u8(7) + u8(1) + u64(1) + st(2) + rd(15))
    write("mmio", "features_unoffered", st(0) + st(1) + u8(7) + u8(1) + u64((1 << 32) | (1 << 40)) +
          st(2) + rd(15))
    write("mmio", "skip_steps", st(1) + st(3) + st(2) + st(0) + st(2) + rd(15))
    write("mmio", "failed_then_reset", up + st(5) + st(3) + rd(15) + st(4) + rd(15))
    write("mmio", "queue_bad_rings", up + wr(8, 0) + wr(10, 3) + wr(16, 0x1001) + wr(11, 1) + rd(11) +
          rd(15) + wr(10, 512) + wr(11, 1))
    write("mmio", "queue_regs_after_ready", up + qset(0, 4) + wr(10, 8) + wr(16, 0x5000) + rd(11) +
          wr(11, 0) + rd(11))
    write("mmio", "queue_sel_missing", up + wr(8, 7) + rd(9) + rd(11) + wr(11, 1))
    write("mmio", "reset_while_live", up + qset(0, 4) + st(3) + ctrl + chain(0, bufs) + kick(0) + st(4) +
          kick(0) + rd(15))
    write("mmio", "broken_queue", up + qset(0, 4) + qset(1, 4) + st(3) + ctrl + chain(0, bufs, loop=True) +
          kick(0) + rd(13) + chain(1, bufs) + kick(1) + rd(15))
    write("mmio", "avail_jump", up + qset(0, 2) + st(3) + ctrl + u8(15) + u8(40) + kick(0) + rd(15))
    write("mmio", "config_space", rd(23, 5) + rd(24, 6) + rd(25, 7) + wr(24, 0x11223344) +
          wr(25, 0x5566778899aabbcc, 7) + rd(24) + u8(14) + rd(22) + u8(200) + u16(0x100))
    write("mmio", "odd_widths", rd(15, 5) + rd(15, 6) + rd(15, 7) + wr(15, 1, 5) + u8(4) + u8(201) +
          u16(0x71) + u32(0))
    write("mmio", "driver_features_late", up + u8(7) + u8(0) + u64(0) + rd(15) + st(3) + feats)


# ---------------------------------------------------------------- blk
IN, OUT, FLUSH, GET_ID = 0, 1, 2, 3  # request(): type selector


def blk_dev(async_=False, ro=False, writeback=False, flush=False, event_idx=False, sectors=4,
            qlog2=4, tail=False, drive_id=b""):
    h0 = (1 if async_ else 0) | (2 if ro else 0) | (4 if writeback else 0) | (8 if flush else 0) | \
         (16 if event_idx else 0)
    h1 = qlog2 | (sectors << 4) | (0x80 if tail else 0)  # sectors: index into {0,1,2,8,16,64,200,255}
    ids = b"".join(u8("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".index(chr(c)))
                   for c in drive_id)
    return u8(h0) + u8(h1) + u8(len(drive_id)) + ids + u8(0x42)


def blk_req(type_sel, sector, data, status=(addr(R2, 0x100), 1, True), hdr=(addr(R0BUF, 0), 16, False)):
    """data: list of (addr bytes, len, write-flag-correct)."""
    k = len(data) if len(data) <= 4 else 0x80
    if hdr[1] != 16:
        k |= 0x40
    if hdr[2]:
        k |= 0x20
    if status is None:
        k |= 0x10
    out = u8(0) + u8(k) + (u8(len(data)) if k & 0x80 else b"")
    out += u8(type_sel) if type_sel < 4 else u8(0xf0) + u32(type_sel)
    out += u8(sector) if sector < 0xc0 else u8(0xf0) + u64(sector)
    out += hdr[0] + (length(hdr[1]) if k & 0x40 else b"")
    for a, ln, right in data:
        if ln % 512 == 0 and 1 <= ln // 512 <= 8:
            out += u8(((ln // 512 - 1) << 1) | (0 if right else 0x80)) + a
        else:
            out += u8(1 | (0 if right else 0x80)) + a + length(ln)
    if status is not None:
        a, ln, w = status
        f = (0 if ln == 1 else 1) | (0 if w else 2)
        out += u8(f) + a + (length(ln) if ln != 1 else b"")
    return out


KICK = u8(3)


def blk():
    d1 = [(addr(R1, 0), 512, True)]
    write("blk", "read_write", blk_dev(sectors=3) + blk_req(OUT, 2, [(addr(R1, 0), 1024, True)]) +
          blk_req(IN, 2, [(addr(R1, 0x1000), 512, True), (addr(R2, 0x800), 512, True)]) + KICK)
    write("blk", "async_read_write", blk_dev(async_=True, sectors=4) +
          blk_req(OUT, 0, [(addr(R1, 0), 4096, True)]) + KICK + blk_req(IN, 0, [(addr(R1, 0x2000), 4096, True)]) + KICK)
    write("blk", "get_id", blk_dev(drive_id=b"rootfs_drive_with_a_long_id") +
          blk_req(GET_ID, 0, [(addr(R1, 0), 7, True), (addr(R1, 0x100), 512, True)]) + KICK)
    write("blk", "flush", blk_dev(writeback=True, flush=True) + blk_req(FLUSH, 0, []) + KICK)
    write("blk", "flush_not_offered", blk_dev(writeback=True) + blk_req(FLUSH, 0, []) + KICK)
    write("blk", "flush_with_data", blk_dev(writeback=True, flush=True) + blk_req(FLUSH, 0, d1) + KICK)
    write("blk", "read_only_write", blk_dev(ro=True, sectors=2) + blk_req(OUT, 0, [(addr(R1, 0), 512, True)]) +
          blk_req(IN, 0, d1) + KICK)
    write("blk", "past_capacity", blk_dev(sectors=2) + blk_req(IN, 1, [(addr(R1, 0), 1024, True)]) +
          blk_req(IN, 0xffffffffffffffff, d1) + KICK)
    write("blk", "not_sector_multiple", blk_dev(sectors=3) + blk_req(IN, 0, [(addr(R1, 0), 100, True)]) + KICK)
    write("blk", "unsupported_type", blk_dev() + blk_req(0x1234, 0, d1) + blk_req(GET_ID + 0xf0, 0, d1) + KICK)
    write("blk", "wrong_direction", blk_dev() + blk_req(IN, 0, [(addr(R1, 0), 512, False)]) +
          blk_req(OUT, 0, [(addr(R1, 0), 512, False)]) + KICK)
    write("blk", "bad_buffers", blk_dev() + blk_req(IN, 0, [(addr(SEAM, 10), 512, True)]) +
          blk_req(IN, 0, [(addr(GAP, 0), 512, True)]) + blk_req(IN, 0, [(addr(WRAP, 1), 512, True)]) + KICK)
    write("blk", "no_status", blk_dev() + blk_req(IN, 0, d1, status=None) +
          blk_req(IN, 0, d1, status=(addr(GAP, 0), 1, True)) + blk_req(IN, 0, d1, status=(addr(R2, 0), 1, False)) +
          blk_req(IN, 0, d1, status=(addr(R2, 0), 0, True)) + KICK)
    write("blk", "short_header", blk_dev() + blk_req(IN, 0, d1, hdr=(addr(R0BUF, 0), 8, False)) +
          blk_req(IN, 0, d1, hdr=(addr(R0BUF, 0x40), 16, True)) + blk_req(IN, 0, d1, hdr=(addr(SEAM, 8), 16, False)) + KICK)
    write("blk", "no_data", blk_dev() + blk_req(IN, 0, []) + blk_req(OUT, 0, [(addr(R1, 0), 0, True)]) + KICK)
    write("blk", "many_segments", blk_dev(sectors=6, qlog2=6) +
          blk_req(IN, 0, [(addr(R1, 512 * i), 512, True) for i in range(30)]) + KICK)
    write("blk", "chain_longer_than_queue", blk_dev(qlog2=2) + blk_req(IN, 0, [(addr(R1, 0), 512, True)] * 5) + KICK)
    write("blk", "avail_jump", blk_dev() + u8(7) + u8(100) + KICK + KICK)
    write("blk", "reset_and_again", blk_dev(async_=True) + blk_req(IN, 0, d1) + KICK + u8(0x86) +
          blk_req(IN, 1, d1) + KICK)
    write("blk", "event_idx_many", blk_dev(event_idx=True, sectors=5) +
          b"".join(blk_req(IN, i, [(addr(R1, 512 * i), 512, True)]) for i in range(10)) + KICK)
    write("blk", "config_reads", blk_dev(sectors=7, tail=True) + u8(5) + u8(0) + u8(3) + u8(5) + u8(12) + u8(2) +
          u8(5) + u8(20) + u8(3))
    write("blk", "empty_disk", blk_dev(sectors=0) + blk_req(IN, 0, d1) + blk_req(GET_ID, 0, d1) + KICK)
    write("blk", "overlapping_buffers", blk_dev() + blk_req(IN, 0, [(addr(R1, 0), 512, True)],
                                                            status=(addr(R1, 0x10), 1, True)) + KICK)
    # blk_parse directly (h0 bit 7): flags, capacity, head, n, descriptors, header bytes.
    def parse(h, cap, descs, hdr):
        out = u8(0x80) + u8(h) + (u64(cap) if h & 1 else u8(cap)) + u16(0) + u8(len(descs) - 1)
        for a, ln, fl in descs:
            out += a + length(ln) + u8(fl)
        return out + hdr

    hdr_in = u32(0) + u32(0) + u64(1)
    write("blk", "parse_in", parse(0, 8, [(addr(R0BUF), 16, 0), (addr(R1), 512, 2), (addr(R2), 1, 2)], hdr_in))
    write("blk", "parse_out_ro", parse(2, 8, [(addr(R0BUF), 16, 0), (addr(R1), 512, 0), (addr(R2), 1, 2)],
                                       u32(1) + u32(0) + u64(0)))
    write("blk", "parse_flush", parse(4, 8, [(addr(R0BUF), 16, 0), (addr(R2), 1, 2)], u32(4) + u32(0) + u64(0)))
    write("blk", "parse_one_desc", parse(0, 8, [(addr(R0BUF), 16, 2)], hdr_in))
    write("blk", "parse_huge_capacity", parse(1, 0xffffffffffffffff, [(addr(R0BUF), 16, 0), (addr(R1), 1024, 2),
                                                                      (addr(R2), 1, 2)],
                                              u32(0) + u32(0) + u64(0xfffffffffffffffe)))


# ---------------------------------------------------------------- net
def net():
    def dev(mac=True, mtu=False, mrg=False, event_idx=False, offload_fail=False, rxlog2=4, txlog2=4):
        return u8((1 if mac else 0) | (2 if mtu else 0)) + \
            u8((1 if event_idx else 0) | (2 if mrg else 0) | 4 | (8 if offload_fail else 0)) + \
            u8(rxlog2) + u8(txlog2)

    def tx(descs, own_mac=True):  # descs: (addr, len or None for the default, readable)
        out = u8(0) + u8((len(descs) - 1) | (0x80 if own_mac else 0))
        for i, (a, ln, readable) in enumerate(descs):
            f = (0 if readable else 0x80)
            if ln is None:
                out += u8(f | (40 if i else 0)) + a
            else:
                out += u8(f | 1) + a + length(ln)
        return out

    def rx(descs):  # (addr, size index 0-3 or raw len, writable)
        out = u8(3) + u8(len(descs) - 1)
        for a, size, w in descs:
            f = 0 if w else 0x80
            if isinstance(size, tuple):
                out += u8(f | 1) + a + length(size[0])
            else:
                out += u8(f | (size << 1)) + a
        return out

    frame = lambda sel: u8(5) + u8(sel)  # lens: 0, 5, 12, 26, 72, 1526, 3000, MAX
    TXK, RXK, EVL = u8(2), u8(6), u8(7)
    hdr_frame = [(addr(R0BUF, 0), None, True), (addr(R1, 0), None, True)]
    write("net", "tx_one", dev() + tx(hdr_frame) + TXK)
    write("net", "tx_spoofed", dev() + tx(hdr_frame, own_mac=False) + TXK)
    write("net", "tx_malformed", dev() + tx([(addr(R1, 0), 5, True)]) + tx([(addr(R1, 0), None, False)]) +
          tx([(addr(GAP, 0), None, True)]) + tx([(addr(R1), 70000, True)]) + TXK)
    write("net", "tx_tap_full", dev(txlog2=5) + (tx(hdr_frame) * 14) + TXK)
    write("net", "rx_one", dev() + frame(4) + rx([(addr(R1, 0), 2, True)]) + RXK)
    write("net", "rx_tap_event", dev() + rx([(addr(R1, 0), 2, True)]) + RXK + frame(5) + EVL + frame(3) + EVL)
    write("net", "rx_too_small", dev() + frame(5) + rx([(addr(R1, 0), 1, True)]) + RXK)
    write("net", "rx_mrg", dev(mrg=True) + frame(6) + rx([(addr(R1, 0), 2, True)]) +
          rx([(addr(R2, 0), 2, True)]) + rx([(addr(R1, 0x8000), 2, True)]) + RXK)
    write("net", "rx_mrg_wait", dev(mrg=True, rxlog2=2) + frame(7) + rx([(addr(R1, 0), 3, True)]) + RXK +
          rx([(addr(R2, 0), 3, True)]) + RXK)
    write("net", "rx_no_buffer_then_some", dev() + frame(4) + frame(4) + RXK + EVL +
          rx([(addr(R1, 0), 2, True)]) + RXK + rx([(addr(R2, 0), 2, True)]) + RXK)
    write("net", "rx_runts", dev() + frame(0) + frame(1) + frame(2) + rx([(addr(R1, 0), 2, True)]) + RXK)
    write("net", "rx_bad_buffers", dev() + frame(4) + rx([(addr(R1, 0), 2, False)]) + frame(4) +
          rx([(addr(GAP, 0), 2, True)]) + RXK)
    write("net", "rx_split_header", dev() + frame(4) + rx([(addr(R1, 0), (5,), True), (addr(R2, 0), 2, True)]) + RXK)
    write("net", "reset_with_pending", dev() + frame(4) + rx([(addr(R1, 0), 0, True)]) + RXK + u8(0x89) +
          dev()[1:] + frame(3) + rx([(addr(R1, 0), 2, True)]) + RXK)
    write("net", "offload_fails", dev(offload_fail=True) + tx(hdr_frame) + TXK)
    write("net", "config", dev(mtu=True) + u8(8) + u8(0) + u8(3) + u8(8) + u8(10) + u8(1) + u8(8) + u8(6) + u8(2))
    write("net", "event_idx_both", dev(event_idx=True) + tx(hdr_frame) + TXK + frame(4) +
          rx([(addr(R1, 0), 2, True)]) + RXK)


# ---------------------------------------------------------------- loader
def loader():
    def put(name, img, flags=0, initrd_units=0):
        write("loader", name, u8(flags) + u16(initrd_units) + img)

    for f, name in (("testguest.elf", "testguest_elf"), ("testguest.bzImage", "testguest_bzimage")):
        p = os.path.join(ROOT, "build", f)
        if os.path.exists(p):
            with open(p, "rb") as fh:
                img = fh.read()
            put(name, img, flags=0x20, initrd_units=64)
            put(name + "_linux", img, flags=0x04)
    M = 0x100000
    code = b"\x90" * 64 + b"\xf4"
    put("elf_linux64", images.elf([(M, code, 0x2000)], entry=M), flags=0x20, initrd_units=16)
    put("elf_pvh", images.elf([(M, code, None)], entry=M, notes=images.pvh_note(M + 4)), flags=0x08)
    put("elf_pvh_8byte_note", images.elf([(M, code, None)], entry=M, notes=struct.pack("<III", 4, 8, 18) +
                                         b"Xen\0" + u64(M + 8)))
    put("elf_two_segments", images.elf([(M, code, None), (M + 0x10000, b"data" * 16, 0x8000)], entry=M + 8))
    put("elf_entry_outside", images.elf([(M, code, None)], entry=0x90000))
    put("elf_below_1mib", images.elf([(0x80000, code, None)], entry=0x80000))
    put("elf_past_ram", images.elf([(M, code, 0x400000)], entry=M))
    put("elf_gap_layout", images.elf([(0xbff00000, code, None), (0x100000000, code, None)], entry=0x100000000),
        flags=0x02 | 0x04)
    put("elf_seam_layout", images.elf([(0x1ff000, code, 0x2000)], entry=0x1ff000), flags=0x03)
    put("elf_truncated", images.elf([(M, code * 10, None)], entry=M, truncate=150))
    put("elf_filesz_gt_memsz", images.elf([(M, code, 8)], entry=M))
    put("elf_no_load", images.elf([], entry=M, notes=images.pvh_note(M)))
    put("elf32", images.elf([(M, code, None)], entry=M, cls=1))
    put("elf_bad_notes", images.elf([(M, code, None)], entry=M,
                                    notes=struct.pack("<III", 0xffffffff, 4, 18) + b"Xen\0" + u32(M)))
    put("bzimage", images.bzimage(), flags=0x20, initrd_units=32)
    put("bzimage_init_size", images.bzimage(init_size=0x180000))
    put("bzimage_too_big", images.bzimage(init_size=0x10000000))
    put("bzimage_old_protocol", images.bzimage(version=0x0209))
    put("bzimage_no_64bit", images.bzimage(xloadflags=0))
    put("bzimage_truncated", images.bzimage(syssize=0x100000))
    put("bzimage_pvh_pref", images.bzimage(), flags=0x08)
    put("garbage", b"\x7fELG" + bytes(60))
    put("empty", b"")


# ---------------------------------------------------------------- main
TARGETS = {"cmdline": cmdline, "uart": uart, "i8042": i8042, "config": config, "api_json": api_json,
           "virtqueue": virtqueue, "mmio": mmio, "blk": blk, "net": net, "loader": loader}


def main():
    names = sys.argv[1:] or list(TARGETS)
    for name in names:
        d = os.path.join(ROOT, "fuzz", "corpus", name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        TARGETS[name]()
        print("  %-10s %3d seeds" % (name, len(os.listdir(d))))


if __name__ == "__main__":
    main()
