/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: CPU list from the ACPI MADT, the alternative to the MP
 * table for `smp` (cpus_from=acpi; QEMU microvm has no MP table). ACPI 6.x:
 * RSDP (5.2.5), RSDT/XSDT (5.2.7/8), MADT "APIC" (5.2.12). */
#include "guest.h"

#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_REVISION 15  /* u8: 0 = ACPI 1.0 (RSDT only) */
#define RSDP_RSDT 16      /* u32 */
#define RSDP_XSDT 24      /* u64, revision >= 2 */
#define SDT_LENGTH 4      /* u32, whole table */
#define SDT_HEADER_SIZE 36
#define MADT_LAPIC_ADDR 36 /* u32 */
#define MADT_ENTRIES 44
#define MADT_LAPIC 0       /* [3] APIC ID, [4] u32 flags */
#define MADT_IOAPIC 1      /* [4] u32 address */
#define MADT_LAPIC_ENABLED 1
#define MADT_LAPIC_ONLINE_CAPABLE 2

static uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)phys(a); }
static uint32_t rd32(uint64_t a) { uint32_t v; memcpy(&v, phys(a), 4); return v; }
static uint64_t rd64(uint64_t a) { uint64_t v; memcpy(&v, phys(a), 8); return v; }

static bool sum_ok(uint64_t a, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += rd8(a + i);
	return sum == 0;
}

static bool table_ok(uint64_t t, const char *sig)
{
	if (!t || t >= 0x100000000ull || memcmp(phys(t), sig, 4))
		return false;
	uint32_t len = rd32(t + SDT_LENGTH);
	return len >= SDT_HEADER_SIZE && len < (1u << 20) && sum_ok(t, len);
}

/* RSDP: from the boot protocol, else the BIOS area scan (ACPI 5.2.5.1). */
static uint64_t find_rsdp(void)
{
	if (boot.rsdp && !memcmp(phys(boot.rsdp), RSDP_SIGNATURE, 8) && sum_ok(boot.rsdp, 20))
		return boot.rsdp;
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp(phys(a), RSDP_SIGNATURE, 8) && sum_ok(a, 20))
			return a;
	return 0;
}

static uint64_t find_madt(uint64_t rsdp)
{
	bool x = rd8(rsdp + RSDP_REVISION) >= 2;
	uint64_t root = x ? rd64(rsdp + RSDP_XSDT) : rd32(rsdp + RSDP_RSDT);
	if (!table_ok(root, x ? "XSDT" : "RSDT"))
		return 0;
	unsigned width = x ? 8 : 4;
	uint32_t len = rd32(root + SDT_LENGTH);
	for (uint32_t off = SDT_HEADER_SIZE; off + width <= len; off += width) {
		uint64_t t = x ? rd64(root + off) : rd32(root + off);
		if (table_ok(t, "APIC"))
			return t;
	}
	return 0;
}

static void add_madt_entry(struct mp_info *out, uint64_t e)
{
	uint8_t type = rd8(e);
	if (type == MADT_LAPIC && (rd32(e + 4) & MADT_LAPIC_ENABLED)) {
		out->cpus_listed++;
		if (out->cpu_count < MAX_CPUS)
			out->cpus[out->cpu_count++] = (struct mp_cpu){ rd8(e + 3), false };
	} else if (type == MADT_IOAPIC && !out->ioapic_base) {
		out->ioapic_base = rd32(e + 4);
	}
}

bool acpi_read_cpus(struct mp_info *out)
{
	uint64_t rsdp = find_rsdp(), madt = rsdp ? find_madt(rsdp) : 0;
	memset(out, 0, sizeof(*out));
	if (!madt)
		return false;
	out->lapic_base = rd32(madt + MADT_LAPIC_ADDR);
	uint32_t len = rd32(madt + SDT_LENGTH);
	for (uint32_t off = MADT_ENTRIES; off + 2 <= len;) {
		uint8_t elen = rd8(madt + off + 1);
		if (elen < 2 || off + elen > len)
			break;
		add_madt_entry(out, madt + off);
		off += elen;
	}
	out->found = out->cpu_count > 0;
	return out->found;
}
