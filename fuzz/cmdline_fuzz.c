/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the kernel command line (src/loader/cmdline.c):
 * a capacity, then a sequence of cmdline_append / cmdline_has calls with
 * strings from the input, each compared with a reference model written
 * from loader.h's contract: the line never exceeds cap bytes with its NUL,
 * stays NUL-terminated with len == strlen, -E2BIG leaves it byte for byte
 * unchanged, and cmdline_has finds a key exactly at the start of a
 * parameter.
 *
 * Input: u16 cap (taken modulo 5000, so caps past the 4096-byte buffer are
 * tried), then records: op (bit 0: append / has), length, bytes.
 *
 *   make fuzz-cmdline FUZZ_SECONDS=180
 */
#include "fuzz.h"
#include "loader/loader.h"

struct model {
	char buf[8192];
	size_t len, cap;
};

static int model_append(struct model *m, const char *s)
{
	size_t n = strlen(s), sep = m->len && n ? 1 : 0;

	if (m->len + sep + n + 1 > m->cap)
		return -E2BIG;
	if (sep)
		m->buf[m->len++] = ' ';
	memcpy(m->buf + m->len, s, n + 1);
	m->len += n;
	return 0;
}

/* key matches at the start of a parameter (after the line's start or a
 * space, on a non-space); an empty key matches any non-empty line. */
static bool model_has(const struct model *m, const char *key)
{
	size_t k = strlen(key);

	if (!k)
		return m->len > 0;
	for (size_t i = 0; i < m->len; i++) {
		if (m->buf[i] == ' ' || (i && m->buf[i - 1] != ' '))
			continue;
		if (!strncmp(m->buf + i, key, k))
			return true;
	}
	return false;
}

static void check_same(const struct cmdline *c, const struct model *m)
{
	CHECK(c->cap == m->cap);
	CHECK(c->len == m->len && !memcmp(c->buf, m->buf, m->len + 1));
	CHECK(strlen(c->buf) == c->len);
	CHECK(c->cap ? c->len + 1 <= c->cap : c->len == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	static struct cmdline c;
	static struct model m;
	size_t cap = fin_u16(&in) % 5000;

	memset(&c, 0xa5, sizeof(c)); /* init must not depend on old contents */
	cmdline_init(&c, cap);
	memset(&m, 0, sizeof(m));
	m.cap = cap < sizeof(c.buf) ? cap : sizeof(c.buf);
	check_same(&c, &m);

	while (in.n) {
		uint8_t op = fin_u8(&in);
		char s[256];
		size_t n = fin_u8(&in);

		fin_bytes(&in, s, n);
		s[n] = '\0'; /* a NUL inside ends the string early, as in C */
		if (op & 1) {
			CHECK(cmdline_has(&c, s) == model_has(&m, s));
			continue;
		}
		struct cmdline before = c;
		int ret = cmdline_append(&c, s);
		CHECK(ret == 0 || ret == -E2BIG);
		CHECK(ret == model_append(&m, s));
		if (ret)
			CHECK(!memcmp(&before, &c, sizeof(c)));
		check_same(&c, &m);
		if (!ret && s[0] && s[0] != ' ' && !strchr(s, ' '))
			CHECK(cmdline_has(&c, s));
	}
	return 0;
}
