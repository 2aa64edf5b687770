/* SPDX-License-Identifier: Apache-2.0 */
/* The ELF vmlinux loader, fed ELF images built here with <elf.h> and
 * written to temp files: segments, bss, entry points, the PVH note, and
 * every way a header or segment can be wrong (each error message is
 * checked for what it names). */
#include "unit.h"

#include <elf.h>

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define IMG_CAP (256 * 1024)
#define DATA_START 0x2000 /* room for 146 program headers before it */

/* An ELF image under construction. */
struct elfb {
	uint8_t *buf;
	size_t len;
};

static Elf64_Ehdr *eh(struct elfb *b)
{
	return (Elf64_Ehdr *)(void *)b->buf;
}

static Elf64_Phdr *ph(struct elfb *b, unsigned i)
{
	return (Elf64_Phdr *)(void *)(b->buf + sizeof(Elf64_Ehdr)) + i;
}

static void elfb_init(struct elfb *b, uint64_t entry)
{
	free(b->buf); /* tests rebuild images in place */
	b->buf = calloc(1, IMG_CAP);
	assert_non_null(b->buf);
	b->len = DATA_START;
	Elf64_Ehdr *e = eh(b);
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = entry;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
}

static Elf64_Phdr *elfb_phdr(struct elfb *b, uint32_t type)
{
	Elf64_Phdr *p = ph(b, eh(b)->e_phnum++);
	assert_true((uint8_t *)(p + 1) <= b->buf + DATA_START);
	memset(p, 0, sizeof(*p));
	p->p_type = type;
	return p;
}

/* Appends `filesz` bytes of a pattern seeded by `seed` and a PT_LOAD for it. */
static Elf64_Phdr *elfb_load(struct elfb *b, uint64_t paddr, uint64_t filesz, uint64_t memsz,
			     uint8_t seed)
{
	Elf64_Phdr *p = elfb_phdr(b, PT_LOAD);
	b->len = ALIGN_UP(b->len, 16);
	assert_true(b->len + filesz <= IMG_CAP);
	for (uint64_t i = 0; i < filesz; i++)
		b->buf[b->len + i] = (uint8_t)(seed + i * 13);
	p->p_offset = b->len;
	p->p_vaddr = paddr | 0xffffffff80000000ull; /* as vmlinux: virtual != physical */
	p->p_paddr = paddr;
	p->p_filesz = filesz;
	p->p_memsz = memsz;
	p->p_flags = PF_R | PF_X;
	b->len += filesz;
	return p;
}

static void elfb_note(struct elfb *b, const char *name, uint32_t type, const void *desc,
		      uint32_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = descsz, .n_type = type};
	memcpy(b->buf + b->len, &nh, sizeof(nh));
	b->len += sizeof(nh);
	memcpy(b->buf + b->len, name, nh.n_namesz);
	b->len += ALIGN_UP(nh.n_namesz, 4);
	memcpy(b->buf + b->len, desc, descsz);
	b->len += ALIGN_UP(descsz, 4);
}

/* A PT_NOTE segment with a GNU build-id note, then Xen's PHYS32_ENTRY. */
static void elfb_pvh(struct elfb *b, uint64_t entry, uint32_t descsz)
{
	static const uint8_t build_id[20] = {1, 2, 3};
	Elf64_Phdr *p = elfb_phdr(b, PT_NOTE);
	b->len = ALIGN_UP(b->len, 4);
	p->p_offset = b->len;
	elfb_note(b, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
	elfb_note(b, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, descsz);
	p->p_filesz = b->len - p->p_offset;
	p->p_memsz = p->p_filesz;
}

static int elfb_fd(struct elfb *b)
{
	int fd = ut_tmpfd(b->buf, b->len);
	assert_true(fd >= 0);
	return fd;
}

/* ---------------------------------------------------------------- fixture */

struct fx {
	struct guest_mem gm;
	struct boot_info bi;
	struct elfb b;
	char err[256];
};

static int setup_64m(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gm_layout l;
	layout_ram(MiB(64), &l);
	if (!f || gm_init(&f->gm, &l, GM_BACKING_4K))
		return -1;
	*state = f;
	return 0;
}

/* RAM on both sides of the MMIO gap, kept small: [0, 64M) + [4G, 4G+64M). */
static int setup_gap(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gm_layout l = {.base = {0, GiB(4)}, .size = {MiB(64), MiB(64)}, .n = 2};
	if (!f || gm_init(&f->gm, &l, GM_BACKING_4K))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	gm_destroy(&f->gm);
	free(f->b.buf);
	free(f);
	return 0;
}

/* Loads f->b through loader_load_kernel (format detection included). */
static int load(struct fx *f, enum boot_pref pref)
{
	int fd = elfb_fd(&f->b);
	memset(&f->bi, 0, sizeof(f->bi));
	f->err[0] = '\0';
	int ret = loader_load_kernel(&f->gm, fd, pref, &f->bi, f->err, sizeof(f->err));
	close(fd);
	return ret;
}

/* Expects -ENOEXEC and an error naming each of the given words. */
static void expect_fail(struct fx *f, enum boot_pref pref, const char *w1, const char *w2)
{
	int ret = load(f, pref);
	if (ret != -ENOEXEC)
		fail_msg("load returned %d (\"%s\"), expected -ENOEXEC", ret, f->err);
	assert_substr(f->err, w1);
	if (w2)
		assert_substr(f->err, w2);
}

static void check_pattern(struct fx *f, gpa_t at, uint64_t n, uint8_t seed)
{
	const uint8_t *p = gm_ptr(&f->gm, at, n);
	assert_non_null(p);
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed + i * 13))
			fail_msg("byte 0x%llx of the segment at 0x%llx differs",
				 (unsigned long long)i, (unsigned long long)at);
}

static void check_fill(struct fx *f, gpa_t at, uint64_t n, uint8_t v)
{
	const uint8_t *p = gm_ptr(&f->gm, at, n);
	assert_non_null(p);
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != v)
			fail_msg("guest byte 0x%llx is 0x%02x, expected 0x%02x",
				 (unsigned long long)(at + i), p[i], v);
}

/* ---------------------------------------------------------------- good images */

static void good_elf(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100100);
	elfb_load(&f->b, 0x100000, 0x1000, 0x3000, 1); /* 8 KiB of bss */
	elfb_phdr(&f->b, PT_GNU_STACK);
	elfb_load(&f->b, 0x200000, 0x800, 0x800, 2);
	Elf64_Phdr *empty = elfb_load(&f->b, 0x40000, 0, 0, 3); /* memsz 0: skipped */
	(void)empty;
	/* Stale guest memory where the bss and beyond go. */
	memset(gm_ptr(&f->gm, 0x100000, 0x4000), 0xcc, 0x4000);
	memset(gm_ptr(&f->gm, 0x200000, 0x1000), 0xcc, 0x1000);

	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_LINUX64);
	assert_int_equal(f->bi.entry, 0x100100);
	assert_int_equal(f->bi.kernel_start, 0x100000);
	assert_int_equal(f->bi.kernel_end, 0x200800);
	assert_int_equal(f->bi.initrd_max, LAYOUT_MMIO_GAP_START);
	assert_false(f->bi.has_setup_header);
	check_pattern(f, 0x100000, 0x1000, 1);
	check_fill(f, 0x101000, 0x2000, 0);    /* bss zeroed */
	check_fill(f, 0x103000, 0x1000, 0xcc); /* past memsz: untouched */
	check_pattern(f, 0x200000, 0x800, 2);
	check_fill(f, 0x200800, 0x800, 0xcc);
	check_fill(f, 0x40000, 0x100, 0);
}

static void good_elf_above_4g(void **state)
{
	struct fx *f = *state;

	/* A 64-bit-protocol kernel may live above the gap. */
	elfb_init(&f->b, GiB(4) + MiB(1) + 0x10);
	elfb_load(&f->b, GiB(4) + MiB(1), 0x1000, 0x1000, 9);
	assert_int_equal(load(f, BOOT_PREF_LINUX), 0);
	assert_int_equal(f->bi.kernel_start, GiB(4) + MiB(1));
	assert_int_equal(f->bi.kernel_end, GiB(4) + MiB(1) + 0x1000);
	check_pattern(f, GiB(4) + MiB(1), 0x1000, 9);
}

static void pvh_note(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x1000000);
	elfb_load(&f->b, 0x1000000, 0x2000, 0x2000, 4);
	elfb_pvh(&f->b, 0x1000200, 4);

	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_PVH);
	assert_int_equal(f->bi.entry, 0x1000200);
	assert_int_equal(load(f, BOOT_PREF_PVH), 0);
	assert_int_equal(f->bi.proto, BOOT_PVH);
	assert_int_equal(f->bi.entry, 0x1000200);
	assert_int_equal(load(f, BOOT_PREF_LINUX), 0);
	assert_int_equal(f->bi.proto, BOOT_LINUX64);
	assert_int_equal(f->bi.entry, 0x1000000);
	check_pattern(f, 0x1000000, 0x2000, 4);
}

static void pvh_note_8_byte_desc(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x1000000);
	elfb_load(&f->b, 0x1000000, 0x2000, 0x2000, 4);
	elfb_pvh(&f->b, 0x1001000, 8);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_PVH);
	assert_int_equal(f->bi.entry, 0x1001000);
}

static void pvh_note_truncated_is_ignored(void **state)
{
	struct fx *f = *state;
	uint8_t junk[12];
	Elf64_Nhdr nh = {.n_namesz = 0xffffffffu, .n_descsz = 4, .n_type = 18};

	/* A note whose name runs past its segment ends the walk quietly. */
	elfb_init(&f->b, 0x1000000);
	elfb_load(&f->b, 0x1000000, 0x100, 0x100, 4);
	Elf64_Phdr *p = elfb_phdr(&f->b, PT_NOTE);
	f->b.len = ALIGN_UP(f->b.len, 4);
	p->p_offset = f->b.len;
	memcpy(junk, &nh, sizeof(nh));
	memcpy(f->b.buf + f->b.len, junk, sizeof(junk));
	f->b.len += sizeof(junk);
	p->p_filesz = sizeof(junk);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_LINUX64);
	expect_fail(f, BOOT_PREF_PVH, "PVH", "note");
}

static void pvh_note_needs_xen_name(void **state)
{
	struct fx *f = *state;
	uint32_t entry = 0x1000200;

	/* Type 18 means PHYS32_ENTRY only in the "Xen" namespace. */
	elfb_init(&f->b, 0x1000000);
	elfb_load(&f->b, 0x1000000, 0x2000, 0x2000, 4);
	Elf64_Phdr *p = elfb_phdr(&f->b, PT_NOTE);
	f->b.len = ALIGN_UP(f->b.len, 4);
	p->p_offset = f->b.len;
	elfb_note(&f->b, "Xem", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4);
	elfb_note(&f->b, "Linux", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4);
	elfb_note(&f->b, "Xen", XEN_ELFNOTE_PHYS32_ENTRY + 1, &entry, 4);
	elfb_note(&f->b, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 2); /* bad size */
	p->p_filesz = f->b.len - p->p_offset;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_LINUX64);
	assert_int_equal(f->bi.entry, 0x1000000);
}

static void pvh_requested_without_note(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x1000000);
	elfb_load(&f->b, 0x1000000, 0x100, 0x100, 4);
	expect_fail(f, BOOT_PREF_PVH, "PVH", "no PVH entry note");
}

static void max_phdrs_accepted(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	for (unsigned i = 0; i < LOADER_MAX_PHDRS - 1; i++)
		elfb_phdr(&f->b, PT_NULL);
	elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
	assert_int_equal(eh(&f->b)->e_phnum, LOADER_MAX_PHDRS);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	check_pattern(f, 0x100000, 0x10, 5);
}

/* ---------------------------------------------------------------- bad headers */

static void truncated_header(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	f->b.len = 40; /* magic, but less than an Elf64_Ehdr */
	expect_fail(f, BOOT_PREF_AUTO, "ELF header", "truncated");
}

static void truncated_program_headers(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
	elfb_load(&f->b, 0x200000, 0x10, 0x10, 5);
	f->b.len = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10;
	expect_fail(f, BOOT_PREF_AUTO, "program headers", "truncated");

	/* e_phoff so large that phoff + size wraps. */
	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
	eh(&f->b)->e_phoff = UINT64_MAX - 8;
	expect_fail(f, BOOT_PREF_AUTO, "program headers", "past the end");
}

static void wrong_ident_machine_type(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *what;
		unsigned off; /* into the ELF header */
		uint8_t val;
		const char *msg;
	} cases[] = {
		{"32-bit class", EI_CLASS, ELFCLASS32, "not a 64-bit little-endian x86-64 ELF"},
		{"big endian", EI_DATA, ELFDATA2MSB, "not a 64-bit little-endian x86-64 ELF"},
		{"i386", offsetof(Elf64_Ehdr, e_machine), EM_386, "not a 64-bit little-endian"},
		{"aarch64", offsetof(Elf64_Ehdr, e_machine), EM_AARCH64, "x86-64"},
		{"ET_DYN", offsetof(Elf64_Ehdr, e_type), ET_DYN, "ELF type 3 is not an executable"},
		{"ET_REL", offsetof(Elf64_Ehdr, e_type), ET_REL, "ELF type 1 is not an executable"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		elfb_init(&f->b, 0x100000);
		elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
		f->b.buf[cases[i].off] = cases[i].val;
		int ret = load(f, BOOT_PREF_AUTO);
		if (ret != -ENOEXEC || !strstr(f->err, cases[i].msg))
			fail_msg("%s: %d \"%s\"", cases[i].what, ret, f->err);
		/* Nothing was loaded. */
		check_fill(f, 0x100000, 0x10, 0);
	}
}

static void malformed_phdr_table(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	for (unsigned i = 0; i < LOADER_MAX_PHDRS; i++)
		elfb_phdr(&f->b, PT_NULL);
	elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
	expect_fail(f, BOOT_PREF_AUTO, "program header table is malformed", "129 entries");

	eh(&f->b)->e_phnum = 0;
	expect_fail(f, BOOT_PREF_AUTO, "malformed", "0 entries");
	eh(&f->b)->e_phnum = 1;
	eh(&f->b)->e_phentsize = 32;
	expect_fail(f, BOOT_PREF_AUTO, "malformed", "of 32 bytes");
}

static void no_loadable_segment(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_pvh(&f->b, 0x100000, 4);
	elfb_phdr(&f->b, PT_GNU_STACK);
	expect_fail(f, BOOT_PREF_AUTO, "no loadable segment", NULL);
}

static void bad_note_segment(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x10, 0x10, 5);
	elfb_pvh(&f->b, 0x100000, 4);
	ph(&f->b, 1)->p_filesz += 0x1000; /* past EOF */
	expect_fail(f, BOOT_PREF_AUTO, "note segment 1", "truncated");
	ph(&f->b, 1)->p_filesz = LOADER_MAX_NOTE_BYTES + 1; /* too big to read */
	expect_fail(f, BOOT_PREF_AUTO, "note segment 1", "malformed");
}

/* ---------------------------------------------------------------- bad segments */

static void segment_past_eof(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x1000, 5);
	f->b.len -= 1;
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "past the end of the file");

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x1000, 5)->p_offset = UINT64_MAX - 0x10;
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "past the end of the file");
}

static void segment_filesz_above_memsz(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x800, 5);
	int ret = load(f, BOOT_PREF_AUTO);
	assert_errno(ret, -ENOEXEC);
	assert_substr(f->err, "segment 0");
	check_fill(f, 0x100000, 0x1000, 0);
}

static void segment_filesz_above_memsz_message(void **state)
{
	struct fx *f = *state;

	/* p_filesz > p_memsz is named as such, not as a truncated file. */
	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x800, 5);
	assert_errno(load(f, BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "memsz");
}

static void segment_below_1m(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0xf0000);
	elfb_load(&f->b, 0xf0000, 0x100, 0x100, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0 at 0xf0000", "below 1 MiB");
	check_fill(f, 0xf0000, 0x100, 0);
}

static void segment_outside_ram(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, MiB(128));
	elfb_load(&f->b, MiB(128), 0x100, 0x100, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0 [0x8000000, 0x8000100)",
		    "outside guest RAM (64 MiB)");

	/* Starts in RAM, its bss runs past the end. */
	elfb_init(&f->b, MiB(63));
	elfb_load(&f->b, MiB(63), 0x100, MiB(1) + 1, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "outside guest RAM");

	/* p_paddr + p_memsz wraps. */
	elfb_init(&f->b, MiB(1));
	elfb_load(&f->b, 0xfffffffffffff000ull, 0x10, 0x2000, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "wraps");
}

static void segment_in_mmio_gap(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, GiB(3));
	elfb_load(&f->b, GiB(3), 0x100, 0x100, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0 [0xc0000000, 0xc0000100)", "MMIO gap");

	/* Straddling into the gap from RAM below, and out of it into RAM above. */
	elfb_init(&f->b, MiB(1));
	elfb_load(&f->b, MiB(1), 0x100, GiB(3), 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "MMIO gap");
	elfb_init(&f->b, GiB(4) - 0x1000);
	elfb_load(&f->b, GiB(4) - 0x1000, 0x100, 0x2000, 5);
	expect_fail(f, BOOT_PREF_AUTO, "segment 0", "MMIO gap");
}

static void second_segment_bad(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x100, 0x100, 5);
	elfb_load(&f->b, MiB(100), 0x100, 0x100, 6);
	expect_fail(f, BOOT_PREF_AUTO, "segment 1", "outside guest RAM");
}

static void nothing_loaded_on_error(void **state)
{
	struct fx *f = *state;

	/* Every check happens before the first copy: a rejected image leaves
	 * guest RAM untouched, whichever segment or entry point is wrong. */
	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x100, 0x100, 5);
	elfb_load(&f->b, MiB(100), 0x100, 0x100, 6);
	expect_fail(f, BOOT_PREF_AUTO, "segment 1", NULL);
	check_fill(f, 0x100000, 0x100, 0);

	elfb_init(&f->b, 0x50000);
	elfb_load(&f->b, 0x100000, 0x100, 0x100, 5);
	expect_fail(f, BOOT_PREF_AUTO, "entry point", NULL);
	check_fill(f, 0x100000, 0x100, 0);
}

/* ---------------------------------------------------------------- entry points */

static void entry_outside_image(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x50000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x1000, 5);
	expect_fail(f, BOOT_PREF_AUTO, "ELF entry point 0x50000", "not inside the loaded image");

	/* The end is exclusive. */
	eh(&f->b)->e_entry = 0x101000;
	expect_fail(f, BOOT_PREF_AUTO, "ELF entry point 0x101000", "not inside");
	eh(&f->b)->e_entry = 0x100fff;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.entry, 0x100fff);
	eh(&f->b)->e_entry = 0xfffff;
	expect_fail(f, BOOT_PREF_AUTO, "ELF entry point 0xfffff", "not inside");
}

static void pvh_entry_outside_image(void **state)
{
	struct fx *f = *state;

	elfb_init(&f->b, 0x100000);
	elfb_load(&f->b, 0x100000, 0x1000, 0x1000, 5);
	elfb_pvh(&f->b, 0x900000, 4);
	expect_fail(f, BOOT_PREF_AUTO, "PVH entry point 0x900000", "not inside");
	/* The 64-bit protocol ignores the note, so that one loads. */
	assert_int_equal(load(f, BOOT_PREF_LINUX), 0);
}

static void pvh_entry_above_4g(void **state)
{
	struct fx *f = *state;

	/* PVH enters in 32-bit mode: an entry above 4 GiB cannot work even if
	 * the image is loaded there. */
	elfb_init(&f->b, GiB(4) + MiB(1));
	elfb_load(&f->b, GiB(4) + MiB(1), 0x1000, 0x1000, 5);
	elfb_pvh(&f->b, GiB(4) + MiB(1) + 0x10, 8);
	expect_fail(f, BOOT_PREF_AUTO, "PVH entry point 0x100100010", "not inside");
	assert_int_equal(load(f, BOOT_PREF_LINUX), 0);
	assert_int_equal(f->bi.entry, GiB(4) + MiB(1));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(good_elf, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(good_elf_above_4g, setup_gap, teardown),
	cmocka_unit_test_setup_teardown(pvh_note, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_note_8_byte_desc, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_note_truncated_is_ignored, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_note_needs_xen_name, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_requested_without_note, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(max_phdrs_accepted, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(truncated_header, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(truncated_program_headers, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(wrong_ident_machine_type, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(malformed_phdr_table, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(no_loadable_segment, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(bad_note_segment, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_past_eof, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_filesz_above_memsz, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_filesz_above_memsz_message, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_below_1m, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_outside_ram, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(segment_in_mmio_gap, setup_gap, teardown),
	cmocka_unit_test_setup_teardown(second_segment_bad, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(nothing_loaded_on_error, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(entry_outside_image, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_entry_outside_image, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(pvh_entry_above_4g, setup_gap, teardown),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
