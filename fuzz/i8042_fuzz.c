/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the i8042 (src/devices/legacy/i8042.c): guest port
 * accesses of any width 0-8 around 0x60-0x64 (through a PIO bus, so some
 * straddle the device's end) and host Ctrl-Alt-Del requests, checked step
 * by step against a model written from i8042.h:
 *   - every byte read equals the model's: the status register, the 16-byte
 *     output buffer popped in order, 0 when empty, zeroes past byte 0;
 *   - the buffer never holds more than 16 bytes, OUT_DATA_AVAIL is set
 *     exactly while it holds one, a full buffer drops and counts;
 *   - 0xFE calls the reset callback exactly once per write, outside the
 *     device lock (the callback takes it);
 *   - i8042_send_ctrl_alt_del queues its 4 bytes or returns -ENOSPC and
 *     changes nothing; IRQ 1 is raised exactly when the model says
 *     (keyboard byte or Ctrl-Alt-Del with the interrupt enabled);
 *   - the counters agree with the model.
 *
 *   make fuzz-i8042 FUZZ_SECONDS=180
 */
#include <pthread.h>
#include <unistd.h>

#include "bus/bus.h"
#include "devices/legacy/i8042.h"
#include "fuzz.h"

struct model {
	uint8_t status, control, outp, cmd;
	uint8_t buf[I8042_BUF];
	unsigned head, len;
	uint64_t resets, raises;
	struct i8042_stats st;
};

static struct i8042 k;
static struct bus pio;
static struct model m;
static uint64_t resets_seen;

static void on_reset(void *opaque)
{
	/* Called without the lock held: taking it must not deadlock. */
	CHECK(pthread_mutex_trylock(&k.lock) == 0);
	pthread_mutex_unlock(&k.lock);
	CHECK(opaque == &k);
	resets_seen++;
}

static int push(uint8_t b)
{
	if (m.len == I8042_BUF) {
		m.st.missed_read_count++;
		return -ENOSPC;
	}
	m.buf[(m.head + m.len) % I8042_BUF] = b;
	m.len++;
	m.status |= 1;
	return 0;
}

static uint8_t pop(void)
{
	if (!m.len)
		return 0;
	uint8_t b = m.buf[m.head];
	m.head = (m.head + 1) % I8042_BUF;
	if (--m.len == 0)
		m.status &= (uint8_t)~1;
	return b;
}

static void model_read(uint64_t off, uint8_t *want, uint32_t len)
{
	memset(want, 0, len);
	m.st.read_count++;
	if (off == 4)
		want[0] = m.status;
	else if (off == 0)
		want[0] = pop();
	else
		m.st.missed_read_count++;
}

static void model_write(uint64_t off, uint8_t v, uint32_t len)
{
	m.st.write_count++;
	if (len != 1 || (off != 0 && off != 4)) {
		m.st.missed_write_count++;
		return;
	}
	if (off == 4) {
		m.status |= 8;
		if (v == 0xfe) {
			m.st.reset_count++;
			m.resets++;
		} else if (v == 0x20) {
			(void)push(m.control);
		} else if (v == 0xd0) {
			(void)push(m.outp);
		} else if (v == 0x60 || v == 0xd1) {
			m.cmd = v;
		}
		return;
	}
	m.status &= (uint8_t)~8;
	if (m.cmd == 0x60) {
		m.control = v;
	} else if (m.cmd == 0xd1) {
		m.outp = v;
	} else {
		m.head = m.len = 0;
		(void)push(0xfa);
		m.raises += m.control & 1;
	}
	m.cmd = 0;
}

static void guest_access(struct fin *in, uint8_t op)
{
	uint64_t addr = I8042_BASE - 2 + fin_u8(in) % 9;
	uint32_t len = (op >> 2) % 9;
	bool claimed = len >= 1 && addr >= I8042_BASE && addr + len <= I8042_BASE + I8042_LEN;
	uint8_t data[8], want[8];

	fin_bytes(in, data, sizeof(data));
	if (op & 2) {
		CHECK(bus_write(&pio, addr, data, len) == claimed);
		if (claimed)
			model_write(addr - I8042_BASE, data[0], len);
		return;
	}
	memset(data, 0x5a, sizeof(data));
	CHECK(bus_read(&pio, addr, data, len) == claimed);
	if (claimed)
		model_read(addr - I8042_BASE, want, len);
	else
		memset(want, 0xff, len);
	CHECK(!memcmp(data, want, len));
}

static void check_state(void)
{
	struct i8042_stats s = i8042_stats(&k);
	uint64_t v = 0;

	CHECK(k.len <= I8042_BUF && k.head < I8042_BUF);
	CHECK(k.len == m.len && k.status == m.status && k.control == m.control);
	CHECK(!!(k.status & 1) == (k.len > 0));
	CHECK(resets_seen == m.resets);
	if (m.raises)
		CHECK(read(k.irq.fd, &v, sizeof(v)) == sizeof(v) && v == m.raises);
	else
		CHECK(read(k.irq.fd, &v, sizeof(v)) < 0);
	m.raises = 0;
	CHECK(!memcmp(&s, &m.st, sizeof(s)));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};

	CHECK(i8042_init(&k, 1, on_reset, &k) == 0);
	bus_init(&pio, "pio");
	CHECK(bus_insert(&pio, I8042_BASE, I8042_LEN, &i8042_ops, &k, "i8042") == 0);
	memset(&m, 0, sizeof(m));
	m.status = 0x10;  /* keyboard enabled */
	m.control = 0x05; /* POST passed, keyboard interrupt */
	resets_seen = 0;

	while (in.n) {
		uint8_t op = fin_u8(&in);
		if (op & 1) {
			guest_access(&in, op);
		} else {
			int want = m.len + 4 > I8042_BUF ? -ENOSPC : 0;
			CHECK(i8042_send_ctrl_alt_del(&k) == want);
			if (!want) {
				static const uint8_t cad[] = {0x14, 0x11, 0xe0, 0x71};
				for (size_t i = 0; i < sizeof(cad); i++)
					(void)push(cad[i]);
				m.raises += m.control & 1;
			}
		}
		check_state();
	}
	i8042_destroy(&k);
	return 0;
}
