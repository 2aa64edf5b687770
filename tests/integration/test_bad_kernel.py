"""Bad kernels, command lines and initrds: one clear error line, exit 152,
before any vCPU runs."""

import pytest

import images
from emberlib import EXIT_BAD_CONFIG, config, run_config

CODE = b"\xf4" * 64  # hlt


def boot(tmp_path, kernel_bytes, mem_mib=64, boot_args="x", initrd=None, args=()):
    k = tmp_path / "kernel"
    k.write_bytes(kernel_bytes)
    return run_config(tmp_path, config(kernel=k, boot_args=boot_args, mem_mib=mem_mib,
                                       initrd=initrd), args=args)


BAD_KERNELS = [
    ("empty file", b"", "empty or truncated"),
    ("not a kernel", b"#!/bin/sh\necho hi\n" * 100, "neither an ELF vmlinux nor a bzImage"),
    ("truncated ELF header", images.elf([(0x100000, CODE, None)])[:40], "truncated"),
    ("truncated program headers", images.elf([(0x100000, CODE, None)], truncate=80),
     "program headers run past the end"),
    ("segment past end of file", images.elf([(0x100000, CODE, None)], truncate=64 + 56 + 10),
     "past the end of the file"),
    ("32-bit ELF", images.elf([(0x100000, CODE, None)], cls=1), "64-bit"),
    ("not x86-64", images.elf([(0x100000, CODE, None)], machine=183), "x86-64"),
    ("relocatable ELF", images.elf([(0x100000, CODE, None)], e_type=1), "not an executable"),
    ("no program headers", images.elf([], ), "program header table is malformed"),
    ("too many program headers", images.elf([(0x100000, CODE, None)], phnum_override=1000),
     "malformed"),
    ("segment below 1 MiB", images.elf([(0x8000, CODE, None)], entry=0x8000), "below 1 MiB"),
    ("segment outside RAM", images.elf([(0x100000 * 200, CODE, None)], entry=0x100000 * 200),
     "outside guest RAM"),
    ("segment in the MMIO gap", images.elf([(0xD0000000, CODE, None)], entry=0xD0000000),
     "MMIO gap"),
    ("memsz wraps", images.elf([(0x100000, CODE, 0xFFFFFFFFFFFFFFF0)]), "wraps"),
    ("filesz larger than memsz", images.elf([(0x100000, CODE, 8)]), "larger than p_memsz"),
    ("entry outside image", images.elf([(0x100000, CODE, None)], entry=0x500000),
     "entry point 0x500000 is not inside the loaded image"),
    ("bzImage truncated", images.bzimage(truncate=600), "truncated"),
    ("bzImage payload shorter than header says", images.bzimage(syssize=100000), "truncated"),
    ("bzImage protocol too old", images.bzimage(version=0x0208), "too old"),
    ("bzImage without 64-bit entry", images.bzimage(xloadflags=0), "XLF_KERNEL_64"),
    ("bzImage too big for RAM", images.bzimage(init_size=200 << 20), "too small"),
]


@pytest.mark.parametrize("name,img,needle", BAD_KERNELS, ids=[b[0] for b in BAD_KERNELS])
def test_bad_kernel(tmp_path, name, img, needle):
    r = boot(tmp_path, img)
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert "boot-source.kernel_image_path" in r.err and needle in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "VM started" not in r.out


def test_kernel_is_a_directory(tmp_path):
    r = run_config(tmp_path, config(kernel=tmp_path))
    assert r.rc == EXIT_BAD_CONFIG
    assert "not a regular file" in r.err


def test_pvh_requested_without_note(tmp_path):
    r = boot(tmp_path, images.elf([(0x100000, CODE, None)]), args=["--boot-protocol", "pvh"])
    assert r.rc == EXIT_BAD_CONFIG
    assert "no PVH entry note" in r.err


def test_command_line_over_limit(tmp_path):
    r = boot(tmp_path, images.elf([(0x100000, CODE, None)]), boot_args="a" * 2048)
    assert r.rc == EXIT_BAD_CONFIG
    assert "boot-source.boot_args" in r.err and "2048" in r.err


def test_initrd_missing(tmp_path):
    r = boot(tmp_path, images.elf([(0x100000, CODE, None)]), initrd=tmp_path / "none")
    assert r.rc == EXIT_BAD_CONFIG
    assert "boot-source.initrd_path: cannot open" in r.err


def test_initrd_too_big(tmp_path):
    big = tmp_path / "initrd"
    with open(big, "wb") as f:
        f.truncate(80 << 20)  # sparse: 80 MiB into a 64 MiB guest
    r = boot(tmp_path, images.elf([(0x100000, CODE, None)]), initrd=big)
    assert r.rc == EXIT_BAD_CONFIG
    assert "boot-source.initrd_path" in r.err and "does not fit" in r.err


def test_initrd_empty(tmp_path):
    empty = tmp_path / "initrd"
    empty.write_bytes(b"")
    r = boot(tmp_path, images.elf([(0x100000, CODE, None)]), initrd=empty)
    assert r.rc == EXIT_BAD_CONFIG
    assert "empty" in r.err
