/* SPDX-License-Identifier: Apache-2.0 */
/* The bzImage loader on synthetic images (boot sector + setup header at
 * 0x1f1, written at the offsets of Documentation/arch/x86/boot.rst, not
 * through ember's struct), format detection in loader_load_kernel, and
 * initrd placement. */
#include "unit.h"

#include <sys/socket.h>

#include "arch/x86_64/layout.h"
#include "loader/loader.h"

/* Setup header fields: absolute file offsets (boot.rst). */
#define OFF_SETUP_SECTS 0x1f1
#define OFF_SYSSIZE 0x1f4
#define OFF_BOOT_FLAG 0x1fe
#define OFF_JUMP 0x200
#define OFF_HEADER 0x202
#define OFF_VERSION 0x206
#define OFF_TYPE_OF_LOADER 0x210
#define OFF_LOADFLAGS 0x211
#define OFF_CODE32_START 0x214
#define OFF_INITRD_ADDR_MAX 0x22c
#define OFF_KERNEL_ALIGNMENT 0x230
#define OFF_XLOADFLAGS 0x236
#define OFF_CMDLINE_SIZE 0x238
#define OFF_PREF_ADDRESS 0x258
#define OFF_INIT_SIZE 0x260
#define OFF_KERNEL_INFO 0x268

struct bz {
	unsigned setup_sects; /* as written in the header (0 means 4) */
	uint64_t payload;     /* bytes of protected-mode kernel in the file */
	uint32_t syssize;     /* in 16-byte units; 0: payload / 16 */
	uint32_t init_size;
	uint16_t version;
	uint16_t xloadflags;
	uint8_t jump; /* header ends at 0x202 + jump */
};

static const struct bz BZ_DEFAULT = {
	.setup_sects = 4, .payload = 0x2000, .init_size = 0x100000, .version = 0x020f,
	.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G, .jump = 0x6a,
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t kernel_off(const struct bz *o)
{
	return ((o->setup_sects ? o->setup_sects : 4) + 1) * 512ull;
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 31 + 7);
}

/* Builds the image; returns a malloc'd buffer of *len bytes. */
static uint8_t *bz_build(const struct bz *o, size_t *len)
{
	uint64_t koff = kernel_off(o);
	*len = (size_t)(koff + o->payload);
	uint8_t *b = calloc(1, *len < 4096 ? 4096 : *len);
	assert_non_null(b);
	b[OFF_SETUP_SECTS] = (uint8_t)o->setup_sects;
	put32(b + OFF_SYSSIZE, o->syssize ? o->syssize : (uint32_t)(o->payload / 16));
	put16(b + OFF_BOOT_FLAG, 0xaa55);
	b[OFF_JUMP] = 0xeb;
	b[OFF_JUMP + 1] = o->jump;
	memcpy(b + OFF_HEADER, "HdrS", 4);
	put16(b + OFF_VERSION, o->version);
	b[OFF_LOADFLAGS] = 0x01; /* LOADED_HIGH */
	put32(b + OFF_CODE32_START, 0x12345); /* the loader sets its own */
	put32(b + OFF_INITRD_ADDR_MAX, 0x7fffffff);
	put32(b + OFF_KERNEL_ALIGNMENT, 0x200000);
	put16(b + OFF_XLOADFLAGS, o->xloadflags);
	put32(b + OFF_CMDLINE_SIZE, 2047);
	put64(b + OFF_PREF_ADDRESS, 0x1000000);
	put32(b + OFF_INIT_SIZE, o->init_size);
	put32(b + OFF_KERNEL_INFO, 0x4321);
	for (uint64_t i = 0; i < o->payload; i++)
		b[koff + i] = pattern(i);
	return b;
}

struct fx {
	struct guest_mem gm;
	struct boot_info bi;
	char err[256];
};

static int setup_mem(void **state, uint64_t mem)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gm_layout l;
	layout_ram(mem, &l);
	if (!f || gm_init(&f->gm, &l, GM_BACKING_4K))
		return -1;
	*state = f;
	return 0;
}

static int setup_64m(void **state)
{
	return setup_mem(state, MiB(64));
}

static int setup_16m(void **state)
{
	return setup_mem(state, MiB(16));
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f)
		gm_destroy(&f->gm);
	free(f);
	return 0;
}

static int load_buf(struct fx *f, const void *buf, size_t len, enum boot_pref pref)
{
	int fd = ut_tmpfd(buf, len);
	assert_true(fd >= 0);
	memset(&f->bi, 0, sizeof(f->bi));
	f->err[0] = '\0';
	int ret = loader_load_kernel(&f->gm, fd, pref, &f->bi, f->err, sizeof(f->err));
	close(fd);
	return ret;
}

static int load_bz(struct fx *f, const struct bz *o, enum boot_pref pref)
{
	size_t len;
	uint8_t *b = bz_build(o, &len);
	int ret = load_buf(f, b, len, pref);
	free(b);
	return ret;
}

static void expect_bz_fail(struct fx *f, const struct bz *o, const char *w1, const char *w2)
{
	memset(gm_ptr(&f->gm, LAYOUT_BZIMAGE_LOAD, 4096), 0, 4096);
	int ret = load_bz(f, o, BOOT_PREF_AUTO);
	if (ret != -ENOEXEC)
		fail_msg("load returned %d (\"%s\"), expected -ENOEXEC", ret, f->err);
	assert_substr(f->err, w1);
	if (w2)
		assert_substr(f->err, w2);
	/* Nothing was copied. */
	const uint8_t *p = gm_ptr(&f->gm, LAYOUT_BZIMAGE_LOAD, 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(p[i], 0);
}

/* ---------------------------------------------------------------- bzImage */

static void good_bzimage(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	assert_int_equal(load_bz(f, &o, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.proto, BOOT_LINUX64);
	assert_int_equal(f->bi.entry, 0x100200);
	assert_int_equal(f->bi.kernel_start, 0x100000);
	assert_int_equal(f->bi.kernel_end, 0x100000 + 0x100000); /* init_size > payload */
	assert_int_equal(f->bi.initrd_max, 0x80000000);	 /* initrd_addr_max + 1 */
	assert_true(f->bi.has_setup_header);
	/* The header seeds the zero page. */
	assert_int_equal(f->bi.setup.setup_sects, 4);
	assert_int_equal(f->bi.setup.boot_flag, 0xaa55);
	assert_int_equal(f->bi.setup.header, 0x53726448);
	assert_int_equal(f->bi.setup.version, 0x020f);
	assert_int_equal(f->bi.setup.loadflags, 0x01);
	assert_int_equal(f->bi.setup.code32_start, 0x100000);
	assert_int_equal(f->bi.setup.kernel_alignment, 0x200000);
	assert_int_equal(f->bi.setup.xloadflags, o.xloadflags);
	assert_int_equal(f->bi.setup.cmdline_size, 2047);
	assert_int_equal(f->bi.setup.pref_address, 0x1000000);
	assert_int_equal(f->bi.setup.init_size, 0x100000);
	assert_int_equal(f->bi.setup.kernel_info_offset, 0x4321);
	/* The payload is at 1 MiB, and nothing past it was written. */
	const uint8_t *p = gm_ptr(&f->gm, 0x100000, o.payload + 4096);
	for (uint64_t i = 0; i < o.payload; i++)
		if (p[i] != pattern(i))
			fail_msg("payload byte 0x%llx differs", (unsigned long long)i);
	for (uint64_t i = o.payload; i < o.payload + 4096; i++)
		assert_int_equal(p[i], 0);

	/* The zero page built from it. */
	static struct boot_params bp;
	f->bi.cmdline_len = 20;
	boot_fill_zero_page(&bp, MiB(64), &f->bi);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp.hdr.cmdline_size, 20);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.e820_entries, 3);
}

static void payload_bigger_than_init_size(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	o.payload = 0x3000;
	o.init_size = 0x1000;
	o.setup_sects = 0; /* means 4 */
	assert_int_equal(load_bz(f, &o, BOOT_PREF_LINUX), 0);
	assert_int_equal(f->bi.kernel_end, 0x103000);
	const uint8_t *p = gm_ptr(&f->gm, 0x100000, 1);
	assert_int_equal(p[0], pattern(0));
}

static void header_length_from_jump(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	/* The header ends at 0x202 + the jump's offset byte: here 0x264, so
	 * init_size is header and kernel_info_offset (0x268) is not. */
	o.jump = 0x62;
	assert_int_equal(load_bz(f, &o, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.setup.init_size, 0x100000);
	assert_int_equal(f->bi.setup.kernel_info_offset, 0);
	/* A header too short to hold "HdrS" is no header. */
	o.jump = 0;
	expect_bz_fail(f, &o, "not a bzImage", "no setup header");
}

static void old_protocol(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	o.version = 0x020b;
	expect_bz_fail(f, &o, "boot protocol 2.11", "too old");
	o.version = 0x020c;
	assert_int_equal(load_bz(f, &o, BOOT_PREF_AUTO), 0);
}

static void no_64bit_entry(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	o.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	expect_bz_fail(f, &o, "XLF_KERNEL_64", "64-bit entry");
}

static void truncated_payload(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	o.syssize = 0x4000 / 16; /* header says 16 KiB, the file has 8 KiB */
	expect_bz_fail(f, &o, "truncated", "header says 16384 bytes of kernel, the file has 8192");
	o.syssize = 0x2000 / 16 + 1;
	expect_bz_fail(f, &o, "truncated", "8208");

	/* Setup sectors and nothing after them. */
	o = BZ_DEFAULT;
	o.payload = 0;
	expect_bz_fail(f, &o, "truncated", "no protected-mode kernel after 4 setup sectors");
	o.setup_sects = 8;
	o.payload = 0;
	expect_bz_fail(f, &o, "truncated", "after 8 setup sectors");
}

static void truncated_boot_sector(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = bz_build(&BZ_DEFAULT, &len);

	/* Long enough to be recognised (0xAA55, "HdrS"), shorter than the
	 * two sectors the loader reads. */
	assert_errno(load_buf(f, b, 0x300, BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "bzImage is truncated (768 bytes)");
	free(b);
}

static void init_size_too_big_for_ram(void **state)
{
	struct fx *f = *state; /* 16 MiB of RAM */
	struct bz o = BZ_DEFAULT;

	o.init_size = MiB(32);
	expect_bz_fail(f, &o, "bzImage needs 32 MiB at 1 MiB", "too small");
	/* Exactly up to the end of RAM fits. */
	o.init_size = MiB(15);
	assert_int_equal(load_bz(f, &o, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->bi.kernel_end, MiB(16));
	o.init_size = MiB(15) + 1;
	expect_bz_fail(f, &o, "bzImage needs 16 MiB", "too small");
}

static void pvh_requested(void **state)
{
	struct fx *f = *state;
	struct bz o = BZ_DEFAULT;

	assert_errno(load_bz(f, &o, BOOT_PREF_PVH), -ENOEXEC);
	assert_substr(f->err, "PVH boot requested, but a bzImage has no PVH entry");
}

/* ---------------------------------------------------------------- detection */

static void neither_elf_nor_bzimage(void **state)
{
	struct fx *f = *state;
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 17 + 1);
	assert_errno(load_buf(f, junk, sizeof(junk), BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "neither an ELF vmlinux nor a bzImage");
	/* 0xAA55 without "HdrS" (an MBR) is not a bzImage either. */
	junk[0x1fe] = 0x55;
	junk[0x1ff] = 0xaa;
	assert_errno(load_buf(f, junk, sizeof(junk), BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "neither an ELF vmlinux nor a bzImage");
	/* Shorter than the ELF magic. */
	assert_errno(load_buf(f, "\x7f" "EL", 3, BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "file is empty or truncated (3 bytes)");
	assert_errno(load_buf(f, "", 0, BOOT_PREF_AUTO), -ENOEXEC);
	assert_substr(f->err, "empty");
}

static void not_a_regular_file(void **state)
{
	struct fx *f = *state;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_errno(loader_load_kernel(&f->gm, sv[0], BOOT_PREF_AUTO, &f->bi, f->err,
					sizeof(f->err)),
		     -EINVAL);
	assert_substr(f->err, "not a regular file");
	assert_errno(loader_load_initrd(&f->gm, sv[0], &f->bi, f->err, sizeof(f->err)), -EINVAL);
	assert_substr(f->err, "not a regular file");
	close(sv[0]);
	close(sv[1]);

	int dfd = open(ut_tmpdir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_errno(loader_load_kernel(&f->gm, dfd, BOOT_PREF_AUTO, &f->bi, f->err,
					sizeof(f->err)),
		     -EINVAL);
	assert_substr(f->err, "not a regular file");
	close(dfd);
}

/* ---------------------------------------------------------------- initrd */

static int load_initrd(struct fx *f, size_t size)
{
	uint8_t *data = malloc(size ? size : 1);
	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = pattern(i + 3);
	int fd = ut_tmpfd(data, size);
	assert_true(fd >= 0);
	free(data);
	f->err[0] = '\0';
	int ret = loader_load_initrd(&f->gm, fd, &f->bi, f->err, sizeof(f->err));
	close(fd);
	return ret;
}

static void check_initrd(struct fx *f, gpa_t addr, uint64_t size)
{
	assert_int_equal(f->bi.initrd_addr, addr);
	assert_int_equal(f->bi.initrd_size, size);
	assert_int_equal(addr % 4096, 0);
	const uint8_t *p = gm_ptr(&f->gm, addr, size);
	assert_non_null(p);
	for (uint64_t i = 0; i < size; i++)
		if (p[i] != pattern(i + 3))
			fail_msg("initrd byte 0x%llx differs", (unsigned long long)i);
}

static void initrd_placement(void **state)
{
	struct fx *f = *state; /* 64 MiB */

	/* As high as possible below the end of RAM, page-aligned. */
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = LAYOUT_MMIO_GAP_START};
	assert_int_equal(load_initrd(f, 10000), 0);
	check_initrd(f, 0x3ffd000, 10000);

	/* Below the kernel's initrd_addr_max when that is lower. */
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = MiB(32)};
	assert_int_equal(load_initrd(f, 10000), 0);
	check_initrd(f, 0x1ffd000, 10000);

	/* An unaligned maximum: the initrd still ends below it. */
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = 0x1fff800};
	assert_int_equal(load_initrd(f, 10000), 0);
	check_initrd(f, 0x1ffd000, 10000);
	assert_true(f->bi.initrd_addr + 10000 <= 0x1fff800);

	/* A whole number of pages, exactly up to the end of RAM. */
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = LAYOUT_MMIO_GAP_START};
	assert_int_equal(load_initrd(f, 3 * 4096), 0);
	check_initrd(f, MiB(64) - 3 * 4096, 3 * 4096);
}

static void initrd_above_kernel_end(void **state)
{
	struct fx *f = *state;

	/* Exactly the room between the kernel's (page-rounded) end and RAM's. */
	f->bi = (struct boot_info){.kernel_end = MiB(64) - 0x3fff, .initrd_max = GiB(3)};
	assert_int_equal(load_initrd(f, 0x3000), 0);
	check_initrd(f, MiB(64) - 0x3000, 0x3000);

	f->bi = (struct boot_info){.kernel_end = MiB(64) - 0x3fff, .initrd_max = GiB(3)};
	assert_errno(load_initrd(f, 0x3001), -ENOSPC);
	assert_substr(f->err, "does not fit");
	assert_substr(f->err, "kernel's end (0x3ffd000)");
	assert_int_equal(f->bi.initrd_size, 0);

	/* A kernel that ends where RAM does. */
	f->bi = (struct boot_info){.kernel_end = MiB(64), .initrd_max = GiB(3)};
	assert_errno(load_initrd(f, 1), -ENOSPC);
	assert_substr(f->err, "does not fit");
	/* The floor is at least 1 MiB even without a kernel end. */
	f->bi = (struct boot_info){.kernel_end = 0, .initrd_max = MiB(1) + 4096};
	assert_int_equal(load_initrd(f, 4096), 0);
	check_initrd(f, MiB(1), 4096);
	f->bi = (struct boot_info){.kernel_end = 0, .initrd_max = MiB(1) + 4096};
	assert_errno(load_initrd(f, 4097), -ENOSPC);
}

static void initrd_too_big(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	/* A sparse file one byte bigger than RAM. */
	assert_int_equal(ut_write_file(path, "initrd", "", 0), 0);
	assert_int_equal(truncate(path, (off_t)MiB(64) + 1), 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = GiB(3)};
	assert_errno(loader_load_initrd(&f->gm, fd, &f->bi, f->err, sizeof(f->err)), -ENOSPC);
	close(fd);
	assert_substr(f->err, "does not fit in guest RAM");
	assert_substr(f->err, "67108865 bytes");
	assert_int_equal(f->bi.initrd_addr, 0);
}

static void initrd_empty(void **state)
{
	struct fx *f = *state;

	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = GiB(3)};
	assert_errno(load_initrd(f, 0), -EINVAL);
	assert_substr(f->err, "the initrd file is empty");
	assert_int_equal(f->bi.initrd_size, 0);
}

static void initrd_stays_below_the_gap(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gm_layout l = {.base = {0, GiB(4)}, .size = {MiB(16), MiB(16)}, .n = 2};

	assert_non_null(f);
	*state = f; /* the teardown frees it */
	assert_int_equal(gm_init(&f->gm, &l, GM_BACKING_4K), 0);
	f->bi = (struct boot_info){.kernel_end = 0x200000, .initrd_max = GiB(3)};
	assert_int_equal(load_initrd(f, 5000), 0);
	check_initrd(f, MiB(16) - 8192, 5000);
}

static int setup_none(void **state)
{
	*state = NULL;
	return 0;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(good_bzimage, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(payload_bigger_than_init_size, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(header_length_from_jump, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(old_protocol, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(no_64bit_entry, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(truncated_payload, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(truncated_boot_sector, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(init_size_too_big_for_ram, setup_16m, teardown),
	cmocka_unit_test_setup_teardown(pvh_requested, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(neither_elf_nor_bzimage, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(not_a_regular_file, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(initrd_placement, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(initrd_above_kernel_end, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(initrd_too_big, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(initrd_empty, setup_64m, teardown),
	cmocka_unit_test_setup_teardown(initrd_stays_below_the_gap, setup_none, teardown),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
