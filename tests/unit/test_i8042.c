/* SPDX-License-Identifier: Apache-2.0 */
/* The i8042: CPU reset, the controller command byte, keyboard
 * acknowledgements, Ctrl-Alt-Del injection and IRQ 1 (observed through
 * the IRQ eventfd). */
#include "unit.h"

#include "devices/legacy/i8042.h"

enum { DATA = 0, STATUS = 4 };

/* Status bits (boot.rst is silent; these are the 8042's). */
#define ST_OBF 0x01	/* output buffer full */
#define ST_CMD 0x08	/* last write was a command */
#define ST_KBD_EN 0x10	/* keyboard enabled */

struct fx {
	struct i8042 k;
	unsigned resets;
	void *reset_opaque;
};

static void on_reset(void *opaque)
{
	struct fx *f = opaque;
	f->resets++;
	f->reset_opaque = opaque;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || i8042_init(&f->k, 1, on_reset, f))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	i8042_destroy(&f->k);
	free(f);
	return 0;
}

static void wr(struct fx *f, uint64_t off, uint8_t v)
{
	i8042_ops.write(&f->k, off, &v, 1);
}

static uint8_t rd(struct fx *f, uint64_t off)
{
	uint8_t v = 0xee;
	i8042_ops.read(&f->k, off, &v, 1);
	return v;
}

static uint64_t irqs(struct fx *f)
{
	return ut_efd_take(f->k.irq.fd);
}

static void initial_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->k.irq.gsi, 1);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN);
	assert_int_equal(rd(f, DATA), 0); /* nothing queued */
	assert_int_equal(irqs(f), 0);
	assert_int_equal(f->resets, 0);
}

static void reset_command(void **state)
{
	struct fx *f = *state;

	wr(f, STATUS, 0xfe);
	assert_int_equal(f->resets, 1);
	assert_ptr_equal(f->reset_opaque, f);
	assert_int_equal(i8042_stats(&f->k).reset_count, 1);
	/* 0xFE on the data port is a keyboard byte, not a reset. */
	wr(f, DATA, 0xfe);
	assert_int_equal(f->resets, 1);
}

static void read_control_byte(void **state)
{
	struct fx *f = *state;

	wr(f, STATUS, 0x20);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN | ST_CMD | ST_OBF);
	/* POST passed, keyboard interrupt enabled. */
	assert_int_equal(rd(f, DATA), 0x05);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN | ST_CMD);
	assert_int_equal(irqs(f), 0);
}

static void write_control_byte(void **state)
{
	struct fx *f = *state;

	wr(f, STATUS, 0x60);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN | ST_CMD);
	wr(f, DATA, 0x44);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN); /* the data byte clears "command" */
	assert_int_equal(f->k.control, 0x44);
	wr(f, STATUS, 0x20);
	assert_int_equal(rd(f, DATA), 0x44);
	/* The operand was consumed: the next data byte goes to the keyboard. */
	wr(f, DATA, 0x55);
	assert_int_equal(f->k.control, 0x44);
	assert_int_equal(rd(f, DATA), 0xfa);
}

static void output_port(void **state)
{
	struct fx *f = *state;

	wr(f, STATUS, 0xd1);
	wr(f, DATA, 0x5a);
	wr(f, STATUS, 0xd0);
	assert_int_equal(rd(f, DATA), 0x5a);
	/* An unknown command queues nothing. */
	wr(f, STATUS, 0xaa);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN | ST_CMD);
	assert_int_equal(rd(f, DATA), 0);
}

static void keyboard_byte_acked(void **state)
{
	struct fx *f = *state;

	wr(f, DATA, 0xff); /* keyboard reset */
	assert_int_equal(rd(f, STATUS), ST_KBD_EN | ST_OBF);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, DATA), 0xfa);
	assert_int_equal(rd(f, STATUS), ST_KBD_EN);

	/* With keyboard interrupts off: acked, but silently. */
	wr(f, STATUS, 0x60);
	wr(f, DATA, 0x04);
	wr(f, DATA, 0xed);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, DATA), 0xfa);

	/* An ack replaces whatever was queued. */
	assert_int_equal(i8042_send_ctrl_alt_del(&f->k), 0);
	wr(f, DATA, 0xf4);
	assert_int_equal(rd(f, DATA), 0xfa);
	assert_int_equal(rd(f, DATA), 0);
}

static void ctrl_alt_del(void **state)
{
	struct fx *f = *state;
	static const uint8_t want[] = {0x14, 0x11, 0xe0, 0x71};

	assert_int_equal(i8042_send_ctrl_alt_del(&f->k), 0);
	assert_int_equal(irqs(f), 1); /* one IRQ 1 for the sequence */
	assert_int_equal(f->k.irq.raised, 1);
	for (size_t i = 0; i < sizeof(want); i++) {
		assert_true(rd(f, STATUS) & ST_OBF);
		assert_int_equal(rd(f, DATA), want[i]);
	}
	assert_false(rd(f, STATUS) & ST_OBF);

	/* Keyboard interrupts disabled in the control byte: no IRQ. */
	wr(f, STATUS, 0x60);
	wr(f, DATA, 0x04);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->k), 0);
	assert_int_equal(irqs(f), 0);
	assert_int_equal(f->k.irq.raised, 1);
	for (size_t i = 0; i < sizeof(want); i++)
		assert_int_equal(rd(f, DATA), want[i]);
}

static void buffer_full(void **state)
{
	struct fx *f = *state;
	static const uint8_t cad[] = {0x14, 0x11, 0xe0, 0x71};

	for (int i = 0; i < I8042_BUF / 4; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(&f->k), 0);
	assert_int_equal(irqs(f), I8042_BUF / 4);
	assert_errno(i8042_send_ctrl_alt_del(&f->k), -ENOSPC);
	assert_int_equal(irqs(f), 0);
	/* Nothing partial was queued: exactly four sequences come out. */
	for (int i = 0; i < I8042_BUF; i++)
		assert_int_equal(rd(f, DATA), cad[i % 4]);
	assert_false(rd(f, STATUS) & ST_OBF);
	assert_int_equal(rd(f, DATA), 0);

	/* Partly full: the whole sequence must fit. */
	wr(f, STATUS, 0x20);
	for (int i = 0; i < 3; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(&f->k), 0);
	assert_errno(i8042_send_ctrl_alt_del(&f->k), -ENOSPC);
	assert_int_equal(rd(f, DATA), 0x05);
}

static void odd_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t two[2] = {0xfe, 0xfe};

	/* Only single bytes at 0x60 and 0x64 do anything. */
	i8042_ops.write(&f->k, STATUS, two, 2);
	assert_int_equal(f->resets, 0);
	wr(f, 2, 0xfe);
	assert_int_equal(f->resets, 0);
	assert_int_equal(rd(f, 1), 0);
	struct i8042_stats s = i8042_stats(&f->k);
	assert_int_equal(s.missed_write_count, 2);
	assert_int_equal(s.missed_read_count, 1);
	assert_int_equal(s.write_count, 2);
	assert_int_equal(s.read_count, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(initial_state),
	T(reset_command),
	T(read_control_byte),
	T(write_control_byte),
	T(output_port),
	T(keyboard_byte_acked),
	T(ctrl_alt_del),
	T(buffer_full),
	T(odd_accesses),
};

UT_MAIN(tests, NULL, NULL)
