/* SPDX-License-Identifier: Apache-2.0 */
/* cgroups, as Firecracker's jailer sets them up (step 7).
 *
 * v1: each controller named by a --cgroup file has its own hierarchy
 * (a "cgroup" line in /proc/mounts whose options name it); the VM's cgroup
 * is <mount>/<parent>/<id>. Before a value is written, the parent's value
 * of the same file is copied down when the new file is empty (cpuset.cpus
 * and cpuset.mems start empty), climbing as far as the mount. Then the pid
 * goes to each cgroup's "tasks".
 *
 * v2: one unified hierarchy (the "cgroup2" line); each controller used is
 * enabled ("+name" in cgroup.subtree_control) from the mount down to
 * <parent>; values are written to <unified>/<parent>/<id>, then the pid to
 * its cgroup.procs. Without any --cgroup, v2 only moves the process into
 * an existing <unified>/<parent> and creates nothing.
 *
 * Rolling back: before the process moves, a write handle on the cgroup it
 * came from is kept; the undo log writes "0" to it (moving the process
 * back out), then removes the directories this run created. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/jailer.h"

int cg_parse_mount_line(const char *line, char *dir, size_t dirlen, char *opts, size_t optslen)
{
	const char *field[4];
	size_t flen[4];
	const char *s = line;

	/* <source> <dir> <type> <options> 0 0, separated by single spaces. */
	for (int i = 0; i < 4; i++) {
		field[i] = s;
		flen[i] = strcspn(s, " \n");
		if (!flen[i] || s[flen[i]] != ' ')
			return 0;
		s += flen[i] + 1;
	}
	int version = flen[2] == 6 && !strncmp(field[2], "cgroup", 6)	 ? 1
		      : flen[2] == 7 && !strncmp(field[2], "cgroup2", 7) ? 2
									 : 0;
	if (!version || flen[3] >= optslen)
		return 0;
	/* The kernel escapes space, tab, newline and backslash as \ooo. */
	size_t n = 0;
	for (const char *d = field[1]; d < field[1] + flen[1]; d++) {
		char c = *d;
		if (c == '\\' && d + 3 < field[1] + flen[1] && d[1] >= '0' && d[1] <= '3' &&
		    d[2] >= '0' && d[2] <= '7' && d[3] >= '0' && d[3] <= '7') {
			c = (char)((d[1] - '0') << 6 | (d[2] - '0') << 3 | (d[3] - '0'));
			d += 3;
		}
		if (n + 1 >= dirlen)
			return 0;
		dir[n++] = c;
	}
	dir[n] = '\0';
	memcpy(opts, field[3], flen[3]);
	opts[flen[3]] = '\0';
	return version;
}

bool cg_list_has(const char *list, char sep, const char *name)
{
	size_t len = strlen(name);
	for (const char *s = list; *s;) {
		const char *end = strchr(s, sep);
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n == len && !strncmp(s, name, len))
			return true;
		if (!end)
			break;
		s = end + 1;
	}
	return false;
}

int cg_self_path(const char *text, int version, const char *controller, char *out, size_t outlen)
{
	/* Lines: <hierarchy id>:<controllers>:<path> (v2: 0::<path>). */
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		const char *c1 = memchr(l, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - l)) : NULL;
		if (c2) {
			char ctl[256];
			size_t clen = (size_t)(c2 - c1 - 1);
			size_t plen = len - (size_t)(c2 + 1 - l);
			bool v2 = c1 - l == 1 && l[0] == '0' && clen == 0;
			if (clen < sizeof(ctl)) {
				memcpy(ctl, c1 + 1, clen);
				ctl[clen] = '\0';
				bool match =
				    version == 2 ? v2 : !v2 && cg_list_has(ctl, ',', controller);
				if (match) {
					if (plen + 1 > outlen)
						return -ENAMETOOLONG;
					memcpy(out, c2 + 1, plen);
					out[plen] = '\0';
					return 0;
				}
			}
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------- prepare */

struct mounts {
	char (*dir)[PATH_MAX];
	char (*opts)[1024];
	size_t n;
	char unified[PATH_MAX];
	bool have_unified;
};

static int read_mounts(const char *proc_mounts, int version, struct mounts *m, struct jerr *e)
{
	char *line = NULL, dir[PATH_MAX], opts[1024];
	size_t cap = 0, alloc = 0;
	int ret = 0;
	FILE *f = fopen(proc_mounts, "re");

	memset(m, 0, sizeof(*m));
	if (!f)
		return jerr_sys(e, "cannot read %s", proc_mounts);
	while (getline(&line, &cap, f) > 0) {
		int v = cg_parse_mount_line(line, dir, sizeof(dir), opts, sizeof(opts));
		if (v == 2 && version == 2 && !m->have_unified) {
			memcpy(m->unified, dir, sizeof(dir));
			m->have_unified = true;
		} else if (v == 1 && version == 1) {
			if (m->n == alloc) {
				size_t na = alloc ? alloc * 2 : 16;
				void *d = realloc(m->dir, na * sizeof(*m->dir));
				if (d)
					m->dir = d;
				void *o = d ? realloc(m->opts, na * sizeof(*m->opts)) : NULL;
				if (!o) {
					ret = jerr_set(e, -ENOMEM, "out of memory reading %s",
						       proc_mounts);
					break;
				}
				m->opts = o;
				alloc = na;
			}
			memcpy(m->dir[m->n], dir, sizeof(dir));
			memcpy(m->opts[m->n], opts, sizeof(opts));
			m->n++;
		}
	}
	free(line);
	fclose(f);
	if (!ret && !m->n && !m->have_unified)
		ret = jerr_set(e, -ENOENT, "no cgroup v%d hierarchy is mounted (%s has no %s line)",
			       version, proc_mounts, version == 1 ? "cgroup" : "cgroup2");
	return ret;
}

static void free_mounts(struct mounts *m)
{
	free(m->dir);
	free(m->opts);
	m->dir = NULL;
	m->opts = NULL;
}

/* The group (one per v1 controller, a single one for v2) a property goes to. */
static int group_for(struct jail_cgroups *c, const struct mounts *m, const struct cg_prop *p,
		     struct cg_group **out, struct jerr *e)
{
	const char *key = c->version == 1 ? p->controller : "";
	const char *mount = NULL;

	for (size_t i = 0; i < c->n_groups; i++)
		if (!strcmp(c->groups[i].controller, key))
			return *out = &c->groups[i], 0;
	if (c->version == 1) {
		for (size_t i = 0; i < m->n && !mount; i++)
			if (cg_list_has(m->opts[i], ',', p->controller))
				mount = m->dir[i];
		if (!mount)
			return jerr_set(
			    e, -ENOENT,
			    "unknown cgroup controller '%s' in --cgroup %s=%s: no cgroup "
			    "v1 hierarchy in /proc/mounts has it",
			    p->controller, p->file, p->value);
	} else {
		mount = m->unified;
	}
	if (c->n_groups == CG_GROUPS_MAX)
		return jerr_set(e, -E2BIG, "more than %d cgroup controllers", CG_GROUPS_MAX);
	struct cg_group *g = &c->groups[c->n_groups++];
	snprintf(g->mount, sizeof(g->mount), "%s", mount);
	snprintf(g->controller, sizeof(g->controller), "%s", key);
	g->mount_fd = g->back_fd = -1;
	return *out = g, 0;
}

/* v2: the controllers the unified hierarchy offers. */
static int check_v2_controller(const char *unified, const struct cg_prop *p, struct jerr *e)
{
	char path[PATH_MAX], list[4096];
	int ret;

	if ((ret = jail_path(path, sizeof(path), e, "%s/cgroup.controllers", unified)))
		return ret;
	if (fs_read_text(path, list, sizeof(list)))
		list[0] = '\0';
	list[strcspn(list, "\n")] = '\0';
	if (!cg_list_has(list, ' ', p->controller))
		return jerr_set(e, -ENOENT,
				"unknown cgroup controller '%s' in --cgroup %s=%s: %s offers "
				"'%s'",
				p->controller, p->file, p->value, path, list);
	return 0;
}

/* "a//b/" -> "a/b", so that parents are found by cutting at the last '/'. */
static int normalize(const char *in, char *out, size_t outlen, struct jerr *e)
{
	size_t n = 0;
	for (const char *s = in; *s;) {
		size_t len = strcspn(s, "/");
		if (n + len + 2 > outlen)
			return jerr_set(e, -ENAMETOOLONG, "--parent-cgroup is too long");
		if (n)
			out[n++] = '/';
		memcpy(out + n, s, len);
		n += len;
		s += len;
		s += strspn(s, "/");
	}
	out[n] = '\0';
	return 0;
}

int cg_prepare(struct jail_cgroups *c, const struct jail_flags *f, int version, const char *id,
	       const char *parent, unsigned depth, const char *proc_mounts, struct jerr *e)
{
	struct mounts m;
	int ret;

	memset(c, 0, sizeof(*c));
	c->version = version;
	c->id = id;
	c->depth = depth;
	if ((ret = normalize(parent, c->parent, sizeof(c->parent), e)))
		return ret;
	/* v1 without --cgroup: nothing to do, the mounts are not even read. */
	if (!f->n_cgroups && version == 1)
		return 0;
	if ((ret = read_mounts(proc_mounts, version, &m, e)))
		goto out;
	if (version == 2) {
		snprintf(c->unified, sizeof(c->unified), "%s", m.unified);
		if (!f->n_cgroups) {
			/* Only a move into <unified>/<parent>, if it exists. */
			struct cg_group *g = &c->groups[c->n_groups++];
			snprintf(g->mount, sizeof(g->mount), "%s", m.unified);
			g->mount_fd = g->back_fd = -1;
			c->join_parent = true;
		}
	}
	for (size_t i = 0; i < f->n_cgroups; i++) {
		struct cg_prop *p = &c->props[c->n_props];
		struct cg_group *g = NULL;
		if ((ret = jail_parse_cgroup_arg(f->cgroups[i], p, e)))
			goto out;
		if (version == 2 && (ret = check_v2_controller(m.unified, p, e)))
			goto out;
		if ((ret = group_for(c, &m, p, &g, e)))
			goto out;
		g->props[g->n_props++] = c->n_props++;
	}
out:
	free_mounts(&m);
	return ret;
}

/* ---------------------------------------------------------------- setup */

/* v1: makes <dir>/<file> non-empty with the first line of the same file
 * one level up, first filling that one the same way (at most `depth` more
 * levels) when it is empty too. A racing jailer filling a parent first is
 * fine: only the result is checked. */
static int cg_inherit(const char *dir, const char *file, unsigned depth, struct jerr *e)
{
	char parent[PATH_MAX], path[PATH_MAX], line[4096];
	const char *slash = strrchr(dir, '/');
	int ret;

	if (!slash || slash == dir)
		return jerr_set(e, -EINVAL, "cannot inherit %s: %s has no parent cgroup", file,
				dir);
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
	if ((ret = jail_path(path, sizeof(path), e, "%s/%s", parent, file)) ||
	    (ret = fs_read_line(path, line, sizeof(line), e)))
		return ret;
	if (!line[0] && depth > 0) {
		struct jerr ignored = {{0}};
		if (cg_inherit(parent, file, depth - 1, &ignored) == 0 &&
		    (ret = fs_read_line(path, line, sizeof(line), e)))
			return ret;
	}
	if (!line[0])
		return jerr_set(e, -ENODATA, "cannot inherit %s for %s: it is empty in %s", file,
				dir, parent);
	if ((ret = jail_path(path, sizeof(path), e, "%s/%s", dir, file)))
		return ret;
	return fs_write_line(path, line, e);
}

/* v2: "+<controller>" in cgroup.subtree_control from the mount down to
 * <parent>, so that <parent>/<id> gets the controller's files. */
static int cg_enable(const struct jail_cgroups *c, const struct cg_group *g, const char *controller,
		     struct jerr *e)
{
	char dir[PATH_MAX], path[PATH_MAX], plus[NAME_MAX + 2];
	size_t n = strlen(c->parent);
	int ret;

	snprintf(plus, sizeof(plus), "+%s", controller);
	for (size_t i = 0; i <= n; i++) {
		if (i && i < n && c->parent[i] != '/')
			continue;
		if (i == 0)
			ret = jail_path(dir, sizeof(dir), e, "%s", g->mount);
		else
			ret =
			    jail_path(dir, sizeof(dir), e, "%s/%.*s", g->mount, (int)i, c->parent);
		if (ret ||
		    (ret = jail_path(path, sizeof(path), e, "%s/cgroup.subtree_control", dir)))
			return ret;
		if ((ret = fs_write_line(path, plus, e)))
			return ret;
		if (i == n)
			break;
	}
	return 0;
}

static int cg_create(struct jail_cgroups *c, struct cg_group *g, struct undo *u, struct jerr *e)
{
	char rel[PATH_MAX], path[PATH_MAX];
	bool enabled[JAIL_MULTI_MAX] = {false};
	int ret;

	g->mount_fd = open(g->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g->mount_fd < 0)
		return jerr_sys(e, "cannot open the cgroup hierarchy %s", g->mount);
	if ((ret = jail_path(rel, sizeof(rel), e, "%s/%s", c->parent, c->id)) ||
	    (ret = jail_path(g->dir, sizeof(g->dir), e, "%s/%s", g->mount, rel)) ||
	    (ret = fs_mkdirs(u, g->mount_fd, g->mount, rel, 0777, e)))
		return ret;
	for (size_t i = 0; i < g->n_props; i++) {
		const struct cg_prop *p = &c->props[g->props[i]];
		if (c->version == 1) {
			ret = cg_inherit(g->dir, p->file, c->depth, e);
		} else if (!enabled[g->props[i]]) {
			ret = cg_enable(c, g, p->controller, e);
			/* Once per controller. */
			for (size_t k = i; k < g->n_props; k++)
				if (!strcmp(c->props[g->props[k]].controller, p->controller))
					enabled[g->props[k]] = true;
		}
		if (ret || (ret = jail_path(path, sizeof(path), e, "%s/%s", g->dir, p->file)) ||
		    (ret = fs_write_line(path, p->value, e)))
			return ret;
	}
	return 0;
}

/* Keeps a way back to the cgroup this process is in, then moves it into
 * g->dir (v1: its tasks file, v2: cgroup.procs). */
static int cg_attach(const struct jail_cgroups *c, struct cg_group *g, const char *self,
		     struct undo *u, struct jerr *e)
{
	char rel[PATH_MAX], path[PATH_MAX], pid[16];
	int ret;

	if (!cg_self_path(self, c->version, g->controller, rel, sizeof(rel)) &&
	    !jail_path(g->back, sizeof(g->back), e, "%s%s/cgroup.procs", g->mount,
		       strcmp(rel, "/") ? rel : ""))
		g->back_fd = open(g->back, O_WRONLY | O_CLOEXEC);
	if (g->back_fd < 0) {
		if (!jail_path(g->back, sizeof(g->back), e, "%s/cgroup.procs", g->mount))
			g->back_fd = open(g->back, O_WRONLY | O_CLOEXEC);
	}
	if ((ret = jail_path(path, sizeof(path), e, "%s/%s", g->dir,
			     c->version == 1 ? "tasks" : "cgroup.procs")))
		return ret;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if ((ret = fs_write_line(path, pid, e))) {
		if (c->join_parent)
			jerr_set(e, ret,
				 "cannot move the process into the cgroup %s: %s (to create a "
				 "child cgroup under it instead, pass --cgroup values)",
				 g->dir, strerror(-ret));
		return ret;
	}
	if (g->back_fd >= 0 && (ret = undo_push(u, UNDO_CG_RETURN, g->back_fd, g->back, NULL))) {
		if (write(g->back_fd, "0", 1) != 1)
			jail_warn("could not move back to %s", g->back);
		return jerr_set(e, ret, "cannot record the cgroup move: %s", strerror(-ret));
	}
	return 0;
}

int cg_setup(struct jail_cgroups *c, struct undo *u, struct jerr *e)
{
	static char self[16384];
	struct stat st;
	int ret;

	if (!c->n_groups)
		return 0;
	/* Read once, before any move: hierarchies may be shared. */
	if (fs_read_text("/proc/self/cgroup", self, sizeof(self)))
		self[0] = '\0';
	if (c->join_parent) {
		struct cg_group *g = &c->groups[0];
		if ((ret = jail_path(g->dir, sizeof(g->dir), e, "%s/%s", g->mount, c->parent)))
			return ret;
		/* Firecracker's rule: a parent that does not exist is no error. */
		if (stat(g->dir, &st) || !S_ISDIR(st.st_mode))
			return 0;
		return cg_attach(c, g, self, u, e);
	}
	/* All values first (cpuset needs cpus and mems before a task). */
	for (size_t i = 0; i < c->n_groups; i++)
		if ((ret = cg_create(c, &c->groups[i], u, e)))
			return ret;
	for (size_t i = 0; i < c->n_groups; i++)
		if ((ret = cg_attach(c, &c->groups[i], self, u, e)))
			return ret;
	return 0;
}
