/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: `smp` scenario. Starts every CPU the MP table lists
 * (or the ACPI MADT, with cpus_from=acpi) with INIT-SIPI-SIPI (xAPIC ICR,
 * from ring 3). Each AP runs the real-mode trampoline copied to
 * AP_TRAMPOLINE (boot.S), enters long mode with the static page tables,
 * loads its TSS and stacks, iretqs to ring 3 and calls ap_main(), which
 * checks in and halts. A CPU's slot (stacks, TSS) is looked up by LAPIC ID
 * in apic_to_slot[], so all APs start at once. */
#include "guest.h"
#include "scenarios.h"

/* ICR low word (Intel SDM 11.6.1). */
#define ICR_INIT_ASSERT 0xc500   /* INIT, level triggered, assert */
#define ICR_INIT_DEASSERT 0x8500 /* INIT, level triggered, de-assert */
#define ICR_STARTUP 0x0600       /* start-up; vector = trampoline page */
#define AP_TIMEOUT_US 1000000

extern const char ap_trampoline[], ap_trampoline_end[]; /* boot.S */

static const struct mp_info *topo; /* the CPU list in use */
static volatile uint32_t checked_in;
static volatile uint32_t ap_ok[MAX_CPUS];        /* per slot, set by the AP */
static volatile uint32_t ap_lapic_id[MAX_CPUS];  /* LAPIC ID register */
static volatile uint32_t ap_cpuid_id[MAX_CPUS];  /* CPUID.1:EBX[31:24] */

static uint32_t initial_apic_id(void)
{
	return cpuid(1, 0).ebx >> 24;
}

void ap_main(unsigned slot)
{
	ap_lapic_id[slot] = lapic_id();
	ap_cpuid_id[slot] = initial_apic_id();
	__atomic_store_n(&ap_ok[slot], 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&checked_in, 1, __ATOMIC_RELEASE);
	for (;;)
		cpu_halt(); /* LAPIC software-disabled: no wake-ups */
}

/* Slot per AP, TSS descriptor per slot; returns the number of APs. */
static unsigned assign_slots(uint32_t bsp_id, uint8_t *slot_apic)
{
	unsigned slots = 1;
	for (unsigned i = 0; i < topo->cpu_count; i++) {
		uint8_t id = topo->cpus[i].apic_id;
		if (id == bsp_id)
			continue;
		slot_apic[slots] = id;
		apic_to_slot[id] = (uint8_t)slots;
		tss_install(slots);
		slots++;
	}
	return slots - 1;
}

static bool start_aps(const uint8_t *slot_apic, unsigned aps)
{
	bool ok = true;
	uint32_t sipi = ICR_STARTUP | (AP_TRAMPOLINE >> 12);
	for (unsigned s = 1; s <= aps; s++) {
		ok &= lapic_send_ipi(slot_apic[s], ICR_INIT_ASSERT);
		ok &= lapic_send_ipi(slot_apic[s], ICR_INIT_DEASSERT);
	}
	delay_us(10);
	for (int round = 0; round < 2; round++) {
		for (unsigned s = 1; s <= aps; s++)
			ok &= lapic_send_ipi(slot_apic[s], sipi);
		delay_us(200);
	}
	return ok;
}

static bool bsp_is_listed(uint32_t bsp_id)
{
	for (unsigned i = 0; i < topo->cpu_count; i++)
		if (topo->cpus[i].apic_id == bsp_id)
			return true;
	return false;
}

/* Checks every AP's report; prints the FAIL line and returns false. */
static bool check_aps(const uint8_t *slot_apic, unsigned aps)
{
	for (unsigned s = 1; s <= aps; s++) {
		if (!ap_ok[s]) {
			test_fail("cpu apic_id=%u did not check in (%u of %u APs did)",
				  slot_apic[s], checked_in, aps);
			return false;
		}
		if (ap_lapic_id[s] != slot_apic[s] || ap_cpuid_id[s] != slot_apic[s]) {
			test_fail("cpu apic_id=%u reports lapic id %u, cpuid id %u",
				  slot_apic[s], ap_lapic_id[s], ap_cpuid_id[s]);
			return false;
		}
	}
	return true;
}

/* The CPU list: the MP table, or the MADT if cpus_from=acpi. */
static bool choose_topology(void)
{
	static struct mp_info acpi;
	const char *from = param_get("cpus_from");
	bool use_acpi = from && !strcmp(from, "acpi");
	topo = &mp;
	if (use_acpi) {
		acpi_read_cpus(&acpi);
		topo = &acpi;
	}
	if (!topo->found) {
		test_fail(use_acpi ? "no ACPI MADT" : "no MP table");
		return false;
	}
	if (topo->cpus_listed > MAX_CPUS) {
		test_fail("%u CPUs listed, the guest handles %u", topo->cpus_listed, MAX_CPUS);
		return false;
	}
	return true;
}

void scenario_smp(void)
{
	uint8_t slot_apic[MAX_CPUS];
	uint32_t bsp_id = lapic_id();
	if (!choose_topology())
		return;
	if (initial_apic_id() != bsp_id || !bsp_is_listed(bsp_id)) {
		test_fail("BSP lapic id %u, cpuid id %u, listed %d", bsp_id,
			  initial_apic_id(), bsp_is_listed(bsp_id));
		return;
	}
	memcpy((void *)AP_TRAMPOLINE, ap_trampoline,
	       (size_t)(ap_trampoline_end - ap_trampoline));
	unsigned aps = assign_slots(bsp_id, slot_apic);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!start_aps(slot_apic, aps)) {
		test_fail("LAPIC ICR stuck busy");
		return;
	}
	deadline_t d = deadline_in_us(AP_TIMEOUT_US);
	while (__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) < aps && !deadline_passed(d))
		cpu_relax();
	if (!check_aps(slot_apic, aps))
		return;
	uint64_t want = param_u64("expect_cpus", 0);
	if (want && want != aps + 1)
		test_fail("%u cpus, expected %lu", aps + 1, want);
	else
		test_pass("%u cpus", aps + 1);
}
