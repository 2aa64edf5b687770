/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory: the ONLY code that turns a guest physical address into a host
 * pointer. Everything else goes through gm_ptr / gm_read / gm_write, which
 * accept an access only when [gpa, gpa+len) lies wholly inside one RAM
 * region, checked without overflow. */
#ifndef EMBER_MEM_GUEST_MEM_H
#define EMBER_MEM_GUEST_MEM_H

#include <stdint.h>

#include "common/util.h"

typedef uint64_t gpa_t;

#define GM_MAX_REGIONS 4

struct gm_region {
	gpa_t base;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region region[GM_MAX_REGIONS];
	unsigned nregions;
	uint8_t *mapping; /* one anonymous mapping backs every region */
	uint64_t mapping_len;
};

struct gm_layout {
	gpa_t base[GM_MAX_REGIONS];
	uint64_t size[GM_MAX_REGIONS];
	unsigned n;
};

enum gm_backing {
	GM_BACKING_4K,	       /* anonymous memory, small pages */
	GM_BACKING_HUGETLB_2M, /* hugetlbfs 2 MiB pages (host pool needed) */
};

/* Maps the regions of `layout` (sorted, non-overlapping, page-aligned) from
 * one MAP_NORESERVE anonymous mapping: nothing is touched until the guest
 * touches it. 0 or -errno. */
int gm_init(struct guest_mem *gm, const struct gm_layout *layout, enum gm_backing backing) WUR;
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len), or NULL when any byte of it is outside
 * one RAM region (len 0 is valid inside or at the end of a region). */
void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);
/* Copies; 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len) WUR;
int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len) WUR;
/* Fills with zeroes; 0 or -EFAULT. */
int gm_zero(const struct guest_mem *gm, gpa_t gpa, uint64_t len) WUR;
/* The region holding gpa, or NULL. */
const struct gm_region *gm_region_of(const struct guest_mem *gm, gpa_t gpa);
/* Sum of region sizes. */
uint64_t gm_total(const struct guest_mem *gm);

#endif
