/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: kernel command line, split the way Linux's next_arg()
 * (lib/cmdline.c) does it: words separated by spaces, `key=value` or bare
 * `key`, double quotes group spaces and are stripped around a value (or a
 * whole quoted word). "--" ends the kernel's part. */
#include "guest.h"

struct param { const char *key, *val; };

static char buf[4096];
static struct param params[MAX_PARAMS];
static unsigned param_count;
struct virtio_mmio_dev virtio_devs[MAX_VIRTIO_DEVICES];
unsigned virtio_dev_count;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *skip_spaces(char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* Splits the word at *s into p, NUL-terminates it, returns the next word. */
static char *next_param(char *s, struct param *p)
{
	bool in_quote = false, quoted = (*s == '"');
	size_t i, equals = 0;
	if (quoted)
		s++, in_quote = true;
	for (i = 0; s[i] && (in_quote || !is_space(s[i])); i++) {
		if (!equals && s[i] == '=')
			equals = i;
		if (s[i] == '"')
			in_quote = !in_quote;
	}
	p->key = s;
	p->val = NULL;
	if (equals) {
		s[equals] = 0;
		p->val = s + equals + 1;
		if (*p->val == '"') {
			p->val++;
			if (s[i - 1] == '"')
				s[i - 1] = 0;
		}
	}
	if (quoted && i > 0 && s[i - 1] == '"')
		s[i - 1] = 0;
	if (!s[i])
		return s + i;
	s[i] = 0;
	return skip_spaces(s + i + 1);
}

/* virtio_mmio.device=<size>[KMG]@<base>:<irq>[:<id>] (Linux
 * drivers/virtio/virtio_mmio.c, vm_cmdline_set). */
static void add_virtio_dev(const char *v)
{
	struct virtio_mmio_dev d = { 0, 0, 0, 0 };
	const char *p;
	d.size = parse_size(v, &p);
	if (*p++ != '@')
		return;
	d.base = parse_u64(p, &p);
	if (*p++ != ':')
		return;
	d.irq = (uint32_t)parse_u64(p, &p);
	if (*p == ':')
		d.id = (uint32_t)parse_u64(p + 1, &p);
	if (*p || !d.size || virtio_dev_count == MAX_VIRTIO_DEVICES)
		return;
	virtio_devs[virtio_dev_count++] = d;
}

void cmdline_parse(const char *cmdline)
{
	size_t n = strlen(cmdline);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, cmdline, n);
	buf[n] = 0;
	char *s = skip_spaces(buf);
	while (*s && param_count < MAX_PARAMS) {
		struct param p;
		s = next_param(s, &p);
		if (!strcmp(p.key, "--") && !p.val)
			break;
		params[param_count++] = p;
		if (p.val && !strcmp(p.key, "virtio_mmio.device"))
			add_virtio_dev(p.val);
	}
}

const char *param_get(const char *key)
{
	for (unsigned i = param_count; i--;) /* the last one wins */
		if (!strcmp(params[i].key, key))
			return params[i].val ? params[i].val : "";
	return NULL;
}

uint64_t param_u64(const char *key, uint64_t dflt)
{
	const char *v = param_get(key);
	const char *end;
	if (!v || !*v)
		return dflt;
	uint64_t n = parse_u64(v, &end);
	return *end ? dflt : n;
}
