/* SPDX-License-Identifier: Apache-2.0 */
#include "mem/guest_mem.h"

#include <string.h>
#include <sys/mman.h>

#define GM_PAGE 4096ull

int gm_init(struct guest_mem *gm, const struct gm_layout *layout, enum gm_backing backing)
{
	uint64_t total = 0;

	memset(gm, 0, sizeof(*gm));
	if (layout->n == 0 || layout->n > GM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < layout->n; i++) {
		uint64_t end;
		if (!layout->size[i] || (layout->base[i] | layout->size[i]) & (GM_PAGE - 1) ||
		    add_overflows(layout->base[i], layout->size[i], &end) ||
		    (i && layout->base[i] < layout->base[i - 1] + layout->size[i - 1]) ||
		    add_overflows(total, layout->size[i], &total))
			return -EINVAL;
	}
	if (total > SIZE_MAX)
		return -ENOMEM;

	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	if (backing == GM_BACKING_HUGETLB_2M)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	/* Guest RAM has no business in a core dump of ember. */
	(void)madvise(m, total, MADV_DONTDUMP);

	gm->mapping = m;
	gm->mapping_len = total;
	uint64_t off = 0;
	for (unsigned i = 0; i < layout->n; i++) {
		gm->region[i].base = layout->base[i];
		gm->region[i].size = layout->size[i];
		gm->region[i].host = gm->mapping + off;
		off += layout->size[i];
	}
	gm->nregions = layout->n;
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->mapping)
		munmap(gm->mapping, gm->mapping_len);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		if (gpa < r->base)
			continue;
		uint64_t off = gpa - r->base;
		if (off <= r->size && len <= r->size - off)
			return r->host + off;
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gm_zero(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memset(p, 0, len);
	return 0;
}

const struct gm_region *gm_region_of(const struct guest_mem *gm, gpa_t gpa)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		if (gpa >= r->base && gpa - r->base < r->size)
			return r;
	}
	return NULL;
}

uint64_t gm_total(const struct guest_mem *gm)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < gm->nregions; i++)
		t += gm->region[i].size;
	return t;
}
