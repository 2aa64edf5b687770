/* SPDX-License-Identifier: Apache-2.0 */
/* Step 2: every check that can be made before anything is created, in
 * Firecracker's order (id, exec file, chroot base, uid, gid, parent cgroup,
 * cgroup version, cgroups, resource limits, /dev/userfaultfd), then two of
 * ember's own: the jail must not hold an earlier jail, and a dynamically
 * linked exec file must find its program interpreter inside the jail. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "jailer/jailer.h"

/* ---------------------------------------------------------------- parsers */

int jail_elf_interp(const unsigned char *buf, size_t len, char *out, size_t outlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (len < SELFMAG || memcmp(buf, ELFMAG, SELFMAG))
		return 0;
	if (len < sizeof(eh))
		return -ERANGE;
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return 0;
	if (eh.e_phnum && eh.e_phentsize != sizeof(ph))
		return -EINVAL;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		uint64_t off;
		if (__builtin_mul_overflow((uint64_t)i, sizeof(ph), &off) ||
		    __builtin_add_overflow(off, eh.e_phoff, &off))
			return -EINVAL;
		if (off > len || sizeof(ph) > len - off)
			return -ERANGE;
		memcpy(&ph, buf + off, sizeof(ph));
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > outlen)
			return -EINVAL;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return -ERANGE;
		memcpy(out, buf + ph.p_offset, ph.p_filesz);
		if (out[ph.p_filesz - 1] != '\0' || strlen(out) != ph.p_filesz - 1)
			return -EINVAL;
		return 1;
	}
	return 0;
}

int jail_misc_minor(const char *text, const char *name, unsigned *minor)
{
	/* Lines: "%3d %s\n". */
	for (const char *l = text; *l;) {
		char nm[64];
		unsigned m;
		if (sscanf(l, " %u %63s", &m, nm) == 2 && !strcmp(nm, name)) {
			*minor = m;
			return 0;
		}
		l = strchr(l, '\n');
		if (!l)
			break;
		l++;
	}
	return -ENOENT;
}

bool jail_id_mapped(const char *map_text, uint32_t id)
{
	/* Lines: <first id inside> <first id outside> <count>. */
	for (const char *l = map_text; *l;) {
		unsigned long long inside, outside, count;
		if (sscanf(l, " %llu %llu %llu", &inside, &outside, &count) == 3 && id >= inside &&
		    id - inside < count)
			return true;
		l = strchr(l, '\n');
		if (!l)
			break;
		l++;
	}
	return false;
}

/* ---------------------------------------------------------------- checks */

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
			     : "not a regular file";
}

static int check_exec_file(struct jail *j, struct jerr *e)
{
	const char *p = j->f.exec_file;
	struct stat st, fst;

	if (lstat(p, &st))
		return jerr_sys(e, "invalid --exec-file %s", p);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		return jerr_set(e, -ELOOP,
				"invalid --exec-file %s: a symbolic link (to %s); give the file "
				"itself",
				p, realpath(p, target) ? target : "nothing");
	}
	if (!S_ISREG(st.st_mode))
		return jerr_set(e, -EINVAL, "invalid --exec-file %s: not a regular file (%s)", p,
				file_kind(st.st_mode));
	/* The copy keeps the mode and belongs to --uid: its owner bits decide. */
	if (!(st.st_mode & S_IXUSR))
		return jerr_set(e, -EACCES,
				"invalid --exec-file %s: not executable by its owner (mode %04o)",
				p, (unsigned)(st.st_mode & 07777));
	if (!realpath(p, j->exec_path))
		return jerr_sys(e, "invalid --exec-file %s", p);
	j->exec_fd = open(j->exec_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (j->exec_fd < 0)
		return jerr_sys(e, "cannot open --exec-file %s", j->exec_path);
	if (fstat(j->exec_fd, &fst) || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
		return jerr_set(e, -EAGAIN, "--exec-file %s changed while it was being checked", p);
	const char *name = strrchr(j->exec_path, '/') + 1;
	snprintf(j->exec_name, sizeof(j->exec_name), "%s", name);
	j->exec_mode = st.st_mode & 0777;
	return 0;
}

static int check_base(struct jail *j, struct jerr *e)
{
	const char *p = j->f.chroot_base;
	struct statvfs vfs;
	struct stat st;
	int ret;

	if (!realpath(p, j->base))
		return jerr_sys(e, "invalid --chroot-base-dir %s", p);
	if (stat(j->base, &st))
		return jerr_sys(e, "invalid --chroot-base-dir %s", p);
	if (!S_ISDIR(st.st_mode))
		return jerr_set(e, -ENOTDIR, "invalid --chroot-base-dir %s: not a directory", p);
	/* Checked here, where they are clear, not at exec or open time. */
	if (!statvfs(j->base, &vfs) && (vfs.f_flag & ST_NOEXEC))
		return jerr_set(e, -EPERM,
				"invalid --chroot-base-dir %s: it is on a noexec mount, so the "
				"jailed binary could not run",
				p);
	if (!statvfs(j->base, &vfs) && (vfs.f_flag & ST_NODEV))
		return jerr_set(e, -EPERM,
				"invalid --chroot-base-dir %s: it is on a nodev mount, so the "
				"device nodes in the jail could not be opened",
				p);
	j->base_fd = open(j->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j->base_fd < 0)
		return jerr_sys(e, "cannot open --chroot-base-dir %s", j->base);
	if ((ret = jail_path(j->rel, sizeof(j->rel), e, "%s/%s/root", j->exec_name, j->f.id)))
		return ret;
	return jail_path(j->chroot_dir, sizeof(j->chroot_dir), e, "%s/%s",
			 strcmp(j->base, "/") ? j->base : "", j->rel);
}

/* Numeric ids need no passwd entry (a per-VM id that nothing else uses is
 * the point), so a missing one is only a warning; an id outside this user
 * namespace's map can never be set, so that is an error. */
static int check_xid(const char *flag, const char *map, uint32_t id, bool has_entry, struct jerr *e)
{
	char text[4096];
	if (!fs_read_text(map, text, sizeof(text)) && !jail_id_mapped(text, id))
		return jerr_set(e, -EINVAL,
				"invalid %s %u: not mapped in this user namespace (%s), so no "
				"process can take it",
				flag, id, map);
	if (!has_entry)
		jail_warn("%s %u has no entry in the user database; the VMM runs as that bare "
			  "number",
			  flag + 2, id);
	return 0;
}

/* The exec copy and its pid file are what a run leaves in a jail: either
 * one means the id was used before. Anything else there was put by the
 * user (kernel, disks, configuration), as Firecracker expects. */
static int check_not_built(struct jail *j, struct jerr *e)
{
	static const char *const suffix[] = {"", ".pid"};
	char p[PATH_MAX];
	struct stat st;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		if ((ret = jail_path(p, sizeof(p), e, "%s/%s%s", j->rel, j->exec_name, suffix[i])))
			return ret;
		if (!fstatat(j->base_fd, p, &st, AT_SYMLINK_NOFOLLOW))
			return jerr_set(e, -EEXIST,
					"jail %s already exists (it holds /%s%s from an earlier "
					"run; ids must be unique: remove it first)",
					j->chroot_dir, j->exec_name, suffix[i]);
	}
	return 0;
}

/* Whether `path` (absolute, as the jailed process sees it) exists inside
 * the jail, symbolic links resolved inside the jail. */
static bool in_jail(struct jail *j, const char *path)
{
	struct stat st;
	bool found = false;
	int root = openat(j->base_fd, j->rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return false;
#ifdef SYS_openat2
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	long fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd >= 0) {
		close((int)fd);
		close(root);
		return true;
	}
	if (errno != ENOSYS) {
		close(root);
		return false;
	}
#endif
	found = !fstatat(root, path + strspn(path, "/"), &st, AT_SYMLINK_NOFOLLOW);
	close(root);
	return found;
}

static int check_interp(struct jail *j, struct jerr *e)
{
	static unsigned char buf[64 * 1024];
	char interp[PATH_MAX];
	ssize_t n = pread(j->exec_fd, buf, sizeof(buf), 0);

	if (n <= 0 || jail_elf_interp(buf, (size_t)n, interp, sizeof(interp)) != 1)
		return 0;
	if (interp[0] != '/' || in_jail(j, interp))
		return 0;
	return jerr_set(e, -ENOENT,
			"--exec-file %s is dynamically linked and its program interpreter %s is "
			"not inside the jail %s: use a static build, or put the interpreter and "
			"its libraries into the jail first",
			j->exec_path, interp, j->chroot_dir);
}

int jail_prepare(struct jail *j, const char *proc_mounts, struct jerr *e)
{
	struct jail_flags *f = &j->f;
	char misc[8192];
	unsigned depth, minor;
	int version, ret;

	if ((ret = jail_check_id(f->id, e)) || (ret = check_exec_file(j, e)) ||
	    (ret = check_base(j, e)) || (ret = jail_parse_xid("--uid", f->uid, &j->uid, e)) ||
	    (ret = jail_parse_xid("--gid", f->gid, &j->gid, e)) ||
	    (ret = check_xid("--uid", "/proc/self/uid_map", j->uid, getpwuid(j->uid), e)) ||
	    (ret = check_xid("--gid", "/proc/self/gid_map", j->gid, getgrgid(j->gid), e)))
		return ret;
	const char *parent = f->parent_cgroup ? f->parent_cgroup : j->exec_name;
	if ((ret = jail_check_parent_cgroup(parent, &depth, e)) ||
	    (ret = jail_parse_cgroup_version(f->cgroup_version, &version, e)) ||
	    (ret = cg_prepare(&j->cg, f, version, f->id, parent, depth, proc_mounts, e)))
		return ret;
	jail_rlimits_init(&j->rl);
	for (size_t i = 0; i < f->n_rlimits; i++)
		if ((ret = jail_parse_rlimit(f->rlimits[i], &j->rl, e)))
			return ret;
	if (!fs_read_text("/proc/misc", misc, sizeof(misc)) &&
	    !jail_misc_minor(misc, "userfaultfd", &minor))
		j->uffd_minor = (int)minor;
	if ((ret = check_not_built(j, e)) || (ret = check_interp(j, e)))
		return ret;
	return 0;
}
