/* SPDX-License-Identifier: Apache-2.0 */
#include "arch/x86_64/vcpu_setup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/layout.h"

#define CR0_PE	 (1ull << 0)
#define CR0_ET	 (1ull << 4)
#define CR0_PG	 (1ull << 31)
#define CR4_PAE	 (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

/* MSRs written at boot (Firecracker's list): SYSENTER and SYSCALL state
 * cleared, TSC 0, fast strings on, MTRRs on with write-back default. */
const struct boot_msr arch_boot_msrs[] = {
    {0x174, 0},		     /* IA32_SYSENTER_CS */
    {0x175, 0},		     /* IA32_SYSENTER_ESP */
    {0x176, 0},		     /* IA32_SYSENTER_EIP */
    {0xc0000081, 0},	     /* STAR */
    {0xc0000083, 0},	     /* CSTAR */
    {0xc0000102, 0},	     /* KERNEL_GS_BASE */
    {0xc0000084, 0},	     /* SYSCALL_MASK */
    {0xc0000082, 0},	     /* LSTAR */
    {0x10, 0},		     /* IA32_TSC */
    {0x1a0, 1},		     /* IA32_MISC_ENABLE: FAST_STRING */
    {0x2ff, (1u << 11) | 6}, /* MTRRdefType: enabled, write-back */
};
const size_t arch_boot_msrs_count = ARRAY_SIZE(arch_boot_msrs);

static struct kvm_segment segment_of(uint64_t e, uint16_t index)
{
	struct kvm_segment s = {
	    .base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24),
	    .limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000)),
	    .selector = (uint16_t)(index * 8),
	    .type = (e >> 40) & 0xf,
	    .present = (e >> 47) & 1,
	    .dpl = (e >> 45) & 3,
	    .db = (e >> 54) & 1,
	    .s = (e >> 44) & 1,
	    .l = (e >> 53) & 1,
	    .g = (e >> 55) & 1,
	    .avl = (e >> 52) & 1,
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	s.unusable = !s.present;
	return s;
}

static int set_sregs(int fd, enum boot_proto proto)
{
	struct kvm_sregs sr;
	uint64_t code, data, tss;

	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	if (proto == BOOT_LINUX64) {
		code = gdt_entry(0xa09b, 0, 0xfffff);
		data = gdt_entry(0xc093, 0, 0xfffff);
		tss = gdt_entry(0x808b, 0, 0xfffff);
	} else {
		code = gdt_entry(0xc09b, 0, 0xfffff);
		data = gdt_entry(0xc093, 0, 0xfffff);
		tss = gdt_entry(0x008b, 0, 0x67);
	}
	sr.gdt.base = LAYOUT_BOOT_GDT;
	sr.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sr.idt.base = LAYOUT_BOOT_IDT;
	sr.idt.limit = 7;
	sr.cs = segment_of(code, BOOT_GDT_CODE);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = segment_of(data, BOOT_GDT_DATA);
	sr.tr = segment_of(tss, BOOT_GDT_TSS);

	if (proto == BOOT_LINUX64) {
		sr.cr0 |= CR0_PE | CR0_PG;
		sr.cr3 = LAYOUT_PML4;
		sr.cr4 |= CR4_PAE;
		sr.efer |= EFER_LME | EFER_LMA;
	} else {
		/* PVH: 32-bit protected mode, paging off (PVH boot ABI). */
		sr.cr0 = CR0_PE | CR0_ET;
		sr.cr4 = 0;
		sr.efer = 0;
	}
	return ioctl(fd, KVM_SET_SREGS, &sr) < 0 ? -errno : 0;
}

static int set_regs(int fd, const struct boot_info *bi)
{
	struct kvm_regs r = {.rflags = 0x2, .rip = bi->entry};
	if (bi->proto == BOOT_LINUX64) {
		r.rsp = r.rbp = LAYOUT_BOOT_STACK;
		r.rsi = LAYOUT_ZERO_PAGE;
	} else {
		r.rbx = LAYOUT_PVH_INFO;
	}
	return ioctl(fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

static int set_msrs(int fd)
{
	size_t n = ARRAY_SIZE(arch_boot_msrs);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	if (!m)
		return -ENOMEM;
	m->nmsrs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		m->entries[i].index = arch_boot_msrs[i].index;
		m->entries[i].data = arch_boot_msrs[i].value;
	}
	int set = ioctl(fd, KVM_SET_MSRS, m);
	int e = errno;
	free(m);
	if (set < 0)
		return -e;
	/* KVM stops at the first MSR it refuses. */
	return set == (int)n ? 0 : -(1000 + set);
}

static int set_fpu(int fd)
{
	struct kvm_fpu f = {.fcw = 0x37f, .mxcsr = 0x1f80};
	return ioctl(fd, KVM_SET_FPU, &f) < 0 ? -errno : 0;
}

static void lvt_set_mode(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

static int set_lapic(int fd)
{
	struct kvm_lapic_state l;
	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	lvt_set_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lvt_set_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

int arch_vcpu_setup(struct kvm *k, int fd, const struct cpuid_topo *topo,
		    const struct boot_info *bi, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = cpuid_for_vcpu(k->supported_cpuid, topo);
	const char *step = "CPUID";
	int ret;

	if (!c) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	if (ret)
		goto fail;
	step = "MSRs";
	if ((ret = set_msrs(fd)) < -1000) {
		snprintf(err, errlen, "vCPU %u: KVM refused boot MSR 0x%x", topo->index,
			 arch_boot_msrs[-ret - 1000].index);
		return -EINVAL;
	}
	if (ret)
		goto fail;
	step = "special registers";
	if ((ret = set_sregs(fd, bi->proto)))
		goto fail;
	step = "registers";
	if ((ret = set_regs(fd, bi)))
		goto fail;
	step = "FPU";
	if ((ret = set_fpu(fd)))
		goto fail;
	step = "LAPIC";
	if ((ret = set_lapic(fd)))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "vCPU %u: setting %s: %s", topo->index, step, strerror(-ret));
	return ret;
}

void arch_vcpu_dump(int fd, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "(registers unavailable: %s)", strerror(errno));
		return;
	}
	snprintf(buf, len,
		 "rip=0x%" PRIx64 " rsp=0x%" PRIx64 " rflags=0x%" PRIx64 " rax=0x%" PRIx64
		 " rbx=0x%" PRIx64 " rcx=0x%" PRIx64 " rdx=0x%" PRIx64 " rsi=0x%" PRIx64
		 " rdi=0x%" PRIx64 " cs=0x%x(dpl %u, %s) cr0=0x%" PRIx64 " cr2=0x%" PRIx64
		 " cr3=0x%" PRIx64 " cr4=0x%" PRIx64 " efer=0x%" PRIx64,
		 (uint64_t)r.rip, (uint64_t)r.rsp, (uint64_t)r.rflags, (uint64_t)r.rax,
		 (uint64_t)r.rbx, (uint64_t)r.rcx, (uint64_t)r.rdx, (uint64_t)r.rsi,
		 (uint64_t)r.rdi, s.cs.selector, s.cs.dpl,
		 s.cs.l	   ? "64-bit"
		 : s.cs.db ? "32-bit"
			   : "16-bit",
		 (uint64_t)s.cr0, (uint64_t)s.cr2, (uint64_t)s.cr3, (uint64_t)s.cr4,
		 (uint64_t)s.efer);
}

unsigned arch_vcpu_insn_bytes(int fd, const struct guest_mem *gm, uint8_t *out)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return 0;
	unsigned n = 0;
	/* Byte by byte: the instruction may straddle a page boundary. */
	for (; n < 15; n++) {
		struct kvm_translation t = {.linear_address = s.cs.base + r.rip + n};
		if (ioctl(fd, KVM_TRANSLATE, &t) < 0 || !t.valid ||
		    gm_read(gm, t.physical_address, &out[n], 1))
			break;
	}
	return n;
}
