/* SPDX-License-Identifier: Apache-2.0 */
/* The jail directory: created (step 3), given its own copy of the exec
 * file (step 4), entered (step 10), furnished with its folders and device
 * nodes (steps 11 and 12).
 *
 * Everything is addressed as <rel>/... under the chroot base's directory
 * fd, opened in step 2. Inside the jail (after pivot_root) that fd still
 * reaches the same directories, so one path form serves both creating a
 * thing and, in the undo log, removing it again. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jailer/jailer.h"

int jail_make_root(struct jail *j, struct jerr *e)
{
	/* mkdir -p <base>/<exec_name>/<id>/root, mode 0777 less the umask. */
	return fs_mkdirs(&j->undo, j->base_fd, j->base, j->rel, 0777, e);
}

static int copy_fd(int in, int out)
{
	static char buf[64 * 1024];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(in, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += w;
		}
		off += n;
	}
}

int jail_copy_exec(struct jail *j, struct jerr *e)
{
	char rel[PATH_MAX];
	int out, ret;

	if ((ret = jail_path(rel, sizeof(rel), e, "%s/%s", j->rel, j->exec_name)))
		return ret;
	/* A copy, never a hard link: no two VMMs share the binary's pages.
	 * O_EXCL makes "this jail is already taken" atomic. */
	out = openat(j->base_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     j->exec_mode);
	if (out < 0 && errno == EEXIST)
		return jerr_set(e, -EEXIST,
				"jail %s already exists (it holds /%s: another jailer with this "
				"id?)",
				j->chroot_dir, j->exec_name);
	if (out < 0)
		return jerr_sys(e, "cannot create %s/%s", j->chroot_dir, j->exec_name);
	if ((ret = undo_push(&j->undo, UNDO_UNLINK, j->base_fd, j->base, rel))) {
		close(out);
		unlinkat(j->base_fd, rel, 0);
		return jerr_set(e, ret, "cannot record %s: %s", rel, strerror(-ret));
	}
	if (fchown(out, j->uid, j->gid)) {
		ret = jerr_sys(e, "cannot chown %s/%s to %u:%u", j->chroot_dir, j->exec_name,
			       j->uid, j->gid);
		close(out);
		return ret;
	}
	if ((ret = copy_fd(j->exec_fd, out))) {
		errno = -ret;
		ret = jerr_sys(e, "cannot copy %s to %s/%s", j->exec_path, j->chroot_dir,
			       j->exec_name);
		close(out);
		return ret;
	}
	if (close(out))
		return jerr_sys(e, "cannot copy %s to %s/%s", j->exec_path, j->chroot_dir,
				j->exec_name);
	return 0;
}

/* ---------------------------------------------------------------- step 10 */

int jail_pivot(struct jail *j, struct jerr *e)
{
	char old_rel[PATH_MAX];
	const char *dir = j->chroot_dir;
	int ret;

	if ((ret = jail_path(old_rel, sizeof(old_rel), e, "%s/old_root", j->rel)))
		return ret;
	if (unshare(CLONE_NEWNS))
		return jerr_sys(e, "cannot enter a new mount namespace");
	/* Nothing done in here propagates back to the host's mounts. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return jerr_sys(e, "cannot make / a slave mount");
	/* pivot_root wants the new root to be a mount point. */
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL))
		return jerr_sys(e, "cannot bind-mount %s onto itself", dir);
	if (chdir(dir)) {
		ret = jerr_sys(e, "cannot enter %s", dir);
		goto err_umount;
	}
	if (mkdir("old_root", S_IRUSR | S_IWUSR)) {
		ret = jerr_sys(e, "cannot create %s/old_root", dir);
		goto err_umount;
	}
	if ((ret = undo_push(&j->undo, UNDO_RMDIR, j->base_fd, j->base, old_rel))) {
		rmdir("old_root");
		ret = jerr_set(e, ret, "cannot record %s/old_root", dir);
		goto err_umount;
	}
	if (syscall(SYS_pivot_root, ".", "old_root")) {
		ret = jerr_sys(e, "cannot pivot_root into %s", dir);
		goto err_umount;
	}
	/* From here on the host's tree is only reachable through fds. */
	if (chdir("/"))
		return jerr_sys(e, "cannot enter the new root");
	if (umount2("old_root", MNT_DETACH))
		return jerr_sys(e, "cannot detach the old root");
	if (rmdir("old_root"))
		return jerr_sys(e, "cannot remove /old_root in the jail");
	undo_drop_last(&j->undo);
	if (chroot("."))
		return jerr_sys(e, "cannot chroot into %s", dir);
	return 0;

err_umount:
	/* So that the undo log can remove the directory again. */
	if (chdir("/") || umount2(dir, MNT_DETACH))
		jail_warn("could not detach the bind mount on %s: %s", dir, strerror(errno));
	return ret;
}

/* ---------------------------------------------------------------- steps 11, 12 */

/* mkdir -p, then mode 0700 and owned by uid:gid, as Firecracker leaves
 * "/", "/dev", "/dev/net" and "/run" ("/run" is for the API socket). */
static int jail_folder(struct jail *j, const char *jpath, struct jerr *e)
{
	char rel[PATH_MAX];
	int ret;

	if ((ret = jail_path(rel, sizeof(rel), e, "%s%s", j->rel, jpath)) ||
	    (ret = fs_mkdirs(&j->undo, j->base_fd, j->base, rel, 0700, e)))
		return ret;
	if (fchmodat(j->base_fd, rel, 0700, 0))
		return jerr_sys(e, "cannot chmod %s in the jail", *jpath ? jpath : "/");
	if (fchownat(j->base_fd, rel, j->uid, j->gid, AT_SYMLINK_NOFOLLOW))
		return jerr_sys(e, "cannot chown %s in the jail to %u:%u", *jpath ? jpath : "/",
				j->uid, j->gid);
	return 0;
}

/* A character device, mode 0600, owned by uid:gid. */
static int jail_node(struct jail *j, const char *jpath, unsigned major, unsigned minor,
		     struct jerr *e)
{
	char rel[PATH_MAX];
	int ret;

	if ((ret = jail_path(rel, sizeof(rel), e, "%s%s", j->rel, jpath)))
		return ret;
	if (mknodat(j->base_fd, rel, S_IFCHR | S_IRUSR | S_IWUSR, makedev(major, minor)))
		return jerr_sys(e, "cannot create %s (%u:%u) in the jail", jpath, major, minor);
	if ((ret = undo_push(&j->undo, UNDO_UNLINK, j->base_fd, j->base, rel))) {
		unlinkat(j->base_fd, rel, 0);
		return jerr_set(e, ret, "cannot record %s", rel);
	}
	if (fchownat(j->base_fd, rel, j->uid, j->gid, AT_SYMLINK_NOFOLLOW))
		return jerr_sys(e, "cannot chown %s in the jail to %u:%u", jpath, j->uid, j->gid);
	return 0;
}

int jail_populate(struct jail *j, struct jerr *e)
{
	static const char *const folders[] = {"", "/dev", "/dev/net", "/run"};
	struct jerr warn = {{0}};
	size_t before;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(folders); i++)
		if ((ret = jail_folder(j, folders[i], e)))
			return ret;
	if ((ret = jail_node(j, "/dev/net/tun", JAIL_MISC_MAJOR, JAIL_TUN_MINOR, e)) ||
	    (ret = jail_node(j, "/dev/kvm", JAIL_MISC_MAJOR, JAIL_KVM_MINOR, e)))
		return ret;
	/* Firecracker carries on without /dev/urandom (MMDS v2 needs it). */
	before = j->undo.n;
	if (jail_node(j, "/dev/urandom", JAIL_MEM_MAJOR, JAIL_URANDOM_MINOR, &warn)) {
		while (j->undo.n > before) {
			const struct undo_entry *x = &j->undo.v[j->undo.n - 1];
			unlinkat(x->fd, x->path, 0);
			undo_drop_last(&j->undo);
		}
		jail_warn("%s; the VMM will have no /dev/urandom", warn.msg);
	}
	if (j->uffd_minor >= 0 &&
	    (ret = jail_node(j, "/dev/userfaultfd", JAIL_MISC_MAJOR, (unsigned)j->uffd_minor, e)))
		return ret;
	return 0;
}
