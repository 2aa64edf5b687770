"""virtio-net on a tap, in a network namespace of the test's own."""

import json
import re
import select
import struct
import subprocess
import time

import pytest

import netns
from emberlib import EXIT_OK, Live, config

pytestmark = pytest.mark.kvm

GUEST_MAC = "06:00:ac:10:00:02"
HOST_MAC = bytes.fromhex("0a0000000001")
ETHERTYPE = 0x88B5


@pytest.fixture
def ns():
    ok, why = netns.available()
    if not ok:
        pytest.skip(why)
    n = netns.NetNS()
    n.add_tap("tap0")
    yield n
    n.close()


def mac_bytes(s):
    return bytes.fromhex(s.replace(":", ""))


def net_cfg(boot_args, limiter=None, **iface):
    cfg = config(boot_args=boot_args)
    i = {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": GUEST_MAC}
    i.update(iface)
    if limiter:
        i.update(limiter)
    cfg["network-interfaces"] = [i]
    return cfg


def recv_frames(sock, want, timeout=10, ethertype=ETHERTYPE):
    frames = []
    deadline = time.monotonic() + timeout
    while len(frames) < want and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.1)
        if r:
            f = sock.recv(65536)
            if len(f) >= 14 and struct.unpack("!H", f[12:14])[0] == ethertype:
                frames.append(f)
    return frames


def test_guest_frames_reach_the_tap_with_its_mac(tmp_path, ns):
    sock = ns.packet_socket("tap0")
    live = Live(tmp_path, net_cfg("test=net-send count=10"), prefix=ns.prefix())
    try:
        frames = recv_frames(sock, 10)
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    assert f"TEST net-send MAC {GUEST_MAC}" in live.out
    assert live.tests()["net-send"][0] == "PASS", live.out
    assert len(frames) == 10
    for i, f in enumerate(frames):
        assert f[0:6] == b"\xff" * 6 and f[6:12] == mac_bytes(GUEST_MAC)
        assert f[14:14 + 64] == f"ember-net-send {i}".encode().ljust(64, b"\0")


def echo_round(tmp_path, ns, boot_args, count=100, burst=False):
    sock = ns.packet_socket("tap0")
    live = Live(tmp_path, net_cfg(f"{boot_args} count={count} ethertype={ETHERTYPE}"),
                prefix=ns.prefix())
    try:
        live.wait_for("TEST net-echo READY")
        sent = []
        for i in range(count):
            payload = struct.pack("!I", i) + bytes(range(60))
            frame = mac_bytes(GUEST_MAC) + HOST_MAC + struct.pack("!H", ETHERTYPE) + payload
            sock.send(frame)
            sent.append(frame)
            if not burst:
                got = recv_frames(sock, 1, timeout=5)
                assert got, f"frame {i} not echoed"
                assert got[0][:6] == HOST_MAC and got[0][6:12] == mac_bytes(GUEST_MAC)
                assert got[0][12:] == frame[12:]
        if burst:
            got = recv_frames(sock, count, timeout=20)
            assert len(got) == count, f"{len(got)} of {count} frames echoed"
            seqs = sorted(struct.unpack("!I", g[14:18])[0] for g in got)
            assert seqs == list(range(count))
        live.wait_for("TESTGUEST DONE")
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    v = live.tests()["net-echo"]
    assert v[0] == "PASS" and v[1].startswith(f"echoed={count}"), live.out
    return live


@pytest.mark.parametrize("irq", [0, 1])
def test_echo_100_frames(tmp_path, ns, irq):
    echo_round(tmp_path, ns, f"test=net-echo irq={irq}")


@pytest.mark.parametrize("mrg", [0, 1])
def test_full_rx_ring_loses_nothing(tmp_path, ns, mrg):
    # Eight RX buffers and 200 frames sent at once: ember must stop reading
    # the tap while the ring is full (the host queues the frames) and go on
    # when the guest gives buffers back, so every frame is echoed.
    live = echo_round(tmp_path, ns, f"test=net-echo qsize=8 mrg_rxbuf={mrg}", count=200,
                      burst=True)
    assert re.search(r"net eth0: rx_packets=200 .* rx_fails=0", live.log()), live.log()


def test_rx_buffers_too_small_drop_the_frame(tmp_path, ns):
    # Without MRG_RXBUF, RX buffers of 128 bytes: each 1000-byte frame is
    # dropped (its buffer comes back with used length 0, counted in
    # rx_fails, logged at most 10 times per 5 s); the small frames sent
    # between them still arrive and are echoed.
    sock = ns.packet_socket("tap0")
    cfg = net_cfg(f"test=net-echo mrg_rxbuf=0 rx_buf=128 count=10 ethertype={ETHERTYPE}")
    live = Live(tmp_path, cfg, prefix=ns.prefix())
    head = mac_bytes(GUEST_MAC) + HOST_MAC + struct.pack("!H", ETHERTYPE)
    try:
        live.wait_for("TEST net-echo READY")
        for i in range(10):
            for _ in range(3):
                sock.send(head + bytes(1000 - 14))
            small = head + struct.pack("!I", i) + bytes(range(60))
            sock.send(small)
            got = recv_frames(sock, 1, timeout=5)
            assert got and got[0][12:] == small[12:], f"frame {i} not echoed"
        live.wait_for("TESTGUEST DONE")
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    v = live.tests()["net-echo"]
    assert v[0] == "PASS" and v[1] == "echoed=10 ignored=0 dropped=30", live.out
    log = live.log()
    assert re.search(r"net eth0: rx_packets=10 .* rx_fails=30 ", log), log
    assert log.count("RX buffer too small; frame of 1000 bytes dropped") == 10, log


def test_tx_rate_limiter(tmp_path, ns):
    # 100 frames per 100 ms = 1000 frames/s; 600 frames, 100 of them free.
    cfg = net_cfg("test=net-stream count=600 size=200",
                  limiter={"tx_rate_limiter": {"ops": {"size": 100, "refill_time": 100}}})
    live = Live(tmp_path, cfg, prefix=ns.prefix())
    try:
        t0 = live.wait_for("TEST net-stream START")
        t1 = live.wait_for("TEST net-stream PASS", timeout=30)
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    rate = 500 / (t1 - t0)
    assert 500 <= rate <= 2000, f"{rate:.0f} frames/s"
    assert re.search(r"tx_throttled=[1-9]", live.log())


def test_rx_rate_limiter(tmp_path, ns):
    # RX limited to 1000 frames/s: 400 frames sent as fast as possible.
    sock = ns.packet_socket("tap0")
    cfg = net_cfg(f"test=net-stream rx=1 count=400 ethertype={ETHERTYPE}",
                  limiter={"rx_rate_limiter": {"ops": {"size": 100, "refill_time": 100}}})
    live = Live(tmp_path, cfg, prefix=ns.prefix())
    try:
        t0 = live.wait_for("TEST net-stream START")
        frame = mac_bytes(GUEST_MAC) + HOST_MAC + struct.pack("!H", ETHERTYPE) + bytes(100)
        for _ in range(400):
            sock.send(frame)
        t1 = live.wait_for("TEST net-stream PASS", timeout=30)
        assert live.finish() == EXIT_OK
    finally:
        live.kill()
    secs = t1 - t0
    assert 0.15 <= secs <= 1.5, f"{secs:.2f} s for 300 limited frames"


def test_tap_deleted_while_running(tmp_path, ns):
    live = Live(tmp_path, net_cfg("test=net-stream count=200000 size=1000"), prefix=ns.prefix())
    try:
        live.wait_for("TEST net-stream START")
        ns.del_link("tap0")
        live.wait_for("TESTGUEST DONE", timeout=60)
        rc = live.finish()
    finally:
        live.kill()
    assert rc == EXIT_OK  # the guest went on; ember kept running
    log = live.log()
    assert "writing to tap tap0 failed" in log
    assert re.search(r"net eth0: .* tap_write_fails=[1-9]", log), log


@pytest.mark.parametrize("iface,needle", [
    ({"host_dev_name": "no-such-tap0"},
     "network-interfaces[0] 'eth0': host_dev_name: no network device named 'no-such-tap0'"),
    ({"host_dev_name": "lo"}, "network-interfaces[0] 'eth0': host_dev_name: cannot attach to tap 'lo'"),
    ({"guest_mac": "06:00:00:00:00"}, "network-interfaces[0].guest_mac"),
    ({"guest_mac": "zz:00:00:00:00:00"}, "network-interfaces[0].guest_mac"),
    ({"host_dev_name": "a" * 16}, "network-interfaces[0].host_dev_name"),
    ({"iface_id": "eth 0"}, "network-interfaces[0].iface_id"),
    ({"mtu": 10}, "network-interfaces[0].mtu"),
])
def test_bad_interface_config(tmp_path, iface, needle):
    from emberlib import EXIT_BAD_CONFIG, run_config
    cfg = net_cfg("test=hello", **iface)
    r = run_config(tmp_path, cfg)
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert needle in r.err, r.err


def test_duplicate_interfaces(tmp_path):
    from emberlib import EXIT_BAD_CONFIG, run_config
    cfg = config(boot_args="test=hello")
    cfg["network-interfaces"] = [
        {"iface_id": "a", "host_dev_name": "tap0", "guest_mac": GUEST_MAC},
        {"iface_id": "b", "host_dev_name": "tap1", "guest_mac": GUEST_MAC}]
    r = run_config(tmp_path, cfg)
    assert r.rc == EXIT_BAD_CONFIG
    assert "network-interfaces[1].guest_mac: the MAC address is already in use by 'a'" in r.err
    cfg["network-interfaces"][1].update(iface_id="a", guest_mac="06:00:00:00:00:09")
    assert "network-interfaces[1].iface_id: 'a' is used twice" in run_config(tmp_path, cfg).err
