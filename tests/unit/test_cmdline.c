/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel command line builder: exact capacity (bytes including the
 * NUL), separators, -E2BIG without side effects, and cmdline_has. */
#include "unit.h"

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void init_state(void **state)
{
	struct cmdline c;
	memset(&c, 0xa5, sizeof(c));
	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(c.len, 0);
	assert_int_equal(c.cap, 2048);
	assert_string_equal(c.buf, "");
	/* The capacity is clamped to the buffer. */
	cmdline_init(&c, 1u << 20);
	assert_int_equal(c.cap, sizeof(c.buf));
}

static void exact_limit(void **state)
{
	struct cmdline c;
	char *s2047 = repeat('a', 2047), *s2048 = repeat('b', 2048);

	/* 2047 characters + NUL = 2048 bytes: fits. */
	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&c, s2047), 0);
	assert_int_equal(c.len, 2047);
	assert_int_equal(strlen(c.buf), 2047);
	assert_int_equal(c.buf[2047], '\0');
	/* Full: not even one more character. */
	assert_errno(cmdline_append(&c, "x"), -E2BIG);
	assert_int_equal(c.len, 2047);
	assert_string_equal(c.buf, s2047);

	/* 2048 characters: do not fit, nothing changes. */
	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_errno(cmdline_append(&c, s2048), -E2BIG);
	assert_int_equal(c.len, 0);
	assert_string_equal(c.buf, "");
	free(s2047);
	free(s2048);
}

static void limit_counts_the_separator(void **state)
{
	struct cmdline c;
	char *s2045 = repeat('c', 2045), *s2046 = repeat('d', 2046);

	/* "a" + ' ' + 2045 + NUL = 2048. */
	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&c, "a"), 0);
	assert_int_equal(cmdline_append(&c, s2045), 0);
	assert_int_equal(c.len, 2047);
	assert_int_equal(c.buf[1], ' ');
	assert_string_equal(c.buf + 2, s2045);

	/* "a" + ' ' + 2046 + NUL = 2049. */
	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&c, "a"), 0);
	assert_errno(cmdline_append(&c, s2046), -E2BIG);
	assert_int_equal(c.len, 1);
	assert_string_equal(c.buf, "a");
	free(s2045);
	free(s2046);
}

static void e2big_leaves_buffer_unchanged(void **state)
{
	struct cmdline c, before;
	char *big = repeat('z', 100);

	cmdline_init(&c, 64);
	assert_int_equal(cmdline_append(&c, "console=ttyS0"), 0);
	assert_int_equal(cmdline_append(&c, "reboot=k"), 0);
	memcpy(&before, &c, sizeof(c));
	assert_errno(cmdline_append(&c, big), -E2BIG);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Longer than the whole capacity, even on an empty line. */
	cmdline_init(&c, 64);
	memcpy(&before, &c, sizeof(c));
	assert_errno(cmdline_append(&c, big), -E2BIG);
	assert_memory_equal(&c, &before, sizeof(c));
	free(big);
}

static void separators(void **state)
{
	struct cmdline c;

	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&c, ""), 0); /* nothing, no space */
	assert_int_equal(c.len, 0);
	assert_int_equal(cmdline_append(&c, "console=ttyS0"), 0);
	assert_string_equal(c.buf, "console=ttyS0");
	assert_int_equal(cmdline_append(&c, "reboot=k panic=1"), 0);
	assert_string_equal(c.buf, "console=ttyS0 reboot=k panic=1");
	assert_int_equal(cmdline_append(&c, ""), 0); /* no trailing space */
	assert_string_equal(c.buf, "console=ttyS0 reboot=k panic=1");
	assert_int_equal(cmdline_append(&c, "pci=off"), 0);
	assert_string_equal(c.buf, "console=ttyS0 reboot=k panic=1 pci=off");
	assert_int_equal(c.len, strlen(c.buf));
}

static void small_capacities(void **state)
{
	struct cmdline c;

	cmdline_init(&c, 0);
	assert_errno(cmdline_append(&c, "a"), -E2BIG);
	cmdline_init(&c, 1); /* room for the NUL only */
	assert_errno(cmdline_append(&c, "a"), -E2BIG);
	assert_int_equal(cmdline_append(&c, ""), 0);
	cmdline_init(&c, 2);
	assert_int_equal(cmdline_append(&c, "a"), 0);
	assert_errno(cmdline_append(&c, "b"), -E2BIG);
	assert_string_equal(c.buf, "a");
	cmdline_init(&c, 4);
	assert_int_equal(cmdline_append(&c, "a"), 0);
	assert_int_equal(cmdline_append(&c, "b"), 0);
	assert_string_equal(c.buf, "a b");
}

static void has(void **state)
{
	struct cmdline c;

	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_false(cmdline_has(&c, "pci="));
	assert_int_equal(cmdline_append(&c, "console=ttyS0 reboot=k  panic=1 pci=off"), 0);
	assert_true(cmdline_has(&c, "console="));
	assert_true(cmdline_has(&c, "reboot="));
	assert_true(cmdline_has(&c, "panic=")); /* after two spaces */
	assert_true(cmdline_has(&c, "panic=1"));
	assert_true(cmdline_has(&c, "pci=")); /* the last parameter */
	assert_false(cmdline_has(&c, "root="));
	assert_false(cmdline_has(&c, "oot=")); /* not the start of a parameter */
	assert_false(cmdline_has(&c, "ttyS0"));
	assert_false(cmdline_has(&c, "=off"));
	assert_false(cmdline_has(&c, "panic=10"));

	cmdline_init(&c, LAYOUT_CMDLINE_MAX);
	assert_int_equal(cmdline_append(&c, "  root=/dev/vda "), 0);
	assert_true(cmdline_has(&c, "root="));
	assert_false(cmdline_has(&c, "vda"));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(init_state),
	cmocka_unit_test(exact_limit),
	cmocka_unit_test(limit_counts_the_separator),
	cmocka_unit_test(e2big_leaves_buffer_unchanged),
	cmocka_unit_test(separators),
	cmocka_unit_test(small_capacities),
	cmocka_unit_test(has),
};

UT_MAIN(tests, NULL, NULL)
