"""Synthetic kernel images for loader tests: small ELF64 and bzImage files
built byte by byte, so each test can break exactly one thing."""

import struct

PT_LOAD, PT_NOTE = 1, 4


def elf(segments, entry=0x100000, notes=b"", e_type=2, machine=62, cls=2,
        phnum_override=None, truncate=None):
    """segments: list of (paddr, data, memsz). Returns bytes."""
    ehsize, phentsize = 64, 56
    nph = len(segments) + (1 if notes else 0)
    data_off = ehsize + phentsize * nph
    phdrs, blobs = b"", b""
    off = data_off
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 7, off, paddr, paddr, len(data),
                             memsz if memsz is not None else len(data), 0x1000)
        blobs += data
        off += len(data)
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 4, off, 0, 0, len(notes), len(notes), 4)
        blobs += notes
    ident = b"\x7fELF" + bytes([cls, 1, 1, 0]) + b"\0" * 8
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, entry, ehsize, 0, 0,
                              ehsize, phentsize,
                              nph if phnum_override is None else phnum_override, 64, 0, 0)
    img = hdr + phdrs + blobs
    return img[:truncate] if truncate is not None else img


def pvh_note(entry):
    return struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", entry)


def bzimage(payload=b"\x90" * 4096, version=0x020F, xloadflags=1, setup_sects=1,
            init_size=None, syssize=None, truncate=None):
    setup = bytearray(512 * (setup_sects + 1))
    struct.pack_into("<B", setup, 0x1F1, setup_sects)
    struct.pack_into("<I", setup, 0x1F4, (len(payload) + 15) // 16 if syssize is None else syssize)
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    setup[0x200] = 0xEB
    setup[0x201] = 0x6A  # header runs to 0x26c
    struct.pack_into("<I", setup, 0x202, 0x53726448)
    struct.pack_into("<H", setup, 0x206, version)
    struct.pack_into("<B", setup, 0x211, 1)  # LOADED_HIGH
    struct.pack_into("<I", setup, 0x214, 0x100000)
    struct.pack_into("<I", setup, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", setup, 0x238, 2047)  # cmdline_size
    struct.pack_into("<H", setup, 0x236, xloadflags)
    struct.pack_into("<I", setup, 0x260, init_size if init_size is not None else len(payload))
    img = bytes(setup) + payload
    return img[:truncate] if truncate is not None else img
