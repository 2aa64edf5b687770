"""Disk images for block tests."""

import hashlib
import struct

SECTOR = 512


def pattern_image(path, sectors, tag=0):
    """Every sector n starts with n as a little-endian u64 (the blk-read
    pattern); the rest of the sector is filler that depends on tag."""
    with open(path, "wb") as f:
        for n in range(sectors):
            f.write(struct.pack("<Q", n) + bytes([(n + tag) & 0xFF]) * (SECTOR - 8))
    return path


def zero_image(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def check_blk_write_pattern(path):
    """blk-write fills sector n with u64 n ^ 0xA5A5A5A5A5A5A5A5, repeated."""
    data = open(path, "rb").read()
    assert len(data) % SECTOR == 0
    for n in range(len(data) // SECTOR):
        want = struct.pack("<Q", n ^ 0xA5A5A5A5A5A5A5A5) * (SECTOR // 8)
        if data[n * SECTOR:(n + 1) * SECTOR] != want:
            return f"sector {n} differs"
    return None


def drive(drive_id, path, root=False, ro=False, **extra):
    d = {"drive_id": drive_id, "path_on_host": str(path), "is_root_device": root,
         "is_read_only": ro}
    d.update(extra)
    return d
