/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: descriptor tables, page tables and stacks, all emitted
 * as static data so the ring-0 boot path only has to load them. Everything
 * here is mapped with the user bit: ring-3 C code fills the IDT, the AP TSS
 * descriptors and the page tables above 4 GiB. */
#include "defs.h"

	.section .data.tables, "aw"

/* ---------------------------------------------------------------- paging */
/* Identity map. PML4[0] -> PDPT; PDPT[0..3] -> pd_low (0-4 GiB, 2 MiB
 * pages); PDPT[4..63] are filled at run time (paging.c). The first 2 MiB
 * go through 4 KiB pages so that page 0 can stay unmapped (NULL traps). */
	.balign 4096
	.globl pml4, pdpt, pd_low, pt_first
pml4:
	.quad pdpt + PTE_TABLE
	.fill 511, 8, 0
pdpt:
	.quad pd_low + 0x0000 + PTE_TABLE
	.quad pd_low + 0x1000 + PTE_TABLE
	.quad pd_low + 0x2000 + PTE_TABLE
	.quad pd_low + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
pd_low:
	.quad pt_first + PTE_TABLE
	.set addr, 0x200000
	.rept (MMIO_GAP_START >> 21) - 1       /* RAM: 2 MiB .. 3 GiB */
	.quad addr + PTE_RAM_2M
	.set addr, addr + 0x200000
	.endr
	.rept 2048 - (MMIO_GAP_START >> 21)  /* 3-4 GiB MMIO gap: uncached */
	.quad addr + PTE_MMIO_2M
	.set addr, addr + 0x200000
	.endr
pt_first:
	.quad 0                                /* page 0: not present */
	.set addr, 0x1000
	.rept 511
	.quad addr + PTE_RAM_4K
	.set addr, addr + 0x1000
	.endr

/* ---------------------------------------------------------------- GDT */
	.balign 16
	.globl gdt, gdt_ptr, idt_ptr, zero_idt_ptr
gdt:
	.quad 0
	.quad 0x00af9b000000ffff /* 0x08 ring-0 code: L=1, P, DPL0 */
	.quad 0x00cf93000000ffff /* 0x10 ring-0 data: flat 4 GiB */
	.quad 0x00cf9b000000ffff /* 0x18 ring-0 code: flat 32-bit (D=1) */
	.quad 0x00affb000000ffff /* 0x23 ring-3 code: L=1, DPL3 */
	.quad 0x00cff3000000ffff /* 0x2b ring-3 data: DPL3 */
	/* 0x30: BSP TSS, available 64-bit TSS (type 9); the linker script
	 * computes the split base field (tss0_desc_lo). */
	.quad tss0_desc_lo
	.quad 0
	.fill 2 * (MAX_CPUS - 1), 8, 0 /* AP TSS descriptors (cpu.c) */
gdt_end:
	.if gdt_end - gdt - GDT_SIZE
	.error "GDT size does not match GDT_SIZE"
	.endif

	.balign 8
	.word 0, 0, 0
gdt_ptr:                          /* lgdt operand: limit, base */
	.word GDT_SIZE - 1
	.quad gdt
	.word 0, 0, 0
idt_ptr:
	.word 256 * 16 - 1
	.quad idt
	.word 0, 0, 0
zero_idt_ptr:                     /* for the triple-fault service */
	.word 0
	.quad 0

/* ---------------------------------------------------------------- TSS */
/* One 104-byte TSS per CPU slot: RSP0 = top of the slot's ring-0 stack,
 * I/O-map base beyond the limit (no I/O bitmap). */
	.balign TSS_STRIDE
	.globl tss_array
tss_array:
	.set slot, 0
	.rept MAX_CPUS
	.long 0
	.quad kstacks + (slot + 1) * KSTACK_SIZE /* rsp0 */
	.fill 102 - 12, 1, 0
	.word 104                                 /* I/O map base */
	.fill TSS_STRIDE - 104, 1, 0
	.set slot, slot + 1
	.endr

/* ---------------------------------------------------------------- boot */
	.balign 8
	.globl boot_path, boot_info_addr
boot_path:      .long 0 /* BOOT_LINUX or BOOT_PVH, written in ring 0 */
boot_info_addr: .long 0 /* boot_params or hvm_start_info address */

/* ---------------------------------------------------------------- IDT */
	.section .bss.idt, "aw", @nobits
	.balign 4096
	.globl idt
idt:	.skip 256 * 16            /* filled from ring 3 (cpu.c) */

/* ---------------------------------------------------------------- stacks */
	.section .stacks, "aw", @nobits
	.balign 4096
	.globl kstacks, ustacks
kstacks: .skip MAX_CPUS * KSTACK_SIZE
ustacks: .skip MAX_CPUS * USTACK_SIZE

	.section .note.GNU-stack, "", @progbits
