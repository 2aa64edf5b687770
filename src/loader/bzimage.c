/* SPDX-License-Identifier: Apache-2.0 */
/* bzImage: the protected-mode kernel is loaded at 1 MiB and entered at its
 * 64-bit entry point (load address + 0x200), with the image's own setup
 * header seeding the zero page (Documentation/arch/x86/boot.rst). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

#define SETUP_HDR_OFFSET 0x1f1
#define BOOT_FLAG	 0xaa55
#define HDRS_MAGIC	 0x53726448 /* "HdrS" */
#define MIN_PROTOCOL	 0x020c	    /* 2.12: xloadflags */

int loader_load_bzimage(const struct guest_mem *gm, int fd, uint64_t fsize, enum boot_pref pref,
			struct boot_info *bi, char *err, size_t errlen)
{
	uint8_t sector[1024];
	struct setup_header h;
	int ret;

	if (pref == BOOT_PREF_PVH) {
		snprintf(err, errlen, "PVH boot requested, but a bzImage has no PVH entry");
		return -ENOEXEC;
	}
	if (fsize < sizeof(sector) || pread_full(fd, sector, sizeof(sector), 0)) {
		snprintf(err, errlen, "bzImage is truncated (%" PRIu64 " bytes)", fsize);
		return -ENOEXEC;
	}
	memset(&h, 0, sizeof(h));
	/* The header runs to 0x202 + the jump's offset byte; copy no more of it
	 * than the image says is header. */
	size_t hdr_len = MIN(sizeof(h), (size_t)(0x202 + sector[0x201] - SETUP_HDR_OFFSET));
	memcpy(&h, sector + SETUP_HDR_OFFSET, hdr_len);
	if (h.boot_flag != BOOT_FLAG || h.header != HDRS_MAGIC) {
		snprintf(err, errlen, "not a bzImage (no setup header)");
		return -ENOEXEC;
	}
	if (h.version < MIN_PROTOCOL) {
		snprintf(err, errlen, "bzImage boot protocol %u.%02u is too old (ember needs 2.12)",
			 h.version >> 8, h.version & 0xff);
		return -ENOEXEC;
	}
	if (!(h.xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "bzImage has no 64-bit entry point (XLF_KERNEL_64 unset)");
		return -ENOEXEC;
	}

	uint64_t setup_sects = h.setup_sects ? h.setup_sects : 4;
	uint64_t kernel_off = (setup_sects + 1) * 512;
	if (kernel_off >= fsize) {
		snprintf(err, errlen,
			 "bzImage is truncated: no protected-mode kernel after %" PRIu64
			 " setup sectors",
			 setup_sects);
		return -ENOEXEC;
	}
	uint64_t payload = fsize - kernel_off;
	if ((uint64_t)h.syssize * 16 > payload) {
		snprintf(err, errlen,
			 "bzImage is truncated: header says %" PRIu64
			 " bytes of kernel, the file has %" PRIu64,
			 (uint64_t)h.syssize * 16, payload);
		return -ENOEXEC;
	}
	uint64_t span = MAX(payload, (uint64_t)h.init_size);
	uint8_t *dst = gm_ptr(gm, LAYOUT_BZIMAGE_LOAD, span);
	if (!dst || LAYOUT_BZIMAGE_LOAD + span > LAYOUT_MMIO_GAP_START) {
		snprintf(err, errlen,
			 "bzImage needs %" PRIu64 " MiB at 1 MiB; guest RAM below the MMIO gap "
			 "is too small",
			 (span + (1 << 20) - 1) >> 20);
		return -ENOEXEC;
	}
	if ((ret = pread_full(fd, dst, payload, (off_t)kernel_off))) {
		snprintf(err, errlen, "reading bzImage: %s", strerror(-ret));
		return ret;
	}

	h.code32_start = (uint32_t)LAYOUT_BZIMAGE_LOAD;
	bi->proto = BOOT_LINUX64;
	bi->entry = LAYOUT_BZIMAGE_LOAD + LAYOUT_BZIMAGE_ENTRY64_OFF;
	bi->kernel_start = LAYOUT_BZIMAGE_LOAD;
	bi->kernel_end = LAYOUT_BZIMAGE_LOAD + span;
	bi->has_setup_header = true;
	bi->setup = h;
	bi->initrd_max = MIN((uint64_t)h.initrd_addr_max + 1, LAYOUT_MMIO_GAP_START);
	return 0;
}
