/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: i8042 keyboard helpers; see kbd.h. */
#include "kbd.h"

#define I8042_CMD_READ_CB 0x20
#define I8042_CMD_WRITE_CB 0x60
#define I8042_CB_KBD_INT 0x01 /* control byte: keyboard interrupt enable */
#define I8042_CB_XLATE 0x40   /* control byte: translate to set 1 */
/* Set-2 scancodes. */
#define SC_PREFIX_E0 0xe0
#define SC_BREAK 0xf0
#define SC_CTRL 0x14
#define SC_ALT 0x11
#define SC_DEL_E0 0x71

void cad_feed(struct cad_matcher *m, uint8_t b)
{
	if (b == SC_PREFIX_E0) {
		m->e0 = true;
		return;
	}
	if (b == SC_BREAK) {
		m->brk = true;
		return;
	}
	if (!m->brk) { /* make codes only; E0 14 / E0 11 are the right keys */
		m->ctrl |= b == SC_CTRL;
		m->alt |= b == SC_ALT;
		m->del |= m->e0 && b == SC_DEL_E0;
	}
	m->e0 = m->brk = false;
}

bool cad_done(const struct cad_matcher *m)
{
	return m->ctrl && m->alt && m->del;
}

bool kbd_present(void)
{
	return inb(I8042_STATUS) != 0xff;
}

/* Reads one byte from the output buffer, or -1 after timeout_us. */
static int kbd_read(uint64_t timeout_us)
{
	deadline_t d = deadline_in_us(timeout_us);
	while (!(inb(I8042_STATUS) & I8042_OBF))
		if (deadline_passed(d))
			return -1;
	return inb(I8042_DATA);
}

unsigned kbd_drain(struct cad_matcher *m)
{
	unsigned n = 0;
	while (n < 64 && (inb(I8042_STATUS) & I8042_OBF)) {
		uint8_t b = inb(I8042_DATA);
		if (m)
			cad_feed(m, b);
		n++;
	}
	return n;
}

void kbd_setup(void)
{
	kbd_drain(NULL);
	outb(I8042_STATUS, I8042_CMD_READ_CB);
	int cb = kbd_read(10000);
	if (cb < 0)
		return;
	int want = (cb | I8042_CB_KBD_INT) & ~I8042_CB_XLATE;
	if (want != cb) {
		outb(I8042_STATUS, I8042_CMD_WRITE_CB);
		outb(I8042_DATA, (uint8_t)want);
	}
	kbd_drain(NULL);
}
