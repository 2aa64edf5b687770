/* SPDX-License-Identifier: Apache-2.0 */
/* The jailer's command line: Firecracker's grammar and flags, and the
 * checks on each value that need nothing but the value itself. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/version.h"
#include "jailer/jailer.h"

const char jail_usage[] =
    "ember-jailer v" EMBER_VERSION " (Firecracker's jailer v" EMBER_FC_API_VERSION ", for ember)\n"
    "\n"
    "Usage: ember-jailer --id ID --exec-file PATH --uid UID --gid GID [OPTIONS] [-- ARGS]\n"
    "\n"
    "Builds the jail <chroot-base-dir>/<exec-file name>/<id>/root, copies the executable\n"
    "into it and runs it there as uid:gid, in a new mount namespace.\n"
    "\n"
    "  --id ID                    jail and VM id, 1-64 of [A-Za-z0-9-] (passed on as --id)\n"
    "  --exec-file PATH           the VMM binary to copy into the jail and exec\n"
    "  --uid UID, --gid GID       numeric ids the VMM runs as\n"
    "  --chroot-base-dir DIR      where jails are built (default " JAIL_DEFAULT_BASE ")\n"
    "  --netns PATH               join this network namespace (e.g. /var/run/netns/NAME)\n"
    "  --daemonize                detach: double fork, setsid, stdio to /dev/null\n"
    "  --new-pid-ns               exec the VMM as PID 1 of a new PID namespace\n"
    "  --cgroup FILE=VALUE        set a cgroup value, e.g. cpuset.cpus=0 (repeatable)\n"
    "  --cgroup-version 1|2       cgroup hierarchy to use (default 1)\n"
    "  --parent-cgroup PATH       relative parent of the VM's cgroup (default: exec-file name)\n"
    "  --resource-limit R=N       fsize=<bytes> or no-file=<n> (repeatable; default\n"
    "                             no-file=2048)\n"
    "  --version                  print the version, as Firecracker's jailer does\n"
    "  --help, -h                 print this help\n"
    "\n"
    "Arguments after -- are passed to the VMM. Exit status: 0 when the VMM was started\n"
    "(the jailer execs into it, so without --daemonize and --new-pid-ns its status is\n"
    "the VMM's), 1 on any error, after removing everything the jailer had created.\n"
    "See docs/jailer.md.\n";

int jerr_set(struct jerr *e, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return ret;
}

int jerr_sys(struct jerr *e, const char *fmt, ...)
{
	int err = errno ? errno : EIO;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(err));
	return -err;
}

void jail_warn(const char *fmt, ...)
{
	char msg[JAIL_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ember-jailer: warning: %s\n", msg);
}

int jail_path(char *out, size_t len, struct jerr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return jerr_set(e, -ENAMETOOLONG, "path too long (%d bytes, at most %zu): %.80s...",
				n, len - 1, out);
	return 0;
}

/* ---------------------------------------------------------------- flags */

enum flag_kind { FLAG_VALUE, FLAG_BOOL, FLAG_MULTI };

enum flag_id {
	F_ID,
	F_EXEC_FILE,
	F_UID,
	F_GID,
	F_CHROOT_BASE,
	F_NETNS,
	F_DAEMONIZE,
	F_NEW_PID_NS,
	F_CGROUP,
	F_CGROUP_VERSION,
	F_PARENT_CGROUP,
	F_RESOURCE_LIMIT,
	F_VERSION,
};

struct flag {
	const char *name;
	enum flag_kind kind;
	enum flag_id id;
};

static const struct flag flags[] = {
    {"id", FLAG_VALUE, F_ID},
    {"exec-file", FLAG_VALUE, F_EXEC_FILE},
    {"uid", FLAG_VALUE, F_UID},
    {"gid", FLAG_VALUE, F_GID},
    {"chroot-base-dir", FLAG_VALUE, F_CHROOT_BASE},
    {"netns", FLAG_VALUE, F_NETNS},
    {"daemonize", FLAG_BOOL, F_DAEMONIZE},
    {"new-pid-ns", FLAG_BOOL, F_NEW_PID_NS},
    {"cgroup", FLAG_MULTI, F_CGROUP},
    {"cgroup-version", FLAG_VALUE, F_CGROUP_VERSION},
    {"parent-cgroup", FLAG_VALUE, F_PARENT_CGROUP},
    {"resource-limit", FLAG_MULTI, F_RESOURCE_LIMIT},
    {"version", FLAG_BOOL, F_VERSION},
};

/* Stores a flag's value. */
static void set_value(struct jail_flags *f, enum flag_id id, const char *v)
{
	switch (id) {
	case F_ID:
		f->id = v;
		break;
	case F_EXEC_FILE:
		f->exec_file = v;
		break;
	case F_UID:
		f->uid = v;
		break;
	case F_GID:
		f->gid = v;
		break;
	case F_CHROOT_BASE:
		f->chroot_base = v;
		break;
	case F_NETNS:
		f->netns = v;
		break;
	case F_CGROUP_VERSION:
		f->cgroup_version = v;
		break;
	case F_PARENT_CGROUP:
		f->parent_cgroup = v;
		break;
	default:
		break;
	}
}

static bool *bool_slot(struct jail_flags *f, enum flag_id id)
{
	return id == F_DAEMONIZE    ? &f->daemonize
	       : id == F_NEW_PID_NS ? &f->new_pid_ns
				    : &f->version;
}

static const struct flag *find_flag(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strcmp(flags[i].name, name))
			return &flags[i];
	return NULL;
}

/* Whether "name=value" starts with a flag's name: a hint for --id=X. */
static bool flag_with_equals(const char *name, const char *eq)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (strlen(flags[i].name) == (size_t)(eq - name) &&
		    !strncmp(flags[i].name, name, (size_t)(eq - name)))
			return true;
	return false;
}

static int add_multi(struct jail_flags *f, const struct flag *fl, const char *v, struct jerr *e)
{
	bool cg = fl->id == F_CGROUP;
	const char **arr = cg ? f->cgroups : f->rlimits;
	size_t *n = cg ? &f->n_cgroups : &f->n_rlimits;
	if (*n == JAIL_MULTI_MAX)
		return jerr_set(e, -E2BIG, "--%s given more than %d times", fl->name,
				JAIL_MULTI_MAX);
	arr[(*n)++] = v;
	return 0;
}

/* One "--name [value]" at argv[*i]; *i moves past what it used. */
static int parse_one(int argc, char **argv, int *i, struct jail_flags *f, bool *seen,
		     struct jerr *e)
{
	const char *arg = argv[*i];
	if (strncmp(arg, "--", 2))
		return jerr_set(e, -EINVAL,
				"unexpected argument '%s' (flags start with --; "
				"the VMM's arguments go after --)",
				arg);
	const struct flag *fl = find_flag(arg + 2);
	if (!fl) {
		const char *eq = strchr(arg, '=');
		if (eq && flag_with_equals(arg + 2, eq))
			return jerr_set(e, -EINVAL, "unknown flag '%s' (write '%.*s VALUE')", arg,
					(int)(eq - arg), arg);
		return jerr_set(e, -EINVAL, "unknown flag '%s' (see --help)", arg);
	}
	size_t idx = (size_t)(fl - flags);
	if (fl->kind != FLAG_MULTI && seen[idx])
		return jerr_set(e, -EINVAL, "--%s given more than once", fl->name);
	seen[idx] = true;
	if (fl->kind == FLAG_BOOL) {
		*bool_slot(f, fl->id) = true;
		return 0;
	}
	if (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2))
		return jerr_set(e, -EINVAL, "--%s needs a value", fl->name);
	const char *v = argv[++*i];
	if (fl->kind == FLAG_MULTI)
		return add_multi(f, fl, v, e);
	set_value(f, fl->id, v);
	return 0;
}

int jail_parse_flags(int argc, char **argv, struct jail_flags *f, struct jerr *e)
{
	bool seen[ARRAY_SIZE(flags)] = {false};
	int end = argc, i, ret;

	memset(f, 0, sizeof(*f));
	f->chroot_base = JAIL_DEFAULT_BASE;
	f->cgroup_version = "1";
	f->extra = argv + argc;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			f->extra = argv + i + 1;
			f->n_extra = (size_t)(argc - i - 1);
			break;
		}
	}
	/* As Firecracker's parser: --help (or -h), then --version, anywhere
	 * before "--", win over everything else on the line. */
	for (i = 1; i < end; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return f->help = true, 0;
	for (i = 1; i < end; i++)
		if (!strcmp(argv[i], "--version"))
			return f->version = true, 0;
	for (i = 1; i < end; i++)
		if ((ret = parse_one(end, argv, &i, f, seen, e)))
			return ret;

	const struct {
		const char *name, *value;
	} required[] = {
	    {"id", f->id}, {"exec-file", f->exec_file}, {"uid", f->uid}, {"gid", f->gid}};
	for (size_t k = 0; k < ARRAY_SIZE(required); k++)
		if (!required[k].value)
			return jerr_set(e, -EINVAL, "missing required flag --%s (see --help)",
					required[k].name);
	return 0;
}

/* ---------------------------------------------------------------- values */

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* A character for a message: itself when printable, else \xNN. */
static const char *show_char(char c, char buf[8])
{
	unsigned char u = (unsigned char)c;
	if (u >= 0x20 && u < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", u);
	return buf;
}

int jail_check_id(const char *id, struct jerr *e)
{
	size_t n = strlen(id);
	char cb[8];

	if (n < 1 || n > JAIL_ID_MAX)
		return jerr_set(e, -EINVAL,
				"invalid --id: %zu characters (an id is 1 to %d characters of "
				"[A-Za-z0-9-])",
				n, JAIL_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if (!id_char(id[i]))
			return jerr_set(e, -EINVAL,
					"invalid --id '%s': %s at position %zu (an id is 1 to %d "
					"characters of [A-Za-z0-9-])",
					id, show_char(id[i], cb), i, JAIL_ID_MAX);
	return 0;
}

/* Decimal digits only: no sign, no spaces, no 0x. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

int jail_parse_xid(const char *flag, const char *s, uint32_t *out, struct jerr *e)
{
	uint64_t v;
	if (!parse_u64(s, &v)) {
		bool digits = *s && strspn(s, "0123456789") == strlen(s);
		return jerr_set(e, -EINVAL,
				digits ? "invalid %s '%s': out of range (0 to 4294967294)"
				       : "invalid %s '%s': not a number (the jailer takes numeric "
					 "ids, 0 to 4294967294)",
				flag, s);
	}
	/* (uid_t)-1 tells setresuid() "leave this one unchanged". */
	if (v >= UINT32_MAX)
		return jerr_set(e, -ERANGE, "invalid %s '%s': out of range (0 to 4294967294)", flag,
				s);
	*out = (uint32_t)v;
	return 0;
}

int jail_parse_cgroup_version(const char *s, int *version, struct jerr *e)
{
	if (!strcmp(s, "1") || !strcmp(s, "2")) {
		*version = s[0] - '0';
		return 0;
	}
	return jerr_set(e, -EINVAL, "invalid --cgroup-version '%s': 1 or 2", s);
}

int jail_check_parent_cgroup(const char *p, unsigned *depth, struct jerr *e)
{
	unsigned n = 0;
	const char *s = p;

	if (!*p || *p == '/')
		goto bad;
	while (*s) {
		size_t len = strcspn(s, "/");
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			goto bad;
		if (len)
			n++;
		s += len;
		s += strspn(s, "/");
	}
	*depth = n;
	return 0;
bad:
	return jerr_set(e, -EINVAL,
			"invalid --parent-cgroup '%s': must be a relative path without '.' or "
			"'..' components",
			p);
}

void jail_rlimits_init(struct jail_rlimits *r)
{
	r->has_fsize = false;
	r->fsize = 0;
	r->nofile = JAIL_DEFAULT_NOFILE;
}

int jail_parse_rlimit(const char *spec, struct jail_rlimits *r, struct jerr *e)
{
	const char *eq = strchr(spec, '=');
	uint64_t v;

	if (!eq)
		return jerr_set(e, -EINVAL,
				"invalid --resource-limit '%s': expected fsize=<bytes> or "
				"no-file=<n>",
				spec);
	size_t nlen = (size_t)(eq - spec);
	bool fsize = nlen == 5 && !strncmp(spec, "fsize", 5);
	bool nofile = nlen == 7 && !strncmp(spec, "no-file", 7);
	if (!fsize && !nofile)
		return jerr_set(e, -EINVAL,
				"invalid --resource-limit '%s': unknown resource '%.*s' (fsize or "
				"no-file)",
				spec, (int)nlen, spec);
	if (!parse_u64(eq + 1, &v))
		return jerr_set(e, -EINVAL, "invalid --resource-limit '%s': '%s' is not a number",
				spec, eq + 1);
	if (fsize) {
		r->has_fsize = true;
		r->fsize = v;
	} else {
		r->nofile = v;
	}
	return 0;
}

int jail_parse_cgroup_arg(const char *spec, struct cg_prop *p, struct jerr *e)
{
	const char *eq = strchr(spec, '=');

	/* Exactly one '=' and something on each side (Firecracker's rule). */
	if (!eq || eq == spec || !eq[1] || strchr(eq + 1, '='))
		return jerr_set(e, -EINVAL,
				"invalid --cgroup '%s': expected <file>=<value>, e.g. "
				"cpuset.cpus=0",
				spec);
	size_t flen = (size_t)(eq - spec);
	const char *dot = memchr(spec, '.', flen);
	if (flen > NAME_MAX || memchr(spec, '/', flen) || !dot || dot == spec || dot + 1 == eq)
		return jerr_set(e, -EINVAL,
				"invalid --cgroup '%s': '%.*s' is not a cgroup file name "
				"(<controller>.<property>, e.g. cpu.shares)",
				spec, (int)flen, spec);
	memcpy(p->file, spec, flen);
	p->file[flen] = '\0';
	memcpy(p->controller, spec, (size_t)(dot - spec));
	p->controller[dot - spec] = '\0';
	p->value = eq + 1;
	return 0;
}
