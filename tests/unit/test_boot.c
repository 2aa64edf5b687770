/* SPDX-License-Identifier: Apache-2.0 */
/* The x86-64 layout and what the VMM writes before the first instruction:
 * layout_ram, e820_build, the Linux zero page, PVH's hvm_start_info, the
 * boot GDT/IDT and the identity-mapping page tables. */
#include "unit.h"

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"

#define G3 GiB(3)
#define G4 GiB(4)

/* ---------------------------------------------------------------- layout_ram */

static void check_layout(uint64_t mem, unsigned n, uint64_t size0, uint64_t size1)
{
	struct gm_layout l;
	memset(&l, 0xa5, sizeof(l));
	layout_ram(mem, &l);
	assert_int_equal(l.n, n);
	assert_int_equal(l.base[0], 0);
	assert_int_equal(l.size[0], size0);
	assert_int_equal(l.base[1], n == 2 ? G4 : 0);
	assert_int_equal(l.size[1], size1);
	for (unsigned i = 2; i < GM_MAX_REGIONS; i++) {
		assert_int_equal(l.base[i], 0);
		assert_int_equal(l.size[i], 0);
	}
}

static void layout_ram_sizes(void **state)
{
	check_layout(MiB(2), 1, MiB(2), 0);
	check_layout(MiB(128), 1, MiB(128), 0);
	check_layout(G3, 1, G3, 0);
	check_layout(G3 + MiB(1), 2, G3, MiB(1));
	check_layout(GiB(8), 2, G3, GiB(5));
}

static void layout_constants(void **state)
{
	/* The guest-visible addresses the boot structures rely on. */
	assert_int_equal(LAYOUT_MMIO_GAP_START, 0xc0000000);
	assert_int_equal(LAYOUT_MMIO_GAP_END, 0x100000000);
	assert_int_equal(LAYOUT_BOOT_GDT, 0x500);
	assert_int_equal(LAYOUT_BOOT_IDT, LAYOUT_BOOT_GDT + 8 * BOOT_GDT_ENTRIES);
	assert_int_equal(LAYOUT_ZERO_PAGE, 0x7000);
	assert_int_equal(LAYOUT_CMDLINE, 0x20000);
	assert_int_equal(LAYOUT_CMDLINE_MAX, 2048);
	/* PVH info and its module list do not overlap. */
	assert_true(LAYOUT_PVH_INFO + sizeof(struct hvm_start_info) <= LAYOUT_PVH_MODLIST);
	assert_int_equal(sizeof(struct hvm_start_info), 56);
	assert_int_equal(sizeof(struct hvm_modlist_entry), 32);
	assert_int_equal(sizeof(struct hvm_memmap_table_entry), 24);
}

/* ---------------------------------------------------------------- e820 */

struct want_e820 {
	uint64_t addr, size;
	uint32_t type;
};

static void check_e820(uint64_t mem, const struct want_e820 *w, unsigned n)
{
	struct e820_ent e[E820_MAX];
	memset(e, 0xa5, sizeof(e));
	assert_int_equal(e820_build(mem, e), n);
	for (unsigned i = 0; i < n; i++) {
		if (e[i].addr != w[i].addr || e[i].size != w[i].size || e[i].type != w[i].type)
			fail_msg("mem 0x%llx entry %u: {0x%llx, 0x%llx, %u}, "
				 "expected {0x%llx, 0x%llx, %u}",
				 (unsigned long long)mem, i, (unsigned long long)e[i].addr,
				 (unsigned long long)e[i].size, e[i].type,
				 (unsigned long long)w[i].addr, (unsigned long long)w[i].size,
				 w[i].type);
	}
}

#define LOW_RAM {0, 0x9fc00, E820_RAM}
#define EBDA {0x9fc00, 0xe0000 - 0x9fc00, E820_RESERVED}

static void e820_sizes(void **state)
{
	const struct want_e820 m2[] = {LOW_RAM, EBDA, {0x100000, 0x100000, E820_RAM}};
	const struct want_e820 m128[] = {LOW_RAM, EBDA, {0x100000, MiB(127), E820_RAM}};
	const struct want_e820 g3[] = {LOW_RAM, EBDA, {0x100000, G3 - MiB(1), E820_RAM}};
	const struct want_e820 g3m1[] = {LOW_RAM, EBDA, {0x100000, G3 - MiB(1), E820_RAM},
					 {G4, MiB(1), E820_RAM}};
	const struct want_e820 g8[] = {LOW_RAM, EBDA, {0x100000, G3 - MiB(1), E820_RAM},
				       {G4, GiB(5), E820_RAM}};

	check_e820(MiB(2), m2, ARRAY_SIZE(m2));
	check_e820(MiB(128), m128, ARRAY_SIZE(m128));
	check_e820(G3, g3, ARRAY_SIZE(g3));
	check_e820(G3 + MiB(1), g3m1, ARRAY_SIZE(g3m1));
	check_e820(GiB(8), g8, ARRAY_SIZE(g8));
}

/* ---------------------------------------------------------------- zero page */

static void check_zp_e820(const struct boot_params *bp, uint64_t mem)
{
	struct e820_ent e[E820_MAX];
	unsigned n = e820_build(mem, e);
	assert_int_equal(bp->e820_entries, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(bp->e820_table[i].addr, e[i].addr);
		assert_int_equal(bp->e820_table[i].size, e[i].size);
		assert_int_equal(bp->e820_table[i].type, e[i].type);
	}
	for (unsigned i = n; i < ARRAY_SIZE(bp->e820_table); i++) {
		assert_int_equal(bp->e820_table[i].addr, 0);
		assert_int_equal(bp->e820_table[i].size, 0);
		assert_int_equal(bp->e820_table[i].type, 0);
	}
}

static void zero_page_elf(void **state)
{
	static struct boot_params bp;
	struct boot_info bi = {.proto = BOOT_LINUX64, .cmdline_len = 42};

	memset(&bp, 0xa5, sizeof(bp)); /* whatever was there is cleared */
	boot_fill_zero_page(&bp, MiB(128), &bi);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_memory_equal(&bp.hdr.header, "HdrS", 4);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp.hdr.cmdline_size, 42);
	assert_int_equal(bp.hdr.kernel_alignment, 0x1000000);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.ext_ramdisk_size, 0);
	assert_int_equal(bp.hdr.version, 0);
	assert_int_equal(bp.hdr.setup_sects, 0);
	assert_int_equal(bp.hdr.loadflags, 0);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	check_zp_e820(&bp, MiB(128));
	/* Spot-check untouched areas: all zero. */
	const uint8_t *si = (const uint8_t *)&bp.screen_info;
	for (size_t i = 0; i < sizeof(bp.screen_info); i++)
		assert_int_equal(si[i], 0);
	assert_int_equal(bp.hdr.syssize, 0);
}

static void zero_page_initrd(void **state)
{
	static struct boot_params bp;
	struct boot_info bi = {.cmdline_len = 7, .initrd_addr = 0x7ff0000, .initrd_size = 0x12345};

	boot_fill_zero_page(&bp, GiB(8), &bi);
	assert_int_equal(bp.hdr.ramdisk_image, 0x7ff0000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x12345);
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.ext_ramdisk_size, 0);
	assert_int_equal(bp.e820_entries, 4);
	check_zp_e820(&bp, GiB(8));

	/* Above 4 GiB: the high halves go to the ext_ fields. */
	bi.initrd_addr = 0x123456000ull;
	bi.initrd_size = 0x100001000ull;
	boot_fill_zero_page(&bp, GiB(8), &bi);
	assert_int_equal(bp.hdr.ramdisk_image, 0x23456000);
	assert_int_equal(bp.ext_ramdisk_image, 1);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1000);
	assert_int_equal(bp.ext_ramdisk_size, 1);
}

static void zero_page_bzimage_header(void **state)
{
	static struct boot_params bp;
	struct boot_info bi = {.proto = BOOT_LINUX64, .cmdline_len = 100, .has_setup_header = true};

	/* What a bzImage's header carries (boot.rst) ... */
	bi.setup.setup_sects = 27;
	bi.setup.syssize = 0x8000;
	bi.setup.boot_flag = 0xaa55;
	bi.setup.header = 0x53726448;
	bi.setup.version = 0x020f;
	bi.setup.loadflags = 0x01;
	bi.setup.code32_start = 0x100000;
	bi.setup.initrd_addr_max = 0x7fffffff;
	bi.setup.kernel_alignment = 0x200000;
	bi.setup.relocatable_kernel = 1;
	bi.setup.xloadflags = 0x7f;
	bi.setup.cmdline_size = 2047;
	bi.setup.init_size = 0x1234000;
	bi.setup.pref_address = 0x1000000;
	/* ... and fields a boot loader overwrites. */
	bi.setup.type_of_loader = 0x21;
	bi.setup.cmd_line_ptr = 0xdead;

	boot_fill_zero_page(&bp, MiB(512), &bi);
	assert_int_equal(bp.hdr.setup_sects, 27);
	assert_int_equal(bp.hdr.syssize, 0x8000);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.loadflags, 0x01);
	assert_int_equal(bp.hdr.code32_start, 0x100000);
	assert_int_equal(bp.hdr.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bp.hdr.kernel_alignment, 0x200000); /* the kernel's own */
	assert_int_equal(bp.hdr.relocatable_kernel, 1);
	assert_int_equal(bp.hdr.xloadflags, 0x7f);
	assert_int_equal(bp.hdr.init_size, 0x1234000);
	assert_int_equal(bp.hdr.pref_address, 0x1000000);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp.hdr.cmdline_size, 100);
	check_zp_e820(&bp, MiB(512));
}

static void zero_page_write(void **state)
{
	static struct boot_params bp, got;
	struct guest_mem gm;
	struct boot_info bi = {.cmdline_len = 5, .initrd_addr = 0x1000000, .initrd_size = 4096};

	ut_gm_init2(&gm, 0, MiB(16), 0, 0);
	assert_int_equal(boot_write_zero_page(&gm, MiB(16), &bi), 0);
	boot_fill_zero_page(&bp, MiB(16), &bi);
	assert_int_equal(gm_read(&gm, LAYOUT_ZERO_PAGE, &got, sizeof(got)), 0);
	assert_memory_equal(&got, &bp, sizeof(bp));
	assert_int_equal(got.hdr.boot_flag, 0xaa55);
	gm_destroy(&gm);

	/* No RAM at the zero page. */
	ut_gm_init2(&gm, MiB(1), MiB(1), 0, 0);
	assert_errno(boot_write_zero_page(&gm, MiB(2), &bi), -EFAULT);
	gm_destroy(&gm);
}

/* ---------------------------------------------------------------- PVH */

static void read_start_info(const struct guest_mem *gm, struct hvm_start_info *si)
{
	assert_int_equal(gm_read(gm, LAYOUT_PVH_INFO, si, sizeof(*si)), 0);
}

static void check_pvh_memmap(const struct guest_mem *gm, uint64_t mem)
{
	struct e820_ent e[E820_MAX];
	unsigned n = e820_build(mem, e);
	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_table_entry m;
		assert_int_equal(gm_read(gm, LAYOUT_PVH_MEMMAP + i * sizeof(m), &m, sizeof(m)), 0);
		assert_int_equal(m.addr, e[i].addr);
		assert_int_equal(m.size, e[i].size);
		assert_int_equal(m.type, e[i].type);
		assert_int_equal(m.reserved, 0);
	}
	/* Nothing after the last entry. */
	uint8_t after[sizeof(struct hvm_memmap_table_entry)];
	gpa_t end = LAYOUT_PVH_MEMMAP + n * sizeof(after);
	assert_int_equal(gm_read(gm, end, after, sizeof(after)), 0);
	for (size_t i = 0; i < sizeof(after); i++)
		assert_int_equal(after[i], 0);
}

static void pvh_without_initrd(void **state)
{
	struct guest_mem gm;
	struct hvm_start_info si;
	struct boot_info bi = {.proto = BOOT_PVH, .entry = 0x1000000, .cmdline_len = 10};

	ut_gm_init2(&gm, 0, MiB(128), 0, 0);
	assert_int_equal(boot_write_pvh(&gm, MiB(128), &bi), 0);
	read_start_info(&gm, &si);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.cmdline_paddr, 0x20000);
	assert_int_equal(si.rsdp_paddr, 0);
	assert_int_equal(si.memmap_paddr, 0x7000);
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(si.reserved, 0);
	check_pvh_memmap(&gm, MiB(128));
	/* No module list was written. */
	struct hvm_modlist_entry mod;
	assert_int_equal(gm_read(&gm, LAYOUT_PVH_MODLIST, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0);
	assert_int_equal(mod.size, 0);
	gm_destroy(&gm);
}

static void pvh_with_initrd(void **state)
{
	struct guest_mem gm;
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	struct boot_info bi = {
		.proto = BOOT_PVH, .initrd_addr = 0x7000000, .initrd_size = 0x123456};

	/* The memory map describes `mem` (8 GiB), whatever RAM is mapped. */
	ut_gm_init2(&gm, 0, MiB(16), 0, 0);
	memset(gm.region[0].host + LAYOUT_PVH_MODLIST, 0xa5, 64);
	assert_int_equal(boot_write_pvh(&gm, GiB(8), &bi), 0);
	read_start_info(&gm, &si);
	assert_int_equal(si.magic, PVH_START_MAGIC);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(si.modlist_paddr, 0x6040);
	assert_int_equal(si.memmap_entries, 4);
	check_pvh_memmap(&gm, GiB(8));
	assert_int_equal(gm_read(&gm, LAYOUT_PVH_MODLIST, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x7000000);
	assert_int_equal(mod.size, 0x123456);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_int_equal(mod.reserved, 0);
	/* Only one entry was written. */
	assert_int_equal(gm.region[0].host[LAYOUT_PVH_MODLIST + sizeof(mod)], 0xa5);
	gm_destroy(&gm);

	ut_gm_init2(&gm, MiB(1), MiB(1), 0, 0);
	assert_errno(boot_write_pvh(&gm, MiB(2), &bi), -EFAULT);
	gm_destroy(&gm);
}

/* ---------------------------------------------------------------- GDT and page tables */

static void gdt_entry_encoding(void **state)
{
	assert_int_equal(gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
	assert_int_equal(gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
	assert_int_equal(gdt_entry(0xc09b, 0, 0xfffff), 0x00cf9b000000ffffull);
	assert_int_equal(gdt_entry(0x808b, 0, 0xfffff), 0x008f8b000000ffffull);
	assert_int_equal(gdt_entry(0x008b, 0, 0x67), 0x00008b0000000067ull);
	/* Base and limit split across the descriptor. */
	assert_int_equal(gdt_entry(0xc093, 0x12345678, 0xabcde), 0x12ca93345678bcdeull);
	/* Bits 8-11 of flags are the limit's, not the caller's. */
	assert_int_equal(gdt_entry(0x0f93, 0, 0), gdt_entry(0x0093, 0, 0));
}

static void check_gdt(const struct guest_mem *gm, const uint64_t want[BOOT_GDT_ENTRIES])
{
	uint64_t gdt[BOOT_GDT_ENTRIES + 1], idt;
	assert_int_equal(gm_read(gm, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)), 0);
	for (unsigned i = 0; i < BOOT_GDT_ENTRIES; i++)
		if (gdt[i] != want[i])
			fail_msg("GDT[%u] = 0x%016llx, expected 0x%016llx", i,
				 (unsigned long long)gdt[i], (unsigned long long)want[i]);
	/* The null IDT right after the GDT. */
	assert_int_equal(gdt[BOOT_GDT_ENTRIES], 0);
	assert_int_equal(gm_read(gm, LAYOUT_BOOT_IDT, &idt, sizeof(idt)), 0);
	assert_int_equal(idt, 0);
}

static void tables_linux64(void **state)
{
	static const uint64_t want[BOOT_GDT_ENTRIES] = {
		0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x008f8b000000ffffull,
	};
	struct guest_mem gm;
	uint64_t pt[512];

	ut_gm_init2(&gm, 0, MiB(2), 0, 0);
	memset(gm.region[0].host, 0xff, 0x10000); /* stale contents */
	assert_int_equal(boot_write_tables(&gm, BOOT_LINUX64), 0);
	check_gdt(&gm, want);
	/* Selectors the boot protocol names: __BOOT_CS 0x10, __BOOT_DS 0x18. */
	assert_int_equal(BOOT_GDT_CODE * 8, 0x10);
	assert_int_equal(BOOT_GDT_DATA * 8, 0x18);

	assert_int_equal(gm_read(&gm, 0x9000, pt, sizeof(pt)), 0);
	assert_int_equal(pt[0], 0xa003);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(pt[i], 0);
	assert_int_equal(gm_read(&gm, 0xa000, pt, sizeof(pt)), 0);
	assert_int_equal(pt[0], 0xb003);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(pt[i], 0);
	assert_int_equal(gm_read(&gm, 0xb000, pt, sizeof(pt)), 0);
	for (uint64_t i = 0; i < 512; i++)
		if (pt[i] != ((i << 21) | 0x83))
			fail_msg("PD[%llu] = 0x%llx", (unsigned long long)i,
				 (unsigned long long)pt[i]);
	assert_int_equal(pt[511], 0x3fe00083);
	/* The page after the PD is not touched. */
	assert_int_equal(gm.region[0].host[0xc000], 0xff);
	gm_destroy(&gm);
}

static void tables_pvh(void **state)
{
	static const uint64_t want[BOOT_GDT_ENTRIES] = {
		0, 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull, 0x00008b0000000067ull,
	};
	struct guest_mem gm;

	ut_gm_init2(&gm, 0, MiB(2), 0, 0);
	memset(gm.region[0].host, 0xff, 0x10000);
	assert_int_equal(boot_write_tables(&gm, BOOT_PVH), 0);
	check_gdt(&gm, want);
	/* PVH starts in 32-bit protected mode without paging: no tables. */
	for (uint64_t a = 0x9000; a < 0xc000; a++)
		assert_int_equal(gm.region[0].host[a], 0xff);
	gm_destroy(&gm);
}

static void tables_fault(void **state)
{
	struct guest_mem gm;

	/* RAM ends where the page tables start. */
	ut_gm_init2(&gm, 0, 0x9000, 0, 0);
	assert_errno(boot_write_tables(&gm, BOOT_LINUX64), -EFAULT);
	assert_int_equal(boot_write_tables(&gm, BOOT_PVH), 0);
	gm_destroy(&gm);

	ut_gm_init2(&gm, MiB(1), MiB(1), 0, 0);
	assert_errno(boot_write_tables(&gm, BOOT_PVH), -EFAULT);
	gm_destroy(&gm);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(layout_ram_sizes),
	cmocka_unit_test(layout_constants),
	cmocka_unit_test(e820_sizes),
	cmocka_unit_test(zero_page_elf),
	cmocka_unit_test(zero_page_initrd),
	cmocka_unit_test(zero_page_bzimage_header),
	cmocka_unit_test(zero_page_write),
	cmocka_unit_test(pvh_without_initrd),
	cmocka_unit_test(pvh_with_initrd),
	cmocka_unit_test(gdt_entry_encoding),
	cmocka_unit_test(tables_linux64),
	cmocka_unit_test(tables_pvh),
	cmocka_unit_test(tables_fault),
};

UT_MAIN(tests, NULL, NULL)
