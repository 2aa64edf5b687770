/* SPDX-License-Identifier: Apache-2.0 */
/* The x86-64 guest-physical layout, as Firecracker lays it out (v1.13+:
 * 1 GiB 32-bit MMIO gap at 3 GiB, boot timer at its start). Every address a
 * guest sees is defined here. */
#ifndef EMBER_ARCH_X86_64_LAYOUT_H
#define EMBER_ARCH_X86_64_LAYOUT_H

#include "common/util.h"
#include "mem/guest_mem.h"

/* Boot GDT (5 entries: NULL, NULL, CODE 0x10, DATA 0x18, TSS 0x20 -- the
 * selectors the 64-bit boot protocol names) and a null IDT after it. */
#define LAYOUT_BOOT_GDT 0x500ull
#define LAYOUT_BOOT_IDT 0x528ull
/* PVH: struct hvm_start_info, then its module list (the initrd). */
#define LAYOUT_PVH_INFO	   0x6000ull
#define LAYOUT_PVH_MODLIST 0x6040ull
/* Linux boot_params ("zero page"); PVH puts its memory map here instead. */
#define LAYOUT_ZERO_PAGE  0x7000ull
#define LAYOUT_PVH_MEMMAP 0x7000ull
/* Boot stack top; RSP and RBP start here. */
#define LAYOUT_BOOT_STACK 0x8ff0ull
/* Boot page tables: PML4, PDPT, PD identity-mapping 0-1 GiB with 2 MiB pages. */
#define LAYOUT_PML4 0x9000ull
#define LAYOUT_PDPT 0xa000ull
#define LAYOUT_PD   0xb000ull
/* Kernel command line, NUL-terminated, at most LAYOUT_CMDLINE_MAX bytes. */
#define LAYOUT_CMDLINE	   0x20000ull
#define LAYOUT_CMDLINE_MAX 2048u
/* End of low RAM; [0x9fc00, 0xe0000) is "system memory": MP table first,
 * E820-reserved. The legacy hole up to 1 MiB is not RAM. */
#define LAYOUT_EBDA_START     0x9fc00ull
#define LAYOUT_SYSTEM_MEM_END 0xe0000ull
#define LAYOUT_MPTABLE_START  LAYOUT_EBDA_START
/* Lowest address a kernel may be loaded at (Linux HIMEM_START). */
#define LAYOUT_HIMEM_START 0x100000ull
/* bzImage: protected-mode kernel loaded here; 64-bit entry at +0x200. */
#define LAYOUT_BZIMAGE_LOAD	   0x100000ull
#define LAYOUT_BZIMAGE_ENTRY64_OFF 0x200ull

/* 32-bit MMIO gap: [3 GiB, 4 GiB). */
#define LAYOUT_MMIO_GAP_START 0xc0000000ull
#define LAYOUT_MMIO_GAP_END   0x100000000ull
#define LAYOUT_MMIO_GAP_SIZE  (LAYOUT_MMIO_GAP_END - LAYOUT_MMIO_GAP_START)
/* Boot-timer page first, then one 4 KiB window per virtio-mmio device. */
#define LAYOUT_BOOT_TIMER	 0xc0000000ull
#define LAYOUT_BOOT_TIMER_LEN	 0x1000ull
#define LAYOUT_VIRTIO_MMIO_START 0xc0001000ull
#define LAYOUT_VIRTIO_MMIO_LEN	 0x1000ull
#define LAYOUT_VIRTIO_MMIO_END	 0xeec00000ull
#define LAYOUT_IOAPIC		 0xfec00000ull
#define LAYOUT_LAPIC		 0xfee00000ull
/* KVM's private pages: 3-page TSS and the identity map page just below. */
#define LAYOUT_KVM_TSS		0xfffbd000ull
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ull

/* Legacy IRQs: 4 COM1, 1 i8042; virtio devices from 5 up to 23. */
#define LAYOUT_IRQ_I8042	1u
#define LAYOUT_IRQ_COM1		4u
#define LAYOUT_IRQ_VIRTIO_FIRST 5u
#define LAYOUT_IRQ_VIRTIO_LAST	23u

/* Largest guest RAM ember lays out (the test guest and Linux both handle
 * it; the host's physical address width is checked separately). */
#define LAYOUT_MEM_MAX_MIB (1024ull * 1024) /* 1 TiB */

/* RAM regions for `mem_bytes` of guest memory: [0, min(mem, gap)) and, for
 * larger guests, [4 GiB, 4 GiB + mem - gap). */
void layout_ram(uint64_t mem_bytes, struct gm_layout *out);

#endif
