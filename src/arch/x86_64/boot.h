/* SPDX-License-Identifier: Apache-2.0 */
/* What the VMM writes into guest memory before the first instruction: the
 * E820 map, Linux's zero page, PVH's hvm_start_info, the MP table, the boot
 * GDT and page tables. Builders that only fill a buffer are separate from
 * the writers that copy into guest memory, so they can be unit-tested. */
#ifndef EMBER_ARCH_X86_64_BOOT_H
#define EMBER_ARCH_X86_64_BOOT_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "common/util.h"
#include "mem/guest_mem.h"

/* E820 types (ACPI address range types). */
#define E820_RAM      1u
#define E820_RESERVED 2u

struct e820_ent {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define E820_MAX 8

/* The guest's memory map for `mem` bytes of RAM: [0, 0x9fc00) RAM,
 * [0x9fc00, 0xe0000) reserved, [1 MiB, min(mem, 3 GiB)) RAM, [4 GiB, ...)
 * RAM. Returns the number of entries. */
unsigned e820_build(uint64_t mem, struct e820_ent *out);

enum boot_proto {
	BOOT_LINUX64, /* 64-bit Linux boot protocol: zero page in RSI */
	BOOT_PVH,     /* Xen PVH: 32-bit entry, hvm_start_info in EBX */
};

struct boot_info {
	enum boot_proto proto;
	gpa_t entry;
	gpa_t kernel_start, kernel_end; /* for placing the initrd */
	/* bzImage: its setup header seeds the zero page. */
	bool has_setup_header;
	struct setup_header setup;
	uint64_t initrd_max; /* highest byte an initrd may occupy + 1 */
	gpa_t initrd_addr;
	uint64_t initrd_size;
	uint32_t cmdline_len; /* without the NUL */
};

/* Linux boot_params at LAYOUT_ZERO_PAGE. */
int boot_write_zero_page(const struct guest_mem *gm, uint64_t mem, const struct boot_info *bi) WUR;
void boot_fill_zero_page(struct boot_params *bp, uint64_t mem, const struct boot_info *bi);

/* PVH (xen/include/public/arch-x86/hvm/start_info.h), version 1. */
#define PVH_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

int boot_write_pvh(const struct guest_mem *gm, uint64_t mem, const struct boot_info *bi) WUR;

/* Intel MultiProcessor Specification 1.4 tables for `ncpus` CPUs, built in
 * buf. Returns the size or -ENOSPC. */
#define MPTABLE_MAX_CPUS 254
int mptable_build(uint8_t *buf, size_t cap, gpa_t at, unsigned ncpus) WUR;
int boot_write_mptable(const struct guest_mem *gm, unsigned ncpus) WUR;

/* Boot GDT, null IDT and (for the 64-bit protocol) identity-mapping page
 * tables for 0-1 GiB. */
int boot_write_tables(const struct guest_mem *gm, enum boot_proto proto) WUR;

/* GDT descriptors: flags in bits 8-15 and 20-23 of `flags` as
 * Firecracker/kvmtool write them (e.g. 0xa09b = 64-bit code). */
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* Boot GDT slots. The 64-bit boot protocol wants __BOOT_CS = 0x10 and
 * __BOOT_DS = 0x18 (Documentation/arch/x86/boot.rst). */
#define BOOT_GDT_CODE	 2
#define BOOT_GDT_DATA	 3
#define BOOT_GDT_TSS	 4
#define BOOT_GDT_ENTRIES 5

#endif
