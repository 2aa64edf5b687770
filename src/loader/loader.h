/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel and initrd loaders: ELF vmlinux (64-bit Linux boot protocol or
 * PVH), bzImage (64-bit entry), initrd. Every load checks the whole image
 * against the file and against guest RAM before it copies a byte, and every
 * copy goes through the guest-memory accessor. */
#ifndef EMBER_LOADER_LOADER_H
#define EMBER_LOADER_LOADER_H

#include <stddef.h>

#include "arch/x86_64/boot.h"
#include "common/util.h"
#include "mem/guest_mem.h"

enum boot_pref {
	BOOT_PREF_AUTO,	 /* PVH when the ELF has the PVH note (as Firecracker) */
	BOOT_PREF_LINUX, /* always the 64-bit Linux boot protocol */
	BOOT_PREF_PVH,	 /* PVH; an error when the image has no PVH note */
};

/* Caps on what a kernel file may ask of the loader. */
#define LOADER_MAX_PHDRS      128
#define LOADER_MAX_NOTE_BYTES (64u * 1024)

/* Loads the kernel in `fd` (an open, readable file) into guest memory and
 * fills bi->proto, entry, kernel_start/end and, for bzImage, the setup
 * header. On error, `err` holds one line naming the problem. */
int loader_load_kernel(const struct guest_mem *gm, int fd, enum boot_pref pref,
		       struct boot_info *bi, char *err, size_t errlen) WUR;
int loader_load_elf(const struct guest_mem *gm, int fd, uint64_t fsize, enum boot_pref pref,
		    struct boot_info *bi, char *err, size_t errlen) WUR;
int loader_load_bzimage(const struct guest_mem *gm, int fd, uint64_t fsize, enum boot_pref pref,
			struct boot_info *bi, char *err, size_t errlen) WUR;

/* Places the initrd in `fd` page-aligned as high as possible in the RAM
 * below the MMIO gap, above the kernel and below bi->initrd_max, and
 * records it in bi. */
int loader_load_initrd(const struct guest_mem *gm, int fd, struct boot_info *bi, char *err,
		       size_t errlen) WUR;

/* The kernel command line being assembled: `cap` bytes including the NUL. */
struct cmdline {
	char buf[4096];
	size_t len;
	size_t cap;
};

void cmdline_init(struct cmdline *c, size_t cap);
/* Appends `s` after a space. -E2BIG (and no change) when it would not fit. */
int cmdline_append(struct cmdline *c, const char *s) WUR;
/* True when `key` (e.g. "root=") begins a parameter already present. */
bool cmdline_has(const struct cmdline *c, const char *key);

#endif
