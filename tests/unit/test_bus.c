/* SPDX-License-Identifier: Apache-2.0 */
/* The PIO/MMIO bus: sorted insertion, overlap and wrap-around checks,
 * lookups that must see the whole access, unclaimed accesses, and what a
 * device's handler is given. */
#include "unit.h"

#include "bus/bus.h"
#include "common/log.h"

/* A device that records its calls. */
struct fake {
	unsigned reads, writes;
	uint64_t off;
	uint32_t len;
	uint8_t data[16];
};

static void fake_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = opaque;
	f->reads++;
	f->off = off;
	f->len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(0xa0 + off + i);
}

static void fake_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = opaque;
	f->writes++;
	f->off = off;
	f->len = len;
	memcpy(f->data, data, len);
}

static const struct bus_ops fake_ops = {.read = fake_read, .write = fake_write};

static int setup(void **state)
{
	struct bus *b = malloc(sizeof(*b));
	if (!b)
		return -1;
	bus_init(b, "pio");
	*state = b;
	/* Unclaimed accesses log; keep the output short. */
	log_set_level(LOG_LVL_ERROR);
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void ins_ok(struct bus *b, uint64_t base, uint64_t len, void *opaque, const char *name)
{
	int ret = bus_insert(b, base, len, &fake_ops, opaque, name);
	if (ret)
		fail_msg("bus_insert(0x%llx, 0x%llx) = %d", (unsigned long long)base,
			 (unsigned long long)len, ret);
}

static void check_sorted(const struct bus *b)
{
	for (unsigned i = 1; i < b->n; i++)
		if (b->range[i - 1].base + b->range[i - 1].len > b->range[i].base)
			fail_msg("ranges %u and %u out of order or overlapping", i - 1, i);
}

/* ---------------------------------------------------------------- insert */

static void init_state(void **state)
{
	struct bus b;
	memset(&b, 0xa5, sizeof(b));
	bus_init(&b, "mmio");
	assert_string_equal(b.name, "mmio");
	assert_int_equal(b.n, 0);
	assert_int_equal(b.unclaimed_reads, 0);
	assert_int_equal(b.unclaimed_writes, 0);
	assert_null(bus_find(&b, 0, 1));
}

static void insert_keeps_order(void **state)
{
	struct bus *b = *state;
	int a, c, d, e;

	ins_ok(b, 0x3f8, 8, &a, "com1");
	ins_ok(b, 0x60, 5, &c, "i8042");
	ins_ok(b, 0x400, 1, &d, "late");
	ins_ok(b, 0x2f8, 8, &e, "com2");
	assert_int_equal(b->n, 4);
	assert_int_equal(b->range[0].base, 0x60);
	assert_string_equal(b->range[0].name, "i8042");
	assert_ptr_equal(b->range[0].opaque, &c);
	assert_int_equal(b->range[1].base, 0x2f8);
	assert_int_equal(b->range[2].base, 0x3f8);
	assert_int_equal(b->range[2].len, 8);
	assert_ptr_equal(b->range[2].ops, &fake_ops);
	assert_int_equal(b->range[3].base, 0x400);
	assert_ptr_equal(b->range[3].opaque, &d);
	check_sorted(b);
}

static void insert_overlaps(void **state)
{
	struct bus *b = *state;
	struct bus before;

	ins_ok(b, 0x1000, 0x10, NULL, "a");
	ins_ok(b, 0x2000, 0x10, NULL, "b");
	memcpy(&before, b, sizeof(before));
	static const struct {
		uint64_t base, len;
	} bad[] = {
		{0x1000, 0x10}, /* the same range */
		{0x1008, 1},	/* inside */
		{0x0ff0, 0x11}, /* its last byte is a's first */
		{0x100f, 1},	/* a's last byte */
		{0x100f, 0xff2}, /* from a's last byte to b's first */
		{0x0000, 0x10000}, /* covers both */
		{0x1ff0, 0x20}, /* across b's start */
		{0x0, UINT64_MAX}, /* nearly everything */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = bus_insert(b, bad[i].base, bad[i].len, &fake_ops, NULL, "x");
		if (ret != -EEXIST)
			fail_msg("[0x%llx, +0x%llx): %d, expected -EEXIST",
				 (unsigned long long)bad[i].base, (unsigned long long)bad[i].len,
				 ret);
	}
	assert_memory_equal(b, &before, sizeof(before));

	/* Touching, not overlapping. */
	ins_ok(b, 0x0ff0, 0x10, NULL, "just below a");
	ins_ok(b, 0x1010, 0x10, NULL, "just above a");
	ins_ok(b, 0x1020, 0x1000 - 0x20, NULL, "filling the hole up to b");
	ins_ok(b, 0x2010, 1, NULL, "just above b");
	assert_int_equal(b->n, 6);
	check_sorted(b);
	assert_int_equal(b->range[0].base, 0x0ff0);
	assert_int_equal(b->range[5].base, 0x2010);
}

static void insert_edges_of_address_space(void **state)
{
	struct bus *b = *state;

	assert_errno(bus_insert(b, 0x10, 0, &fake_ops, NULL, "empty"), -EINVAL);
	assert_errno(bus_insert(b, 0, 0, &fake_ops, NULL, "empty at 0"), -EINVAL);
	assert_errno(bus_insert(b, UINT64_MAX, 2, &fake_ops, NULL, "wraps"), -EINVAL);
	assert_errno(bus_insert(b, 0x10, UINT64_MAX, &fake_ops, NULL, "wraps"), -EINVAL);
	assert_errno(bus_insert(b, 0x10, 1, NULL, NULL, "no ops"), -EINVAL);
	assert_int_equal(b->n, 0);

	/* A range may end exactly at 2^64 ... */
	ins_ok(b, UINT64_MAX - 15, 16, NULL, "top");
	ins_ok(b, UINT64_MAX - 16, 1, NULL, "below top");
	assert_errno(bus_insert(b, UINT64_MAX, 1, &fake_ops, NULL, "x"), -EEXIST);
	assert_errno(bus_insert(b, UINT64_MAX - 17, 2, &fake_ops, NULL, "x"), -EEXIST);
	/* ... and start at 0, and [0, 2^64 - 1) is a valid length. */
	ins_ok(b, 0, 1, NULL, "zero");
	assert_int_equal(b->n, 3);
	check_sorted(b);
	assert_non_null(bus_find(b, UINT64_MAX, 1));
	assert_null(bus_find(b, UINT64_MAX, 2));
	assert_ptr_equal(bus_find(b, UINT64_MAX - 15, 16), &b->range[2]);

	struct bus b2;
	bus_init(&b2, "whole");
	ins_ok(&b2, 0, UINT64_MAX, NULL, "almost all");
	assert_non_null(bus_find(&b2, 0, 8));
	assert_non_null(bus_find(&b2, UINT64_MAX - 1, 1));
	assert_null(bus_find(&b2, UINT64_MAX, 1));
	ins_ok(&b2, UINT64_MAX, 1, NULL, "last byte");
}

static void bus_full(void **state)
{
	struct bus *b = *state;

	/* Insert in descending order: every insert shifts the array. */
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
		ins_ok(b, (BUS_MAX_RANGES - i) * 0x100ull, 0x10, NULL, "r");
	assert_int_equal(b->n, BUS_MAX_RANGES);
	assert_errno(bus_insert(b, 0x100000, 1, &fake_ops, NULL, "one too many"), -ENOSPC);
	assert_int_equal(b->n, BUS_MAX_RANGES);
	check_sorted(b);
	assert_int_equal(b->range[0].base, 0x100);
	assert_int_equal(b->range[BUS_MAX_RANGES - 1].base, BUS_MAX_RANGES * 0x100ull);
}

/* ---------------------------------------------------------------- find */

static void find_whole_access(void **state)
{
	struct bus *b = *state;

	ins_ok(b, 0x1000, 0x10, NULL, "a");
	const struct bus_range *a = &b->range[0];
	assert_ptr_equal(bus_find(b, 0x1000, 1), a);
	assert_ptr_equal(bus_find(b, 0x1000, 0x10), a);
	assert_ptr_equal(bus_find(b, 0x100f, 1), a);
	assert_ptr_equal(bus_find(b, 0x100c, 4), a);
	/* Straddling the end or the start: unclaimed. */
	assert_null(bus_find(b, 0x100f, 2));
	assert_null(bus_find(b, 0x100c, 8));
	assert_null(bus_find(b, 0x1000, 0x11));
	assert_null(bus_find(b, 0x0fff, 2));
	assert_null(bus_find(b, 0x0fff, 1));
	assert_null(bus_find(b, 0x1010, 1));
	assert_null(bus_find(b, 0x1008, UINT64_MAX));
	/* Straddling into an adjacent range: still unclaimed. */
	ins_ok(b, 0x1010, 0x10, NULL, "b");
	assert_null(bus_find(b, 0x100e, 4));
	assert_ptr_equal(bus_find(b, 0x1010, 4), &b->range[1]);
}

static void find_among_many(void **state)
{
	struct bus *b = *state;

	/* 64 ranges inserted in a scrambled order (17 is coprime to 64). */
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++) {
		unsigned k = (i * 17) % BUS_MAX_RANGES;
		ins_ok(b, 0x10000 + k * 0x100ull, 0x10 + k, NULL, "r");
	}
	check_sorted(b);
	for (unsigned k = 0; k < BUS_MAX_RANGES; k++) {
		uint64_t base = 0x10000 + k * 0x100ull, len = 0x10 + k;
		const struct bus_range *r = bus_find(b, base + 2, 4);
		assert_non_null(r);
		assert_int_equal(r->base, base);
		assert_ptr_equal(bus_find(b, base + len - 1, 1), r);
		assert_null(bus_find(b, base + len, 1));
		assert_null(bus_find(b, base + len - 1, 2));
		assert_null(bus_find(b, base - 1, 1));
	}
	assert_null(bus_find(b, 0, 1));
	assert_null(bus_find(b, UINT64_MAX, 1));
}

/* ---------------------------------------------------------------- dispatch */

static void dispatch_offsets(void **state)
{
	struct bus *b = *state;
	struct fake dev = {0}, other = {0};
	uint8_t data[8];

	ins_ok(b, 0x3f8, 8, &dev, "com1");
	ins_ok(b, 0x400, 8, &other, "other");

	assert_true(bus_read(b, 0x3fb, data, 4));
	assert_int_equal(dev.reads, 1);
	assert_int_equal(dev.off, 3);
	assert_int_equal(dev.len, 4);
	assert_int_equal(data[0], 0xa3);
	assert_int_equal(data[3], 0xa6);

	const uint8_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	assert_true(bus_write(b, 0x3f8, w, 8));
	assert_int_equal(dev.writes, 1);
	assert_int_equal(dev.off, 0);
	assert_int_equal(dev.len, 8);
	assert_memory_equal(dev.data, w, 8);
	assert_true(bus_write(b, 0x3ff, w + 7, 1));
	assert_int_equal(dev.off, 7);
	assert_int_equal(dev.len, 1);
	assert_int_equal(dev.data[0], 8);
	assert_true(bus_read(b, 0x404, data, 2));
	assert_int_equal(other.reads, 1);
	assert_int_equal(other.off, 4);
	assert_int_equal(dev.reads, 1);
	assert_int_equal(b->unclaimed_reads, 0);
	assert_int_equal(b->unclaimed_writes, 0);
}

static void unclaimed(void **state)
{
	struct bus *b = *state;
	struct fake dev = {0};
	uint8_t data[16];
	const uint8_t w[4] = {1, 2, 3, 4};

	ins_ok(b, 0x1000, 0x10, &dev, "dev");

	memset(data, 0, sizeof(data));
	assert_false(bus_read(b, 0x5000, data, 4));
	for (int i = 0; i < 4; i++)
		assert_int_equal(data[i], 0xff);
	assert_int_equal(data[4], 0); /* no more than len */
	assert_int_equal(b->unclaimed_reads, 1);

	/* Straddling the device's end: the device is not called. */
	memset(data, 0, sizeof(data));
	assert_false(bus_read(b, 0x100e, data, 4));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_false(bus_write(b, 0x100e, w, 4));
	assert_int_equal(dev.reads, 0);
	assert_int_equal(dev.writes, 0);
	assert_int_equal(b->unclaimed_reads, 2);
	assert_int_equal(b->unclaimed_writes, 1);

	/* Widths a handler never sees: 0 and more than 8. */
	memset(data, 0, sizeof(data));
	assert_false(bus_read(b, 0x1000, data, 16));
	for (int i = 0; i < 16; i++)
		assert_int_equal(data[i], 0xff);
	assert_false(bus_read(b, 0x1000, data, 0));
	assert_false(bus_write(b, 0x1000, w, 0));
	assert_int_equal(dev.reads, 0);
	assert_int_equal(dev.writes, 0);
	assert_int_equal(b->unclaimed_reads, 4);
	assert_int_equal(b->unclaimed_writes, 2);

	assert_false(bus_write(b, 0x10, w, 1));
	assert_int_equal(b->unclaimed_writes, 3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(init_state),
	T(insert_keeps_order),
	T(insert_overlaps),
	T(insert_edges_of_address_space),
	T(bus_full),
	T(find_whole_access),
	T(find_among_many),
	T(dispatch_offsets),
	T(unclaimed),
};

UT_MAIN(tests, NULL, NULL)
