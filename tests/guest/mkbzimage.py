#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Wrap the test guest's ELF into a bzImage.

Usage: mkbzimage.py testguest.elf testguest.bzImage

The bzImage is a boot sector plus SETUP_SECTS setup sectors carrying a
Linux setup header (Documentation/arch/x86/boot.rst), followed by the flat
protected-mode image: the ELF's PT_LOAD contents laid out from their
physical addresses, starting at LOAD_ADDR. A 64-bit loader puts that image
at 1 MiB and enters at 1 MiB + 0x200 (the ELF entry point, checked here).
"""
import struct
import sys

LOAD_ADDR = 0x100000   # code32_start / pref_address
ENTRY64_OFFSET = 0x200
SETUP_SECTS = 1        # setup code after the boot sector (0 would mean 4)
SECTOR = 512
PROTOCOL = 0x020C      # 2.12: xloadflags, the minimum with XLF_KERNEL_64
LOADED_HIGH = 0x01     # loadflags: protected-mode code at 0x100000
XLF_KERNEL_64 = 0x01   # xloadflags: has the 64-bit entry at +0x200
CMDLINE_SIZE = 2047    # longest command line, without the NUL
HEADER_END = 0x268     # 2.12 header ends after handover_offset
VERSION_STRING = b"ember testguest\0"


def read_elf(path):
    """Returns (entry, [(paddr, filesz, memsz, data)]) for the PT_LOADs."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        sys.exit(f"{path}: not a little-endian ELF64 file")
    entry, phoff = struct.unpack_from("<QQ", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    loads = []
    for i in range(phnum):
        (p_type, _flags, off, _vaddr, paddr, filesz, memsz,
         _align) = struct.unpack_from("<IIQQQQQQ", elf, phoff + i * phentsize)
        if p_type == 1 and memsz:  # PT_LOAD
            loads.append((paddr, filesz, memsz, elf[off:off + filesz]))
    return entry, sorted(loads)


def flat_image(loads):
    """PT_LOAD contents placed at paddr - LOAD_ADDR; gaps zero-filled."""
    if not loads or loads[0][0] != LOAD_ADDR:
        sys.exit(f"lowest PT_LOAD must be at {LOAD_ADDR:#x}")
    end = max(paddr + filesz for paddr, filesz, _, _ in loads)
    # Whole 16-byte paragraphs: syssize counts them, and a loader may
    # (ember does) insist that the file holds all syssize * 16 bytes.
    image = bytearray((end - LOAD_ADDR + 15) & ~15)
    for paddr, filesz, _, data in loads:
        image[paddr - LOAD_ADDR:paddr - LOAD_ADDR + filesz] = data
    mem_end = max(paddr + memsz for paddr, _, memsz, _ in loads)
    init_size = (mem_end - LOAD_ADDR + 0xfff) & ~0xfff
    return bytes(image), init_size


def setup_sectors(image_len, init_size):
    """Boot sector + setup sectors with the setup header at 0x1f1."""
    setup = bytearray(SECTOR * (1 + SETUP_SECTS))
    version_ptr = HEADER_END + 4  # after the real-mode stub below
    setup[version_ptr:version_ptr + len(VERSION_STRING)] = VERSION_STRING

    def put(offset, fmt, value):
        struct.pack_into("<" + fmt, setup, offset, value)

    put(0x1f1, "B", SETUP_SECTS)                  # setup_sects
    put(0x1f4, "I", (image_len + 15) // 16)       # syssize, 16-byte units
    put(0x1fe, "H", 0xAA55)                       # boot_flag
    put(0x200, "B", 0xEB)                         # jump: short jmp to
    put(0x201, "B", HEADER_END - 0x202)           #   the end of the header
    put(0x202, "4s", b"HdrS")                     # header
    put(0x206, "H", PROTOCOL)                     # version
    put(0x20e, "H", version_ptr - 0x200)          # kernel_version
    put(0x211, "B", LOADED_HIGH)                  # loadflags
    put(0x214, "I", LOAD_ADDR)                    # code32_start
    put(0x22c, "I", 0x7FFFFFFF)                   # initrd_addr_max
    put(0x230, "I", LOAD_ADDR)                    # kernel_alignment
    put(0x234, "B", 0)                            # relocatable_kernel: no
    put(0x236, "H", XLF_KERNEL_64)                # xloadflags
    put(0x238, "I", CMDLINE_SIZE)                 # cmdline_size
    put(0x258, "Q", LOAD_ADDR)                    # pref_address
    put(0x260, "I", init_size)                    # init_size
    # Real-mode entry (setup + 0x200 jumps here): not supported; cli; hlt.
    setup[HEADER_END:HEADER_END + 4] = b"\xfa\xf4\xeb\xfd"
    return bytes(setup)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    entry, loads = read_elf(sys.argv[1])
    if entry != LOAD_ADDR + ENTRY64_OFFSET:
        sys.exit(f"ELF entry {entry:#x} is not load address + {ENTRY64_OFFSET:#x}")
    image, init_size = flat_image(loads)
    with open(sys.argv[2], "wb") as f:
        f.write(setup_sectors(len(image), init_size))
        f.write(image)


if __name__ == "__main__":
    main()
