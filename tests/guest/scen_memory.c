/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: `memory` scenario. Prints the memory map, checks it
 * against ember's x86-64 layout when expect_mem_mib=N is given, then writes
 * a per-page pattern to every usable 4 KiB page and reads them all back
 * (memory_stride_kib=N: one page every N KiB instead, for large guests). */
#include "guest.h"
#include "scenarios.h"

#define PAGE 4096ull
#define GIB (1ull << 30)
#define LOW_RAM_END 0x9fc00ull     /* EBDA / MP table start */
#define HIGH_RAM_START 0x100000ull /* 1 MiB */
#define GAP_START 0xc0000000ull    /* 32-bit MMIO gap */
#define GAP_END 0x100000000ull
#define PATTERN 0xa5a5a5a55a5a5a5aull

extern char _image_start[], _image_end[]; /* guest.ld */

struct range { uint64_t start, end; };

/* RAM regions, adjacent ones merged; returns the count. */
static unsigned ram_ranges(struct range *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < boot.mem_count; i++) {
		const struct mem_region *r = &boot.mem[i];
		if (r->type != E820_RAM)
			continue;
		if (n && out[n - 1].end == r->base)
			out[n - 1].end = r->base + r->size;
		else if (n < max)
			out[n++] = (struct range){ r->base, r->base + r->size };
	}
	return n;
}

/* The layout ember promises for mem bytes of RAM; NULL if it matches. */
static const char *check_layout(uint64_t mem, char *why, size_t len)
{
	struct range want[3] = {
		{ 0, LOW_RAM_END },
		{ HIGH_RAM_START, mem < GAP_START ? mem : GAP_START },
		{ GAP_END, GAP_END + (mem > GAP_START ? mem - GAP_START : 0) },
	};
	unsigned want_n = mem > GAP_START ? 3 : 2;
	struct range got[MAX_MEM_REGIONS];
	unsigned n = ram_ranges(got, MAX_MEM_REGIONS);
	if (n != want_n) {
		snprintf(why, len, "%u RAM ranges, expected %u", n, want_n);
		return why;
	}
	for (unsigned i = 0; i < n; i++) {
		if (got[i].start != want[i].start || got[i].end != want[i].end) {
			snprintf(why, len, "RAM range %u is 0x%lx-0x%lx, expected 0x%lx-0x%lx",
				 i, got[i].start, got[i].end, want[i].start, want[i].end);
			return why;
		}
	}
	uint64_t total = ram_total(), expect = mem - (HIGH_RAM_START - LOW_RAM_END);
	if (total != expect) {
		snprintf(why, len, "RAM total 0x%lx, expected 0x%lx", total, expect);
		return why;
	}
	return NULL;
}

/* Pages left alone: page 0 (unmapped), the guest image with its tables
 * and stacks, anything beyond the mapped range. */
static bool page_skipped(uint64_t p)
{
	return p < PAGE ||
	       (p + PAGE > (uintptr_t)_image_start && p < (uintptr_t)_image_end) ||
	       p + PAGE > ((uint64_t)MAP_MAX_GIB << 30);
}

static uint64_t pattern_of(uint64_t page, int which)
{
	return which ? ~page ^ PATTERN : page ^ PATTERN;
}

/* Writes (verify = false) or checks the first and last word of every
 * usable page; returns the page count, *bad = first mismatch. */
static uint64_t walk_pages(const struct range *r, unsigned n, uint64_t stride,
			   bool verify, uint64_t *bad)
{
	uint64_t pages = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t start = (r[i].start + PAGE - 1) & ~(PAGE - 1);
		for (uint64_t p = start; p + PAGE <= r[i].end; p += stride) {
			if (page_skipped(p))
				continue;
			volatile uint64_t *w = (volatile uint64_t *)phys(p);
			pages++;
			if (!verify) {
				w[0] = pattern_of(p, 0);
				w[511] = pattern_of(p, 1);
			} else if (w[0] != pattern_of(p, 0) || w[511] != pattern_of(p, 1)) {
				if (!*bad)
					*bad = p;
			}
		}
	}
	return pages;
}

void scenario_memory(void)
{
	char why[160];
	for (unsigned i = 0; i < boot.mem_count; i++)
		say("E820 0x%016lx 0x%016lx %u", boot.mem[i].base,
		    boot.mem[i].base + boot.mem[i].size, boot.mem[i].type);
	if (!boot.mem_count) {
		test_fail("no memory map");
		return;
	}
	uint64_t expect_mib = param_u64("expect_mem_mib", 0);
	if (expect_mib && check_layout(expect_mib << 20, why, sizeof(why))) {
		test_fail("%s", why);
		return;
	}
	struct range r[MAX_MEM_REGIONS];
	unsigned n = ram_ranges(r, MAX_MEM_REGIONS);
	uint64_t stride = param_u64("memory_stride_kib", 4) << 10, bad = 0;
	if (stride < PAGE || stride % PAGE)
		stride = PAGE;
	uint64_t pages = walk_pages(r, n, stride, false, &bad);
	walk_pages(r, n, stride, true, &bad);
	if (bad)
		test_fail("pattern mismatch at page 0x%lx", bad);
	else
		test_pass("ram=%luKiB pages=%lu", ram_total() >> 10, pages);
}
