/* SPDX-License-Identifier: Apache-2.0 */
/* The 16550A UART: output through the ring to a pipe sink, drops and sink
 * failures, register semantics (LSR, IIR, IER, MCR/MSR loopback, DLAB),
 * interrupts observed through the IRQ eventfd, and the receive FIFO with
 * its "room again" notification. */
#include "unit.h"

#include <signal.h>

#include "devices/legacy/serial.h"

enum { DATA = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct fx {
	struct uart u;
	int rd, wr; /* the sink pipe */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int p[2];
	if (!f || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	f->rd = p[0];
	f->wr = p[1];
	if (uart_init(&f->u, f->wr, 4))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	uart_destroy(&f->u);
	close_fd(&f->rd);
	close_fd(&f->wr);
	free(f);
	return 0;
}

static void wr(struct fx *f, uint64_t off, uint8_t v)
{
	uart_ops.write(&f->u, off, &v, 1);
}

static uint8_t rd(struct fx *f, uint64_t off)
{
	uint8_t v = 0;
	uart_ops.read(&f->u, off, &v, 1);
	return v;
}

static uint64_t irqs(struct fx *f)
{
	return ut_efd_take(f->u.irq.fd);
}

static uint64_t notified(struct fx *f)
{
	return ut_efd_take(f->u.notify_fd);
}

/* Reads what is in the sink pipe (up to cap bytes). */
static size_t sink(struct fx *f, uint8_t *buf, size_t cap)
{
	ssize_t n = read(f->rd, buf, cap);
	return n < 0 ? 0 : (size_t)n;
}

/* ---------------------------------------------------------------- registers */

static void reset_state(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->u.irq.gsi, 4);
	assert_int_equal(rd(f, LSR), 0x60); /* THR empty, transmitter empty */
	assert_int_equal(rd(f, IIR), 0xc1); /* FIFOs on, no interrupt */
	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0x08); /* OUT2 */
	assert_int_equal(rd(f, MSR), 0xb0); /* DCD, DSR, CTS */
	assert_int_equal(rd(f, SCR), 0);
	assert_int_equal(rd(f, DATA), 0); /* empty FIFO */
	assert_int_equal(irqs(f), 0);
	assert_int_equal(notified(f), 0);
	struct uart_stats s = uart_stats(&f->u);
	assert_int_equal(s.write_count | s.read_count | s.missed_write_count, 0);
}

static void scratch_and_read_only(void **state)
{
	struct fx *f = *state;

	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
	wr(f, LSR, 0x00);
	wr(f, MSR, 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0);
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f);
	wr(f, MCR, 0xff);
	assert_int_equal(rd(f, MCR), 0x1f);
}

static void wide_access(void **state)
{
	struct fx *f = *state;
	uint8_t d[4];

	wr(f, SCR, 0x77);
	uart_ops.read(&f->u, LSR, d, 3);
	assert_int_equal(d[0], 0x60);
	assert_int_equal(d[1], 0xb0);
	assert_int_equal(d[2], 0x77);
	/* Past register 7 reads as all ones; writes there are dropped. */
	uart_ops.read(&f->u, MSR, d, 4);
	assert_int_equal(d[1], 0x77);
	assert_int_equal(d[2], 0xff);
	assert_int_equal(d[3], 0xff);
	const uint8_t w[2] = {0x11, 0x22};
	uart_ops.write(&f->u, SCR, w, 2);
	assert_int_equal(rd(f, SCR), 0x11);
}

static void dlab(void **state)
{
	struct fx *f = *state;

	wr(f, LCR, 0x83); /* DLAB, 8N1 */
	assert_int_equal(rd(f, LCR), 0x83);
	wr(f, DATA, 0x0c); /* 9600 baud */
	wr(f, IER, 0x00);
	assert_int_equal(rd(f, DATA), 0x0c);
	assert_int_equal(rd(f, IER), 0x00);
	wr(f, IER, 0x03);
	assert_int_equal(rd(f, IER), 0x03);
	/* Nothing was transmitted and IER is untouched. */
	assert_int_equal(uart_stats(&f->u).write_count, 0);
	assert_int_equal(notified(f), 0);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0x00);
	assert_int_equal(irqs(f), 0);
	/* The divisor is kept. */
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, DATA), 0x0c);
	assert_int_equal(rd(f, IER), 0x03);
}

/* ---------------------------------------------------------------- output */

static void thr_output(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	for (const char *p = "hello"; *p; p++)
		wr(f, DATA, (uint8_t)*p);
	/* One notification for the empty -> non-empty transition. */
	assert_int_equal(notified(f), 1);
	assert_int_equal(sink(f, buf, sizeof(buf)), 0); /* buffered until drained */
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(sink(f, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	struct uart_stats s = uart_stats(&f->u);
	assert_int_equal(s.write_count, 5);
	assert_int_equal(s.flush_count, 1);
	assert_int_equal(s.missed_write_count, 0);
	/* Nothing left: draining again writes nothing. */
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(uart_stats(&f->u).flush_count, 1);
	wr(f, DATA, '!');
	assert_int_equal(notified(f), 1);
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(sink(f, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], '!');
	assert_int_equal(irqs(f), 0); /* IER is 0 */
}

static void ring_full_drops(void **state)
{
	struct fx *f = *state;
	static uint8_t buf[UART_OUT_RING];

	for (unsigned i = 0; i < UART_OUT_RING + 10; i++)
		wr(f, DATA, (uint8_t)i);
	struct uart_stats s = uart_stats(&f->u);
	assert_int_equal(s.write_count, UART_OUT_RING + 10);
	assert_int_equal(s.missed_write_count, 10);
	assert_int_equal(notified(f), 1);

	/* The first UART_OUT_RING bytes come out, in order. */
	assert_true(fcntl(f->wr, F_SETPIPE_SZ, 2 * UART_OUT_RING) >= 2 * (int)UART_OUT_RING);
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(sink(f, buf, sizeof(buf)), UART_OUT_RING);
	for (unsigned i = 0; i < UART_OUT_RING; i++)
		if (buf[i] != (uint8_t)i)
			fail_msg("byte %u is 0x%02x", i, buf[i]);
	assert_int_equal(uart_stats(&f->u).missed_write_count, 10);
}

static void sink_full_and_ring_wrap(void **state)
{
	struct fx *f = *state;
	static uint8_t got[70000];
	size_t n = 0;
	uint32_t seq = 0;

	/* A 4 KiB sink: drains stop with -EAGAIN and resume where they were. */
	assert_true(fcntl(f->wr, F_SETPIPE_SZ, 4096) >= 4096);
	for (; seq < 60000; seq++)
		wr(f, DATA, (uint8_t)(seq * 7));
	assert_errno(uart_drain(&f->u), -EAGAIN);
	n += sink(f, got + n, sizeof(got) - n);
	assert_true(n > 0 && n < 60000);
	/* More output while the ring is part-drained: the tail wraps. */
	for (; seq < 68000; seq++)
		wr(f, DATA, (uint8_t)(seq * 7));
	for (int i = 0; i < 100 && n < 68000; i++) {
		int ret = uart_drain(&f->u);
		assert_true(ret == 0 || ret == -EAGAIN);
		n += sink(f, got + n, sizeof(got) - n);
	}
	assert_int_equal(n, 68000);
	for (uint32_t i = 0; i < 68000; i++)
		if (got[i] != (uint8_t)(i * 7))
			fail_msg("byte %u is 0x%02x, expected 0x%02x", i, got[i], (uint8_t)(i * 7));
	struct uart_stats s = uart_stats(&f->u);
	assert_int_equal(s.missed_write_count, 0);
	assert_int_equal(s.error_count, 0);
	assert_true(s.flush_count >= 68000 / 4096);
}

static void sink_failure_drops(void **state)
{
	struct fx *f = *state;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	close_fd(&f->rd); /* nobody reads the sink any more */
	wr(f, DATA, 'a');
	wr(f, DATA, 'b');
	wr(f, DATA, 'c');
	assert_errno(uart_drain(&f->u), -EPIPE);
	struct uart_stats s = uart_stats(&f->u);
	assert_int_equal(s.error_count, 1);
	assert_int_equal(s.missed_write_count, 3);
	assert_int_equal(s.write_count, 3);
	/* The pending bytes are gone: nothing left to retry. */
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(uart_stats(&f->u).error_count, 1);
	/* New output after a failure is buffered again (and notified). */
	notified(f);
	wr(f, DATA, 'd');
	assert_int_equal(notified(f), 1);
	assert_errno(uart_drain(&f->u), -EPIPE);
	assert_int_equal(uart_stats(&f->u).missed_write_count, 4);
	signal(SIGPIPE, old);
}

/* ---------------------------------------------------------------- interrupts */

static void thre_interrupt(void **state)
{
	struct fx *f = *state;

	/* Enabling THRE interrupts raises one at once (THR is empty). */
	wr(f, IER, 0x02);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(f->u.irq.raised, 1);
	assert_int_equal(rd(f, IIR), 0xc2);
	/* Reading IIR acknowledged it. */
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(irqs(f), 0);

	/* Each THR write empties at once and interrupts again. */
	wr(f, DATA, 'x');
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc2);
	assert_int_equal(rd(f, IIR), 0xc1);

	/* Disabled: no interrupt, and IIR says none. */
	wr(f, IER, 0x00);
	assert_int_equal(irqs(f), 0);
	wr(f, DATA, 'y');
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(f->u.irq.raised, 2);
	assert_int_equal(rd(f, LSR), 0x60);
}

static void rx_interrupt_and_priority(void **state)
{
	struct fx *f = *state;

	assert_int_equal(uart_input(&f->u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irqs(f), 0); /* RDA interrupts are off */
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, IIR), 0xc1);

	wr(f, IER, 0x01); /* enabling with data waiting interrupts */
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(rd(f, DATA), 'a');
	assert_int_equal(irqs(f), 1); /* still data: raised again */
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(rd(f, DATA), 'b');
	assert_int_equal(irqs(f), 0);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(uart_stats(&f->u).read_count, 2);

	/* Received data outranks THR empty; THRE stays pending behind it. */
	wr(f, IER, 0x03);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(uart_input(&f->u, (const uint8_t *)"c", 1), 1);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(rd(f, DATA), 'c');
	assert_int_equal(rd(f, IIR), 0xc2);
	assert_int_equal(rd(f, IIR), 0xc1);
}

/* ---------------------------------------------------------------- loopback */

static void loopback(void **state)
{
	struct fx *f = *state;
	uint8_t buf[8];

	wr(f, MCR, 0x10 | 0x0a); /* LOOP, RTS, OUT2 */
	assert_int_equal(rd(f, MCR), 0x1a);
	assert_int_equal(rd(f, MSR), 0x90); /* RTS -> CTS, OUT2 -> DCD */
	wr(f, MCR, 0x1f);
	assert_int_equal(rd(f, MSR), 0xf0);
	wr(f, MCR, 0x15); /* DTR, OUT1 */
	assert_int_equal(rd(f, MSR), 0x60);
	wr(f, MCR, 0x10);
	assert_int_equal(rd(f, MSR), 0x00);

	/* THR goes to the receiver, not to the sink. */
	wr(f, DATA, 'Z');
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(notified(f), 0);
	assert_int_equal(uart_drain(&f->u), 0);
	assert_int_equal(sink(f, buf, sizeof(buf)), 0);
	assert_int_equal(rd(f, DATA), 'Z');
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(uart_stats(&f->u).write_count, 0);

	/* A full FIFO drops and counts. */
	for (int i = 0; i < UART_RX_FIFO + 1; i++)
		wr(f, DATA, (uint8_t)i);
	assert_int_equal(uart_stats(&f->u).missed_read_count, 1);
	assert_int_equal(uart_rx_room(&f->u), 0);

	/* Leaving loopback restores the modem status lines. */
	wr(f, MCR, 0x0b);
	assert_int_equal(rd(f, MSR), 0xb0);
}

/* ---------------------------------------------------------------- input */

static void rx_fifo_and_room(void **state)
{
	struct fx *f = *state;
	uint8_t in[100];

	for (int i = 0; i < 100; i++)
		in[i] = (uint8_t)(i + 1);
	assert_int_equal(uart_rx_room(&f->u), UART_RX_FIFO);
	assert_int_equal(uart_input(&f->u, in, 10), 10);
	assert_int_equal(uart_rx_room(&f->u), UART_RX_FIFO - 10);
	/* Not starved: emptying it sends no notification. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(rd(f, DATA), i + 1);
	assert_int_equal(notified(f), 0);

	/* More than fits: 64 taken, the VMM stops reading. */
	assert_int_equal(uart_input(&f->u, in, 100), UART_RX_FIFO);
	assert_int_equal(uart_rx_room(&f->u), 0);
	assert_int_equal(uart_input(&f->u, in + 64, 36), 0);
	assert_int_equal(uart_stats(&f->u).missed_read_count, 0); /* the host keeps them */
	for (int i = 0; i < UART_RX_FIFO - 1; i++) {
		assert_int_equal(rd(f, DATA), i + 1);
		assert_int_equal(notified(f), 0);
	}
	/* The guest reads the FIFO empty: tell the VMM once. */
	assert_int_equal(rd(f, DATA), UART_RX_FIFO);
	assert_int_equal(notified(f), 1);
	assert_int_equal(uart_rx_room(&f->u), UART_RX_FIFO);
	assert_int_equal(rd(f, DATA), 0);
	assert_int_equal(notified(f), 0);
	assert_int_equal(uart_stats(&f->u).read_count, 10 + UART_RX_FIFO);

	/* uart_rx_room() seeing a full FIFO also arms the notification. */
	assert_int_equal(uart_input(&f->u, in, 64), 64);
	assert_int_equal(uart_rx_room(&f->u), 0);
	for (int i = 0; i < 64; i++)
		rd(f, DATA);
	assert_int_equal(notified(f), 1);
}

static void fcr_clears_fifo(void **state)
{
	struct fx *f = *state;
	uint8_t in[80] = {0};

	assert_int_equal(uart_input(&f->u, in, sizeof(in)), UART_RX_FIFO);
	assert_int_equal(rd(f, LSR), 0x61);
	wr(f, FCR, 0x07); /* enable, clear RX, clear TX */
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(uart_rx_room(&f->u), UART_RX_FIFO);
	assert_int_equal(notified(f), 1); /* the starved VMM is woken */
	/* Without the clear bit, the FIFO stays. */
	assert_int_equal(uart_input(&f->u, (const uint8_t *)"q", 1), 1);
	wr(f, FCR, 0x01);
	assert_int_equal(rd(f, DATA), 'q');
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(reset_state),
	T(scratch_and_read_only),
	T(wide_access),
	T(dlab),
	T(thr_output),
	T(ring_full_drops),
	T(sink_full_and_ring_wrap),
	T(sink_failure_drops),
	T(thre_interrupt),
	T(rx_interrupt_and_priority),
	T(loopback),
	T(rx_fifo_and_room),
	T(fcr_clears_fifo),
};

UT_MAIN(tests, NULL, NULL)
