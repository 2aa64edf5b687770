/* SPDX-License-Identifier: Apache-2.0 */
#include "arch/x86_64/cpuid.h"

#include <stdlib.h>
#include <string.h>

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != fn)
			continue;
		if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx)
			return e;
	}
	return NULL;
}

enum cpu_vendor cpuid_vendor(const struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != 0)
			continue;
		/* "GenuineIntel" / "AuthenticAMD" in EBX, EDX, ECX. */
		if (e->ebx == 0x756e6547 && e->edx == 0x49656e69 && e->ecx == 0x6c65746e)
			return CPU_VENDOR_INTEL;
		if (e->ebx == 0x68747541 && e->edx == 0x69746e65 && e->ecx == 0x444d4163)
			return CPU_VENDOR_AMD;
	}
	return CPU_VENDOR_OTHER;
}

unsigned cpuid_phys_bits(const struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		unsigned bits = c->entries[i].eax & 0xff;
		if (c->entries[i].function == 0x80000008 && bits)
			return bits;
	}
	return 36;
}

static unsigned ceil_log2(unsigned x)
{
	unsigned n = 0;
	while ((1u << n) < x)
		n++;
	return n;
}

/* Adds an entry (fn, idx) when the copy lacks it; capacity was reserved. */
static struct kvm_cpuid_entry2 *cpuid_get_or_add(struct kvm_cpuid2 *c, uint32_t cap, uint32_t fn,
						 uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);
	if (e)
		return e;
	if (c->nent >= cap)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

struct topo {
	unsigned threads; /* per core */
	unsigned thread_bits;
	unsigned pkg_shift; /* APIC ID bits below the package ID */
};

static void topo_of(const struct cpuid_topo *t, struct topo *o)
{
	o->threads = t->smt ? 2 : 1;
	o->thread_bits = t->smt ? 1 : 0;
	o->pkg_shift = MAX(o->thread_bits, ceil_log2(t->count));
}

static void fix_leaf1(struct kvm_cpuid2 *c, const struct cpuid_topo *t, const struct topo *o)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	if (!e)
		return;
	unsigned logical = MIN(1u << o->pkg_shift, 255u);
	e->ebx = (e->ebx & 0xff) | (8u << 8) /* CLFLUSH: 8 x 8 bytes */ | (logical << 16) |
		 (t->index << 24);
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
	e->ecx &= ~CPUID_1_ECX_PDCM;
	if (t->tsc_deadline)
		e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	else
		e->ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
	if (t->count > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

/* Leaf 0xB (and Intel's 0x1F): SMT level, core level, then an invalid level. */
static void fix_ext_topology(struct kvm_cpuid2 *c, uint32_t cap, uint32_t fn,
			     const struct cpuid_topo *t, const struct topo *o)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = cpuid_get_or_add(c, cap, fn, sub);
		if (!e)
			return;
		e->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = t->index;
		switch (sub) {
		case 0:
			e->eax = o->thread_bits;
			e->ebx = o->threads;
			e->ecx = 0 | (1u << 8);
			break;
		case 1:
			e->eax = o->pkg_shift;
			e->ebx = t->count;
			e->ecx = 1 | (2u << 8);
			break;
		default:
			e->eax = 0;
			e->ebx = 0;
			e->ecx = sub;
			break;
		}
	}
	/* Drop any deeper subleaves KVM reported. */
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == fn && e->index >= 3) {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
			e->edx = t->index;
		}
	}
}

/* Deterministic cache parameters (Intel leaf 4, AMD 0x8000001D): how many
 * logical CPUs share each level. */
static void fix_cache_sharing(struct kvm_cpuid2 *c, uint32_t fn, const struct topo *o, bool intel)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != fn || (e->eax & 0x1f) == 0)
			continue;
		unsigned level = (e->eax >> 5) & 7;
		unsigned share_bits = level <= 2 ? o->thread_bits : o->pkg_shift;
		e->eax &= ~(0xfffu << 14);
		e->eax |= (((1u << share_bits) - 1) & 0xfff) << 14;
		if (intel) {
			unsigned cores = 1u << (o->pkg_shift - o->thread_bits);
			e->eax &= ~(0x3fu << 26);
			e->eax |= ((cores - 1) & 0x3f) << 26;
		}
	}
}

static void fix_intel(struct kvm_cpuid2 *c, uint32_t cap, const struct cpuid_topo *t,
		      const struct topo *o)
{
	struct kvm_cpuid_entry2 *e;

	fix_cache_sharing(c, 4, o, true);
	if ((e = cpuid_find(c, 6, 0))) {
		e->eax &= ~CPUID_6_EAX_TURBO;
		e->ecx &= ~CPUID_6_ECX_EPB;
	}
	if ((e = cpuid_find(c, 7, 0))) {
		e->ebx |= CPUID_7_EBX_FDP_EXCPTN_ONLY | CPUID_7_EBX_FCS_FDS_DEPR;
		e->ecx &= ~CPUID_7_ECX_WAITPKG;
	}
	if ((e = cpuid_find(c, 0xa, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0;
	if (cpuid_find(c, 0x1f, 0))
		fix_ext_topology(c, cap, 0x1f, t, o);
}

static void fix_amd(struct kvm_cpuid2 *c, const struct cpuid_topo *t, const struct topo *o)
{
	struct kvm_cpuid_entry2 *e;

	if ((e = cpuid_find(c, 7, 0)))
		e->edx &= ~CPUID_7_EDX_ARCH_CAPABILITIES;
	if ((e = cpuid_find(c, 0x80000001, 0)))
		e->ecx |= CPUID_80000001_ECX_TOPOEXT;
	if ((e = cpuid_find(c, 0x80000008, 0))) {
		e->ecx &= ~0xf0ffu;
		e->ecx |= ((t->count - 1) & 0xff) | ((o->pkg_shift & 0xf) << 12);
	}
	if ((e = cpuid_find(c, 0x8000001e, 0))) {
		e->eax = t->index;
		e->ebx = ((o->threads - 1) << 8) | (t->index >> o->thread_bits);
		e->ecx = 0;
		e->edx = 0;
	}
	fix_cache_sharing(c, 0x8000001d, o, false);
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, const struct cpuid_topo *t)
{
	uint32_t cap = supported->nent + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + (size_t)cap * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return NULL;
	c->nent = supported->nent;
	memcpy(c->entries, supported->entries, supported->nent * sizeof(c->entries[0]));

	struct topo o;
	topo_of(t, &o);
	fix_leaf1(c, t, &o);
	struct kvm_cpuid_entry2 *l0 = cpuid_find(c, 0, 0);
	if (l0 && l0->eax >= 0xb)
		fix_ext_topology(c, cap, 0xb, t, &o);
	switch (cpuid_vendor(c)) {
	case CPU_VENDOR_INTEL:
		fix_intel(c, cap, t, &o);
		break;
	case CPU_VENDOR_AMD:
		fix_amd(c, t, &o);
		break;
	case CPU_VENDOR_OTHER:
		break;
	}
	return c;
}
