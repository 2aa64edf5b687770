/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: `idle` scenario. Routes the i8042 keyboard interrupt
 * (ISA IRQ 1, IOAPIC pin 1) to VEC_KBD, arms a ~100 ms periodic LAPIC timer
 * (only to re-check the deadline), prints READY and halts until the host
 * injects Ctrl-Alt-Del (set-2 scancodes 0x14, 0x11, 0xE0 0x71). */
#include "guest.h"
#include "scenarios.h"

/* i8042 ports and commands. */
#define I8042_DATA 0x60
#define I8042_STATUS 0x64 /* read: status; write: command */
#define I8042_OBF 0x01    /* status: output buffer full */
#define I8042_CMD_READ_CB 0x20
#define I8042_CMD_WRITE_CB 0x60
#define I8042_CB_KBD_INT 0x01 /* control byte: keyboard interrupt enable */
#define I8042_CB_XLATE 0x40   /* control byte: translate to set 1 */
#define I8042_IRQ 1
#define VEC_KBD (IRQ_VECTOR_BASE + I8042_IRQ)
/* Set-2 scancodes. */
#define SC_PREFIX_E0 0xe0
#define SC_BREAK 0xf0
#define SC_CTRL 0x14
#define SC_ALT 0x11
#define SC_DEL_E0 0x71

/* KVM's APIC timer runs at 1 GHz; divided by 128, one count is 128 ns. */
#define TIMER_NS_PER_COUNT 128
#define IDLE_TIMEOUT_S 60

struct cad_matcher { bool e0, brk, ctrl, alt, del; };

static void cad_feed(struct cad_matcher *m, uint8_t b)
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

static bool cad_done(const struct cad_matcher *m)
{
	return m->ctrl && m->alt && m->del;
}

/* Reads one byte from the output buffer, or -1 after timeout_us. */
static int i8042_read(uint64_t timeout_us)
{
	deadline_t d = deadline_in_us(timeout_us);
	while (!(inb(I8042_STATUS) & I8042_OBF))
		if (deadline_passed(d))
			return -1;
	return inb(I8042_DATA);
}

static unsigned i8042_drain(struct cad_matcher *m)
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

/* Keyboard interrupt on, set-1 translation off (a no-op on ember). */
static void i8042_setup(void)
{
	i8042_drain(NULL);
	outb(I8042_STATUS, I8042_CMD_READ_CB);
	int cb = i8042_read(10000);
	if (cb < 0)
		return;
	int want = (cb | I8042_CB_KBD_INT) & ~I8042_CB_XLATE;
	if (want != cb) {
		outb(I8042_STATUS, I8042_CMD_WRITE_CB);
		outb(I8042_DATA, (uint8_t)want);
	}
	i8042_drain(NULL);
}

/* The LAPIC timer wakes the CPU once at the deadline (or every 549 s, the
 * longest period it has): idling costs the host nothing in between. */
static uint32_t timer_count(uint64_t timeout_s)
{
	uint64_t counts = timeout_s * 1000000000ull / TIMER_NS_PER_COUNT + 1;
	return counts > 0xffffffffull ? 0xffffffffu : (uint32_t)counts;
}

void scenario_idle(void)
{
	uint64_t timeout_s = param_u64("idle_timeout_s", IDLE_TIMEOUT_S);
	bool have_i8042 = inb(I8042_STATUS) != 0xff;
	uint64_t ioapic = mp.ioapic_base ? mp.ioapic_base : IOAPIC_BASE_DEFAULT;
	struct cad_matcher m = { false, false, false, false, false };
	interrupts_init();
	if (have_i8042) {
		i8042_setup();
		ioapic_route(ioapic, I8042_IRQ, VEC_KBD, lapic_id());
	}
	lapic_timer_periodic(VEC_LAPIC_TIMER, timer_count(timeout_s));
	deadline_t d = deadline_in_us(timeout_s * 1000000);
	uint64_t kbd_seen = irq_counts[VEC_KBD], wakeups = 0;

	say("TEST %s READY", test_name);
	while (!cad_done(&m) && !deadline_passed(d)) {
		cpu_halt(); /* returns after any interrupt */
		wakeups++;
		if (irq_counts[VEC_KBD] != kbd_seen) {
			kbd_seen = irq_counts[VEC_KBD];
			i8042_drain(&m);
		}
	}
	lapic_timer_stop();
	if (!have_i8042) {
		test_fail("no i8042 (status port reads 0xff)");
		return;
	}
	ioapic_mask(ioapic, I8042_IRQ);
	if (cad_done(&m))
		test_pass("kbd_irqs=%lu wakeups=%lu", kbd_seen, wakeups);
	else
		test_fail("no Ctrl-Alt-Del within the timeout (kbd_irqs=%lu wakeups=%lu)",
			  kbd_seen, wakeups);
}
