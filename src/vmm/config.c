/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/config.h"

#include <ctype.h>
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
	json_object_foreach (obj, key, v) {
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

/* *out takes the copy; the configuration's owner frees it (config_free),
 * which gcc's analyzer cannot see from here. */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
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
#ifndef __clang__
#pragma GCC diagnostic pop
#endif

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
		return fail(err, errlen,
			    "%s.%s: %" JSON_INTEGER_FORMAT " is out of range [%" PRIu64 ", %" PRIu64
			    "]",
			    sect, key, i, min, max);
	*out = (uint64_t)i;
	return 0;
}

const char *huge_pages_name(enum huge_pages h)
{
	switch (h) {
	case HUGE_PAGES_2M:
		return "2M";
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
			    "machine-config.mem_size_mib: %" PRIu64
			    " MiB is out of range [%u, %llu]",
			    m->mem_size_mib, CONFIG_MIN_MEM_MIB, LAYOUT_MEM_MAX_MIB);
	if (m->huge_pages != HUGE_PAGES_NONE && m->mem_size_mib % 2)
		return fail(err, errlen,
			    "machine-config.mem_size_mib: %" PRIu64
			    " MiB must be a multiple of 2 MiB with huge_pages %s",
			    m->mem_size_mib, huge_pages_name(m->huge_pages));
	return 0;
}

static int parse_machine(json_t *o, struct machine_cfg *m, bool patch, char *err, size_t errlen);

/* PUT semantics (patch false): vcpu_count and mem_size_mib required, the
 * other fields reset to their defaults when omitted. PATCH: every field
 * optional (at least one), the others kept. On error *m is unchanged. */
int config_parse_machine(json_t *o, struct machine_cfg *out, bool patch, char *err, size_t errlen)
{
	struct machine_cfg tmp = *out, *m = &tmp;
	int ret = parse_machine(o, m, patch, err, errlen);
	if (!ret)
		*out = tmp;
	return ret;
}

static int parse_machine(json_t *o, struct machine_cfg *m, bool patch, char *err, size_t errlen)
{
	static const char *const keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   "huge_pages", "cpu_template", NULL};
	const char *S = "machine-config";
	uint64_t v;
	char *s = NULL;
	int ret;

	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", S, type_name(o));
	if ((ret = check_keys(o, S, keys, err, errlen)))
		return ret;
	if (patch && json_object_size(o) == 0)
		return fail(err, errlen, "%s: a PATCH needs at least one field", S);
	if (!patch) {
		/* Omitted optional fields take their defaults, as a PUT does. */
		m->smt = false;
		m->track_dirty_pages = false;
		m->huge_pages = HUGE_PAGES_NONE;
	}
	v = m->vcpu_count;
	if ((ret = get_uint(o, S, "vcpu_count", !patch, 1, CONFIG_MAX_VCPUS, &v, err, errlen)))
		return ret;
	m->vcpu_count = (unsigned)v;
	if ((ret = get_uint(o, S, "mem_size_mib", !patch, CONFIG_MIN_MEM_MIB, LAYOUT_MEM_MAX_MIB,
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
		else
			ret = fail(err, errlen, "%s.huge_pages: '%s' is not one of None, 2M", S, s);
		free(s);
		s = NULL;
		if (ret)
			return ret;
	}
	if ((ret = get_str(o, S, "cpu_template", false, &s, err, errlen)))
		return ret;
	if (s) {
		if (strcmp(s, "None"))
			ret =
			    fail(err, errlen,
				 "%s.cpu_template: '%s': CPU templates are not supported by ember "
				 "(only \"None\")",
				 S, s);
		free(s);
		if (ret)
			return ret;
	}
	return config_validate_machine(m, err, errlen);
}

int config_parse_boot_source(json_t *o, struct boot_source_cfg *b, char *err, size_t errlen)
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

int config_parse_logger(json_t *o, struct logger_cfg *l, char *err, size_t errlen)
{
	static const char *const keys[] = {"log_path",	      "level",	"show_level",
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
			ret =
			    fail(err, errlen,
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

bool config_valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_')
			return false;
	return true;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    s[2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		char hex[3] = {s[0], s[1], '\0'};
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 3;
	}
	return 0;
}

static int parse_bucket(json_t *o, const char *sect, struct bucket_cfg *b, char *err, size_t errlen)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	int ret;
	memset(b, 0, sizeof(*b));
	if (!o)
		return 0;
	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", sect, type_name(o));
	if ((ret = check_keys(o, sect, keys, err, errlen)) ||
	    (ret = get_uint(o, sect, "size", true, 0, UINT64_MAX, &b->size, err, errlen)) ||
	    (ret = get_uint(o, sect, "one_time_burst", false, 0, UINT64_MAX, &b->one_time_burst,
			    err, errlen)) ||
	    (ret = get_uint(o, sect, "refill_time", true, 0, UINT64_MAX, &b->refill_time_ms, err,
			    errlen)))
		return ret;
	b->set = true;
	return 0;
}

int config_parse_rate_limiter(json_t *o, const char *sect, struct rate_limiter_cfg *rl, char *err,
			      size_t errlen)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	char name[128];
	int ret;
	memset(rl, 0, sizeof(*rl));
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", sect, type_name(o));
	if ((ret = check_keys(o, sect, keys, err, errlen)))
		return ret;
	snprintf(name, sizeof(name), "%s.bandwidth", sect);
	if ((ret = parse_bucket(field(o, "bandwidth"), name, &rl->bandwidth, err, errlen)))
		return ret;
	snprintf(name, sizeof(name), "%s.ops", sect);
	return parse_bucket(field(o, "ops"), name, &rl->ops, err, errlen);
}

static int get_id(json_t *o, const char *sect, const char *key, char **out, char *err,
		  size_t errlen)
{
	int ret = get_str(o, sect, key, true, out, err, errlen);
	if (!ret && !config_valid_id(*out))
		ret = fail(err, errlen,
			   "%s.%s: '%s': ids are 1 to %d characters of letters, digits and "
			   "underscores",
			   sect, key, *out, CONFIG_ID_MAX);
	return ret;
}

static int get_enum(json_t *o, const char *sect, const char *key, const char *const *names,
		    int *out, char *err, size_t errlen)
{
	char *s = NULL;
	int ret = get_str(o, sect, key, false, &s, err, errlen);
	if (ret || !s)
		return ret;
	ret = -EINVAL;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			ret = 0;
		}
	}
	if (ret)
		fail(err, errlen, "%s.%s: '%s' is not one of %s%s%s", sect, key, s, names[0],
		     names[1] ? ", " : "", names[1] ? names[1] : "");
	free(s);
	return ret;
}

int config_parse_drive(json_t *o, const char *sect, struct drive_cfg *d, char *err, size_t errlen)
{
	static const char *const keys[] = {
	    "drive_id",	  "path_on_host", "is_root_device", "is_read_only", "partuuid",
	    "cache_type", "io_engine",	  "rate_limiter",   "socket",	    NULL};
	static const char *const caches[] = {"Unsafe", "Writeback", NULL};
	static const char *const engines[] = {"Sync", "Async", NULL};
	char name[128];
	int cache = BLK_CACHE_UNSAFE, engine = BLK_ENGINE_SYNC, ret;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", sect, type_name(o));
	if ((ret = check_keys(o, sect, keys, err, errlen)))
		return ret;
	if (field(o, "socket"))
		return fail(err, errlen, "%s.socket: vhost-user drives are not supported by ember",
			    sect);
	if (!field(o, "is_root_device"))
		return fail(err, errlen, "%s.is_root_device: missing required field", sect);
	if ((ret = get_id(o, sect, "drive_id", &d->drive_id, err, errlen)) ||
	    (ret = get_str(o, sect, "path_on_host", true, &d->path_on_host, err, errlen)) ||
	    (ret = get_bool(o, sect, "is_root_device", &d->is_root_device, err, errlen)) ||
	    (ret = get_bool(o, sect, "is_read_only", &d->is_read_only, err, errlen)) ||
	    (ret = get_str(o, sect, "partuuid", false, &d->partuuid, err, errlen)) ||
	    (ret = get_enum(o, sect, "cache_type", caches, &cache, err, errlen)) ||
	    (ret = get_enum(o, sect, "io_engine", engines, &engine, err, errlen)))
		return ret;
	if (!d->path_on_host[0])
		return fail(err, errlen, "%s.path_on_host: must not be empty", sect);
	if (d->partuuid && (!d->partuuid[0] || strpbrk(d->partuuid, " \t\n\"")))
		return fail(err, errlen, "%s.partuuid: '%s' is not a partition UUID", sect,
			    d->partuuid);
	d->cache_type = (enum blk_cache)cache;
	d->io_engine = (enum blk_engine)engine;
	snprintf(name, sizeof(name), "%s.rate_limiter", sect);
	return config_parse_rate_limiter(field(o, "rate_limiter"), name, &d->rate_limiter, err,
					 errlen);
}

int config_parse_net(json_t *o, const char *sect, struct net_cfg *n, char *err, size_t errlen)
{
	static const char *const keys[] = {"iface_id",	      "host_dev_name",	 "guest_mac", "mtu",
					   "rx_rate_limiter", "tx_rate_limiter", NULL};
	char name[128], *mac = NULL;
	uint64_t mtu = 0;
	int ret;

	memset(n, 0, sizeof(*n));
	if (!json_is_object(o))
		return fail(err, errlen, "%s: expected an object, got %s", sect, type_name(o));
	if ((ret = check_keys(o, sect, keys, err, errlen)) ||
	    (ret = get_id(o, sect, "iface_id", &n->iface_id, err, errlen)) ||
	    (ret = get_str(o, sect, "host_dev_name", true, &n->host_dev_name, err, errlen)) ||
	    (ret = get_str(o, sect, "guest_mac", false, &mac, err, errlen)) ||
	    (ret = get_uint(o, sect, "mtu", false, 68, 65535, &mtu, err, errlen)))
		goto out;
	n->mtu = (uint16_t)mtu;
	if (!n->host_dev_name[0] || strlen(n->host_dev_name) > 15) {
		ret = fail(err, errlen, "%s.host_dev_name: '%s' must be 1 to 15 characters", sect,
			   n->host_dev_name);
		goto out;
	}
	if (mac) {
		if (config_parse_mac(mac, n->guest_mac)) {
			ret = fail(err, errlen,
				   "%s.guest_mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)",
				   sect, mac);
			goto out;
		}
		n->has_mac = true;
	}
	snprintf(name, sizeof(name), "%s.rx_rate_limiter", sect);
	if ((ret = config_parse_rate_limiter(field(o, "rx_rate_limiter"), name, &n->rx_rate_limiter,
					     err, errlen)))
		goto out;
	snprintf(name, sizeof(name), "%s.tx_rate_limiter", sect);
	ret = config_parse_rate_limiter(field(o, "tx_rate_limiter"), name, &n->tx_rate_limiter, err,
					errlen);
out:
	free(mac);
	return ret;
}

void drive_cfg_free(struct drive_cfg *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

void net_cfg_free(struct net_cfg *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	memset(n, 0, sizeof(*n));
}

/* Cross-entry rules: unique ids, one root, unique MACs and taps, a
 * device count the IRQ lines can serve. */
int config_validate_devices(const struct vm_config *c, char *err, size_t errlen)
{
	if (c->ndrives + c->nnets > CONFIG_MAX_DEVICES)
		return fail(err, errlen,
			    "drives, network-interfaces: %u devices; ember has interrupt lines "
			    "for %d",
			    c->ndrives + c->nnets, CONFIG_MAX_DEVICES);
	for (unsigned i = 0; i < c->ndrives; i++) {
		const struct drive_cfg *d = &c->drives[i];
		for (unsigned j = 0; j < i; j++) {
			if (!strcmp(d->drive_id, c->drives[j].drive_id))
				return fail(err, errlen, "drives[%u].drive_id: '%s' is used twice",
					    i, d->drive_id);
			if (d->is_root_device && c->drives[j].is_root_device)
				return fail(
				    err, errlen,
				    "drives[%u].is_root_device: a root block device already "
				    "exists ('%s')",
				    i, c->drives[j].drive_id);
		}
		if (d->partuuid && !d->is_root_device)
			LOG_WARN("drives[%u].partuuid is ignored: '%s' is not the root device", i,
				 d->drive_id);
	}
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct net_cfg *n = &c->nets[i];
		for (unsigned j = 0; j < i; j++) {
			const struct net_cfg *m = &c->nets[j];
			if (!strcmp(n->iface_id, m->iface_id))
				return fail(err, errlen,
					    "network-interfaces[%u].iface_id: '%s' is used twice",
					    i, n->iface_id);
			if (!strcmp(n->host_dev_name, m->host_dev_name))
				return fail(err, errlen,
					    "network-interfaces[%u].host_dev_name: tap '%s' is "
					    "already used by '%s'",
					    i, n->host_dev_name, m->iface_id);
			if (n->has_mac && m->has_mac && !memcmp(n->guest_mac, m->guest_mac, 6))
				return fail(err, errlen,
					    "network-interfaces[%u].guest_mac: the MAC address is "
					    "already in use by '%s'",
					    i, m->iface_id);
		}
	}
	return 0;
}

static int parse_drives(json_t *v, struct vm_config *c, char *err, size_t errlen)
{
	char sect[48];
	size_t i;
	json_t *e;
	int ret;

	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(err, errlen, "drives: expected an array, got %s", type_name(v));
	if (json_array_size(v) > CONFIG_MAX_DEVICES)
		return fail(err, errlen, "drives: %zu drives; at most %d", json_array_size(v),
			    CONFIG_MAX_DEVICES);
	c->drives = calloc(json_array_size(v) + 1, sizeof(*c->drives));
	if (!c->drives)
		return fail(err, errlen, "out of memory");
	json_array_foreach (v, i, e) {
		snprintf(sect, sizeof(sect), "drives[%zu]", i);
		if ((ret = config_parse_drive(e, sect, &c->drives[i], err, errlen))) {
			drive_cfg_free(&c->drives[i]);
			return ret;
		}
		c->ndrives++;
	}
	return 0;
}

void config_order_devices(struct vm_config *c)
{
	/* The root device goes first: it is /dev/vda (as Firecracker). */
	for (unsigned k = 1; k < c->ndrives; k++) {
		if (c->drives[k].is_root_device) {
			struct drive_cfg root = c->drives[k];
			memmove(&c->drives[1], &c->drives[0], k * sizeof(root));
			c->drives[0] = root;
			break;
		}
	}
}

static int parse_nets(json_t *v, struct vm_config *c, char *err, size_t errlen)
{
	char sect[48];
	size_t i;
	json_t *e;
	int ret;

	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(err, errlen, "network-interfaces: expected an array, got %s",
			    type_name(v));
	if (json_array_size(v) > CONFIG_MAX_DEVICES)
		return fail(err, errlen, "network-interfaces: %zu interfaces; at most %d",
			    json_array_size(v), CONFIG_MAX_DEVICES);
	c->nets = calloc(json_array_size(v) + 1, sizeof(*c->nets));
	if (!c->nets)
		return fail(err, errlen, "out of memory");
	json_array_foreach (v, i, e) {
		snprintf(sect, sizeof(sect), "network-interfaces[%zu]", i);
		if ((ret = config_parse_net(e, sect, &c->nets[i], err, errlen))) {
			net_cfg_free(&c->nets[i]);
			return ret;
		}
		c->nnets++;
	}
	return 0;
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
	static const char *const known_unsupported[] = {"vsock",   "balloon",	     "entropy",
							"metrics", "mmds-config",    "cpu-config",
							"pmem",	   "memory-hotplug", NULL};
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
	json_object_foreach (root, key, v) {
		if (!strcmp(key, "boot-source"))
			ret = config_parse_boot_source(v, &c->boot, err, errlen);
		else if (!strcmp(key, "machine-config"))
			ret = parse_machine(v, &c->machine, false, err, errlen);
		else if (!strcmp(key, "logger"))
			ret = config_parse_logger(v, &c->logger, err, errlen);
		else if (!strcmp(key, "drives"))
			ret = parse_drives(v, c, err, errlen);
		else if (!strcmp(key, "network-interfaces"))
			ret = parse_nets(v, c, err, errlen);
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
	else if (!(ret = config_validate_devices(c, err, errlen)))
		config_order_devices(c); /* after the checks: errors name file order */
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
	for (unsigned i = 0; i < c->ndrives; i++)
		drive_cfg_free(&c->drives[i]);
	free(c->drives);
	for (unsigned i = 0; i < c->nnets; i++)
		net_cfg_free(&c->nets[i]);
	free(c->nets);
	memset(c, 0, sizeof(*c));
}
