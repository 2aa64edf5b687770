/* SPDX-License-Identifier: Apache-2.0 */
/* The undo log and the small file helpers every step uses. Everything the
 * jailer creates is addressed relative to a directory fd opened before the
 * jail is entered (the chroot base, a cgroup mount), so the log can still
 * be rolled back from inside the jail, after pivot_root has detached the
 * host's tree from this process's view. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/jailer.h"

int undo_push(struct undo *u, enum undo_kind kind, int fd, const char *root, const char *path)
{
	char *p = NULL;
	if (u->n == UNDO_MAX)
		return -ENOSPC;
	if (path && !(p = strdup(path)))
		return -ENOMEM;
	u->v[u->n++] = (struct undo_entry){.kind = kind, .fd = fd, .root = root, .path = p};
	return 0;
}

void undo_drop_last(struct undo *u)
{
	if (u->n) {
		free(u->v[u->n - 1].path);
		u->n--;
	}
}

static void undo_one(const struct undo_entry *x)
{
	switch (x->kind) {
	case UNDO_UNLINK:
	case UNDO_RMDIR:
		if (unlinkat(x->fd, x->path, x->kind == UNDO_RMDIR ? AT_REMOVEDIR : 0) &&
		    errno != ENOENT)
			jail_warn("could not remove %s/%s: %s", x->root, x->path, strerror(errno));
		break;
	case UNDO_CG_RETURN:
		/* "0" is the writer itself, in any PID namespace. */
		if (write(x->fd, "0", 1) != 1)
			jail_warn("could not move back to the cgroup %s: %s", x->root,
				  strerror(errno));
		break;
	}
}

void undo_run(struct undo *u)
{
	int saved = errno;
	while (u->n) {
		undo_one(&u->v[u->n - 1]);
		undo_drop_last(u);
	}
	errno = saved;
}

int fs_mkdirs(struct undo *u, int dirfd, const char *root, const char *rel, mode_t mode,
	      struct jerr *e)
{
	char p[PATH_MAX];
	struct stat st;
	size_t len = strlen(rel);
	int ret;

	if (len >= sizeof(p))
		return jerr_set(e, -ENAMETOOLONG, "path too long: %s/%s", root, rel);
	/* Without leading, doubled or trailing slashes. */
	len = 0;
	for (const char *s = rel + strspn(rel, "/"); *s; s++)
		if (*s != '/' || (s[1] && s[1] != '/'))
			p[len++] = *s;
	p[len] = '\0';
	for (size_t i = 0; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdirat(dirfd, p, mode) == 0) {
			if ((ret = undo_push(u, UNDO_RMDIR, dirfd, root, p))) {
				unlinkat(dirfd, p, AT_REMOVEDIR);
				return jerr_set(e, ret, "cannot record %s/%s: %s", root, p,
						strerror(-ret));
			}
		} else if (errno != EEXIST) {
			return jerr_sys(e, "cannot create %s/%s", root, p);
		} else if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW)) {
			return jerr_sys(e, "cannot stat %s/%s", root, p);
		} else if (!S_ISDIR(st.st_mode)) {
			return jerr_set(e, -ENOTDIR, "%s/%s exists and is not a directory%s", root,
					p, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		}
		p[i] = c;
	}
	return 0;
}

int fs_read_text(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (got + 1 >= len) {
			close(fd);
			return -EFBIG;
		}
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

int fs_read_line(const char *path, char *buf, size_t len, struct jerr *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jerr_sys(e, "cannot open %s", path);
	ssize_t n;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int ret = jerr_sys(e, "cannot read %s", path);
		close(fd);
		return ret;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int fs_write_line(const char *path, const char *text, struct jerr *e)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s\n", text);
	if (n < 0 || (size_t)n >= sizeof(line))
		return jerr_set(e, -E2BIG, "value too long for %s", path);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jerr_sys(e, "cannot open %s", path);
	ssize_t w;
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n) {
		if (w >= 0)
			errno = EIO;
		int ret = jerr_sys(e, "cannot write '%s' to %s", text, path);
		close(fd);
		return ret;
	}
	if (close(fd))
		return jerr_sys(e, "cannot write '%s' to %s", text, path);
	return 0;
}
