/* SPDX-License-Identifier: Apache-2.0 */
/* ember-jailer: Firecracker's jailer for ember. It builds a chroot jail
 * for one microVM (<base>/<exec_name>/<id>/root), copies the VMM binary
 * into it, applies resource limits and cgroups, enters the jail (mount
 * namespace + pivot_root + chroot), makes the device nodes the VMM needs,
 * drops to the given uid/gid and execs the VMM. The steps, their order and
 * the resulting layout are Firecracker's; docs/jailer.md maps each step to
 * the code.
 *
 * Every step that creates something records it in an undo log (struct
 * undo); any error rolls the log back, so a refused or failed run leaves
 * no half-built jail or cgroup behind. Fallible functions return 0 or
 * -errno and leave a one-line message in a struct jerr. */
#ifndef EMBER_JAILER_JAILER_H
#define EMBER_JAILER_JAILER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

#define JAIL_ID_MAX	    64
#define JAIL_DEFAULT_BASE   "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048
#define JAIL_MULTI_MAX	    64 /* occurrences of --cgroup, of --resource-limit */
#define JAIL_ERR_LEN	    1024

/* Device nodes made inside the jail (Documentation/admin-guide/devices.txt). */
#define JAIL_MISC_MAJOR	   10
#define JAIL_TUN_MINOR	   200 /* /dev/net/tun */
#define JAIL_KVM_MINOR	   232 /* /dev/kvm */
#define JAIL_MEM_MAJOR	   1
#define JAIL_URANDOM_MINOR 9 /* /dev/urandom */
/* /dev/userfaultfd is a misc device with a dynamic minor: read /proc/misc. */

/* ---------------------------------------------------------------- errors */

struct jerr {
	char msg[JAIL_ERR_LEN];
};

/* Formats the message and returns ret (a negative errno). */
int jerr_set(struct jerr *e, int ret, const char *fmt, ...) PRINTF(3, 4);
/* The same with ": <strerror(errno)>" appended; returns -errno. */
int jerr_sys(struct jerr *e, const char *fmt, ...) PRINTF(2, 3);
/* A one-line warning on stderr ("ember-jailer: warning: ..."). */
void jail_warn(const char *fmt, ...) PRINTF(1, 2);

/* ---------------------------------------------------------------- args.c */

/* The command line as given: Firecracker's grammar ("--name value", flags
 * without a value, "--" then the VMM's own arguments). */
struct jail_flags {
	const char *id, *exec_file, *uid, *gid, *chroot_base, *netns, *cgroup_version,
	    *parent_cgroup;
	bool daemonize, new_pid_ns, help, version;
	const char *cgroups[JAIL_MULTI_MAX];
	size_t n_cgroups;
	const char *rlimits[JAIL_MULTI_MAX];
	size_t n_rlimits;
	char **extra; /* after "--", forwarded to the VMM */
	size_t n_extra;
};

extern const char jail_usage[];

int jail_parse_flags(int argc, char **argv, struct jail_flags *f, struct jerr *e) WUR;
/* 1 to 64 characters of [A-Za-z0-9-]. */
int jail_check_id(const char *id, struct jerr *e) WUR;
/* A numeric uid or gid, 0 to 4294967294 ((uid_t)-1 means "unchanged"). */
int jail_parse_xid(const char *flag, const char *s, uint32_t *out, struct jerr *e) WUR;
/* "1" or "2". */
int jail_parse_cgroup_version(const char *s, int *version, struct jerr *e) WUR;
/* A relative path without "." or ".." components; *depth = its components. */
int jail_check_parent_cgroup(const char *p, unsigned *depth, struct jerr *e) WUR;

struct jail_rlimits {
	bool has_fsize;
	uint64_t fsize;
	uint64_t nofile;
};
void jail_rlimits_init(struct jail_rlimits *r);
/* "fsize=<bytes>" or "no-file=<n>". */
int jail_parse_rlimit(const char *spec, struct jail_rlimits *r, struct jerr *e) WUR;

/* One --cgroup <file>=<value>: file "<controller>.<property>". The value
 * points into the argument. */
struct cg_prop {
	char file[NAME_MAX + 1];
	char controller[NAME_MAX + 1];
	const char *value;
};
int jail_parse_cgroup_arg(const char *spec, struct cg_prop *p, struct jerr *e) WUR;

/* snprintf into out; -ENAMETOOLONG (with a message) when it does not fit. */
int jail_path(char *out, size_t len, struct jerr *e, const char *fmt, ...) PRINTF(4, 5) WUR;

/* ---------------------------------------------------------------- fs.c */

/* What to do to take back one thing the jailer made, newest first. */
enum undo_kind {
	UNDO_UNLINK,	/* a file or node: unlinkat(fd, path, 0) */
	UNDO_RMDIR,	/* a directory or cgroup: unlinkat(fd, path, AT_REMOVEDIR) */
	UNDO_CG_RETURN, /* back to the original cgroup: write "0" to fd */
};

struct undo_entry {
	enum undo_kind kind;
	int fd;		  /* a directory (O_PATH) or a cgroup.procs file, owned elsewhere */
	const char *root; /* what fd is, for messages */
	char *path;	  /* relative to fd */
};

#define UNDO_MAX 128
struct undo {
	struct undo_entry v[UNDO_MAX];
	size_t n;
};

int undo_push(struct undo *u, enum undo_kind kind, int fd, const char *root, const char *path) WUR;
void undo_drop_last(struct undo *u);
/* Takes everything back, newest first, best effort (warns on failure). */
void undo_run(struct undo *u);

/* mkdir -p of `rel` under dirfd (described as `root` in messages): each
 * directory it creates is recorded; a component that exists must be a
 * directory, not a symbolic link. */
int fs_mkdirs(struct undo *u, int dirfd, const char *root, const char *rel, mode_t mode,
	      struct jerr *e) WUR;
/* The first line of a small file, without its newline. */
int fs_read_line(const char *path, char *buf, size_t len, struct jerr *e) WUR;
/* A whole small file, NUL-terminated; -EFBIG if it does not fit. */
int fs_read_text(const char *path, char *buf, size_t len) WUR;
/* "<text>\n" in one write(), as cgroup files want it. */
int fs_write_line(const char *path, const char *text, struct jerr *e) WUR;

/* ---------------------------------------------------------------- cgroup.c */

#define CG_GROUPS_MAX 16

/* One cgroup to create: v1, one per controller (<mount>/<parent>/<id>);
 * v2, one in the unified hierarchy. */
struct cg_group {
	char mount[PATH_MAX];
	char controller[NAME_MAX + 1]; /* v1 */
	size_t props[JAIL_MULTI_MAX];  /* indices into jail_cgroups.props */
	size_t n_props;
	int mount_fd;
	char dir[PATH_MAX];  /* <mount>/<parent>/<id> */
	char back[PATH_MAX]; /* the cgroup.procs this process came from */
	int back_fd;
};

struct jail_cgroups {
	int version;
	const char *id;
	char parent[PATH_MAX]; /* --parent-cgroup, slashes collapsed */
	unsigned depth;	       /* its components */
	struct cg_prop props[JAIL_MULTI_MAX];
	size_t n_props;
	struct cg_group groups[CG_GROUPS_MAX];
	size_t n_groups;
	bool join_parent; /* v2 without --cgroup: only move into <unified>/<parent> */
	char unified[PATH_MAX];
};

/* A /proc/mounts line: 1 for a cgroup (v1) mount, 2 for cgroup2, 0 for
 * anything else; dir (octal escapes undone) and options filled for 1 and 2. */
int cg_parse_mount_line(const char *line, char *dir, size_t dirlen, char *opts, size_t optslen);
/* Whether a comma-separated option list holds `name` exactly. */
bool cg_list_has(const char *list, char sep, const char *name);
/* The cgroup this process is in (from /proc/self/cgroup text) in the v1
 * hierarchy of `controller`, or with version 2 in the unified one. */
int cg_self_path(const char *text, int version, const char *controller, char *out,
		 size_t outlen) WUR;
/* Step 2: parses the --cgroup values and finds each controller's hierarchy
 * in proc_mounts (normally /proc/mounts). Creates nothing. */
int cg_prepare(struct jail_cgroups *c, const struct jail_flags *f, int version, const char *id,
	       const char *parent, unsigned depth, const char *proc_mounts, struct jerr *e) WUR;
/* Step 7: creates the cgroups, writes the values, moves this process in. */
int cg_setup(struct jail_cgroups *c, struct undo *u, struct jerr *e) WUR;

/* ---------------------------------------------------------------- the jail */

struct jail {
	struct jail_flags f;
	uint64_t start_us, start_cpu_us, jailer_cpu_us;
	uint32_t uid, gid;
	int exec_fd;
	mode_t exec_mode;
	char exec_path[PATH_MAX]; /* canonical */
	char exec_name[NAME_MAX + 1];
	char base[PATH_MAX]; /* canonical --chroot-base-dir */
	int base_fd;
	char rel[PATH_MAX];	   /* <exec_name>/<id>/root, relative to base */
	char chroot_dir[PATH_MAX]; /* base/rel */
	struct jail_rlimits rl;
	struct jail_cgroups cg;
	int uffd_minor; /* -1: the host has no /dev/userfaultfd */
	int devnull_fd;
	struct undo undo;
};

void jail_init(struct jail *j);

/* env.c: the process and its resources. */
uint64_t jail_mono_us(void);
uint64_t jail_cpu_us(void);
int jail_sanitize(struct jerr *e) WUR;					       /* step 1 */
int jail_prepare(struct jail *j, const char *proc_mounts, struct jerr *e) WUR; /* step 2 */
int jail_join_netns(const char *path, struct jerr *e) WUR;		       /* step 5 */
int jail_set_rlimits(const struct jail_rlimits *r, struct jerr *e) WUR;	       /* step 6 */
int jail_daemonize(struct jail *j, struct jerr *e) WUR;			       /* step 13 */
/* Step 14: pid file, optional PID namespace, uid/gid, exec. Returns only
 * on failure. */
int jail_exec(struct jail *j, struct jerr *e) WUR;

/* files.c: the jail directory and what goes into it. */
int jail_make_root(struct jail *j, struct jerr *e) WUR; /* step 3 */
int jail_copy_exec(struct jail *j, struct jerr *e) WUR; /* step 4 */
int jail_pivot(struct jail *j, struct jerr *e) WUR;	/* step 10 */
int jail_populate(struct jail *j, struct jerr *e) WUR;	/* steps 11 and 12 */

/* Pure parsers (unit-tested). */
/* 1 and the PT_INTERP path when an ELF file names a program interpreter
 * (it is dynamically linked), 0 when it does not or is not a 64-bit
 * little-endian ELF file, -ERANGE when buf is too short to tell, -EINVAL
 * when the headers are malformed. */
int jail_elf_interp(const unsigned char *buf, size_t len, char *out, size_t outlen);
/* The minor of a misc device from /proc/misc text, or -ENOENT. */
int jail_misc_minor(const char *text, const char *name, unsigned *minor);
/* Whether id is inside one of the ranges of a /proc/self/{u,g}id_map. */
bool jail_id_mapped(const char *map_text, uint32_t id);

#endif
