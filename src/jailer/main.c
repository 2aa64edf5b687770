/* SPDX-License-Identifier: Apache-2.0 */
/* ember-jailer: Firecracker's jailer steps, in Firecracker's order. Only
 * this file turns an error into an exit status: it prints the one-line
 * message, rolls back everything the run created and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/version.h"
#include "jailer/jailer.h"

#define EXIT_JAILER_ERROR 1

static int fail(struct jail *j, const struct jerr *e)
{
	fprintf(stderr, "ember-jailer: %s\n", e->msg);
	undo_run(&j->undo);
	return EXIT_JAILER_ERROR;
}

int main(int argc, char **argv)
{
	static struct jail jail;
	struct jail *j = &jail;
	struct jerr e = {{0}};
	uint64_t start_us = jail_mono_us(), start_cpu_us = jail_cpu_us();

	jail_init(j);
	/* 1. No inherited fds beyond stdio, no inherited environment. */
	if (jail_sanitize(&e))
		return fail(j, &e);
	/* 2. Arguments, then every check that creates nothing. */
	if (jail_parse_flags(argc, argv, &j->f, &e))
		return fail(j, &e);
	if (j->f.help) {
		fputs(jail_usage, stdout);
		return 0;
	}
	if (j->f.version) {
		/* Firecracker's shape; tools split it on spaces. */
		printf("Jailer v%s\n\n", EMBER_FC_API_VERSION);
		return 0;
	}
	j->start_us = start_us;
	j->start_cpu_us = start_cpu_us;
	if (jail_prepare(j, "/proc/mounts", &e))
		return fail(j, &e);
	/* 3. <base>/<exec_name>/<id>/root */
	if (jail_make_root(j, &e))
		return fail(j, &e);
	/* 4. A copy of the exec file, owned by uid:gid. */
	if (jail_copy_exec(j, &e))
		return fail(j, &e);
	/* 5. */
	if (j->f.netns && jail_join_netns(j->f.netns, &e))
		return fail(j, &e);
	/* 6. */
	if (jail_set_rlimits(&j->rl, &e))
		return fail(j, &e);
	/* 7. Before the jail: the cgroup mounts are out of sight after it. */
	if (cg_setup(&j->cg, &j->undo, &e))
		return fail(j, &e);
	/* 8. The same for /dev/null. */
	if (j->f.daemonize && (j->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return fail(j, (jerr_sys(&e, "cannot open /dev/null"), &e));
	/* 9. (aarch64 only in Firecracker: cache and MIDR_EL1 files.) */
	/* 10. Mount namespace, pivot_root, chroot. */
	if (jail_pivot(j, &e))
		return fail(j, &e);
	/* 11, 12. Folders and device nodes, owned by uid:gid. */
	if (jail_populate(j, &e))
		return fail(j, &e);
	j->jailer_cpu_us = jail_cpu_us() - j->start_cpu_us;
	/* 13. */
	if (j->f.daemonize && jail_daemonize(j, &e))
		return fail(j, &e);
	/* 14. Returns only when something failed. */
	if (jail_exec(j, &e))
		return fail(j, &e);
	return fail(j, (jerr_set(&e, -EINVAL, "exec returned"), &e));
}
