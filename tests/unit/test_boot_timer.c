/* SPDX-License-Identifier: Apache-2.0 */
/* The boot timer: only a 1-byte write of 123 at offset 0 records (and logs)
 * the time since the VM build started. */
#include "unit.h"

#include "arch/x86_64/layout.h"
#include "bus/bus.h"
#include "common/log.h"
#include "devices/legacy/boot_timer.h"

static void wr(struct boot_timer *t, uint64_t off, const uint8_t *d, uint32_t len)
{
	boot_timer_ops.write(t, off, d, len);
}

static void init_state(void **state)
{
	struct boot_timer t;
	memset(&t, 0xa5, sizeof(t));
	boot_timer_init(&t, 111, 222);
	assert_int_equal(t.start_us, 111);
	assert_int_equal(t.start_cpu_us, 222);
	assert_int_equal(t.last_us, 0);
}

static void magic_write_records(void **state)
{
	struct boot_timer t;
	const uint8_t magic = BOOT_TIMER_MAGIC;
	char path[PATH_MAX];

	assert_int_equal(BOOT_TIMER_MAGIC, 123);
	assert_int_equal(ut_write_file(path, "log", "", 0), 0);
	assert_int_equal(log_set_path(path), 0);

	/* The build "started" 5 ms ago. */
	boot_timer_init(&t, now_mono_us() - 5000, process_cpu_us());
	uint64_t before = now_mono_us();
	wr(&t, 0, &magic, 1);
	uint64_t after = now_mono_us();
	assert_in_range(t.last_us, 5000, 5000 + (after - before) + 1000000);
	log_close();

	/* Firecracker's line, which boot-time tooling greps for. */
	char *log = ut_slurp(path, NULL);
	assert_non_null(log);
	assert_substr(log, "Guest-boot-time = ");
	assert_substr(log, " us ");
	assert_substr(log, " CPU us ");
	free(log);
	unlink(path);
}

static void other_writes_ignored(void **state)
{
	struct boot_timer t;
	const uint8_t v122 = 122, v124 = 124, magic = BOOT_TIMER_MAGIC;
	const uint8_t wide[8] = {BOOT_TIMER_MAGIC};

	boot_timer_init(&t, now_mono_us() - 5000, 0);
	wr(&t, 0, &v122, 1);
	wr(&t, 0, &v124, 1);
	wr(&t, 1, &magic, 1);    /* another offset */
	wr(&t, 0xfff, &magic, 1);
	wr(&t, 0, wide, 2);      /* another width, same first byte */
	wr(&t, 0, wide, 4);
	wr(&t, 0, wide, 8);
	assert_int_equal(t.last_us, 0);
	wr(&t, 0, &magic, 1);
	assert_true(t.last_us >= 5000);
}

static void reads_are_zero(void **state)
{
	struct boot_timer t;
	uint8_t d[8];

	boot_timer_init(&t, 0, 0);
	memset(d, 0xff, sizeof(d));
	boot_timer_ops.read(&t, 0, d, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(d[i], 0);
	memset(d, 0xff, sizeof(d));
	boot_timer_ops.read(&t, 3, d, 1);
	assert_int_equal(d[0], 0);
	assert_int_equal(d[1], 0xff);
}

static void through_the_mmio_bus(void **state)
{
	struct boot_timer t;
	struct bus b;
	const uint8_t magic = BOOT_TIMER_MAGIC;

	boot_timer_init(&t, now_mono_us() - 2000, 0);
	bus_init(&b, "mmio");
	assert_int_equal(bus_insert(&b, LAYOUT_BOOT_TIMER, LAYOUT_BOOT_TIMER_LEN, &boot_timer_ops,
				    &t, "boot-timer"),
			 0);
	assert_true(bus_write(&b, LAYOUT_BOOT_TIMER + 1, &magic, 1));
	assert_int_equal(t.last_us, 0);
	assert_true(bus_write(&b, LAYOUT_BOOT_TIMER, &magic, 1));
	assert_true(t.last_us >= 2000);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(init_state),
	cmocka_unit_test(magic_write_records),
	cmocka_unit_test(other_writes_ignored),
	cmocka_unit_test(reads_are_zero),
	cmocka_unit_test(through_the_mmio_bus),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
