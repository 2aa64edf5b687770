/* SPDX-License-Identifier: Apache-2.0 */
/* --seccomp-filter FILE: filters in Firecracker's seccompiler source
 * format (JSON), compiled when ember starts:
 *   {"vmm":  {"default_action": "trap", "filter_action": "allow",
 *             "filter": [{"syscall": "read"},
 *                        {"syscall": "ioctl", "args": [{"index": 1,
 *                          "type": "dword", "op": "eq", "val": 44672}]}]},
 *    "api": {...}, "vcpu": {...}}
 * See docs/seccomp.md. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp/compile.h"
#include "seccomp/seccomp.h"

#define FILE_MAX_RULES 1024

static int fail(char *err, size_t errlen, const char *fmt, ...) PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_op(const char *s, enum sc_op *op)
{
	static const struct {
		const char *name;
		enum sc_op op;
	} ops[] = {{"eq", SC_EQ}, {"ne", SC_NE}, {"lt", SC_LT},
		   {"le", SC_LE}, {"gt", SC_GT}, {"ge", SC_GE}};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!strcmp(s, ops[i].name)) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_arg(json_t *o, const char *where, struct sc_arg *a, char *err, size_t errlen)
{
	json_t *idx = json_object_get(o, "index"), *type = json_object_get(o, "type"),
	       *op = json_object_get(o, "op"), *val = json_object_get(o, "val");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
		return fail(err, errlen, "%s: \"index\" must be 0 to 5", where);
	if (!json_is_integer(val))
		return fail(err, errlen, "%s: \"val\" must be an integer", where);
	bool dword = json_is_string(type) && !strcmp(json_string_value(type), "dword");
	if (!dword && !(json_is_string(type) && !strcmp(json_string_value(type), "qword")))
		return fail(err, errlen, "%s: \"type\" must be \"dword\" or \"qword\"", where);
	a->index = (uint8_t)json_integer_value(idx);
	a->value = (uint64_t)json_integer_value(val);
	a->mask = 0;
	if (json_is_object(op)) { /* {"masked_eq": MASK} */
		json_t *m = json_object_get(op, "masked_eq");
		if (!json_is_integer(m))
			return fail(err, errlen, "%s: \"op\" object must be {\"masked_eq\": MASK}",
				    where);
		a->op = SC_MASKED_EQ;
		a->mask = (uint64_t)json_integer_value(m);
	} else if (!json_is_string(op) || parse_op(json_string_value(op), &a->op)) {
		return fail(err, errlen, "%s: \"op\" must be eq, ne, lt, le, gt, ge or masked_eq",
			    where);
	}
	if (dword) { /* 32-bit arguments: compare the low half only */
		if (a->op == SC_EQ) {
			a->op = SC_MASKED_EQ;
			a->mask = 0xffffffffu;
		} else if (a->op == SC_MASKED_EQ) {
			a->mask &= 0xffffffffu;
		}
		a->value &= 0xffffffffu;
	}
	return 0;
}

static int parse_thread(json_t *t, const char *name, struct sc_rule **out, size_t *n,
			enum sc_default *dflt, char *err, size_t errlen)
{
	json_t *da = json_object_get(t, "default_action"),
	       *fa = json_object_get(t, "filter_action"), *f = json_object_get(t, "filter");
	const char *d = json_string_value(da);
	if (!d)
		return fail(err, errlen, "%s: \"default_action\" missing", name);
	if (!strcmp(d, "trap"))
		*dflt = SC_DEFAULT_TRAP;
	else if (!strcmp(d, "kill_process") || !strcmp(d, "kill"))
		*dflt = SC_DEFAULT_KILL;
	else if (!strcmp(d, "log"))
		*dflt = SC_DEFAULT_LOG;
	else
		return fail(err, errlen,
			    "%s: default_action \"%s\": ember supports trap, kill_process and log",
			    name, d);
	if (!json_is_string(fa) || strcmp(json_string_value(fa), "allow"))
		return fail(err, errlen, "%s: \"filter_action\" must be \"allow\"", name);
	if (!json_is_array(f) || json_array_size(f) > FILE_MAX_RULES)
		return fail(err, errlen, "%s: \"filter\" must be an array of at most %d rules",
			    name, FILE_MAX_RULES);
	/* Two more rules than the file's: what the SIGSYS path itself needs
	 * (a line on stderr, then exit), so that a filter that forbids too
	 * much still ends ember with its log line and code 148. */
	*n = json_array_size(f) + 2;
	*out = calloc(*n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)[*n - 2] =
	    (struct sc_rule){"write", 1, {{0, SC_EQ, 0, 2}}, "the SIGSYS line (stderr)"};
	(*out)[*n - 1] = (struct sc_rule){"exit_group", 0, {{0}}, "exit after a forbidden syscall"};
	size_t i;
	json_t *r;
	json_array_foreach (f, i, r) {
		char where[64];
		json_t *sys = json_object_get(r, "syscall"), *args = json_object_get(r, "args");
		snprintf(where, sizeof(where), "%s.filter[%zu]", name, i);
		if (!json_is_string(sys))
			return fail(err, errlen, "%s: \"syscall\" missing", where);
		(*out)[i].syscall = json_string_value(sys);
		(*out)[i].reason = "from --seccomp-filter";
		if (!args)
			continue;
		if (!json_is_array(args) || json_array_size(args) > SC_MAX_ARGS)
			return fail(err, errlen, "%s: \"args\" must be an array of at most %d",
				    where, SC_MAX_ARGS);
		size_t k;
		json_t *a;
		json_array_foreach (args, k, a) {
			int ret = parse_arg(a, where, &(*out)[i].args[k], err, errlen);
			if (ret)
				return ret;
		}
		(*out)[i].nargs = (unsigned)json_array_size(args);
	}
	return 0;
}

int seccomp_file_compile(const char *path, struct sock_filter *progs[SECCOMP_THREADS],
			 size_t lens[SECCOMP_THREADS], char *err, size_t errlen)
{
	static const char *const names[SECCOMP_THREADS] = {"vmm", "api", "vcpu"};
	json_error_t je;
	int ret = 0;

	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, errlen, "%s: line %d: %s", path, je.line, je.text);
	for (int t = 0; t < SECCOMP_THREADS && !ret; t++) {
		json_t *th = json_object_get(root, names[t]);
		struct sc_rule *rules = NULL;
		size_t n = 0;
		enum sc_default dflt = SC_DEFAULT_TRAP;
		char why[256] = "";
		if (!json_is_object(th)) {
			ret = fail(err, errlen, "%s: no \"%s\" filter", path, names[t]);
			break;
		}
		ret = parse_thread(th, names[t], &rules, &n, &dflt, why, sizeof(why));
		if (!ret)
			ret =
			    seccomp_compile(rules, n, dflt, &progs[t], &lens[t], why, sizeof(why));
		if (ret)
			snprintf(err, errlen, "%s: %s", path, why);
		free(rules);
	}
	json_decref(root);
	return ret;
}
