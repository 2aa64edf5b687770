/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the ring-0 half after boot. Interrupt/exception entry
 * stubs, the ud2 service dispatcher and the services themselves. Every
 * instruction here is emulated under PVM (~1-2 us each): keep paths short.
 * The IDT itself is filled from ring 3 (cpu.c) with the addresses of
 * exc_stubs, ud_entry and irq_stubs. */
#include "defs.h"

	.text

/* ---------------------------------------------------------------- stubs */
/* Exceptions 0-31 (6 has its own entry, ud_entry): push a zero error code
 * where the CPU pushes none, then the vector. 16 bytes per stub. */
	.balign 16
	.globl exc_stubs
exc_stubs:
	.set vec, 0
	.rept 32
1:
	/* the CPU pushes an error code for 8, 10-14, 17, 21, 29, 30 */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp exc_common
	.org 1b + 16
	.set vec, vec + 1
	.endr

/* Interrupts 32-255: push the vector. 16 bytes per stub. */
	.globl irq_stubs
irq_stubs:
	.set vec, 32
	.rept 224
1:	pushq $vec
	jmp irq_common
	.org 1b + 16
	.set vec, vec + 1
	.endr

/* ---------------------------------------------------------------- IRQs */
/* Count the interrupt per vector (irq_counts[], read by ring 3), send the
 * LAPIC EOI (not for the spurious vector), return. */
irq_common:
	pushq %rax
	movq 8(%rsp), %rax
	lock incq irq_counts(, %rax, 8)
	cmpl $VEC_SPURIOUS, %eax
	je 1f
	movl $(LAPIC_BASE + LAPIC_EOI_REG), %eax
	movl $0, (%rax)
1:	popq %rax
	addq $8, %rsp
	iretq

/* ---------------------------------------------------------------- faults */
/* Stack: vector, error code, then the CPU's frame. Any exception (ring 3,
 * or ring 0 inside a service) abandons the faulting context: rewrite the
 * ring-3 iret frame at the top of this CPU's kernel stack so that it
 * "calls" fault_entry(vec, err, rip, cs, cr2) on top of the CPU's ring-3
 * stack, and iretq there. */
exc_common:
	movq 0(%rsp), %rdi
	movq 8(%rsp), %rsi
	movq 16(%rsp), %rdx
	movq 24(%rsp), %rcx
	movq %cr2, %r8
	orq $(KSTACK_SIZE - 1), %rsp
	subq $(40 - 1), %rsp              /* top - 40: RIP CS RFLAGS RSP SS */
	movq %rsp, %rax                   /* slot = (rsp - kstacks) / KSTACK_SIZE */
	subq $kstacks, %rax
	shrq $KSTACK_SHIFT, %rax
	shlq $USTACK_SHIFT, %rax
	leaq ustacks + USTACK_SIZE - 8(%rax), %rax
	movq $fault_entry, 0(%rsp)
	movq $SEL_UCODE, 8(%rsp)
	movq $RFLAGS_RESERVED1, 16(%rsp)
	movq %rax, 24(%rsp)
	movq $SEL_UDATA, 32(%rsp)
	iretq

/* ---------------------------------------------------------------- ud2 */
/* #UD: a service call if it came from ring 3 and the faulting bytes are
 * 0F 0B; anything else is a real exception. Frame: RIP CS RFLAGS RSP SS.
 * Services may clobber RCX, RDX, RSI, RDI; the result goes in RAX. */
	.globl ud_entry
ud_entry:
	testb $3, 8(%rsp)
	jz 2f
	movq (%rsp), %rcx
	cmpw $0x0b0f, (%rcx)
	jne 2f
	addq $2, (%rsp)
	cmpq $SVC_COUNT, %rax
	jae svc_error
	jmp *svc_table(, %rax, 8)
2:	pushq $0
	pushq $VEC_UD
	jmp exc_common

svc_error:
	movq $SVC_ERROR, %rax
	iretq

/* Buffer check for write/read: len <= SVC_MAX_LEN and buf + len <=
 * SVC_USER_LIMIT (no wrap). A bad buffer inside the limit faults and is
 * reported by exc_common. */
.macro CHECK_BUFFER
	cmpq $SVC_MAX_LEN, %rdx
	ja svc_error
	movabsq $SVC_USER_LIMIT, %rcx
	subq %rdx, %rcx
	cmpq %rcx, %rsi
	ja svc_error
.endm

svc_write:                                /* (port, buf, len) */
	CHECK_BUFFER
	movq %rdx, %rcx
	movq %rdx, %rax
	movl %edi, %edx
	cld
	rep outsb                         /* one instruction: one exit per line */
	iretq

svc_read:                                 /* (port, buf, len) */
	CHECK_BUFFER
	movq %rdx, %rcx
	movq %rdx, %rax
	movl %edi, %edx
	movq %rsi, %rdi
	cld
	rep insb
	iretq

svc_outb:
	movl %esi, %eax
	movl %edi, %edx
	outb %al, %dx
	iretq
svc_inb:
	movl %edi, %edx
	xorl %eax, %eax
	inb %dx, %al
	iretq
svc_outw:
	movl %esi, %eax
	movl %edi, %edx
	outw %ax, %dx
	iretq
svc_inw:
	movl %edi, %edx
	xorl %eax, %eax
	inw %dx, %ax
	iretq
svc_outl:
	movl %esi, %eax
	movl %edi, %edx
	outl %eax, %dx
	iretq
svc_inl:
	movl %edi, %edx
	inl %dx, %eax
	iretq

svc_reset:                                /* i8042 "pulse reset line" */
	movb $0xfe, %al
	outb %al, $0x64
	xorl %eax, %eax
	iretq

svc_triple_fault:                         /* #UD -> #GP -> #DF -> shutdown */
	lidt zero_idt_ptr(%rip)
	ud2

svc_hlt:                                  /* the sti shadow covers hlt */
	sti
	hlt
	cli
	xorl %eax, %eax
	iretq

svc_irq_enable:                           /* (on): IF in the caller's RFLAGS */
	andq $~RFLAGS_IF, 16(%rsp)
	testq %rdi, %rdi
	jz 1f
	orq $RFLAGS_IF, 16(%rsp)
1:	xorl %eax, %eax
	iretq

svc_rdmsr:                                /* (msr) -> value */
	movl %edi, %ecx
	rdmsr
	shlq $32, %rdx
	orq %rdx, %rax
	iretq

svc_wrmsr:                                /* (msr, value) */
	movl %edi, %ecx
	movl %esi, %eax
	movq %rsi, %rdx
	shrq $32, %rdx
	wrmsr
	xorl %eax, %eax
	iretq

svc_flush_tlb:
	movq %cr3, %rax
	movq %rax, %cr3
	xorl %eax, %eax
	iretq

/* CPUID in ring 0: under PVM a ring-3 CPUID runs natively and returns
 * the host's values (e.g. the host CPU's APIC ID), not the vCPU's. */
svc_cpuid:                                /* (leaf, subleaf, out[4]) */
	movabsq $(SVC_USER_LIMIT - 16), %rcx
	cmpq %rcx, %rdx
	ja svc_error
	movl %edi, %eax
	movl %esi, %ecx
	movq %rdx, %rdi
	pushq %rbx
	cpuid
	movl %eax, 0(%rdi)
	movl %ebx, 4(%rdi)
	movl %ecx, 8(%rdi)
	movl %edx, 12(%rdi)
	popq %rbx
	xorl %eax, %eax
	iretq

	.section .rodata
	.balign 8
svc_table:                                /* indexed by SVC_* (defs.h) */
	.quad svc_write, svc_read
	.quad svc_outb, svc_inb, svc_outw, svc_inw, svc_outl, svc_inl
	.quad svc_reset, svc_triple_fault, svc_hlt, svc_irq_enable
	.quad svc_rdmsr, svc_wrmsr, svc_flush_tlb, svc_cpuid
svc_table_end:
	.if (svc_table_end - svc_table) - 8 * SVC_COUNT
	.error "svc_table does not match SVC_COUNT"
	.endif

	.section .note.GNU-stack, "", @progbits
