/* SPDX-License-Identifier: Apache-2.0 */
/* The jailer process itself: sanitizing it (step 1), its network
 * namespace (5), resource limits (6), daemonizing (13), and the exec into
 * the VMM (14) with the pid file, the optional PID namespace and the drop
 * to uid:gid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jailer/jailer.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

void jail_init(struct jail *j)
{
	memset(j, 0, sizeof(*j));
	j->exec_fd = j->base_fd = j->devnull_fd = -1;
	j->uffd_minor = -1;
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t jail_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t jail_cpu_us(void)
{
	return clock_us(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---------------------------------------------------------------- step 1 */

/* Kernels before 5.9 have no close_range: walk /proc/self/fd instead. */
static int close_fds_slowly(struct jerr *e)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	if (!d)
		return jerr_sys(e, "cannot close inherited file descriptors: /proc/self/fd");
	int self = dirfd(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != self)
			close(fd);
	}
	closedir(d);
	return 0;
}

int jail_sanitize(struct jerr *e)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE)) {
		if (errno != ENOSYS && errno != EINVAL)
			return jerr_sys(e, "cannot close inherited file descriptors");
		int ret = close_fds_slowly(e);
		if (ret)
			return ret;
	}
	if (clearenv())
		return jerr_set(e, -ENOMEM, "cannot clear the environment");
	return 0;
}

/* ---------------------------------------------------------------- steps 5, 6 */

int jail_join_netns(const char *path, struct jerr *e)
{
	int ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jerr_sys(e, "cannot open the network namespace %s", path);
	if (setns(fd, CLONE_NEWNET))
		ret = jerr_sys(e, "cannot join the network namespace %s", path);
	close(fd);
	return ret;
}

static int set_limit(int resource, const char *name, uint64_t v, struct jerr *e)
{
	struct rlimit rl = {.rlim_cur = v, .rlim_max = v};
	if (setrlimit(resource, &rl))
		return jerr_sys(
		    e, "cannot set the %s resource limit to %llu%s", name, (unsigned long long)v,
		    errno == EPERM && resource == RLIMIT_NOFILE ? " (above fs.nr_open?)" : "");
	return 0;
}

int jail_set_rlimits(const struct jail_rlimits *r, struct jerr *e)
{
	int ret;
	if (r->has_fsize && (ret = set_limit(RLIMIT_FSIZE, "fsize", r->fsize, e)))
		return ret;
	return set_limit(RLIMIT_NOFILE, "no-file", r->nofile, e);
}

/* ---------------------------------------------------------------- step 13 */

int jail_daemonize(struct jail *j, struct jerr *e)
{
	pid_t pid;

	fflush(NULL);
	/* The first child is not a process-group leader, so setsid works. */
	if ((pid = fork()) < 0)
		return jerr_sys(e, "cannot daemonize: fork");
	if (pid)
		_exit(0);
	if (setsid() < 0)
		return jerr_sys(e, "cannot daemonize: setsid");
	j->jailer_cpu_us += jail_cpu_us();
	/* The grandchild is not a session leader: it can never get a
	 * controlling terminal back. */
	if ((pid = fork()) < 0)
		return jerr_sys(e, "cannot daemonize: fork");
	if (pid)
		_exit(0);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(j->devnull_fd, fd) < 0)
			return jerr_sys(e, "cannot daemonize: dup2 /dev/null");
	close(j->devnull_fd);
	j->devnull_fd = -1;
	j->jailer_cpu_us += jail_cpu_us();
	return 0;
}

/* ---------------------------------------------------------------- step 14 */

/* <exec_name>.pid at the jail's root: the pid, no newline. *created says
 * whether the file now exists because of this call. */
static int write_pid_file(struct jail *j, pid_t pid, bool *created, struct jerr *e)
{
	char rel[PATH_MAX], txt[16];
	int ret, n;

	*created = false;
	if ((ret = jail_path(rel, sizeof(rel), e, "%s/%s.pid", j->rel, j->exec_name)))
		return ret;
	int fd =
	    openat(j->base_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return jerr_sys(e, "cannot create the pid file /%s.pid in the jail", j->exec_name);
	*created = true;
	n = snprintf(txt, sizeof(txt), "%d", (int)pid);
	errno = EIO;
	if (write(fd, txt, (size_t)n) != n) {
		ret = jerr_sys(e, "cannot write the pid file /%s.pid in the jail", j->exec_name);
		close(fd);
		return ret;
	}
	if (close(fd))
		return jerr_sys(e, "cannot write the pid file /%s.pid in the jail", j->exec_name);
	return 0;
}

/* Records the pid file for undo (before it exists: a PID namespace's
 * child needs the entry although its parent writes the file). */
static int record_pid_file(struct jail *j, struct jerr *e)
{
	char rel[PATH_MAX];
	int ret;
	if ((ret = jail_path(rel, sizeof(rel), e, "%s/%s.pid", j->rel, j->exec_name)))
		return ret;
	if ((ret = undo_push(&j->undo, UNDO_UNLINK, j->base_fd, j->base, rel)))
		return jerr_set(e, ret, "cannot record %s", rel);
	return 0;
}

/* After a failed exec: CAP_DAC_OVERRIDE and CAP_FOWNER back in the
 * effective set (PR_SET_KEEPCAPS kept them permitted across setresuid),
 * so that the undo log can still remove what root created. A successful
 * exec as a non-root uid clears every set. */
static void regain_cleanup_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d))
		return;
	d[0].effective |= (1u << CAP_DAC_OVERRIDE) | (1u << CAP_FOWNER);
	d[0].effective &= d[0].permitted;
	if (syscall(SYS_capset, &h, d))
		jail_warn("cannot regain the capabilities to clean up: %s", strerror(errno));
}

/* /<exec_name> --id <id> --start-time-us <t> --start-time-cpu-us <t>
 * --parent-cpu-time-us <t> <extra args>, as uid:gid, empty environment. */
static int drop_and_exec(struct jail *j, struct jerr *e)
{
	char path[NAME_MAX + 2], t_start[24], t_cpu[24], t_parent[24];
	char *envp[] = {NULL};
	size_t n = 0;
	int ret;

	char **argv = calloc(10 + j->f.n_extra, sizeof(*argv));
	if (!argv)
		return jerr_set(e, -ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/%s", j->exec_name);
	snprintf(t_start, sizeof(t_start), "%llu", (unsigned long long)j->start_us);
	snprintf(t_parent, sizeof(t_parent), "%llu", (unsigned long long)j->jailer_cpu_us);
	argv[n++] = path;
	argv[n++] = "--id";
	argv[n++] = (char *)j->f.id;
	argv[n++] = "--start-time-us";
	argv[n++] = t_start;
	argv[n++] = "--start-time-cpu-us";
	argv[n++] = t_cpu;
	argv[n++] = "--parent-cpu-time-us";
	argv[n++] = t_parent;
	for (size_t i = 0; i < j->f.n_extra; i++)
		argv[n++] = j->f.extra[i];
	argv[n] = NULL;

	/* Supplementary groups first, then gid, then uid (as Rust's
	 * Command::uid/gid does for Firecracker). */
	if (setgroups(0, NULL)) {
		ret = jerr_sys(e, "cannot drop the supplementary groups");
		goto out;
	}
	if (setresgid(j->gid, j->gid, j->gid)) {
		ret = jerr_sys(e, "cannot switch to gid %u", j->gid);
		goto out;
	}
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L)) {
		ret = jerr_sys(e, "cannot keep the capabilities for cleaning up");
		goto out;
	}
	if (setresuid(j->uid, j->uid, j->uid)) {
		ret = jerr_sys(e, "cannot switch to uid %u", j->uid);
		goto out;
	}
	snprintf(t_cpu, sizeof(t_cpu), "%llu", (unsigned long long)jail_cpu_us());
	execve(path, argv, envp);
	int err = errno;
	regain_cleanup_caps();
	errno = err;
	ret = jerr_sys(e, "cannot exec %s in the jail %s as %u:%u", path, j->chroot_dir, j->uid,
		       j->gid);
out:
	free(argv);
	return ret;
}

/* --new-pid-ns: the child becomes PID 1 of a new PID namespace and execs;
 * the parent writes the child's pid (as the parent sees it) to the pid
 * file and exits. The child waits for that, so that a child whose exec
 * fails never races the parent's write when it cleans up. */
static int exec_in_new_pid_ns(struct jail *j, struct jerr *e)
{
	/* A session leader's exit would SIGHUP the new namespace's init,
	 * which has handlers: give the child its own session then. */
	bool leader = !j->f.daemonize && getsid(0) == getpid();
	bool created;
	int go[2], ret;
	char c;

	if (unshare(CLONE_NEWPID))
		return jerr_sys(e, "cannot create a PID namespace");
	if ((ret = record_pid_file(j, e)))
		return ret;
	if (pipe2(go, O_CLOEXEC))
		return jerr_sys(e, "cannot create a pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		ret = jerr_sys(e, "cannot start the PID namespace's first process");
		close(go[0]);
		close(go[1]);
		return ret;
	}
	if (pid == 0) {
		ssize_t n;
		close(go[1]);
		do
			n = read(go[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) /* the parent failed, and rolls back itself */
			_exit(1);
		close(go[0]);
		if (leader && setsid() < 0)
			return jerr_sys(e, "cannot start a new session");
		return drop_and_exec(j, e);
	}
	close(go[0]);
	signal(SIGPIPE, SIG_IGN);
	if ((ret = write_pid_file(j, pid, &created, e)) ||
	    (write(go[1], "g", 1) != 1 &&
	     (ret = jerr_sys(e, "cannot start the PID namespace's first process")))) {
		if (!created) /* not ours: keep it */
			undo_drop_last(&j->undo);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	_exit(0);
}

int jail_exec(struct jail *j, struct jerr *e)
{
	bool created;
	int ret;

	if (j->f.new_pid_ns)
		return exec_in_new_pid_ns(j, e);
	if ((ret = record_pid_file(j, e)))
		return ret;
	if ((ret = write_pid_file(j, getpid(), &created, e))) {
		if (!created) /* not ours: keep it */
			undo_drop_last(&j->undo);
		return ret;
	}
	return drop_and_exec(j, e);
}
