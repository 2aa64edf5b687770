/* SPDX-License-Identifier: Apache-2.0 */
/* ELF vmlinux: PT_LOAD segments at their physical addresses, entered through
 * the 64-bit Linux boot protocol at e_entry, or through PVH at the address in
 * the XEN_ELFNOTE_PHYS32_ENTRY note. */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t ph_end;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		snprintf(err, errlen, "not a 64-bit little-endian x86-64 ELF");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		snprintf(err, errlen, "ELF type %u is not an executable", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > LOADER_MAX_PHDRS) {
		snprintf(err, errlen,
			 "ELF program header table is malformed (%u entries of %u bytes)",
			 eh->e_phnum, eh->e_phentsize);
		return -ENOEXEC;
	}
	if (add_overflows(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &ph_end) ||
	    ph_end > fsize) {
		snprintf(err, errlen,
			 "ELF program headers run past the end of the file (truncated?)");
		return -ENOEXEC;
	}
	return 0;
}

/* Explains why [addr, addr+len) is not loadable RAM. */
static void explain_range(const struct guest_mem *gm, const char *what, uint64_t addr, uint64_t len,
			  char *err, size_t errlen)
{
	uint64_t end;
	if (add_overflows(addr, len, &end))
		snprintf(err, errlen, "%s at 0x%" PRIx64 " has a size that wraps", what, addr);
	else if (addr < LAYOUT_MMIO_GAP_END && end > LAYOUT_MMIO_GAP_START)
		snprintf(err, errlen,
			 "%s [0x%" PRIx64 ", 0x%" PRIx64 ") falls in the MMIO gap [0x%llx, 0x%llx)",
			 what, addr, end, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END);
	else
		snprintf(err, errlen,
			 "%s [0x%" PRIx64 ", 0x%" PRIx64 ") is outside guest RAM (%" PRIu64 " MiB)",
			 what, addr, end, gm_total(gm) >> 20);
}

/* Checks one PT_LOAD against the file and guest RAM; copies nothing. */
static int check_segment(const struct guest_mem *gm, uint64_t fsize, const Elf64_Phdr *ph,
			 unsigned i, char *err, size_t errlen)
{
	uint64_t file_end;
	char what[32];
	snprintf(what, sizeof(what), "segment %u", i);

	if (ph->p_filesz > ph->p_memsz) {
		snprintf(err, errlen,
			 "ELF %s: p_filesz 0x%" PRIx64 " is larger than p_memsz 0x%" PRIx64, what,
			 (uint64_t)ph->p_filesz, (uint64_t)ph->p_memsz);
		return -ENOEXEC;
	}
	if (add_overflows(ph->p_offset, ph->p_filesz, &file_end) || file_end > fsize) {
		snprintf(err, errlen, "ELF %s lies past the end of the file (truncated?)", what);
		return -ENOEXEC;
	}
	if (ph->p_paddr < LAYOUT_HIMEM_START) {
		snprintf(err, errlen,
			 "ELF %s at 0x%" PRIx64 " is below 1 MiB, where ember keeps "
			 "its boot structures",
			 what, (uint64_t)ph->p_paddr);
		return -ENOEXEC;
	}
	if (!gm_ptr(gm, ph->p_paddr, ph->p_memsz)) {
		explain_range(gm, what, ph->p_paddr, ph->p_memsz, err, errlen);
		return -ENOEXEC;
	}
	return 0;
}

static int copy_segment(const struct guest_mem *gm, int fd, const Elf64_Phdr *ph, unsigned i,
			char *err, size_t errlen)
{
	uint8_t *dst = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
	BUG_ON(!dst); /* check_segment passed */
	int ret = pread_full(fd, dst, ph->p_filesz, (off_t)ph->p_offset);
	if (ret) {
		snprintf(err, errlen, "reading ELF segment %u: %s", i, strerror(-ret));
		return ret;
	}
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return 0;
}

/* Finds the PVH entry in the PT_NOTE segments; 0 when there is none. */
static int find_pvh_entry(int fd, uint64_t fsize, const Elf64_Phdr *ph, unsigned n, uint64_t *entry,
			  char *err, size_t errlen)
{
	*entry = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t end;
		if (ph[i].p_type != PT_NOTE)
			continue;
		if (ph[i].p_filesz > LOADER_MAX_NOTE_BYTES ||
		    add_overflows(ph[i].p_offset, ph[i].p_filesz, &end) || end > fsize) {
			snprintf(err, errlen, "ELF note segment %u is malformed or truncated", i);
			return -ENOEXEC;
		}
		uint8_t *buf = malloc(ph[i].p_filesz ? ph[i].p_filesz : 1);
		if (!buf)
			return -ENOMEM;
		int ret = pread_full(fd, buf, ph[i].p_filesz, (off_t)ph[i].p_offset);
		if (ret) {
			free(buf);
			snprintf(err, errlen, "reading ELF notes: %s", strerror(-ret));
			return ret;
		}
		for (uint64_t off = 0; off + sizeof(Elf64_Nhdr) <= ph[i].p_filesz;) {
			Elf64_Nhdr nh;
			memcpy(&nh, buf + off, sizeof(nh));
			uint64_t name_off = off + sizeof(nh);
			uint64_t desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4);
			uint64_t next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4);
			if (next > ph[i].p_filesz)
				break; /* a truncated last note: ignore it */
			if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
			    !memcmp(buf + name_off, "Xen", 4) &&
			    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
				uint64_t v = 0;
				memcpy(&v, buf + desc_off, nh.n_descsz);
				*entry = v;
			}
			off = next;
		}
		free(buf);
	}
	return 0;
}

int loader_load_elf(const struct guest_mem *gm, int fd, uint64_t fsize, enum boot_pref pref,
		    struct boot_info *bi, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[LOADER_MAX_PHDRS];
	uint64_t pvh_entry;
	int ret;

	if (fsize < sizeof(eh) || (ret = pread_full(fd, &eh, sizeof(eh), 0))) {
		snprintf(err, errlen, "ELF header is truncated");
		return -ENOEXEC;
	}
	if ((ret = check_ehdr(&eh, fsize, err, errlen)))
		return ret;
	if ((ret = pread_full(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff))) {
		snprintf(err, errlen, "reading ELF program headers: %s", strerror(-ret));
		return ret;
	}
	if ((ret = find_pvh_entry(fd, fsize, ph, eh.e_phnum, &pvh_entry, err, errlen)))
		return ret;

	/* First every check, then the copies: a bad image leaves RAM alone. */
	bi->kernel_start = UINT64_MAX;
	bi->kernel_end = 0;
	unsigned loads = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if ((ret = check_segment(gm, fsize, &ph[i], i, err, errlen)))
			return ret;
		bi->kernel_start = MIN(bi->kernel_start, ph[i].p_paddr);
		bi->kernel_end = MAX(bi->kernel_end, ph[i].p_paddr + ph[i].p_memsz);
		loads++;
	}
	if (!loads) {
		snprintf(err, errlen, "ELF has no loadable segment");
		return -ENOEXEC;
	}

	if (pref == BOOT_PREF_PVH && !pvh_entry) {
		snprintf(err, errlen, "PVH boot requested, but the ELF has no PVH entry note");
		return -ENOEXEC;
	}
	if (pvh_entry && pref != BOOT_PREF_LINUX) {
		bi->proto = BOOT_PVH;
		bi->entry = pvh_entry;
	} else {
		bi->proto = BOOT_LINUX64;
		bi->entry = eh.e_entry;
	}
	if (bi->entry < bi->kernel_start || bi->entry >= bi->kernel_end ||
	    (bi->proto == BOOT_PVH && bi->entry >= LAYOUT_MMIO_GAP_START)) {
		snprintf(err, errlen, "%s entry point 0x%" PRIx64 " is not inside the loaded image",
			 bi->proto == BOOT_PVH ? "PVH" : "ELF", (uint64_t)bi->entry);
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz &&
		    (ret = copy_segment(gm, fd, &ph[i], i, err, errlen)))
			return ret;
	bi->initrd_max = LAYOUT_MMIO_GAP_START;
	return 0;
}
