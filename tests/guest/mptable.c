/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: Intel MultiProcessor Specification 1.4 tables. The
 * floating pointer "_MP_" (16-byte aligned, checksummed) is searched where
 * Linux's smp_scan_config() looks: the first KiB, the last KiB of base
 * memory, the BIOS ROM area, the EBDA. ember puts it at 0x9fc00. Runs
 * while page 0 is mapped (main.c). */
#include "guest.h"

/* Floating pointer structure. */
#define MPF_SIGNATURE 0x5f504d5f /* "_MP_" */
#define MPF_PHYSPTR 4            /* u32: configuration table address */
#define MPF_LENGTH 8             /* u8: length in 16-byte units */
/* Configuration table header. */
#define MPC_SIGNATURE 0x504d4350 /* "PCMP" */
#define MPC_LENGTH 4             /* u16: base table length */
#define MPC_COUNT 34             /* u16: entry count */
#define MPC_LAPIC 36             /* u32: local APIC address */
#define MPC_HEADER_SIZE 44
/* Entries: type byte, then the type's layout. */
#define MP_PROCESSOR 0 /* 20 bytes: apic id @1, flags @3 (EN 1, BP 2) */
#define MP_IOAPIC 2    /* 8 bytes: address u32 @4, flags @3 (EN 1) */
#define MP_CPU_ENABLED 1
#define MP_CPU_BSP 2

struct mp_info mp;

static uint8_t checksum(uint64_t addr, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += *(volatile uint8_t *)phys(addr + i);
	return sum;
}

static uint32_t rd32(uint64_t a) { uint32_t v; memcpy(&v, phys(a), 4); return v; }
static uint16_t rd16(uint64_t a) { uint16_t v; memcpy(&v, phys(a), 2); return v; }

static uint64_t find_floating_pointer(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + 16 <= end; a += 16) {
		if (rd32(a) != MPF_SIGNATURE)
			continue;
		size_t len = 16u * *(volatile uint8_t *)phys(a + MPF_LENGTH);
		if (len >= 16 && a + len <= end && checksum(a, len) == 0)
			return a;
	}
	return 0;
}

static void add_cpu(uint64_t e)
{
	const volatile uint8_t *p = (const volatile uint8_t *)phys(e);
	if (!(p[3] & MP_CPU_ENABLED))
		return;
	mp.cpus_listed++;
	if (mp.cpu_count < MAX_CPUS)
		mp.cpus[mp.cpu_count++] = (struct mp_cpu){ p[1], (p[3] & MP_CPU_BSP) != 0 };
}

/* Walks the base table; false if it is malformed. */
static bool parse_config_table(uint64_t t)
{
	if (!t || t >= 0x100000000ull || rd32(t) != MPC_SIGNATURE)
		return false;
	uint16_t len = rd16(t + MPC_LENGTH);
	if (len < MPC_HEADER_SIZE || checksum(t, len) != 0)
		return false;
	mp.lapic_base = rd32(t + MPC_LAPIC);
	uint64_t e = t + MPC_HEADER_SIZE, end = t + len;
	for (unsigned n = rd16(t + MPC_COUNT); n && e < end; n--) {
		uint8_t type = *(volatile uint8_t *)phys(e);
		if (type == MP_PROCESSOR) {
			add_cpu(e);
			e += 20;
		} else if (type <= 4) {
			if (type == MP_IOAPIC && !mp.ioapic_base &&
			    (*(volatile uint8_t *)phys(e + 3) & 1))
				mp.ioapic_base = rd32(e + 4);
			e += 8;
		} else {
			break; /* unknown entry type: its length is unknown */
		}
	}
	return mp.cpu_count > 0;
}

void mptable_read(void)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)phys(0x40e) << 4; /* BDA */
	uint64_t f = find_floating_pointer(0x0, 0x400);
	if (!f)
		f = find_floating_pointer(0x9fc00, 0xa0000);
	if (!f)
		f = find_floating_pointer(0xf0000, 0x100000);
	if (!f && ebda >= 0x80000 && ebda < 0xa0000)
		f = find_floating_pointer(ebda, ebda + 0x400);
	memset(&mp, 0, sizeof(mp));
	if (f)
		mp.found = parse_config_table(rd32(f + MPF_PHYSPTR));
	if (!mp.found)
		memset(&mp, 0, sizeof(mp));
}
