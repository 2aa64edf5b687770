/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "loader/loader.h"

void cmdline_init(struct cmdline *c, size_t cap)
{
	c->len = 0;
	c->cap = MIN(cap, sizeof(c->buf));
	c->buf[0] = '\0';
}

int cmdline_append(struct cmdline *c, const char *s)
{
	size_t n = strlen(s);
	size_t sep = (c->len && n) ? 1 : 0;

	/* len + separator + s + NUL must fit in cap. */
	if (n > c->cap || c->len + sep + n + 1 > c->cap)
		return -E2BIG;
	if (sep)
		c->buf[c->len++] = ' ';
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

bool cmdline_has(const struct cmdline *c, const char *key)
{
	size_t k = strlen(key);
	const char *p = c->buf;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, k))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}
