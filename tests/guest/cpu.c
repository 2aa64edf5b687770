/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: CPU tables filled from ring 3 (IDT, AP TSS descriptors,
 * page tables above 4 GiB) and time keeping. The tables are user-writable
 * on purpose: this keeps the ring-0 boot path to a few loads. */
#include "guest.h"

/* Ring-0 symbols (ring0.S, tables.S). */
extern const char exc_stubs[], irq_stubs[], ud_entry[];
extern uint64_t idt[256][2];
extern uint64_t gdt[];
extern uint8_t tss_array[];
extern uint64_t pdpt[512];
extern uint64_t pt_first[512];

volatile uint64_t irq_counts[256];
volatile uint8_t apic_to_slot[256];

/* Above-4-GiB page directories (PDPT[4..63]), filled on demand. */
static uint64_t pd_high[MAP_MAX_GIB - MAP_STATIC_GIB][512] __attribute__((aligned(4096)));

/* Through the ring-0 service: a ring-3 CPUID is not intercepted under PVM
 * and would report the host CPU. One trip per call; cache what is hot. */
struct cpuid cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid r = { 0, 0, 0, 0 };
	svc(SVC_CPUID, leaf, subleaf, (uintptr_t)&r);
	return r;
}

/* 64-bit interrupt gate: present, DPL 0, type 0xE (IF cleared on entry). */
static void idt_set(unsigned vec, uintptr_t handler)
{
	idt[vec][0] = (handler & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
		      (0x8eull << 40) | ((handler >> 16 & 0xffff) << 48);
	idt[vec][1] = handler >> 32;
}

void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_set(v, (uintptr_t)exc_stubs + 16 * v);
	idt_set(VEC_UD, (uintptr_t)ud_entry);
	for (unsigned v = 32; v < 256; v++)
		idt_set(v, (uintptr_t)irq_stubs + 16 * (v - 32));
}

/* Available 64-bit TSS descriptor (16 bytes) for a CPU slot's TSS. */
void tss_install(unsigned slot)
{
	uint64_t base = (uintptr_t)(tss_array + TSS_STRIDE * slot);
	uint64_t *d = &gdt[GDT_FIXED_ENTRIES + 2 * slot];
	d[0] = TSS_LIMIT | (base & 0xffffff) << 16 | 0x89ull << 40 |
	       (base >> 24 & 0xff) << 56;
	d[1] = base >> 32;
}

/* New mappings only turn non-present PDPT entries present: no TLB flush
 * is needed. Entries are written after their page directory is complete. */
void paging_map_ram_to(uint64_t end)
{
	uint64_t gib_end = (end + (1ull << 30) - 1) >> 30;
	if (gib_end > MAP_MAX_GIB)
		gib_end = MAP_MAX_GIB;
	for (uint64_t g = MAP_STATIC_GIB; g < gib_end; g++) {
		uint64_t *pd = pd_high[g - MAP_STATIC_GIB];
		if (pdpt[g] & PTE_P)
			continue;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (g << 30 | i << 21) | PTE_RAM_2M;
		barrier();
		pdpt[g] = (uintptr_t)pd | PTE_TABLE;
	}
}

/* Page 0 stays unmapped so that NULL dereferences fault, except while the
 * boot structures are read (a firmware may put them there: QEMU's PVH
 * option ROM puts its memory map at 0x5a8). */
void page0_map(bool on)
{
	pt_first[0] = on ? PTE_RAM_4K : 0;
	if (!on)
		svc(SVC_FLUSH_TLB, 0, 0, 0);
}

/* ---------------------------------------------------------------- time */
static uint64_t tsc_freq;

/* TSC frequency from CPUID: leaf 0x15 (crystal ratio), 0x16 (base MHz),
 * the hypervisor timing leaf 0x40000010 (kHz); else assume 3 GHz, which
 * only makes timeouts longer on slower CPUs. */
static uint64_t tsc_hz_from_cpuid(void)
{
	uint32_t max = cpuid(0, 0).eax;
	if (max >= 0x15) {
		struct cpuid r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx)
			return (uint64_t)r.ecx * r.ebx / r.eax;
	}
	if (max >= 0x16) {
		uint32_t mhz = cpuid(0x16, 0).eax & 0xffff;
		if (mhz)
			return mhz * 1000000ull;
	}
	if (cpuid(1, 0).ecx & (1u << 31)) { /* hypervisor present */
		if (cpuid(0x40000000, 0).eax >= 0x40000010) {
			uint32_t khz = cpuid(0x40000010, 0).eax;
			if (khz)
				return khz * 1000ull;
		}
	}
	return 3000000000ull;
}

uint64_t tsc_hz(void)
{
	if (!tsc_freq)
		tsc_freq = tsc_hz_from_cpuid();
	return tsc_freq;
}

deadline_t deadline_in_us(uint64_t us)
{
	deadline_t d = { rdtsc() + us * (tsc_hz() / 1000000) };
	return d;
}

bool deadline_passed(deadline_t d)
{
	return (int64_t)(rdtsc() - d.end) >= 0;
}

void delay_us(uint64_t us)
{
	deadline_t d = deadline_in_us(us);
	while (!deadline_passed(d))
		cpu_relax();
}

bool wait_nonzero(volatile uint32_t *flag, uint64_t us)
{
	deadline_t d = deadline_in_us(us);
	while (!*flag) {
		if (deadline_passed(d))
			return *flag != 0;
		cpu_relax();
	}
	return true;
}
