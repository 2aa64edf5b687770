/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: `idle` scenario. Routes the i8042 keyboard interrupt
 * (ISA IRQ 1, IOAPIC pin 1) to VEC_KBD, arms a ~100 ms periodic LAPIC timer
 * (only to re-check the deadline), prints READY and halts until the host
 * injects Ctrl-Alt-Del (set-2 scancodes 0x14, 0x11, 0xE0 0x71). */
#include "kbd.h"
#include "scenarios.h"

/* KVM's APIC timer runs at 1 GHz; divided by 128, one count is 128 ns. */
#define TIMER_NS_PER_COUNT 128
#define IDLE_TIMEOUT_S 60

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
	bool have_i8042 = kbd_present();
	uint64_t ioapic = mp.ioapic_base ? mp.ioapic_base : IOAPIC_BASE_DEFAULT;
	struct cad_matcher m = { false, false, false, false, false };
	interrupts_init();
	if (have_i8042) {
		kbd_setup();
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
			kbd_drain(&m);
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

/* `spin`: the opposite of idle. The same keyboard interrupt, but the CPU
 * never halts: with interrupts enabled in ring 3 it spins on irq_counts[]
 * (native code, no exit to the VMM) until Ctrl-Alt-Del arrives or
 * spin_timeout_s passes. The host must stay in charge meanwhile: answer
 * its API, pause and resume the vCPU, deliver the keys. */
void scenario_spin(void)
{
	uint64_t timeout_s = param_u64("spin_timeout_s", IDLE_TIMEOUT_S);
	uint64_t ioapic = mp.ioapic_base ? mp.ioapic_base : IOAPIC_BASE_DEFAULT;
	struct cad_matcher m = { false, false, false, false, false };
	uint64_t spins = 0;
	bool timed_out = false;
	if (!kbd_present()) {
		test_fail("no i8042 (status port reads 0xff)");
		return;
	}
	interrupts_init();
	kbd_setup();
	ioapic_route(ioapic, I8042_IRQ, VEC_KBD, lapic_id());
	deadline_t d = deadline_in_us(timeout_s * 1000000);
	uint64_t kbd_seen = irq_counts[VEC_KBD], t0 = rdtsc();

	say("TEST %s READY", test_name);
	irq_enable(true);
	while (!cad_done(&m) && !timed_out) {
		while (irq_counts[VEC_KBD] == kbd_seen) {
			if ((++spins & 0xfffff) == 0 && deadline_passed(d)) {
				timed_out = true;
				break;
			}
		}
		kbd_seen = irq_counts[VEC_KBD];
		kbd_drain(&m);
	}
	irq_enable(false);
	ioapic_mask(ioapic, I8042_IRQ);
	uint64_t ms = (rdtsc() - t0) / (tsc_hz() / 1000);
	if (cad_done(&m))
		test_pass("kbd_irqs=%lu spun_ms=%lu", kbd_seen, ms);
	else
		test_fail("no Ctrl-Alt-Del within %lu s (kbd_irqs=%lu)", timeout_s, kbd_seen);
}
