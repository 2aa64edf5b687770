/* SPDX-License-Identifier: Apache-2.0 */
/* The fixture of the config-file tests (test_config, test_config_devices):
 * a configuration parsed afresh for each case, and a table of rejections
 * each checked for the field its message names. */
#ifndef EMBER_UNIT_CONFIG_FX_H
#define EMBER_UNIT_CONFIG_FX_H

#include "unit.h"

#include "vmm/config.h"

/* A valid boot-source, to embed in cases about other sections. */
#define BOOT "\"boot-source\": {\"kernel_image_path\": \"/k/vmlinux\"}"

struct fx {
	struct vm_config c;
	char err[512];
};

static inline int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	config_init(&f->c);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;
	config_free(&f->c);
	free(f);
	return 0;
}

static inline int parse(struct fx *f, const char *json)
{
	config_free(&f->c);
	config_init(&f->c);
	f->err[0] = '\0';
	return config_parse(json, strlen(json), &f->c, f->err, sizeof(f->err));
}

static inline void parse_ok(struct fx *f, const char *json)
{
	if (parse(f, json))
		fail_msg("%s\nrefused: %s", json, f->err);
}

struct reject {
	const char *json;
	const char *msg; /* a part of the message that names the field */
};

static inline void check_rejects(struct fx *f, const struct reject *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = parse(f, r[i].json);
		if (ret != -EINVAL)
			fail_msg("case %zu (%s): returned %d, expected -EINVAL", i, r[i].json, ret);
		if (!strstr(f->err, r[i].msg))
			fail_msg("case %zu (%s): error \"%s\" does not contain \"%s\"", i,
				 r[i].json, f->err, r[i].msg);
	}
}

#endif
