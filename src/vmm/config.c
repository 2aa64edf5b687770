/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch/x86_64/layout.h"

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...) PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Rejects keys of `obj` not in the NULL-terminated `allowed`. */
static int check_keys(json_t *obj, const char *sect, const char *const *allowed, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const char *const *a = allowed;
		while (*a && strcmp(*a, key))
			a++;
		if (!*a)
			return fail(err, errlen, "%s: unknown field '%s'", sect, key);
	}
	return 0;
}

/* Optional fields accept null as "absent", as Firecracker's do. */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int get_str(json_t *obj, const char *sect, const char *key, bool required, char **out,
		   char *err, size_t errlen)
{
	json_t *v = field(obj, key);
	if (!v)
		return required ? fail(err, errlen, "%s.%s: missing required field", sect, key) : 0;
	if (!json_is_string(v))
		return fail(err, errlen, "%s.%s: expected a string, got %s", sect, key,
			    type_name(v));
	size_t n = json_string_length(v);
	if (strlen(json_string_value(v)) != n)
		return fail(err, errlen, "%s.%s: contains a NUL character", sect, key);
	if (n > CONFIG_PATH_MAX)
		return fail(err, errlen, "%s.%s: longer than %u bytes", sect, key, CONFIG_PATH_MAX);
	char *s = strdup(json_string_value(v));
	if (!s)
		return fail(err, errlen, "out of memory");
	free(*out);
	*out = s;
	return 0;
}

static int get_bool(json_t *obj, const char *sect, const char *key, bool *out, char *err,
		    size_t errlen)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, errlen, "%s.%s: expected a boolean, got %s", sect, key,
			    type_name(v));
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *sect, const char *key, bool required, uint64_t min,
		    uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = field(obj, key);
	if (!v)
		return required ? fail(err, errlen, "%s.%s: missing required field", sect, key) : 0;
	if (!json_is_integer(v))
		return fail(err, errlen, "%s.%s: expected an integer, got %s", sect, key,
			    type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return fail(err, errlen, "%s.%s: %" JSON_INTEGER_FORMAT
					 " is out of range [%" PRIu64 ", %" PRIu64 "]",
			    sect, key, i, min, max);
	*out = (uint64_t)i;
	return 0;
}

const char *huge_pages_name(enum huge_pages h)
{
	switch (h) {
	case HUGE_PAGES_2M:
		return "2M";
	case HUGE_PAGES_TRANSPARENT:
		return "Transparent";
	case HUGE_PAGES_NONE:
		break;
	}
	return "None";
}

int config_validate_machine(const struct machine_cfg *m, char *err, size_t errlen)
{
	if (m->vcpu_count < 1 || m->vcpu_count > CONFIG_MAX_VCPUS ||
	    (m->smt && m->vcpu_count > 1 && m->vcpu_count % 2))
		return fail(err, errlen,
			    "machine-config.vcpu_count: %u vCPUs: the number of vCPUs must be 1 to "
			    "%u, and 1 or even when smt is enabled",
			    m->vcpu_count, CONFIG_MAX_VCPUS);
	if (m->mem_size_mib < CONFIG_MIN_MEM_MIB || m->mem_size_mib > LAYOUT_MEM_MAX_MIB)
		return fail(err, errlen,
			    "machine-config.mem_size_mib: %" PRIu64 " MiB is out of range [%u, %llu]",
			    m->mem_size_mib, CONFIG_MIN_MEM_MIB, LAYOUT_MEM_MAX_MIB);
	if (m->huge_pages != HUGE_PAGES_NONE && m->mem_size_mib % 2)
		return fail(err, errlen,
			    "machine-config.mem_size_mib: %" PRIu64
			    " MiB must be a multiple of 2 MiB with huge_pages %s",
			    m->mem_size_mib, huge_pages_name(m->huge_pages));
	return 0;
}

static int parse_machine(json_t *o, struct machine_cfg *m, char *err, size_t errlen)
{
	static const char *const keys[] = {"vcpu_count",	"mem_size_mib", "smt",
					   "track_dirty_pages", "huge_pages",	"cpu_template",
					   NULL};
	const char *S = "machine-config";
	uint64_t v;
	char *s = NULL;
	int ret;

	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", S, type_name(o));
	if ((ret = check_keys(o, S, keys, err, errlen)))
		return ret;
	/* Omitted optional fields take their defaults, as a PUT does. */
	m->smt = false;
	m->track_dirty_pages = false;
	m->huge_pages = HUGE_PAGES_NONE;
	if ((ret = get_uint(o, S, "vcpu_count", true, 1, CONFIG_MAX_VCPUS, &v, err, errlen)))
		return ret;
	m->vcpu_count = (unsigned)v;
	if ((ret = get_uint(o, S, "mem_size_mib", true, CONFIG_MIN_MEM_MIB, LAYOUT_MEM_MAX_MIB,
			    &m->mem_size_mib, err, errlen)) ||
	    (ret = get_bool(o, S, "smt", &m->smt, err, errlen)) ||
	    (ret = get_bool(o, S, "track_dirty_pages", &m->track_dirty_pages, err, errlen)) ||
	    (ret = get_str(o, S, "huge_pages", false, &s, err, errlen)))
		return ret;
	if (s) {
		if (!strcmp(s, "None"))
			m->huge_pages = HUGE_PAGES_NONE;
		else if (!strcmp(s, "2M"))
			m->huge_pages = HUGE_PAGES_2M;
		else if (!strcmp(s, "Transparent"))
			m->huge_pages = HUGE_PAGES_TRANSPARENT;
		else
			ret = fail(err, errlen,
				   "%s.huge_pages: '%s' is not one of None, 2M, Transparent", S, s);
		free(s);
		s = NULL;
		if (ret)
			return ret;
	}
	if ((ret = get_str(o, S, "cpu_template", false, &s, err, errlen)))
		return ret;
	if (s) {
		if (strcmp(s, "None"))
			ret = fail(err, errlen,
				   "%s.cpu_template: '%s': CPU templates are not supported by ember "
				   "(only \"None\")",
				   S, s);
		free(s);
		if (ret)
			return ret;
	}
	return config_validate_machine(m, err, errlen);
}

static int parse_boot_source(json_t *o, struct boot_source_cfg *b, char *err, size_t errlen)
{
	static const char *const keys[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
	const char *S = "boot-source";
	int ret;

	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", S, type_name(o));
	if ((ret = check_keys(o, S, keys, err, errlen)) ||
	    (ret = get_str(o, S, "kernel_image_path", true, &b->kernel_image_path, err, errlen)) ||
	    (ret = get_str(o, S, "boot_args", false, &b->boot_args, err, errlen)) ||
	    (ret = get_str(o, S, "initrd_path", false, &b->initrd_path, err, errlen)))
		return ret;
	if (!b->kernel_image_path[0])
		return fail(err, errlen, "%s.kernel_image_path: must not be empty", S);
	if (b->initrd_path && !b->initrd_path[0])
		return fail(err, errlen, "%s.initrd_path: must not be empty", S);
	b->set = true;
	return 0;
}

static int parse_logger(json_t *o, struct logger_cfg *l, char *err, size_t errlen)
{
	static const char *const keys[] = {"log_path", "level",	 "show_level",
					   "show_log_origin", "module", NULL};
	const char *S = "logger";
	char *level = NULL;
	int ret;

	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", S, type_name(o));
	if ((ret = check_keys(o, S, keys, err, errlen)) ||
	    (ret = get_str(o, S, "log_path", false, &l->log_path, err, errlen)) ||
	    (ret = get_str(o, S, "level", false, &level, err, errlen)) ||
	    (ret = get_bool(o, S, "show_level", &l->show_level, err, errlen)) ||
	    (ret = get_bool(o, S, "show_log_origin", &l->show_log_origin, err, errlen)) ||
	    (ret = get_str(o, S, "module", false, &l->module, err, errlen)))
		goto out;
	if (level) {
		if (log_parse_level(level, &l->level)) {
			ret = fail(err, errlen,
				   "%s.level: '%s' is not one of Error, Warning, Info, Debug, Trace, "
				   "Off",
				   S, level);
			goto out;
		}
		l->has_level = true;
	}
	l->set = true;
out:
	free(level);
	return ret;
}

/* Sections of Firecracker's file that ember does not implement yet: an empty
 * list or null is accepted, anything else is refused by name. */
static int unsupported_section(json_t *v, const char *key, char *err, size_t errlen)
{
	if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	return fail(err, errlen, "%s: not supported by this version of ember", key);
}

int config_parse(const char *text, size_t len, struct vm_config *c, char *err, size_t errlen)
{
	static const char *const known_unsupported[] = {
		"drives",  "network-interfaces", "vsock",	   "balloon", "entropy",
		"metrics", "mmds-config",	 "cpu-config",	   "pmem",    "memory-hotplug",
		NULL};
	json_error_t jerr;
	const char *key;
	json_t *v;
	int ret = 0;

	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line,
			    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		ret = fail(err, errlen, "the configuration must be a JSON object, not %s",
			   type_name(root));
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "boot-source"))
			ret = parse_boot_source(v, &c->boot, err, errlen);
		else if (!strcmp(key, "machine-config"))
			ret = parse_machine(v, &c->machine, err, errlen);
		else if (!strcmp(key, "logger"))
			ret = parse_logger(v, &c->logger, err, errlen);
		else {
			const char *const *k = known_unsupported;
			while (*k && strcmp(*k, key))
				k++;
			ret = *k ? unsupported_section(v, key, err, errlen)
				 : fail(err, errlen, "unknown top-level key '%s'", key);
		}
		if (ret)
			goto out;
	}
	if (!c->boot.set)
		ret = fail(err, errlen, "boot-source: missing required section");
out:
	json_decref(root);
	return ret;
}

int config_load_file(const char *path, struct vm_config *c, char *err, size_t errlen)
{
	struct stat st;
	int ret, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_size > CONFIG_FILE_MAX_BYTES) {
		close(fd);
		return fail(err, errlen, "%s: %lld bytes is larger than the %u-byte limit", path,
			    (long long)st.st_size, CONFIG_FILE_MAX_BYTES);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return fail(err, errlen, "out of memory");
	}
	ret = read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (ret) {
		free(buf);
		return fail(err, errlen, "reading %s: %s", path, strerror(-ret));
	}
	ret = config_parse(buf, (size_t)st.st_size, c, err, errlen);
	free(buf);
	return ret;
}

void config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->machine.vcpu_count = CONFIG_DEFAULT_VCPUS;
	c->machine.mem_size_mib = CONFIG_DEFAULT_MEM_MIB;
}

void config_free(struct vm_config *c)
{
	free(c->boot.kernel_image_path);
	free(c->boot.boot_args);
	free(c->boot.initrd_path);
	free(c->logger.log_path);
	free(c->logger.module);
	memset(c, 0, sizeof(*c));
}
