/* SPDX-License-Identifier: Apache-2.0 */
/* Shared fixtures for ember's unit tests: cmocka, a per-binary temp
 * directory, temp files, eventfd counters, guest memory. Everything here is
 * static inline so that each test binary is one .c file. */
#ifndef EMBER_TESTS_UNIT_UNIT_H
#define EMBER_TESTS_UNIT_UNIT_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem/guest_mem.h"

/* Fails the test unless `hay` contains `needle`, showing both. */
#define assert_substr(hay, needle)                                                                 \
	do {                                                                                       \
		const char *hay_ = (hay), *needle_ = (needle);                                     \
		if (!hay_ || !strstr(hay_, needle_))                                               \
			fail_msg("\"%s\" does not contain \"%s\"", hay_ ? hay_ : "(null)",         \
				 needle_);                                                         \
	} while (0)

/* cmocka's assert_int_equal compares as unsigned; this shows -errno values
 * as themselves. */
#define assert_errno(expr, want)                                                                   \
	do {                                                                                       \
		long long got_ = (long long)(expr), want_ = (long long)(want);                     \
		if (got_ != want_)                                                                 \
			fail_msg("%s returned %lld, expected %lld", #expr, got_, want_);           \
	} while (0)

/* Runs the group; argv[1], when given, is a cmocka test-name filter
 * (wildcards * and ?), e.g. `build/unit/test_bus 'find_*'`. */
#define UT_MAIN(tests, setup, teardown)                                                            \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		if (argc > 1)                                                                      \
			cmocka_set_test_filter(argv[1]);                                           \
		return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);              \
	}

/* ---------------------------------------------------------------- temp files */

/* One directory per test binary, made by ut_tmpdir_setup (a cmocka group
 * setup) and emptied and removed by ut_tmpdir_teardown. */
static char ut_tmpdir[256] __attribute__((unused));

static inline int ut_tmpdir_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	(void)state;
	if (!base || !*base)
		base = "/tmp";
	int n = snprintf(ut_tmpdir, sizeof(ut_tmpdir), "%s/ember-unit-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(ut_tmpdir))
		return -1;
	return mkdtemp(ut_tmpdir) ? 0 : -1;
}

static inline int ut_tmpdir_teardown(void **state)
{
	(void)state;
	DIR *d = opendir(ut_tmpdir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char p[PATH_MAX + 256];
		snprintf(p, sizeof(p), "%s/%s", ut_tmpdir, de->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	closedir(d);
	return rmdir(ut_tmpdir);
}

/* Creates a file in the temp dir holding `len` bytes of `data` and stores
 * its name in `path` (PATH_MAX bytes). Returns 0 or -1. */
static inline int ut_write_file(char *path, const char *tag, const void *data, size_t len)
{
	snprintf(path, PATH_MAX, "%s/%s-XXXXXX", ut_tmpdir, tag);
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* Same, but returns a read-only fd of the file, already unlinked (what the
 * loaders take), or -1. */
static inline int ut_tmpfd(const void *data, size_t len)
{
	char path[PATH_MAX];
	if (ut_write_file(path, "img", data, len))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	return fd;
}

/* Reads a whole small file into a NUL-terminated malloc'd buffer. */
static inline char *ut_slurp(const char *path, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

/* ---------------------------------------------------------------- eventfds */

/* Takes and returns an eventfd's counter (0 when nothing was signalled);
 * the fd must be non-blocking. */
static inline uint64_t ut_efd_take(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* ---------------------------------------------------------------- guest memory */

/* Two regions (n = 2) or one (size1 == 0), asserting success. */
static inline void ut_gm_init2(struct guest_mem *gm, gpa_t b0, uint64_t s0, gpa_t b1, uint64_t s1)
{
	struct gm_layout l = {.base = {b0, b1}, .size = {s0, s1}, .n = s1 ? 2 : 1};
	int ret = gm_init(gm, &l, GM_BACKING_4K);
	if (ret)
		fail_msg("gm_init failed: %d", ret);
}

#endif
