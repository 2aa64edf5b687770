/* SPDX-License-Identifier: Apache-2.0 */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

/* A bzImage carries 0xAA55 at 0x1fe and "HdrS" at 0x202. */
static bool looks_like_bzimage(int fd, uint64_t fsize)
{
	uint8_t b[8];
	if (fsize < 0x206 || pread_full(fd, b, sizeof(b), 0x1fe))
		return false;
	return b[0] == 0x55 && b[1] == 0xaa && !memcmp(b + 4, "HdrS", 4);
}

int loader_load_kernel(const struct guest_mem *gm, int fd, enum boot_pref pref,
		       struct boot_info *bi, char *err, size_t errlen)
{
	struct stat st;
	uint8_t magic[SELFMAG];

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	if (st.st_size < (off_t)sizeof(magic) || pread_full(fd, magic, sizeof(magic), 0)) {
		snprintf(err, errlen, "file is empty or truncated (%lld bytes)",
			 (long long)st.st_size);
		return -ENOEXEC;
	}
	if (!memcmp(magic, ELFMAG, SELFMAG))
		return loader_load_elf(gm, fd, (uint64_t)st.st_size, pref, bi, err, errlen);
	if (looks_like_bzimage(fd, (uint64_t)st.st_size))
		return loader_load_bzimage(gm, fd, (uint64_t)st.st_size, pref, bi, err, errlen);
	snprintf(err, errlen, "neither an ELF vmlinux nor a bzImage");
	return -ENOEXEC;
}

int loader_load_initrd(const struct guest_mem *gm, int fd, struct boot_info *bi, char *err,
		       size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "the initrd file is empty");
		return -EINVAL;
	}
	const struct gm_region *low = gm_region_of(gm, 0);
	uint64_t size = (uint64_t)st.st_size;
	uint64_t top = MIN(low->base + low->size, bi->initrd_max);
	uint64_t floor = ALIGN_UP(MAX(bi->kernel_end, LAYOUT_HIMEM_START), 4096ull);
	if (size > top || ALIGN_DOWN(top - size, 4096ull) < floor) {
		snprintf(err, errlen,
			 "the initrd (%" PRIu64 " bytes) does not fit in guest RAM between the "
			 "kernel's end (0x%" PRIx64 ") and 0x%" PRIx64,
			 size, floor, top);
		return -ENOSPC;
	}
	uint64_t addr = ALIGN_DOWN(top - size, 4096ull);
	void *dst = gm_ptr(gm, addr, size);
	BUG_ON(!dst);
	int ret = pread_full(fd, dst, size, 0);
	if (ret) {
		snprintf(err, errlen, "reading the initrd: %s", strerror(-ret));
		return ret;
	}
	bi->initrd_addr = addr;
	bi->initrd_size = size;
	return 0;
}
