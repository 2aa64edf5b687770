/* SPDX-License-Identifier: Apache-2.0 */
/* Intel MultiProcessor Specification v1.4 tables: a floating pointer
 * structure followed by the configuration table with one processor entry
 * per vCPU, the ISA bus, the IOAPIC, 24 interrupt-source entries (ISA IRQ i
 * -> IOAPIC pin i) and the two local interrupt entries (ExtINT -> LINT0,
 * NMI -> LINT1). Entry layouts follow Linux's asm/mpspec_def.h. */
#include <string.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"

#define MPC_SPEC	      4 /* v1.4 */
#define MPC_APIC_VERSION      0x14
#define MPC_IOAPIC_VERSION    0x11
#define MPC_IOAPIC_PINS	      24
#define MPC_CPU_ENABLED	      1
#define MPC_CPU_BOOTPROCESSOR 2
#define MPC_CPU_SIGNATURE     0x600		      /* family 6 */
#define MPC_CPU_FEATURES      ((1u << 9) | (1u << 0)) /* APIC, FPU */

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

struct mpc_lintsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbusid, srcbusirq, destapic, destapiclint;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf_intel");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return (uint8_t)-s;
}

int mptable_build(uint8_t *buf, size_t cap, gpa_t at, unsigned ncpus)
{
	size_t need = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
		      ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		      sizeof(struct mpc_ioapic) + MPC_IOAPIC_PINS * sizeof(struct mpc_intsrc) +
		      2 * sizeof(struct mpc_lintsrc);
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS || need > cap || at + need > UINT32_MAX)
		return -ENOSPC;
	memset(buf, 0, need);

	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)(ncpus + 1);
	uint16_t entries = 0;

	for (unsigned i = 0; i < ncpus; i++, entries++) {
		struct mpc_cpu c = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = MPC_APIC_VERSION,
		    .cpuflag = MPC_CPU_ENABLED | (i == 0 ? MPC_CPU_BOOTPROCESSOR : 0),
		    .cpufeature = MPC_CPU_SIGNATURE,
		    .featureflag = MPC_CPU_FEATURES,
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mpc_bus bus = {
	    .type = MP_BUS, .busid = 0, .bustype = {'I', 'S', 'A', ' ', ' ', ' '}};
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	entries++;
	struct mpc_ioapic io = {.type = MP_IOAPIC,
				.apicid = ioapic_id,
				.apicver = MPC_IOAPIC_VERSION,
				.flags = 1,
				.apicaddr = (uint32_t)LAYOUT_IOAPIC};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	entries++;
	for (uint8_t i = 0; i < MPC_IOAPIC_PINS; i++, entries++) {
		struct mpc_intsrc s = {.type = MP_INTSRC,
				       .irqtype = MP_INT,
				       .srcbus = 0,
				       .srcbusirq = i,
				       .dstapic = ioapic_id,
				       .dstirq = i};
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	struct mpc_lintsrc l0 = {
	    .type = MP_LINTSRC, .irqtype = MP_EXTINT, .destapic = 0, .destapiclint = 0};
	struct mpc_lintsrc l1 = {
	    .type = MP_LINTSRC, .irqtype = MP_NMI, .destapic = 0xff, .destapiclint = 1};
	memcpy(p, &l0, sizeof(l0));
	p += sizeof(l0);
	memcpy(p, &l1, sizeof(l1));
	p += sizeof(l1);
	entries += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MPC_SPEC;
	memcpy(mpc->oem, "EMBER   ", 8);
	memcpy(mpc->productid, "000000000000", 12);
	mpc->oemcount = entries;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	mpc->checksum = checksum((uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(at + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = MPC_SPEC;
	mpf->checksum = checksum((uint8_t *)mpf, sizeof(*mpf));
	return (int)need;
}

int boot_write_mptable(const struct guest_mem *gm, unsigned ncpus)
{
	uint8_t buf[6144]; /* 254 CPUs need 5364 bytes */
	int n = mptable_build(buf, sizeof(buf), LAYOUT_MPTABLE_START, ncpus);
	if (n < 0)
		return n;
	return gm_write(gm, LAYOUT_MPTABLE_START, buf, (uint64_t)n);
}
