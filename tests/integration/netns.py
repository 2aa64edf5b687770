"""Network namespaces and taps for net tests. Each test gets its own
namespace, so nothing leaks into the host's network; ember runs inside it
(`ip netns exec`), and the test talks to the tap through an AF_PACKET socket
created inside the namespace."""

import ctypes
import os
import socket
import subprocess
import threading
import uuid

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _ip(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def available():
    """(True, "") when namespaces and taps can be made here, else (False, why)."""
    if os.geteuid() != 0:
        return False, "network tests need root (ip netns, tuntap)"
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing"
    name = f"ember-probe-{uuid.uuid4().hex[:6]}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode:
        return False, f"cannot create a network namespace: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True, ""


class NetNS:
    def __init__(self):
        self.name = f"ember-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        _ip("link", "set", "lo", "up", ns=self.name)

    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def add_tap(self, tap):
        """A persistent tap, up, with IPv6 off so the host sends no chatter."""
        _ip("tuntap", "add", "dev", tap, "mode", "tap", ns=self.name)
        subprocess.run(self.prefix() + ["sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1"],
                       capture_output=True)
        _ip("link", "set", tap, "up", ns=self.name)

    def del_link(self, dev):
        _ip("link", "del", dev, ns=self.name, check=False)

    def packet_socket(self, dev):
        """An AF_PACKET socket bound to dev, created inside the namespace."""
        box = {}

        def make():
            fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.bind((dev, 0))
                box["s"] = s
            except Exception as e:  # reported in the calling thread
                box["e"] = e
            finally:
                os.close(fd)

        t = threading.Thread(target=make)  # setns changes only this thread
        t.start()
        t.join()
        if "e" in box:
            raise box["e"]
        return box["s"]

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
