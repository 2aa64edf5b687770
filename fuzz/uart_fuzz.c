/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the 8250 UART (src/devices/legacy/serial.c): a
 * sequence of guest port accesses (through a PIO bus, any width 0-8 at
 * addresses around COM1, so some straddle its end), host input, drains to
 * a pipe and sink failures, checked step by step against a model of the
 * 16550A registers as serial.h describes them:
 *   - every byte read equals the model's (RBR pops the 64-byte FIFO in
 *     order, LSR.DR follows it, IIR priority and THRE acknowledgement,
 *     DLAB, loopback and MSR);
 *   - the FIFO never holds more than 64 bytes and the output ring never
 *     more than 64 KiB: what overflows is dropped and counted;
 *   - the sink receives exactly the bytes the guest wrote, in order, minus
 *     the counted drops; a failed sink drops and counts what was pending;
 *   - uart_input takes what fits and no more; the notify eventfd fires on
 *     each empty->non-empty output transition and when a starved FIFO
 *     gets room; the interrupt line is raised exactly when new data, a
 *     THR or an IER write finds an interrupt pending;
 *   - the counters agree with the model.
 *
 *   make fuzz-uart FUZZ_SECONDS=180
 */
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "bus/bus.h"
#include "devices/legacy/serial.h"
#include "fuzz.h"

#define BASE UART_COM1_BASE

struct model {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thre_pending, starved;
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_len;
	uint8_t *ring; /* bytes accepted and not yet drained, in order */
	size_t ring_len;
	uint8_t *piped; /* bytes drained into the pipe, not yet read back */
	size_t piped_len;
	uint64_t notifies, raises;
	struct uart_stats st;
};

static struct uart u;
static struct bus pio;
static struct model m;
static int pipe_rd = -1, pipe_wr = -1, broken_wr = -1;
static uint64_t raised_total;

static void rx_push(uint8_t b)
{
	if (m.rx_len == UART_RX_FIFO) {
		m.st.missed_read_count++;
		return;
	}
	m.rx[(m.rx_head + m.rx_len) % UART_RX_FIFO] = b;
	m.rx_len++;
}

static bool irq_pending(void)
{
	return ((m.ier & 1) && m.rx_len) || ((m.ier & 2) && m.thre_pending);
}

static uint8_t model_read(unsigned reg)
{
	bool dlab = m.lcr & 0x80;
	uint8_t b;

	switch (reg) {
	case 0:
		if (dlab)
			return m.dll;
		if (!m.rx_len)
			return 0;
		b = m.rx[m.rx_head];
		m.rx_head = (m.rx_head + 1) % UART_RX_FIFO;
		m.rx_len--;
		m.st.read_count++;
		if (m.rx_len && irq_pending())
			m.raises++;
		if (!m.rx_len && m.starved) {
			m.starved = false;
			m.notifies++;
		}
		return b;
	case 1:
		return dlab ? m.dlm : m.ier;
	case 2:
		if ((m.ier & 1) && m.rx_len)
			return 0xc4;
		if ((m.ier & 2) && m.thre_pending) {
			m.thre_pending = false;
			return 0xc2;
		}
		return 0xc1;
	case 3:
		return m.lcr;
	case 4:
		return m.mcr;
	case 5:
		return 0x60 | (m.rx_len ? 1 : 0);
	case 6:
		if (!(m.mcr & 0x10))
			return 0xb0; /* DCD | DSR | CTS */
		return (uint8_t)((m.mcr & 2 ? 0x10 : 0) | (m.mcr & 1 ? 0x20 : 0) |
				 (m.mcr & 4 ? 0x40 : 0) | (m.mcr & 8 ? 0x80 : 0));
	default:
		return m.scr;
	}
}

/* Returns whether the write is an interrupt-worthy event (THR, IER). */
static bool model_write(unsigned reg, uint8_t v)
{
	bool dlab = m.lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			m.dll = v;
			return false;
		}
		if (m.mcr & 0x10) {
			rx_push(v);
		} else {
			m.st.write_count++;
			if (m.ring_len == UART_OUT_RING) {
				m.st.missed_write_count++;
			} else {
				if (m.ring_len == 0)
					m.notifies++;
				m.ring[m.ring_len++] = v;
			}
		}
		m.thre_pending = true;
		return true;
	case 1:
		if (dlab) {
			m.dlm = v;
			return false;
		}
		if (!(m.ier & 2) && (v & 2))
			m.thre_pending = true;
		m.ier = v & 0x0f;
		return true;
	case 2:
		if (v & 2) {
			m.rx_len = 0;
			if (m.starved) {
				m.starved = false;
				m.notifies++;
			}
		}
		return false;
	case 3:
		m.lcr = v;
		return false;
	case 4:
		m.mcr = v & 0x1f;
		return false;
	case 7:
		m.scr = v;
		return false;
	default:
		return false;
	}
}

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void guest_access(struct fin *in, uint8_t op, bool write)
{
	uint64_t addr = BASE - 2 + fin_u8(in) % 12;
	uint32_t len = (op >> 3) % 9;
	bool claimed = len >= 1 && addr >= BASE && addr + len <= BASE + UART_NREGS;
	uint8_t data[8], want[8];

	fin_bytes(in, data, sizeof(data));
	if (write) {
		CHECK(bus_write(&pio, addr, data, len) == claimed);
		/* update_irq(true) after THR and IER writes: raise if pending. */
		for (uint32_t i = 0; claimed && i < len; i++)
			if (model_write((unsigned)(addr - BASE) + i, data[i]) && irq_pending())
				m.raises++;
	} else {
		memset(data, 0x5a, sizeof(data));
		CHECK(bus_read(&pio, addr, data, len) == claimed);
		for (uint32_t i = 0; i < len; i++)
			want[i] = claimed ? model_read((unsigned)(addr - BASE) + i) : 0xff;
		CHECK(!memcmp(data, want, len));
	}
}

static void host_input(struct fin *in)
{
	uint8_t buf[80];
	size_t n = fin_u8(in) % sizeof(buf), taken, want;

	fin_bytes(in, buf, n);
	want = MIN(n, (size_t)(UART_RX_FIFO - m.rx_len));
	taken = uart_input(&u, buf, n);
	CHECK(taken == want);
	for (size_t i = 0; i < taken; i++)
		rx_push(buf[i]);
	if (taken < n)
		m.starved = true;
	if (taken && irq_pending())
		m.raises++;
}

/* Drains into the pipe, then reads back up to k bytes from it. */
static void drain(struct fin *in)
{
	size_t k = fin_u16(in);
	size_t was = u.out_len;
	bool broken = u.sink_fd == broken_wr;
	int ret = uart_drain(&u);

	CHECK(was == m.ring_len);
	if (broken) {
		CHECK(ret == (m.ring_len ? -EPIPE : 0));
		if (m.ring_len) {
			m.st.error_count++;
			m.st.missed_write_count += m.ring_len;
		}
		m.ring_len = 0;
	} else {
		size_t moved = was - u.out_len;
		CHECK(ret == (u.out_len ? -EAGAIN : 0));
		memcpy(m.piped + m.piped_len, m.ring, moved);
		m.piped_len += moved;
		memmove(m.ring, m.ring + moved, m.ring_len - moved);
		m.ring_len -= moved;
	}
	CHECK(u.out_len == m.ring_len);

	uint8_t buf[4096];
	while (k) {
		ssize_t r = read(pipe_rd, buf, MIN(k, sizeof(buf)));
		if (r <= 0) {
			CHECK(m.piped_len == 0);
			break;
		}
		CHECK((size_t)r <= m.piped_len && !memcmp(buf, m.piped, (size_t)r));
		memmove(m.piped, m.piped + r, m.piped_len - (size_t)r);
		m.piped_len -= (size_t)r;
		k -= (size_t)r;
	}
}

static void check_state(void)
{
	struct uart_stats s = uart_stats(&u);

	CHECK(u.rx_len <= UART_RX_FIFO && u.rx_head < UART_RX_FIFO);
	CHECK(u.out_len <= UART_OUT_RING && u.out_head < UART_OUT_RING);
	CHECK(u.rx_len == m.rx_len && u.out_len == m.ring_len);
	CHECK(u.rx_starved == m.starved);
	CHECK(efd_take(u.notify_fd) == m.notifies);
	CHECK(efd_take(u.irq.fd) == m.raises && u.irq.raised == raised_total + m.raises);
	raised_total += m.raises;
	m.notifies = m.raises = 0;
	CHECK(s.write_count == m.st.write_count && s.read_count == m.st.read_count);
	CHECK(s.missed_write_count == m.st.missed_write_count);
	CHECK(s.missed_read_count == m.st.missed_read_count);
	CHECK(s.error_count == m.st.error_count);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2];

	fz_logs();
	signal(SIGPIPE, SIG_IGN);
	m.ring = malloc(UART_OUT_RING);
	m.piped = malloc(1 << 20);
	CHECK(m.ring && m.piped);
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	pipe_rd = p[0];
	pipe_wr = p[1];
	/* A sink whose reader is gone: writes fail with EPIPE. */
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	close(p[0]);
	broken_wr = p[1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	uint8_t junk[4096];
	uint32_t budget = 3 * UART_OUT_RING; /* burst bytes per input */

	while (read(pipe_rd, junk, sizeof(junk)) > 0)
		;
	CHECK(uart_init(&u, pipe_wr, 4) == 0);
	bus_init(&pio, "pio");
	CHECK(bus_insert(&pio, BASE, UART_NREGS, &uart_ops, &u, "uart") == 0);
	memset(&m.st, 0, sizeof(m.st));
	m.ier = m.lcr = m.scr = m.dll = m.dlm = 0;
	m.mcr = 0x08; /* OUT2 */
	m.thre_pending = m.starved = false;
	m.rx_head = m.rx_len = 0;
	m.ring_len = m.piped_len = 0;
	m.notifies = m.raises = raised_total = 0;

	while (in.n) {
		uint8_t op = fin_u8(&in);
		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			guest_access(&in, op, true);
			break;
		case 3:
		case 4:
			guest_access(&in, op, false);
			break;
		case 5:
			host_input(&in);
			break;
		case 6:
			drain(&in);
			break;
		default:
			switch ((op >> 3) % 4) {
			case 3: {
				/* A burst of THR writes (rep outsb): fills the
				 * 64 KiB ring, the pipe behind it, the FIFO. */
				uint32_t n = MIN(fin_u16(&in) + 1u, budget);
				uint8_t b = fin_u8(&in);
				budget -= n;
				for (uint32_t i = 0; i < n; i++, b++) {
					CHECK(bus_write(&pio, BASE, &b, 1));
					if (model_write(0, b) && irq_pending())
						m.raises++;
				}
				break;
			}
			case 0:
				CHECK(uart_rx_room(&u) == UART_RX_FIFO - m.rx_len);
				if (m.rx_len == UART_RX_FIFO)
					m.starved = true;
				break;
			case 1:
				u.sink_fd = broken_wr;
				break;
			case 2:
				u.sink_fd = pipe_wr;
				break;
			}
			break;
		}
		check_state();
	}
	uart_destroy(&u);
	return 0;
}
