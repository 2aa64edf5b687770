/* SPDX-License-Identifier: Apache-2.0 */
/* The MP table, parsed here byte by byte from the Intel MultiProcessor
 * Specification 1.4 layouts (chapter 4), not from ember's structs. */
#include "unit.h"

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"

#define AT LAYOUT_MPTABLE_START
#define MPF_LEN 16
#define MPC_HDR_LEN 44

static size_t need_for(unsigned ncpus)
{
	/* floating pointer + header + CPUs + bus + IOAPIC + 24 intsrc + 2 lintsrc */
	return MPF_LEN + MPC_HDR_LEN + 20 * ncpus + 8 + 8 + 24 * 8 + 2 * 8;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Checks everything about a table built for `ncpus` at guest address AT. */
static void check_table(const uint8_t *buf, int len, unsigned ncpus)
{
	assert_int_equal(len, need_for(ncpus));

	/* Floating pointer structure (spec 4.1). */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(rd32(buf + 4), AT + MPF_LEN);
	assert_int_equal(buf[8], 1);  /* length in 16-byte units */
	assert_int_equal(buf[9], 4);  /* spec revision 1.4 */
	assert_int_equal(sum8(buf, MPF_LEN), 0);
	for (int i = 11; i < 16; i++) /* feature bytes: a configuration table is present */
		assert_int_equal(buf[i], 0);

	/* Configuration table header (spec 4.2). */
	const uint8_t *t = buf + MPF_LEN;
	uint16_t tlen = rd16(t + 4);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(tlen, len - MPF_LEN);
	assert_int_equal(t[6], 4);
	assert_int_equal(sum8(t, tlen), 0);
	assert_memory_equal(t + 8, "EMBER   ", 8);
	assert_memory_equal(t + 16, "000000000000", 12);
	assert_int_equal(rd32(t + 28), 0);	       /* no OEM table */
	assert_int_equal(rd16(t + 34), ncpus + 28); /* entry count */
	assert_int_equal(rd32(t + 36), 0xfee00000); /* local APIC */
	assert_int_equal(rd16(t + 40), 0);	       /* no extended table */

	/* Entries, in the order the spec wants: processors, bus, I/O APIC,
	 * I/O interrupts, local interrupts. */
	const uint8_t *p = t + MPC_HDR_LEN;
	uint8_t ioapic_id = (uint8_t)(ncpus + 1);
	for (unsigned i = 0; i < ncpus; i++, p += 20) {
		assert_int_equal(p[0], 0); /* processor */
		assert_int_equal(p[1], i); /* local APIC id */
		assert_int_equal(p[2], 0x14);
		/* Enabled; BSP only on CPU 0. */
		assert_int_equal(p[3], i == 0 ? 3 : 1);
		assert_int_equal(rd32(p + 4), 0x600);
		assert_int_equal(rd32(p + 8), 0x201);
		assert_int_equal(rd32(p + 12), 0);
		assert_int_equal(rd32(p + 16), 0);
	}
	assert_int_equal(p[0], 1); /* bus */
	assert_int_equal(p[1], 0);
	assert_memory_equal(p + 2, "ISA   ", 6);
	p += 8;
	assert_int_equal(p[0], 2); /* I/O APIC */
	assert_int_equal(p[1], ioapic_id);
	assert_int_equal(p[2], 0x11);
	assert_int_equal(p[3], 1); /* usable */
	assert_int_equal(rd32(p + 4), 0xfec00000);
	p += 8;
	for (unsigned i = 0; i < 24; i++, p += 8) {
		assert_int_equal(p[0], 3); /* I/O interrupt assignment */
		assert_int_equal(p[1], 0); /* INT */
		assert_int_equal(rd16(p + 2), 0);
		assert_int_equal(p[4], 0); /* source bus: ISA */
		assert_int_equal(p[5], i); /* ISA IRQ i ... */
		assert_int_equal(p[6], ioapic_id);
		assert_int_equal(p[7], i); /* ... -> IOAPIC pin i */
	}
	assert_int_equal(p[0], 4); /* local interrupt: ExtINT -> LINT0 of APIC 0 */
	assert_int_equal(p[1], 3);
	assert_int_equal(p[6], 0);
	assert_int_equal(p[7], 0);
	p += 8;
	assert_int_equal(p[0], 4); /* NMI -> LINT1 of all APICs */
	assert_int_equal(p[1], 1);
	assert_int_equal(p[6], 0xff);
	assert_int_equal(p[7], 1);
	p += 8;
	assert_ptr_equal(p, buf + len);
}

static void build_cpu_counts(void **state)
{
	static const unsigned counts[] = {1, 2, 3, 4, 31, 32, 100, MPTABLE_MAX_CPUS};
	static uint8_t buf[8192];

	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		memset(buf, 0xa5, sizeof(buf));
		int n = mptable_build(buf, sizeof(buf), AT, counts[i]);
		check_table(buf, n, counts[i]);
		/* Nothing written past the table. */
		assert_int_equal(buf[n], 0xa5);
	}
	/* The comment in boot_write_mptable: 254 CPUs need 5364 bytes. */
	assert_int_equal(need_for(MPTABLE_MAX_CPUS), 5364);
}

static void physptr_follows_address(void **state)
{
	uint8_t buf[1024];
	int n = mptable_build(buf, sizeof(buf), 0xf0000, 2);
	assert_int_equal(n, need_for(2));
	assert_int_equal(rd32(buf + 4), 0xf0010);
	assert_int_equal(sum8(buf, MPF_LEN), 0);
}

static void build_rejects(void **state)
{
	static uint8_t buf[8192];

	memset(buf, 0xa5, sizeof(buf));
	assert_errno(mptable_build(buf, sizeof(buf), AT, 0), -ENOSPC);
	assert_errno(mptable_build(buf, sizeof(buf), AT, MPTABLE_MAX_CPUS + 1), -ENOSPC);
	assert_errno(mptable_build(buf, sizeof(buf), AT, 1000), -ENOSPC);
	/* One byte too small: nothing written. */
	assert_errno(mptable_build(buf, need_for(4) - 1, AT, 4), -ENOSPC);
	/* Would not fit below 4 GiB. */
	assert_errno(mptable_build(buf, sizeof(buf), 0xffffff00ull, 4), -ENOSPC);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5);
	/* Exactly big enough. */
	assert_int_equal(mptable_build(buf, need_for(4), AT, 4), need_for(4));
}

static void write_into_guest(void **state)
{
	static uint8_t want[8192], got[8192];
	struct guest_mem gm;

	ut_gm_init2(&gm, 0, MiB(2), 0, 0);
	int n = mptable_build(want, sizeof(want), AT, 8);
	assert_int_equal(boot_write_mptable(&gm, 8), 0);
	assert_int_equal(gm_read(&gm, AT, got, (uint64_t)n), 0);
	assert_memory_equal(got, want, (size_t)n);
	check_table(got, n, 8);
	/* The largest table still lies inside the E820-reserved area. */
	assert_int_equal(boot_write_mptable(&gm, MPTABLE_MAX_CPUS), 0);
	assert_true(AT + need_for(MPTABLE_MAX_CPUS) <= LAYOUT_SYSTEM_MEM_END);
	assert_errno(boot_write_mptable(&gm, 0), -ENOSPC);
	assert_errno(boot_write_mptable(&gm, MPTABLE_MAX_CPUS + 1), -ENOSPC);
	gm_destroy(&gm);

	/* No RAM there. */
	ut_gm_init2(&gm, 0, 0x9f000, 0, 0);
	assert_errno(boot_write_mptable(&gm, 1), -EFAULT);
	gm_destroy(&gm);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(build_cpu_counts),
	cmocka_unit_test(physptr_follows_address),
	cmocka_unit_test(build_rejects),
	cmocka_unit_test(write_into_guest),
};

UT_MAIN(tests, NULL, NULL)
