/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: entry points. Every path ends in boot64_common (BSP) or
 * ap_entry64 (APs), which load the static GDT/IDT/TSS and iretq to ring 3.
 * This is the only ring-0 code on the boot path: about 20 instructions on
 * the 64-bit Linux path, about 35 on the PVH path. */
#include "defs.h"

/* ============================================================ .head
 * Linked first, at IMAGE_BASE (0x100000 = bzImage code32_start). */
	.section .head, "ax"
	.code32

/* Linux 32-bit boot protocol (code32_start): flat protected mode, paging
 * off, ESI = boot_params. */
	.globl startup_32
startup_32:
	movl $BOOT_LINUX, %edi
	jmp enter_long_mode

/* PVH (XEN_ELFNOTE_PHYS32_ENTRY): flat protected mode, paging off,
 * EBX = hvm_start_info. */
	.globl pvh_start32
pvh_start32:
	movl %ebx, %esi
	movl $BOOT_PVH, %edi
	jmp enter_long_mode

/* SMP: the real-mode trampoline far-jumps here, our GDT already loaded. */
	.globl ap_start32
ap_start32:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $BOOT_AP, %edi
	/* fall through */

/* Protected mode -> long mode: PAE, our CR3, EFER.LME, paging (CR0 is
 * written whole: this also clears CD/NW, which INIT leaves set).
 * EDI = boot path and ESI = boot-info address survive. */
enter_long_mode:
	lgdt gdt_ptr
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl $(CR0_PG | CR0_NE | CR0_ET | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_KCODE, $long_mode_entry

	.code64
long_mode_entry:
	cmpl $BOOT_AP, %edi
	je ap_entry64
	jmp boot64_common

/* Linux 64-bit boot protocol: ELF e_entry and bzImage load address +
 * 0x200. Long mode, VMM page tables and GDT, RSI = boot_params. */
	.org ENTRY64_OFFSET
	.globl linux64_entry
linux64_entry:
	movl $BOOT_LINUX, %edi
	movl $pml4, %eax
	movq %rax, %cr3
	lgdt gdt_ptr(%rip)
	/* fall through */

/* BSP: EDI = boot path, ESI = boot-info address (below 4 GiB). */
boot64_common:
	movl %edi, boot_path(%rip)
	movl %esi, boot_info_addr(%rip)
	lidt idt_ptr(%rip)                /* entries are filled from ring 3 */
	movl $SEL_TSS0, %eax
	ltr %ax
	leaq kstacks + KSTACK_SIZE(%rip), %rsp
	pushq $SEL_UDATA                  /* iret frame: SS, RSP, RFLAGS, CS, RIP */
	pushq $(ustacks + USTACK_SIZE)
	pushq $RFLAGS_RESERVED1           /* IF = 0, IOPL = 0 */
	pushq $SEL_UCODE
	pushq $user_start
	iretq

/* AP in long mode: CPU slot from its LAPIC ID (apic_to_slot, filled by
 * the BSP), then its own TSS and stacks. */
ap_entry64:
	movl $(LAPIC_BASE + LAPIC_ID_REG), %eax
	movl (%rax), %eax
	shrl $24, %eax
	movzbl apic_to_slot(%rax), %ebx
	lidt idt_ptr(%rip)
	movl %ebx, %eax
	shll $4, %eax
	addl $SEL_TSS0, %eax
	ltr %ax
	movl %ebx, %eax
	shll $KSTACK_SHIFT, %eax
	leaq kstacks + KSTACK_SIZE(%rax), %rsp
	movl %ebx, %eax
	shll $USTACK_SHIFT, %eax
	leaq ustacks + USTACK_SIZE(%rax), %rax
	pushq $SEL_UDATA
	pushq %rax
	pushq $RFLAGS_RESERVED1
	pushq $SEL_UCODE
	pushq $ap_user_start
	movl %ebx, %edi                   /* ap_main(slot) */
	iretq

/* ============================================================ ring 3 */
	.text
	.globl user_start
user_start:                               /* BSP's first ring-3 instruction */
	cld
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb                         /* ring 3: native speed */
	call guest_main
	hlt                               /* not reached; #GP in ring 3 */

ap_user_start:
	cld
	call ap_main
	hlt

/* ============================================================ SMP
 * Real-mode trampoline, copied to AP_TRAMPOLINE by the BSP; the SIPI
 * starts the AP at CS:IP = (AP_TRAMPOLINE >> 4):0. */
	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdt_ptr - ap_trampoline
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_start32
	.balign 8
tramp_gdt_ptr:
	.word GDT_SIZE - 1
	.long gdt
ap_trampoline_end:
	.code64

/* ============================================================ PVH note */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                           /* namesz: "Xen\0" */
	.long 8                           /* descsz */
	.long 18                          /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_start32

	.section .note.GNU-stack, "", @progbits
