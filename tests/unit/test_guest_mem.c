/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory: gm_init's layout checks, the one bounds-checked accessor
 * gm_ptr (region ends, the gap, adjacent regions, 2^64 wrap-around) and the
 * copies built on it. */
#include "unit.h"

#include "mem/guest_mem.h"

#define M2 MiB(2)
#define G4 GiB(4)

static struct gm_layout layout1(gpa_t b, uint64_t s)
{
	return (struct gm_layout){.base = {b}, .size = {s}, .n = 1};
}

static struct gm_layout layout2(gpa_t b0, uint64_t s0, gpa_t b1, uint64_t s1)
{
	return (struct gm_layout){.base = {b0, b1}, .size = {s0, s1}, .n = 2};
}

/* ---------------------------------------------------------------- gm_init */

static void init_one_region(void **state)
{
	struct guest_mem gm;
	struct gm_layout l = layout1(0, MiB(16));

	assert_int_equal(gm_init(&gm, &l, GM_BACKING_4K), 0);
	assert_int_equal(gm.nregions, 1);
	assert_int_equal(gm.region[0].base, 0);
	assert_int_equal(gm.region[0].size, MiB(16));
	assert_non_null(gm.mapping);
	assert_ptr_equal(gm.region[0].host, gm.mapping);
	assert_int_equal(gm.mapping_len, MiB(16));
	assert_int_equal(gm_total(&gm), MiB(16));
	/* Anonymous memory starts zeroed and is writable at both ends. */
	assert_int_equal(gm.region[0].host[0], 0);
	gm.region[0].host[MiB(16) - 1] = 0x5a;
	gm_destroy(&gm);
	assert_null(gm.mapping);
	assert_int_equal(gm.nregions, 0);
	gm_destroy(&gm); /* a second destroy is harmless */
}

static void init_two_regions(void **state)
{
	struct guest_mem gm;
	struct gm_layout l = layout2(0, MiB(8), G4, MiB(4));

	assert_int_equal(gm_init(&gm, &l, GM_BACKING_4K), 0);
	assert_int_equal(gm.nregions, 2);
	assert_int_equal(gm.region[1].base, G4);
	assert_int_equal(gm.region[1].size, MiB(4));
	/* One mapping backs both, in order. */
	assert_int_equal(gm.mapping_len, MiB(12));
	assert_ptr_equal(gm.region[0].host, gm.mapping);
	assert_ptr_equal(gm.region[1].host, gm.mapping + MiB(8));
	assert_int_equal(gm_total(&gm), MiB(12));

	assert_ptr_equal(gm_region_of(&gm, 0), &gm.region[0]);
	assert_ptr_equal(gm_region_of(&gm, MiB(8) - 1), &gm.region[0]);
	assert_null(gm_region_of(&gm, MiB(8)));
	assert_null(gm_region_of(&gm, G4 - 1));
	assert_ptr_equal(gm_region_of(&gm, G4), &gm.region[1]);
	assert_ptr_equal(gm_region_of(&gm, G4 + MiB(4) - 1), &gm.region[1]);
	assert_null(gm_region_of(&gm, G4 + MiB(4)));
	assert_null(gm_region_of(&gm, UINT64_MAX));
	gm_destroy(&gm);
}

static void init_adjacent_and_max_regions(void **state)
{
	struct guest_mem gm;
	struct gm_layout l = layout2(0, M2, M2, M2);

	assert_int_equal(gm_init(&gm, &l, GM_BACKING_4K), 0);
	assert_int_equal(gm.nregions, 2);
	gm_destroy(&gm);

	l = (struct gm_layout){.base = {0, MiB(1), MiB(2), MiB(3)},
			       .size = {4096, 4096, 4096, 4096},
			       .n = GM_MAX_REGIONS};
	assert_int_equal(gm_init(&gm, &l, GM_BACKING_4K), 0);
	assert_int_equal(gm.nregions, 4);
	assert_int_equal(gm_total(&gm), 4 * 4096);
	assert_ptr_equal(gm.region[3].host, gm.mapping + 3 * 4096);
	assert_ptr_equal(gm_ptr(&gm, MiB(3) + 10, 1), gm.mapping + 3 * 4096 + 10);
	gm_destroy(&gm);
}

static void init_rejects(void **state)
{
	static const struct {
		const char *what;
		struct gm_layout l;
	} bad[] = {
		{"no regions", {.n = 0}},
		{"too many regions",
		 {.base = {0, MiB(1), MiB(2), MiB(3)}, .size = {4096, 4096, 4096, 4096},
		  .n = GM_MAX_REGIONS + 1}},
		{"unsorted", {.base = {G4, 0}, .size = {M2, M2}, .n = 2}},
		{"overlapping", {.base = {0, MiB(1)}, .size = {M2, M2}, .n = 2}},
		{"overlapping by one page", {.base = {0, M2 - 4096}, .size = {M2, M2}, .n = 2}},
		{"same base", {.base = {0, 0}, .size = {M2, M2}, .n = 2}},
		{"unaligned base", {.base = {0x800}, .size = {M2}, .n = 1}},
		{"unaligned size", {.base = {0}, .size = {M2 + 1}, .n = 1}},
		{"unaligned second base", {.base = {0, G4 + 0x10}, .size = {M2, M2}, .n = 2}},
		{"zero size", {.base = {0}, .size = {0}, .n = 1}},
		{"zero second size", {.base = {0, G4}, .size = {M2, 0}, .n = 2}},
		{"end wraps past 2^64", {.base = {UINT64_MAX - 4095}, .size = {8192}, .n = 1}},
		{"end exactly 2^64", {.base = {UINT64_MAX - 4095}, .size = {4096}, .n = 1}},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct guest_mem gm;
		memset(&gm, 0xa5, sizeof(gm));
		int ret = gm_init(&gm, &bad[i].l, GM_BACKING_4K);
		if (ret != -EINVAL)
			fail_msg("%s: gm_init returned %d, expected -EINVAL", bad[i].what, ret);
		/* A failed init leaves nothing to destroy. */
		assert_null(gm.mapping);
		assert_int_equal(gm.nregions, 0);
		gm_destroy(&gm);
	}
}

/* ---------------------------------------------------------------- gm_ptr */

/* Two regions with a gap: [0, 2 MiB) and [4 GiB, 4 GiB + 2 MiB). */
static int setup_gap(void **state)
{
	struct guest_mem *gm = calloc(1, sizeof(*gm));
	struct gm_layout l = layout2(0, M2, G4, M2);
	if (!gm || gm_init(gm, &l, GM_BACKING_4K)) {
		free(gm);
		return -1;
	}
	*state = gm;
	return 0;
}

static int teardown_gm(void **state)
{
	gm_destroy(*state);
	free(*state);
	return 0;
}

static void ptr_region_bounds(void **state)
{
	const struct guest_mem *gm = *state;
	uint8_t *h0 = gm->region[0].host, *h1 = gm->region[1].host;

	assert_ptr_equal(gm_ptr(gm, 0, 1), h0);
	assert_ptr_equal(gm_ptr(gm, 0, 0), h0);
	assert_ptr_equal(gm_ptr(gm, 0, M2), h0);
	assert_null(gm_ptr(gm, 0, M2 + 1));
	assert_ptr_equal(gm_ptr(gm, M2 - 1, 1), h0 + M2 - 1);
	assert_ptr_equal(gm_ptr(gm, M2 - 4, 4), h0 + M2 - 4);
	assert_null(gm_ptr(gm, M2 - 4, 5));
	/* len 0 at the very end is valid; one byte past is not. */
	assert_ptr_equal(gm_ptr(gm, M2, 0), h0 + M2);
	assert_null(gm_ptr(gm, M2, 1));
	assert_null(gm_ptr(gm, M2 + 1, 0));

	assert_ptr_equal(gm_ptr(gm, G4, 1), h1);
	assert_ptr_equal(gm_ptr(gm, G4, M2), h1);
	assert_ptr_equal(gm_ptr(gm, G4 + M2 - 8, 8), h1 + M2 - 8);
	assert_ptr_equal(gm_ptr(gm, G4 + M2, 0), h1 + M2);
	assert_null(gm_ptr(gm, G4 + M2, 1));
	assert_null(gm_ptr(gm, G4 + M2 - 8, 9));
	assert_null(gm_ptr(gm, G4 - 1, 1));
	assert_null(gm_ptr(gm, G4 - 1, 0));
}

static void ptr_gap_and_spans(void **state)
{
	const struct guest_mem *gm = *state;

	/* Inside the gap. */
	assert_null(gm_ptr(gm, GiB(3), 1));
	assert_null(gm_ptr(gm, GiB(3), 0));
	/* Starting in region 0, ending in the gap. */
	assert_null(gm_ptr(gm, M2 - 1, 2));
	/* Starting in the gap, ending in region 1. */
	assert_null(gm_ptr(gm, G4 - 1, 2));
	/* Spanning both regions and the gap. */
	assert_null(gm_ptr(gm, 0, G4 + 1));
	assert_null(gm_ptr(gm, M2 - 1, G4 - M2 + 2));
}

static void ptr_adjacent_regions(void **state)
{
	struct guest_mem gm;
	ut_gm_init2(&gm, 0, M2, M2, M2);

	/* The host mapping is contiguous, but an access may not cross from
	 * one region into the next. */
	assert_ptr_equal(gm.region[0].host + M2, gm.region[1].host);
	assert_null(gm_ptr(&gm, M2 - 1, 2));
	assert_null(gm_ptr(&gm, 0, 2 * M2));
	assert_ptr_equal(gm_ptr(&gm, M2, 1), gm.region[1].host);
	assert_ptr_equal(gm_ptr(&gm, M2 - 1, 1), gm.region[0].host + M2 - 1);
	assert_ptr_equal(gm_ptr(&gm, M2, M2), gm.region[1].host);
	assert_ptr_equal(gm_region_of(&gm, M2), &gm.region[1]);
	gm_destroy(&gm);
}

static void ptr_overflow(void **state)
{
	const struct guest_mem *gm = *state;

	/* gpa + len would wrap past 2^64 and land back inside region 0. */
	assert_null(gm_ptr(gm, 1, UINT64_MAX));
	assert_null(gm_ptr(gm, G4 + 16, UINT64_MAX - 8));
	assert_null(gm_ptr(gm, G4 + 16, UINT64_MAX));
	assert_null(gm_ptr(gm, M2 - 1, UINT64_MAX));
	assert_null(gm_ptr(gm, UINT64_MAX, 1));
	assert_null(gm_ptr(gm, UINT64_MAX, 0));
	assert_null(gm_ptr(gm, UINT64_MAX, UINT64_MAX));
	assert_null(gm_ptr(gm, 0, UINT64_MAX));
	assert_null(gm_region_of(gm, UINT64_MAX));
}

static void ptr_region_near_top(void **state)
{
	/* A region in the last pages of the address space. */
	struct guest_mem gm;
	gpa_t base = UINT64_MAX - 2 * 4096 + 1; /* 2^64 - 8 KiB */
	ut_gm_init2(&gm, base, 4096, 0, 0);

	assert_ptr_equal(gm_ptr(&gm, base, 4096), gm.region[0].host);
	assert_ptr_equal(gm_ptr(&gm, base + 4096, 0), gm.region[0].host + 4096);
	assert_null(gm_ptr(&gm, base + 4096, 1));
	assert_null(gm_ptr(&gm, base + 4095, 2));
	assert_null(gm_ptr(&gm, base + 1, UINT64_MAX));
	assert_null(gm_ptr(&gm, base + 4095, UINT64_MAX - 4000));
	assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	gm_destroy(&gm);
}

/* ---------------------------------------------------------------- copies */

static void read_write_roundtrip(void **state)
{
	const struct guest_mem *gm = *state;
	uint8_t in[300], out[300];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(gm_write(gm, 0x1234, in, sizeof(in)), 0);
	assert_memory_equal(gm->region[0].host + 0x1234, in, sizeof(in));
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_read(gm, 0x1234, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));

	/* At the end of region 1. */
	assert_int_equal(gm_write(gm, G4 + M2 - sizeof(in), in, sizeof(in)), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_read(gm, G4 + M2 - sizeof(in), out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));
	assert_memory_equal(gm->region[1].host + M2 - sizeof(in), in, sizeof(in));

	/* Zero part of it. */
	assert_int_equal(gm_zero(gm, 0x1234 + 10, 100), 0);
	assert_int_equal(gm_read(gm, 0x1234, out, sizeof(out)), 0);
	assert_memory_equal(out, in, 10);
	for (size_t i = 10; i < 110; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + 110, in + 110, sizeof(in) - 110);

	/* len 0 at the end. */
	assert_int_equal(gm_read(gm, M2, out, 0), 0);
	assert_int_equal(gm_write(gm, M2, in, 0), 0);
	assert_int_equal(gm_zero(gm, G4 + M2, 0), 0);
}

static void copies_fault(void **state)
{
	const struct guest_mem *gm = *state;
	uint8_t in[16], out[16];

	memset(in, 0x11, sizeof(in));
	memset(gm->region[0].host + M2 - 8, 0x22, 8);
	memset(out, 0x33, sizeof(out));

	/* Straddling the end of region 0: nothing is copied either way. */
	assert_errno(gm_write(gm, M2 - 8, in, 16), -EFAULT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(gm->region[0].host[M2 - 8 + i], 0x22);
	assert_errno(gm_read(gm, M2 - 8, out, 16), -EFAULT);
	for (int i = 0; i < 16; i++)
		assert_int_equal(out[i], 0x33);
	assert_errno(gm_zero(gm, M2 - 8, 16), -EFAULT);
	assert_int_equal(gm->region[0].host[M2 - 1], 0x22);

	/* In the gap, past the end, wrapping. */
	assert_errno(gm_read(gm, GiB(3), out, 1), -EFAULT);
	assert_errno(gm_write(gm, G4 - 1, in, 2), -EFAULT);
	assert_errno(gm_write(gm, G4 + M2, in, 1), -EFAULT);
	assert_errno(gm_zero(gm, 16, UINT64_MAX), -EFAULT);
	assert_errno(gm_read(gm, UINT64_MAX, out, 1), -EFAULT);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(init_one_region),
	cmocka_unit_test(init_two_regions),
	cmocka_unit_test(init_adjacent_and_max_regions),
	cmocka_unit_test(init_rejects),
	cmocka_unit_test_setup_teardown(ptr_region_bounds, setup_gap, teardown_gm),
	cmocka_unit_test_setup_teardown(ptr_gap_and_spans, setup_gap, teardown_gm),
	cmocka_unit_test(ptr_adjacent_regions),
	cmocka_unit_test_setup_teardown(ptr_overflow, setup_gap, teardown_gm),
	cmocka_unit_test(ptr_region_near_top),
	cmocka_unit_test_setup_teardown(read_write_roundtrip, setup_gap, teardown_gm),
	cmocka_unit_test_setup_teardown(copies_fault, setup_gap, teardown_gm),
};

UT_MAIN(tests, NULL, NULL)
