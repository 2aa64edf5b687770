/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: local APIC (xAPIC MMIO at 0xFEE00000), IOAPIC
 * (IOREGSEL/IOWIN), legacy PIC masking. All from ring 3 except the PIC,
 * which is port I/O. Register offsets: Intel SDM vol. 3, ch. 11. */
#include "guest.h"

#define LAPIC_TPR 0x080
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_MASKED 0x10000
#define LAPIC_TIMER_PERIODIC 0x20000
#define LAPIC_TIMER_DIV_128 0xa
#define LAPIC_ICR_BUSY 0x1000

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_MASKED 0x10000

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID_REG) >> 24;
}

/* Software-enable with VEC_SPURIOUS, accept all priorities, and mask LINT0
 * (the VMM programs it ExtINT; the 8259 must not inject vectors 0-15). */
void lapic_enable(void)
{
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
}

/* Periodic timer, divide by 128. KVM's APIC timer counts at 1 GHz, so
 * count 781250 is ~100 ms there; hardware APIC clocks differ. */
void lapic_timer_periodic(uint8_t vec, uint32_t count)
{
	lapic_write(LAPIC_TIMER_DIV, LAPIC_TIMER_DIV_128);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | vec);
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

static bool lapic_icr_idle(void)
{
	deadline_t d = deadline_in_us(10000);
	while (lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_BUSY) {
		if (deadline_passed(d))
			return false;
		cpu_relax();
	}
	return true;
}

/* Send one IPI (ICR low word as given, destination = apic_id); false if
 * the ICR stays busy for 10 ms. */
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (!lapic_icr_idle())
		return false;
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	return lapic_icr_idle();
}

static void ioapic_write(uint64_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WIN, v);
}

/* Pin -> vec on apic_id: fixed delivery, physical destination, edge
 * triggered, active high, unmasked (the ISA IRQ defaults). */
void ioapic_route(uint64_t base, unsigned pin, uint8_t vec, uint32_t apic_id)
{
	ioapic_write(base, IOAPIC_REDTBL(pin) + 1, apic_id << 24);
	ioapic_write(base, IOAPIC_REDTBL(pin), vec);
}

void ioapic_mask(uint64_t base, unsigned pin)
{
	ioapic_write(base, IOAPIC_REDTBL(pin), IOAPIC_MASKED);
}

/* 8259 interrupt mask registers (OCW1): 0x21 master, 0xA1 slave. */
void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void interrupts_init(void)
{
	pic_mask_all();
	lapic_enable();
}
