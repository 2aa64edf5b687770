/* SPDX-License-Identifier: Apache-2.0 */
/* E820, zero page, PVH start info, boot GDT and page tables. */
#include <string.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"

unsigned e820_build(uint64_t mem, struct e820_ent *out)
{
	unsigned n = 0;
	uint64_t low_end = MIN(mem, LAYOUT_MMIO_GAP_START);

	out[n++] = (struct e820_ent){0, MIN(mem, LAYOUT_EBDA_START), E820_RAM};
	out[n++] = (struct e820_ent){LAYOUT_EBDA_START, LAYOUT_SYSTEM_MEM_END - LAYOUT_EBDA_START,
				     E820_RESERVED};
	if (low_end > LAYOUT_HIMEM_START)
		out[n++] =
		    (struct e820_ent){LAYOUT_HIMEM_START, low_end - LAYOUT_HIMEM_START, E820_RAM};
	if (mem > LAYOUT_MMIO_GAP_START)
		out[n++] =
		    (struct e820_ent){LAYOUT_MMIO_GAP_END, mem - LAYOUT_MMIO_GAP_START, E820_RAM};
	return n;
}

void boot_fill_zero_page(struct boot_params *bp, uint64_t mem, const struct boot_info *bi)
{
	struct e820_ent e[E820_MAX];
	unsigned n = e820_build(mem, e);

	memset(bp, 0, sizeof(*bp));
	/* A bzImage's own setup header comes first; then the fields a boot
	 * loader must fill in (boot.rst, "The Real-Mode Kernel Header"). */
	if (bi->has_setup_header)
		bp->hdr = bi->setup;
	bp->hdr.type_of_loader = 0xff; /* undefined boot loader */
	bp->hdr.boot_flag = 0xaa55;
	bp->hdr.header = 0x53726448; /* "HdrS" */
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->hdr.cmdline_size = bi->cmdline_len;
	if (!bi->has_setup_header)
		bp->hdr.kernel_alignment = 0x1000000;
	if (bi->initrd_size) {
		bp->hdr.ramdisk_image = (uint32_t)bi->initrd_addr;
		bp->hdr.ramdisk_size = (uint32_t)bi->initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(bi->initrd_addr >> 32);
		bp->ext_ramdisk_size = (uint32_t)(bi->initrd_size >> 32);
	}
	for (unsigned i = 0; i < n; i++) {
		bp->e820_table[i].addr = e[i].addr;
		bp->e820_table[i].size = e[i].size;
		bp->e820_table[i].type = e[i].type;
	}
	bp->e820_entries = (uint8_t)n;
}

int boot_write_zero_page(const struct guest_mem *gm, uint64_t mem, const struct boot_info *bi)
{
	static struct boot_params bp; /* 4 KiB: keep it off the stack */
	boot_fill_zero_page(&bp, mem, bi);
	return gm_write(gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp));
}

int boot_write_pvh(const struct guest_mem *gm, uint64_t mem, const struct boot_info *bi)
{
	struct e820_ent e[E820_MAX];
	unsigned n = e820_build(mem, e);
	struct hvm_memmap_table_entry map[E820_MAX];
	struct hvm_start_info si = {
	    .magic = PVH_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = LAYOUT_CMDLINE,
	    .memmap_paddr = LAYOUT_PVH_MEMMAP,
	    .memmap_entries = n,
	};
	int ret;

	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){e[i].addr, e[i].size, e[i].type, 0};
	if (bi->initrd_size) {
		struct hvm_modlist_entry mod = {.paddr = bi->initrd_addr, .size = bi->initrd_size};
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_MODLIST;
		if ((ret = gm_write(gm, LAYOUT_PVH_MODLIST, &mod, sizeof(mod))))
			return ret;
	}
	if ((ret = gm_write(gm, LAYOUT_PVH_MEMMAP, map, n * sizeof(map[0]))))
		return ret;
	return gm_write(gm, LAYOUT_PVH_INFO, &si, sizeof(si));
}

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

int boot_write_tables(const struct guest_mem *gm, enum boot_proto proto)
{
	uint64_t gdt[BOOT_GDT_ENTRIES] = {0};
	uint64_t idt = 0;
	int ret;

	if (proto == BOOT_LINUX64) {
		gdt[BOOT_GDT_CODE] = gdt_entry(0xa09b, 0, 0xfffff); /* 64-bit code, L=1 */
		gdt[BOOT_GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
		gdt[BOOT_GDT_TSS] = gdt_entry(0x808b, 0, 0xfffff);
	} else {
		gdt[BOOT_GDT_CODE] = gdt_entry(0xc09b, 0, 0xfffff); /* 32-bit code, 4 GiB */
		gdt[BOOT_GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
		gdt[BOOT_GDT_TSS] = gdt_entry(0x008b, 0, 0x67);
	}
	if ((ret = gm_write(gm, LAYOUT_BOOT_GDT, gdt, sizeof(gdt))) ||
	    (ret = gm_write(gm, LAYOUT_BOOT_IDT, &idt, sizeof(idt))))
		return ret;
	if (proto != BOOT_LINUX64)
		return 0;

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB = 0-1 GiB. */
	uint64_t pml4e = LAYOUT_PDPT | 0x03, pdpte = LAYOUT_PD | 0x03;
	uint64_t pd[512];
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	if ((ret = gm_zero(gm, LAYOUT_PML4, 3 * 4096)) ||
	    (ret = gm_write(gm, LAYOUT_PML4, &pml4e, sizeof(pml4e))) ||
	    (ret = gm_write(gm, LAYOUT_PDPT, &pdpte, sizeof(pdpte))))
		return ret;
	return gm_write(gm, LAYOUT_PD, pd, sizeof(pd));
}
