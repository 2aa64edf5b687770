/* SPDX-License-Identifier: Apache-2.0 */
/* CPUID normalisation over synthetic KVM_GET_SUPPORTED_CPUID tables for an
 * Intel and an AMD host: leaf 1, the 0xB/0x1F topology leaves, cache
 * sharing in leaf 4 / 0x8000001D, and each vendor's fixes. */
#include "unit.h"

#include "arch/x86_64/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define CAP 64

/* Leaf 4 / 0x8000001D EAX: cache type, level, and bits 8-13 (self-init,
 * fully associative) the normalisation must keep. */
#define CACHE(type, level) ((type) | (level) << 5 | 0x100u)
#define SHARE_MASK (0xfffu << 14)
#define CORES_MASK (0x3fu << 26)
#define GARBAGE (SHARE_MASK | CORES_MASK)

static struct kvm_cpuid2 *tbl_new(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAP * sizeof(c->entries[0]));
	assert_non_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	assert_true(c->nent < CAP);
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
		.function = fn, .index = idx, .flags = flags,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

/* Leaf 1 as a host reports it: brand index 0x78 in EBX[7:0], HTT set. */
#define L1_EBX 0x12345678u
#define L1_ECX (CPUID_1_ECX_PDCM | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE | 1u)
#define L1_EDX (0x078bfbffu | CPUID_1_EDX_HTT)

static void add_caches(struct kvm_cpuid2 *c, uint32_t fn)
{
	add(c, fn, 0, SIG, CACHE(1, 1) | GARBAGE, 0x01c0003f, 0x3f, 0);
	add(c, fn, 1, SIG, CACHE(2, 1) | GARBAGE, 0x01c0003f, 0x3f, 0);
	add(c, fn, 2, SIG, CACHE(3, 2) | GARBAGE, 0x01c0003f, 0x3ff, 0);
	add(c, fn, 3, SIG, CACHE(3, 3) | GARBAGE, 0x03c0003f, 0x3fff, 6);
	add(c, fn, 4, SIG, GARBAGE, 0, 0, 0); /* no more caches */
}

static struct kvm_cpuid2 *intel(uint32_t max_leaf)
{
	struct kvm_cpuid2 *c = tbl_new();
	add(c, 0, 0, 0, max_leaf, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	add(c, 1, 0, 0, 0x000906ea, L1_EBX, L1_ECX, L1_EDX);
	add_caches(c, 4);
	add(c, 6, 0, 0, CPUID_6_EAX_TURBO | 5, 0, CPUID_6_ECX_EPB | 1, 0);
	add(c, 7, 0, SIG, 0, 1, CPUID_7_ECX_WAITPKG | 4,
	    CPUID_7_EDX_ARCH_CAPABILITIES | (1u << 10));
	add(c, 0xa, 0, 0, 0x07300805, 0, 0, 0x603);
	add(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800);
	add(c, 0x80000008, 0, 0, 0x3027, 0, 0, 0);
	return c;
}

static struct kvm_cpuid2 *amd(void)
{
	struct kvm_cpuid2 *c = tbl_new();
	add(c, 0, 0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65); /* AuthenticAMD */
	add(c, 1, 0, 0, 0x00a00f11, L1_EBX, L1_ECX, L1_EDX);
	add(c, 4, 0, SIG, CACHE(1, 1) | GARBAGE, 0, 0, 0);
	add(c, 6, 0, 0, CPUID_6_EAX_TURBO | 4, 0, CPUID_6_ECX_EPB | 1, 0);
	add(c, 7, 0, SIG, 0, 1, CPUID_7_ECX_WAITPKG, CPUID_7_EDX_ARCH_CAPABILITIES | (1u << 10));
	add(c, 0xa, 0, 0, 0x07300805, 0, 0, 0x603);
	add(c, 0x80000000, 0, 0, 0x80000021, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 1, 0x2fd3fbff);
	add(c, 0x80000008, 0, 0, 0x3030, 0, 0xffffffff, 0);
	add_caches(c, 0x8000001d);
	add(c, 0x8000001e, 0, 0, 0xdead, 0xffff, 0x0103, 1);
	return c;
}

static struct kvm_cpuid2 *norm(const struct kvm_cpuid2 *in, unsigned index, unsigned count,
			       bool smt)
{
	struct cpuid_topo t = {.index = index, .count = count, .smt = smt};
	struct kvm_cpuid2 *out = cpuid_for_vcpu(in, &t);
	assert_non_null(out);
	return out;
}

static struct kvm_cpuid_entry2 *get(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);
	if (!e)
		fail_msg("no CPUID entry 0x%x.%u", fn, idx);
	return e;
}

/* ---------------------------------------------------------------- lookup */

static void vendor_and_phys_bits(void **state)
{
	struct kvm_cpuid2 *i = intel(0x16), *a = amd(), *o = tbl_new();

	assert_int_equal(cpuid_vendor(i), CPU_VENDOR_INTEL);
	assert_int_equal(cpuid_vendor(a), CPU_VENDOR_AMD);
	assert_int_equal(cpuid_vendor(o), CPU_VENDOR_OTHER);
	add(o, 0, 0, 0, 0xd, 0x6f677948, 0x656e6975, 0x6e65476e); /* HygonGenuine */
	assert_int_equal(cpuid_vendor(o), CPU_VENDOR_OTHER);

	assert_int_equal(cpuid_phys_bits(i), 39);
	assert_int_equal(cpuid_phys_bits(a), 48);
	assert_int_equal(cpuid_phys_bits(o), 36); /* no 0x80000008 */
	add(o, 0x80000008, 0, 0, 0x3000, 0, 0, 0);
	assert_int_equal(cpuid_phys_bits(o), 36); /* EAX[7:0] = 0 */
	free(i);
	free(a);
	free(o);
}

static void find_significant_index(void **state)
{
	struct kvm_cpuid2 *c = tbl_new();
	add(c, 1, 0, 0, 0x11, 0, 0, 0);
	add(c, 7, 0, SIG, 0x70, 0, 0, 0);
	add(c, 7, 1, SIG, 0x71, 0, 0, 0);

	assert_int_equal(get(c, 7, 0)->eax, 0x70);
	assert_int_equal(get(c, 7, 1)->eax, 0x71);
	assert_null(cpuid_find(c, 7, 2));
	/* Without the flag, the index does not matter. */
	assert_int_equal(get(c, 1, 5)->eax, 0x11);
	assert_null(cpuid_find(c, 0x1234, 0));
	free(c);
}

/* ---------------------------------------------------------------- leaf 1 */

static void leaf1_one_cpu(void **state)
{
	struct kvm_cpuid2 *in = intel(0x16), *c = norm(in, 0, 1, false);
	struct kvm_cpuid_entry2 *e = get(c, 1, 0);

	/* Brand index kept, CLFLUSH 8 (x 8 bytes), 1 logical CPU, APIC ID 0. */
	assert_int_equal(e->ebx, 0x00010878);
	assert_true(e->ecx & CPUID_1_ECX_HYPERVISOR);
	assert_false(e->ecx & CPUID_1_ECX_PDCM);
	assert_false(e->ecx & CPUID_1_ECX_TSC_DEADLINE);
	assert_int_equal(e->ecx, CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | 1u);
	assert_int_equal(e->edx, L1_EDX & ~CPUID_1_EDX_HTT);
	assert_int_equal(e->eax, 0x000906ea);
	free(in);
	free(c);
}

static void leaf1_many_cpus(void **state)
{
	static const struct {
		unsigned index, count;
		bool smt;
		uint32_t ebx;
	} cases[] = {
		{3, 4, false, 0x03040878}, {1, 2, true, 0x01020878},
		{2, 3, false, 0x02040878}, {5, 6, true, 0x05080878},
		{31, 32, true, 0x1f200878}, {16, 17, false, 0x10200878},
	};
	struct kvm_cpuid2 *in = intel(0x16);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cpuid_topo t = {cases[i].index, cases[i].count, cases[i].smt, true};
		struct kvm_cpuid2 *c = cpuid_for_vcpu(in, &t);
		assert_non_null(c);
		struct kvm_cpuid_entry2 *e = get(c, 1, 0);
		if (e->ebx != cases[i].ebx)
			fail_msg("case %zu: EBX 0x%08x, expected 0x%08x", i, e->ebx, cases[i].ebx);
		assert_int_equal(e->ebx >> 24, cases[i].index);
		assert_true(e->edx & CPUID_1_EDX_HTT);
		assert_true(e->ecx & CPUID_1_ECX_TSC_DEADLINE);
		assert_true(e->ecx & CPUID_1_ECX_HYPERVISOR);
		free(c);
	}
	free(in);
}

/* ---------------------------------------------------------------- 0xB / 0x1F */

static void check_topo_leaf(struct kvm_cpuid2 *c, uint32_t fn, unsigned index, uint32_t eax0,
			    uint32_t ebx0, uint32_t eax1, uint32_t ebx1)
{
	struct kvm_cpuid_entry2 *e;

	e = get(c, fn, 0);
	assert_true(e->flags & SIG);
	assert_int_equal(e->eax, eax0);
	assert_int_equal(e->ebx, ebx0);
	assert_int_equal(e->ecx, 0x100); /* level 0, type SMT */
	assert_int_equal(e->edx, index); /* x2APIC ID */
	e = get(c, fn, 1);
	assert_true(e->flags & SIG);
	assert_int_equal(e->eax, eax1);
	assert_int_equal(e->ebx, ebx1);
	assert_int_equal(e->ecx, 0x201); /* level 1, type core */
	assert_int_equal(e->edx, index);
	e = get(c, fn, 2);
	assert_true(e->flags & SIG);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, 0);
	assert_int_equal(e->ecx, 2); /* level 2, type invalid */
	assert_int_equal(e->edx, index);
}

static void leaf_b_added_when_missing(void **state)
{
	struct kvm_cpuid2 *in = intel(0x16), *c;

	assert_null(cpuid_find(in, 0xb, 0));
	c = norm(in, 3, 4, true);
	assert_int_equal(c->nent, in->nent + 3);
	check_topo_leaf(c, 0xb, 3, 1, 2, 2, 4);
	assert_null(cpuid_find(c, 0xb, 3));
	free(c);

	c = norm(in, 2, 4, false);
	check_topo_leaf(c, 0xb, 2, 0, 1, 2, 4);
	free(c);
	c = norm(in, 0, 1, false);
	check_topo_leaf(c, 0xb, 0, 0, 1, 0, 1);
	free(c);
	c = norm(in, 5, 6, true);
	check_topo_leaf(c, 0xb, 5, 1, 2, 3, 6);
	free(c);
	c = norm(in, 1, 2, true);
	check_topo_leaf(c, 0xb, 1, 1, 2, 1, 2);
	free(c);
	/* SMT with one vCPU (the config allows it): the SMT level still takes
	 * one APIC ID bit, as in Firecracker. */
	c = norm(in, 0, 1, true);
	check_topo_leaf(c, 0xb, 0, 1, 2, 1, 1);
	assert_int_equal(get(c, 1, 0)->ebx, 0x00020878);
	assert_false(get(c, 1, 0)->edx & CPUID_1_EDX_HTT);
	free(c);
	/* Intel's 0x1F is fixed only when the host has it. */
	assert_null(cpuid_find(c = norm(in, 0, 1, false), 0x1f, 0));
	free(c);
	free(in);
}

static void leaf_b_existing_subleaves(void **state)
{
	struct kvm_cpuid2 *in = intel(0x1f), *c;

	for (uint32_t sub = 0; sub < 5; sub++) {
		add(in, 0xb, sub, SIG, 0xffff, 0xffff, 0xffff, 0xffff);
		add(in, 0x1f, sub, SIG, 0xffff, 0xffff, 0xffff, 0xffff);
	}
	c = norm(in, 7, 8, true);
	assert_int_equal(c->nent, in->nent);
	check_topo_leaf(c, 0xb, 7, 1, 2, 3, 8);
	check_topo_leaf(c, 0x1f, 7, 1, 2, 3, 8);
	for (uint32_t sub = 3; sub < 5; sub++) {
		struct kvm_cpuid_entry2 *e = get(c, 0xb, sub);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 0);
		assert_int_equal(e->ecx, sub);
		assert_int_equal(e->edx, 7);
		e = get(c, 0x1f, sub);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ecx, sub);
		assert_int_equal(e->edx, 7);
	}
	free(c);
	free(in);
}

static void leaf_b_not_added_below_max_leaf(void **state)
{
	struct kvm_cpuid2 *in = intel(0xa), *c = norm(in, 1, 2, false);

	assert_int_equal(c->nent, in->nent);
	assert_null(cpuid_find(c, 0xb, 0));
	free(c);
	free(in);
}

/* ---------------------------------------------------------------- caches */

static void check_cache(struct kvm_cpuid2 *c, uint32_t fn, uint32_t sub, uint32_t type,
			uint32_t level, uint32_t share, uint32_t cores_field)
{
	struct kvm_cpuid_entry2 *e = get(c, fn, sub);
	assert_int_equal(e->eax & 0x3fff, CACHE(type, level));
	if (((e->eax & SHARE_MASK) >> 14) != share)
		fail_msg("0x%x.%u: sharing %u, expected %u", fn, sub, (e->eax & SHARE_MASK) >> 14,
			 share);
	assert_int_equal((e->eax & CORES_MASK) >> 26, cores_field);
	assert_int_equal(e->ebx & 0xff, 0x3f); /* EBX..EDX untouched */
}

static void cache_sharing_intel(void **state)
{
	static const struct {
		unsigned count;
		bool smt;
		uint32_t l12, l3, cores;
	} cases[] = {
		{1, false, 0, 0, 0}, {4, true, 1, 3, 1}, {4, false, 0, 3, 3},
		{8, true, 1, 7, 3},  {2, true, 1, 1, 0}, {32, false, 0, 31, 31},
	};
	struct kvm_cpuid2 *in = intel(0x16);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_cpuid2 *c = norm(in, 0, cases[i].count, cases[i].smt);
		check_cache(c, 4, 0, 1, 1, cases[i].l12, cases[i].cores);
		check_cache(c, 4, 1, 2, 1, cases[i].l12, cases[i].cores);
		check_cache(c, 4, 2, 3, 2, cases[i].l12, cases[i].cores);
		check_cache(c, 4, 3, 3, 3, cases[i].l3, cases[i].cores);
		/* The terminating null subleaf is left alone. */
		assert_int_equal(get(c, 4, 4)->eax, GARBAGE);
		free(c);
	}
	free(in);
}

static void intel_leaf_fixes(void **state)
{
	struct kvm_cpuid2 *in = intel(0x16), *c = norm(in, 0, 2, false);

	assert_int_equal(get(c, 6, 0)->eax, 5);	 /* turbo cleared */
	assert_int_equal(get(c, 6, 0)->ecx, 1);	 /* EPB cleared */
	struct kvm_cpuid_entry2 *e = get(c, 7, 0);
	assert_int_equal(e->ebx, 1 | CPUID_7_EBX_FDP_EXCPTN_ONLY | CPUID_7_EBX_FCS_FDS_DEPR);
	assert_int_equal(e->ecx, 4); /* WAITPKG cleared */
	assert_int_equal(e->edx, CPUID_7_EDX_ARCH_CAPABILITIES | (1u << 10));
	e = get(c, 0xa, 0); /* no PMU */
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	/* AMD-only leaves are not invented on Intel. */
	assert_null(cpuid_find(c, 0x8000001e, 0));
	assert_int_equal(get(c, 0x80000001, 0)->ecx, 0x121);
	assert_int_equal(get(c, 0x80000008, 0)->ecx, 0);
	free(c);
	free(in);
}

/* ---------------------------------------------------------------- AMD */

static void amd_fixes(void **state)
{
	struct kvm_cpuid2 *in = amd(), *c = norm(in, 3, 4, true);
	struct kvm_cpuid_entry2 *e;

	e = get(c, 0x80000008, 0);
	assert_int_equal(e->eax, 0x3030);
	/* NC = count - 1 in [7:0], ApicIdSize in [15:12], the rest kept. */
	assert_int_equal(e->ecx, 0xffff2f03);
	e = get(c, 0x8000001e, 0);
	assert_int_equal(e->eax, 3);	 /* extended APIC ID */
	assert_int_equal(e->ebx, 0x101); /* 2 threads per core; core 1 */
	assert_int_equal(e->ecx, 0);
	assert_int_equal(e->edx, 0);
	assert_true(get(c, 0x80000001, 0)->ecx & CPUID_80000001_ECX_TOPOEXT);
	assert_int_equal(get(c, 0x80000001, 0)->ecx, 1 | CPUID_80000001_ECX_TOPOEXT);
	assert_int_equal(get(c, 7, 0)->edx, 1u << 10); /* ARCH_CAPABILITIES cleared */

	/* 0x8000001D: sharing like leaf 4, bits 31:26 are not a core count. */
	check_cache(c, 0x8000001d, 0, 1, 1, 1, 0x3f);
	check_cache(c, 0x8000001d, 2, 3, 2, 1, 0x3f);
	check_cache(c, 0x8000001d, 3, 3, 3, 3, 0x3f);
	assert_int_equal(get(c, 0x8000001d, 4)->eax, GARBAGE);

	/* Intel-only fixes are not applied. */
	assert_int_equal(get(c, 4, 0)->eax, CACHE(1, 1) | GARBAGE);
	assert_int_equal(get(c, 6, 0)->eax, CPUID_6_EAX_TURBO | 4);
	assert_int_equal(get(c, 7, 0)->ebx, 1);
	assert_int_equal(get(c, 7, 0)->ecx, CPUID_7_ECX_WAITPKG);
	assert_int_equal(get(c, 0xa, 0)->eax, 0x07300805);
	/* Leaf 1 and 0xB as for Intel. */
	assert_int_equal(get(c, 1, 0)->ebx, 0x03040878);
	check_topo_leaf(c, 0xb, 3, 1, 2, 2, 4);
	free(c);

	c = norm(in, 2, 3, false);
	assert_int_equal(get(c, 0x80000008, 0)->ecx, 0xffff2f02);
	e = get(c, 0x8000001e, 0);
	assert_int_equal(e->eax, 2);
	assert_int_equal(e->ebx, 2); /* 1 thread per core; core 2 */
	check_cache(c, 0x8000001d, 0, 1, 1, 0, 0x3f);
	check_cache(c, 0x8000001d, 3, 3, 3, 3, 0x3f);
	free(c);

	c = norm(in, 0, 1, false);
	assert_int_equal(get(c, 0x80000008, 0)->ecx, 0xffff0f00);
	assert_int_equal(get(c, 0x8000001e, 0)->ebx, 0);
	free(c);
	free(in);
}

/* ---------------------------------------------------------------- misc */

static void other_vendor_and_edge_tables(void **state)
{
	struct kvm_cpuid2 *in = tbl_new(), *c;

	add(in, 0, 0, 0, 0xd, 0, 0, 0);
	add(in, 1, 0, 0, 0, 0, 0, 0);
	add(in, 6, 0, 0, CPUID_6_EAX_TURBO, 0, 0, 0);
	add(in, 0x80000008, 0, 0, 0x3030, 0, 0xffff, 0);
	c = norm(in, 1, 2, false);
	assert_int_equal(get(c, 1, 0)->ebx, 0x01020800);
	check_topo_leaf(c, 0xb, 1, 0, 1, 1, 2);
	assert_int_equal(get(c, 6, 0)->eax, CPUID_6_EAX_TURBO);
	assert_int_equal(get(c, 0x80000008, 0)->ecx, 0xffff);
	free(c);
	free(in);

	/* An empty table, and one without leaf 1: nothing to fix, no crash. */
	in = tbl_new();
	c = norm(in, 0, 1, false);
	assert_int_equal(c->nent, 0);
	free(c);
	add(in, 0, 0, 0, 0xb, 0, 0, 0);
	c = norm(in, 0, 1, false);
	assert_null(cpuid_find(c, 1, 0));
	assert_int_equal(c->nent, 4);
	free(c);
	free(in);
}

static void input_is_not_modified(void **state)
{
	struct kvm_cpuid2 *in = intel(0x1f), *copy = tbl_new(), *c;
	size_t sz = sizeof(*in) + CAP * sizeof(in->entries[0]);

	memcpy(copy, in, sz);
	c = norm(in, 3, 4, true);
	assert_memory_equal(in, copy, sz);
	free(c);
	free(in);
	in = amd();
	memcpy(copy, in, sz);
	c = norm(in, 1, 2, true);
	assert_memory_equal(in, copy, sz);
	free(c);
	free(in);
	free(copy);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(vendor_and_phys_bits),
	cmocka_unit_test(find_significant_index),
	cmocka_unit_test(leaf1_one_cpu),
	cmocka_unit_test(leaf1_many_cpus),
	cmocka_unit_test(leaf_b_added_when_missing),
	cmocka_unit_test(leaf_b_existing_subleaves),
	cmocka_unit_test(leaf_b_not_added_below_max_leaf),
	cmocka_unit_test(cache_sharing_intel),
	cmocka_unit_test(intel_leaf_fixes),
	cmocka_unit_test(amd_fixes),
	cmocka_unit_test(other_vendor_and_edge_tables),
	cmocka_unit_test(input_is_not_modified),
};

UT_MAIN(tests, NULL, NULL)
