/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: constants shared by the assembly (ring 0) and the C
 * (ring 3) halves. Plain #defines only, so the .S files can include it. */
#ifndef TESTGUEST_DEFS_H
#define TESTGUEST_DEFS_H

/* Link and load address: Linux HIMEM_START / bzImage code32_start. The
 * 64-bit Linux boot-protocol entry sits at IMAGE_BASE + ENTRY64_OFFSET
 * (boot protocol: "64-bit entry point at load address + 0x200"). */
#define IMAGE_BASE 0x100000
#define ENTRY64_OFFSET 0x200

/* How the guest was entered (boot_path). */
#define BOOT_LINUX 1 /* 64-bit (or 32-bit) Linux boot protocol, ELF or bzImage */
#define BOOT_PVH 2   /* XEN_ELFNOTE_PHYS32_ENTRY */
#define BOOT_AP 3    /* an application processor leaving the SMP trampoline */

/* GDT selectors. TSS descriptors are 16 bytes, one per CPU slot. */
#define SEL_KCODE 0x08   /* ring-0 64-bit code */
#define SEL_KDATA 0x10   /* ring-0 data (also flat 32-bit data) */
#define SEL_KCODE32 0x18 /* ring-0 flat 32-bit code (SMP trampoline) */
#define SEL_UCODE 0x23   /* ring-3 64-bit code (index 4, RPL 3) */
#define SEL_UDATA 0x2b   /* ring-3 data (index 5, RPL 3) */
#define SEL_TSS0 0x30    /* CPU slot n: SEL_TSS0 + 16 * n */
#define GDT_FIXED_ENTRIES 6
#define MAX_CPUS 32
#define GDT_SIZE (8 * GDT_FIXED_ENTRIES + 16 * MAX_CPUS)
#define TSS_STRIDE 128 /* 104-byte x86-64 TSS, padded */
#define TSS_LIMIT 0x67

/* Per-CPU stacks, indexed by CPU slot (slot 0 = BSP). The ring-0 stack
 * must stay KSTACK_SIZE-aligned: the exception path finds its top by
 * rounding RSP up. */
#define KSTACK_SHIFT 12
#define KSTACK_SIZE (1 << KSTACK_SHIFT)
#define USTACK_SHIFT 14
#define USTACK_SIZE (1 << USTACK_SHIFT)

/* Control registers / MSRs used on the way to long mode. */
#define CR0_PE 0x00000001
#define CR0_ET 0x00000010
#define CR0_NE 0x00000020
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100
#define RFLAGS_IF 0x200
#define RFLAGS_RESERVED1 0x2

/* Page-table entry bits. */
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_A 0x020
#define PTE_D 0x040
#define PTE_PS 0x080
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US | PTE_A)
#define PTE_RAM_2M (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_PS)
#define PTE_MMIO_2M (PTE_RAM_2M | PTE_PCD | PTE_PWT)
#define PTE_RAM_4K (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
/* Static page tables cover 0-4 GiB (PD 0..3); PDPT entries 4..63
 * (4-64 GiB) are filled at run time from ring 3 when RAM is there. */
#define MAP_STATIC_GIB 4
#define MAP_MAX_GIB 64
#define MMIO_GAP_START 0xc0000000 /* 32-bit MMIO gap: [3 GiB, 4 GiB) */

/* Local APIC (xAPIC MMIO). */
#define LAPIC_BASE 0xfee00000
#define LAPIC_ID_REG 0x020
#define LAPIC_EOI_REG 0x0b0

/* Real-mode SMP trampoline page; the SIPI vector is its page number. */
#define AP_TRAMPOLINE 0x10000

/* Interrupt vectors: IOAPIC pin n (0-23) -> IRQ_VECTOR_BASE + n, i.e.
 * 0x20-0x37; the LAPIC timer and spurious vectors sit above. All vectors
 * 0x20-0xff have counting handlers. */
#define IRQ_VECTOR_BASE 0x20
#define VEC_LAPIC_TIMER 0xf0
#define VEC_SPURIOUS 0xff
#define VEC_UD 6

/* Ring-0 services: ring 3 executes `ud2` with the number in RAX and the
 * arguments in RDI, RSI, RDX; the result comes back in RAX. RCX, RDX,
 * RSI and RDI may be clobbered; every other register is preserved. */
#define SVC_WRITE 0        /* (port, buf, len): rep outsb; returns len */
#define SVC_READ 1         /* (port, buf, len): rep insb; returns len */
#define SVC_OUTB 2         /* (port, value) */
#define SVC_INB 3          /* (port) -> value */
#define SVC_OUTW 4         /* (port, value) */
#define SVC_INW 5          /* (port) -> value */
#define SVC_OUTL 6         /* (port, value) */
#define SVC_INL 7          /* (port) -> value */
#define SVC_RESET 8        /* write 0xFE to i8042 port 0x64; returns */
#define SVC_TRIPLE_FAULT 9 /* zero-limit IDT, then ud2; never returns */
#define SVC_HLT 10         /* sti; hlt; cli: returns after an interrupt */
#define SVC_IRQ_ENABLE 11  /* (on): set/clear IF for the calling ring-3 code */
#define SVC_RDMSR 12       /* (msr) -> value */
#define SVC_WRMSR 13       /* (msr, value) */
#define SVC_FLUSH_TLB 14   /* reload CR3 */
#define SVC_CPUID 15       /* (leaf, subleaf, u32 out[4]): EAX EBX ECX EDX */
#define SVC_COUNT 16
#define SVC_ERROR (-1)     /* returned for a bad number or bad arguments */
#define SVC_MAX_LEN 4096   /* largest SVC_WRITE / SVC_READ buffer */
/* Buffers passed to services must lie below this (the mapped range). */
#define SVC_USER_LIMIT 0x1000000000 /* MAP_MAX_GIB GiB */

#endif
