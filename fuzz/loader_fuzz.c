/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the kernel and initrd loaders (src/loader/): the
 * input is a kernel image (ELF, PVH ELF, bzImage or anything) loaded with
 * loader_load_kernel() into a small guest RAM, then, if the input asks, an
 * initrd placed with loader_load_initrd(). Guest RAM starts filled with a
 * pattern, so every byte a loader writes shows. Checked:
 *   - on failure: an error message, and guest RAM untouched;
 *   - on success: the protocol the preference allows; kernel_start >= 1 MiB;
 *     the entry point inside [kernel_start, kernel_end) (PVH: below the
 *     MMIO gap); every byte written lies in [kernel_start, kernel_end);
 *     an ELF's PT_LOAD segments (when they do not overlap) hold their file
 *     bytes then zeroes; a bzImage's payload sits at 1 MiB with the
 *     64-bit entry at +0x200;
 *   - the initrd: page-aligned, above the kernel, below initrd_max and the
 *     end of low RAM, holding exactly the file; on failure nothing written.
 *
 * Input: flags (bits 0-1 RAM layout, 2-3 boot preference, 5 load an
 * initrd), u16 initrd size in 64-byte units, then the kernel image.
 *
 *   make fuzz-loader FUZZ_SECONDS=300
 */
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "fuzz.h"
#include "loader/loader.h"

#define PATTERN	   0xee
#define INITRD_MAX (4ull << 20)

/* 0: 4 MiB; 1: 2 MiB; 2: 2 MiB, 1 MiB just below the MMIO gap, 1 MiB at
 * 4 GiB; 3: two touching 2 MiB regions (nothing may straddle them). */
static const struct gm_layout layouts[4] = {
    {.base = {0}, .size = {4ull << 20}, .n = 1},
    {.base = {0}, .size = {2ull << 20}, .n = 1},
    {.base = {0, LAYOUT_MMIO_GAP_START - (1ull << 20), LAYOUT_MMIO_GAP_END},
     .size = {2ull << 20, 1ull << 20, 1ull << 20},
     .n = 3},
    {.base = {0, 2ull << 20}, .size = {2ull << 20, 2ull << 20}, .n = 2},
};
static struct guest_mem gms[4];
static int kfd = -1, ifd = -1;
static uint8_t *initrd_bytes;

/* Every byte of RAM that is not PATTERN lies in [lo, hi) or [lo2, hi2). */
static FZ_NOCOV void check_written(const struct guest_mem *gm, uint64_t lo, uint64_t hi,
				   uint64_t lo2, uint64_t hi2)
{
	static uint8_t pat[64];
	memset(pat, PATTERN, sizeof(pat));
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		for (uint64_t off = 0; off < r->size; off += sizeof(pat)) {
			uint64_t b = r->base + off;
			if ((b - lo < hi - lo && hi - b >= sizeof(pat)) ||
			    (b - lo2 < hi2 - lo2 && hi2 - b >= sizeof(pat)) ||
			    fz_same(r->host + off, pat, sizeof(pat)))
				continue; /* allowed whole, or untouched */
			for (uint64_t k = off; k < off + sizeof(pat); k++) {
				uint64_t gpa = r->base + k;
				if (r->host[k] == PATTERN)
					continue;
				if (!(gpa - lo < hi - lo) && !(gpa - lo2 < hi2 - lo2)) {
					fprintf(stderr, "guest RAM written at 0x%llx\n",
						(unsigned long long)gpa);
					CHECK(!"loader wrote outside what it loaded");
				}
			}
		}
	}
}

static void restore(const struct guest_mem *gm, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		uint64_t a = MAX(lo, r->base), b = MIN(hi, r->base + r->size);
		if (a < b)
			memset(r->host + (a - r->base), PATTERN, b - a);
	}
}

/* An ELF's PT_LOAD segments, read here from the file, hold their bytes
 * (checked when no two overlap, so that no copy overwrote another). */
static FZ_NOCOV void check_elf_contents(const struct guest_mem *gm, const uint8_t *img, size_t size)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[LOADER_MAX_PHDRS];
	unsigned n = 0;

	memcpy(&eh, img, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr p;
		memcpy(&p, img + eh.e_phoff + i * sizeof(p), sizeof(p));
		if (p.p_type == PT_LOAD && p.p_memsz)
			ph[n++] = p;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (ranges_overlap(ph[i].p_paddr, ph[i].p_memsz, ph[j].p_paddr,
					   ph[j].p_memsz))
				return;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = gm_ptr(gm, ph[i].p_paddr, ph[i].p_memsz);
		CHECK(p && ph[i].p_offset + ph[i].p_filesz <= size);
		CHECK(fz_same(p, img + ph[i].p_offset, ph[i].p_filesz));
		CHECK(fz_zero(p + ph[i].p_filesz, ph[i].p_memsz - ph[i].p_filesz));
	}
}

static void check_kernel(const struct guest_mem *gm, const struct boot_info *bi,
			 enum boot_pref pref, const uint8_t *img, size_t size)
{
	bool elf = size >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG);

	CHECK(bi->proto == BOOT_LINUX64 || bi->proto == BOOT_PVH);
	if (pref == BOOT_PREF_PVH)
		CHECK(bi->proto == BOOT_PVH);
	if (pref == BOOT_PREF_LINUX)
		CHECK(bi->proto == BOOT_LINUX64);
	CHECK(bi->kernel_start >= LAYOUT_HIMEM_START && bi->kernel_start < bi->kernel_end);
	CHECK(gm_region_of(gm, bi->kernel_start) && gm_region_of(gm, bi->kernel_end - 1));
	CHECK(bi->entry >= bi->kernel_start && bi->entry < bi->kernel_end);
	if (bi->proto == BOOT_PVH)
		CHECK(bi->entry < LAYOUT_MMIO_GAP_START);
	CHECK(bi->initrd_max <= LAYOUT_MMIO_GAP_START);
	if (elf) {
		CHECK(!bi->has_setup_header);
		check_elf_contents(gm, img, size);
		return;
	}
	/* bzImage: the protected-mode kernel at 1 MiB. */
	uint64_t setup_sects = img[0x1f1] ? img[0x1f1] : 4;
	uint64_t off = (setup_sects + 1) * 512;
	CHECK(bi->has_setup_header && bi->proto == BOOT_LINUX64);
	CHECK(bi->kernel_start == LAYOUT_BZIMAGE_LOAD);
	CHECK(bi->entry == LAYOUT_BZIMAGE_LOAD + LAYOUT_BZIMAGE_ENTRY64_OFF);
	CHECK(off < size && bi->kernel_end - LAYOUT_BZIMAGE_LOAD >= size - off);
	CHECK(fz_same(gm_ptr(gm, LAYOUT_BZIMAGE_LOAD, size - off), img + off, size - off));
	CHECK(bi->setup.code32_start == LAYOUT_BZIMAGE_LOAD);
}

static void load_initrd(const struct guest_mem *gm, struct boot_info *bi, uint64_t size)
{
	char err[256] = "";

	CHECK(ftruncate(ifd, 0) == 0 && ftruncate(ifd, (off_t)size) == 0);
	CHECK(pwrite(ifd, initrd_bytes, size, 0) == (ssize_t)size);
	int ret = loader_load_initrd(gm, ifd, bi, err, sizeof(err));
	if (ret) {
		CHECK(err[0]);
		check_written(gm, bi->kernel_start, bi->kernel_end, 0, 0);
		return;
	}
	const struct gm_region *low = gm_region_of(gm, 0);
	CHECK(size > 0 && bi->initrd_size == size);
	CHECK(!(bi->initrd_addr & 4095) && bi->initrd_addr >= bi->kernel_end);
	CHECK(bi->initrd_addr + size <= MIN(low->base + low->size, bi->initrd_max));
	CHECK(fz_same(gm_ptr(gm, bi->initrd_addr, size), initrd_bytes, size));
	check_written(gm, bi->kernel_start, bi->kernel_end, bi->initrd_addr,
		      bi->initrd_addr + size);
	restore(gm, bi->initrd_addr, bi->initrd_addr + size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	for (unsigned i = 0; i < ARRAY_SIZE(layouts); i++) {
		fz_gm_init(&gms[i], &layouts[i]);
		memset(gms[i].mapping, PATTERN, gms[i].mapping_len);
	}
	kfd = memfd_create("kernel", MFD_CLOEXEC);
	ifd = memfd_create("initrd", MFD_CLOEXEC);
	CHECK(kfd >= 0 && ifd >= 0);
	initrd_bytes = malloc(INITRD_MAX);
	CHECK(initrd_bytes);
	for (size_t i = 0; i < INITRD_MAX; i++)
		initrd_bytes[i] = (uint8_t)(i * 7 + (i >> 12));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	uint8_t flags = fin_u8(&in);
	uint64_t initrd_size = (uint64_t)fin_u16(&in) * 64;
	const struct guest_mem *gm = &gms[flags & 3];
	enum boot_pref pref = (enum boot_pref)((flags >> 2) & 3);
	struct boot_info bi;
	char err[256] = "";

	if (pref > BOOT_PREF_PVH)
		pref = BOOT_PREF_AUTO;
	CHECK(ftruncate(kfd, 0) == 0);
	CHECK(pwrite(kfd, in.p, in.n, 0) == (ssize_t)in.n);
	memset(&bi, 0, sizeof(bi));
	int ret = loader_load_kernel(gm, kfd, pref, &bi, err, sizeof(err));
	if (ret) {
		CHECK(ret < 0 && err[0] && memchr(err, '\0', sizeof(err)));
		check_written(gm, 0, 0, 0, 0);
		return 0;
	}
	check_kernel(gm, &bi, pref, in.p, in.n);
	check_written(gm, bi.kernel_start, bi.kernel_end, 0, 0);
	if ((flags & 0x20) && initrd_size)
		load_initrd(gm, &bi, MIN(initrd_size, INITRD_MAX));
	restore(gm, bi.kernel_start, bi.kernel_end);
	return 0;
}
