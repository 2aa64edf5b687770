/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: what the VMM handed over. Linux boot protocol
 * (Documentation/arch/x86/boot.rst, zeropage.rst) or PVH (xen/include/
 * public/arch-x86/hvm/start_info.h). Everything is copied out first: the
 * memory scenario later overwrites all RAM outside the image, and page 0
 * is unmapped again afterwards. */
#include "guest.h"

/* struct boot_params ("zero page") offsets. */
#define BP_ACPI_RSDP_ADDR 0x070    /* u64, protocol 2.14+ */
#define BP_EXT_RAMDISK_IMAGE 0x0c0 /* u32: bits 63:32 of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE 0x0c4  /* u32 */
#define BP_EXT_CMD_LINE_PTR 0x0c8  /* u32 */
#define BP_E820_ENTRIES 0x1e8      /* u8 */
#define BP_HDR_HEADER 0x202        /* u32 "HdrS" = 0x53726448 */
#define BP_HDR_VERSION 0x206       /* u16 boot protocol version */
#define BP_HDR_RAMDISK_IMAGE 0x218 /* u32 */
#define BP_HDR_RAMDISK_SIZE 0x21c  /* u32 */
#define BP_HDR_CMD_LINE_PTR 0x228  /* u32 */
#define BP_E820_TABLE 0x2d0        /* 128 x {u64 addr, u64 size, u32 type} */
#define BP_E820_MAX 128
#define HDRS_MAGIC 0x53726448

/* struct hvm_start_info offsets. */
#define PVH_MAGIC_VALUE 0x336ec578
#define PVH_MAGIC 0            /* u32 */
#define PVH_VERSION 4          /* u32 */
#define PVH_NR_MODULES 12      /* u32 */
#define PVH_MODLIST_PADDR 16   /* u64: {u64 paddr, u64 size, u64 cmdline, u64 rsvd} */
#define PVH_CMDLINE_PADDR 24   /* u64 */
#define PVH_RSDP_PADDR 32      /* u64 */
#define PVH_MEMMAP_PADDR 40    /* u64, version >= 1 */
#define PVH_MEMMAP_ENTRIES 48  /* u32: {u64 addr, u64 size, u32 type, u32 rsvd} */

#define CMDLINE_MAX 4096

extern uint32_t boot_path, boot_info_addr; /* tables.S, set in ring 0 */

struct boot_info boot;
static char cmdline_copy[CMDLINE_MAX];

static uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)phys(a); }
static uint16_t rd16(uint64_t a) { uint16_t v; memcpy(&v, phys(a), 2); return v; }
static uint32_t rd32(uint64_t a) { uint32_t v; memcpy(&v, phys(a), 4); return v; }
static uint64_t rd64(uint64_t a) { uint64_t v; memcpy(&v, phys(a), 8); return v; }

/* Guest-physical pointers from the VMM: usable if mapped and not NULL
 * (page 0 is mapped while bootinfo_read runs). */
static bool addr_ok(uint64_t a)
{
	return a && a < SVC_USER_LIMIT;
}

static void copy_cmdline(uint64_t addr)
{
	size_t n = 0;
	if (addr_ok(addr))
		while (n < CMDLINE_MAX - 1 && rd8(addr + n))
			n++;
	if (n)
		memcpy(cmdline_copy, phys(addr), n);
	cmdline_copy[n] = 0;
	boot.cmdline = cmdline_copy;
}

static void add_region(uint64_t base, uint64_t size, uint32_t type)
{
	unsigned i = boot.mem_count;
	if (i == MAX_MEM_REGIONS || !size)
		return;
	while (i && boot.mem[i - 1].base > base) { /* insertion sort by base */
		boot.mem[i] = boot.mem[i - 1];
		i--;
	}
	boot.mem[i] = (struct mem_region){ base, size, type };
	boot.mem_count++;
}

static void read_linux(uint64_t bp)
{
	unsigned n = rd8(bp + BP_E820_ENTRIES);
	if (rd32(bp + BP_HDR_HEADER) == HDRS_MAGIC)
		boot.protocol = rd16(bp + BP_HDR_VERSION);
	copy_cmdline(rd32(bp + BP_HDR_CMD_LINE_PTR) |
		     (uint64_t)rd32(bp + BP_EXT_CMD_LINE_PTR) << 32);
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = bp + BP_E820_TABLE + 20 * i;
		add_region(rd64(e), rd64(e + 8), rd32(e + 16));
	}
	boot.initrd_base = rd32(bp + BP_HDR_RAMDISK_IMAGE) |
			   (uint64_t)rd32(bp + BP_EXT_RAMDISK_IMAGE) << 32;
	boot.initrd_size = rd32(bp + BP_HDR_RAMDISK_SIZE) |
			   (uint64_t)rd32(bp + BP_EXT_RAMDISK_SIZE) << 32;
	boot.rsdp = rd64(bp + BP_ACPI_RSDP_ADDR);
}

static void read_pvh(uint64_t si)
{
	if (rd32(si + PVH_MAGIC) != PVH_MAGIC_VALUE) {
		copy_cmdline(0);
		return;
	}
	copy_cmdline(rd64(si + PVH_CMDLINE_PADDR));
	boot.rsdp = rd64(si + PVH_RSDP_PADDR);
	if (rd32(si + PVH_VERSION) >= 1) {
		uint64_t map = rd64(si + PVH_MEMMAP_PADDR);
		unsigned n = rd32(si + PVH_MEMMAP_ENTRIES);
		for (unsigned i = 0; addr_ok(map) && i < n && i < MAX_MEM_REGIONS; i++)
			add_region(rd64(map + 24 * i), rd64(map + 24 * i + 8),
				   rd32(map + 24 * i + 16));
	}
	uint64_t mods = rd64(si + PVH_MODLIST_PADDR);
	if (rd32(si + PVH_NR_MODULES) >= 1 && addr_ok(mods)) {
		boot.initrd_base = rd64(mods);
		boot.initrd_size = rd64(mods + 8);
	}
}

void bootinfo_read(void)
{
	boot.path = boot_path;
	if (!addr_ok(boot_info_addr))
		copy_cmdline(0);
	else if (boot_path == BOOT_PVH)
		read_pvh(boot_info_addr);
	else
		read_linux(boot_info_addr);
	if (boot.rsdp < 0x1000 || boot.rsdp >= 0x100000000ull)
		boot.rsdp = 0;
	if (!boot.initrd_size || boot.initrd_base < 0x1000 ||
	    boot.initrd_base >= SVC_USER_LIMIT)
		boot.initrd_base = boot.initrd_size = 0;
}

uint64_t ram_total(void)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < boot.mem_count; i++)
		if (boot.mem[i].type == E820_RAM)
			t += boot.mem[i].size;
	return t;
}

uint64_t ram_end(void)
{
	uint64_t end = 0;
	for (unsigned i = 0; i < boot.mem_count; i++) {
		const struct mem_region *r = &boot.mem[i];
		if (r->type == E820_RAM && r->base + r->size > end)
			end = r->base + r->size;
	}
	return end;
}
