/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp/compile.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint32_t action_of(enum sc_default d)
{
	switch (d) {
	case SC_DEFAULT_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case SC_DEFAULT_LOG:
		return SCMP_ACT_LOG;
	case SC_DEFAULT_TRAP:
		break;
	}
	return SCMP_ACT_TRAP;
}

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r, char *err, size_t errlen)
{
	struct scmp_arg_cmp cmp[SC_MAX_ARGS];
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, r->syscall);
	if (nr == __NR_SCMP_ERROR) {
		snprintf(err, errlen, "unknown syscall '%s'", r->syscall);
		return -EINVAL;
	}
	if (r->nargs > SC_MAX_ARGS) {
		snprintf(err, errlen, "%s: too many argument conditions", r->syscall);
		return -EINVAL;
	}
	for (unsigned i = 0; i < r->nargs; i++) {
		const struct sc_arg *a = &r->args[i];
		if (a->index > 5) {
			snprintf(err, errlen, "%s: argument index %u is not 0-5", r->syscall,
				 a->index);
			return -EINVAL;
		}
		static const enum scmp_compare ops[] = {
		    [SC_EQ] = SCMP_CMP_EQ, [SC_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
		    [SC_NE] = SCMP_CMP_NE, [SC_LT] = SCMP_CMP_LT,
		    [SC_LE] = SCMP_CMP_LE, [SC_GT] = SCMP_CMP_GT,
		    [SC_GE] = SCMP_CMP_GE,
		};
		cmp[i] =
		    a->op == SC_MASKED_EQ
			? (struct scmp_arg_cmp){a->index, SCMP_CMP_MASKED_EQ, a->mask, a->value}
			: (struct scmp_arg_cmp){a->index, ops[a->op], a->value, 0};
	}
	int ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, r->nargs, cmp);
	if (ret) {
		snprintf(err, errlen, "%s: %s", r->syscall, strerror(-ret));
		return ret;
	}
	return 0;
}

int seccomp_compile(const struct sc_rule *rules, size_t n, enum sc_default dflt,
		    struct sock_filter **prog, size_t *len, char *err, size_t errlen)
{
	int ret = -ENOMEM, fd = -1;
	scmp_filter_ctx ctx = seccomp_init(action_of(dflt));

	*prog = NULL;
	*len = 0;
	if (!ctx) {
		snprintf(err, errlen, "libseccomp: out of memory");
		return -ENOMEM;
	}
	/* The program is exported, not loaded here: ember sets NO_NEW_PRIVS
	 * itself when it installs it. (libseccomp's filter kills any call from
	 * another architecture, i386 or x32, whatever the rules say.) */
	if ((ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((ret = add_rule(ctx, &rules[i], err, errlen)))
			goto out;
	/* libseccomp 2.5 exports only to a file descriptor. */
	fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0 || (ret = seccomp_export_bpf(ctx, fd))) {
		ret = fd < 0 ? -errno : ret;
		snprintf(err, errlen, "exporting the filter: %s", strerror(-ret));
		goto out;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter)) {
		snprintf(err, errlen, "exporting the filter: odd size %lld", (long long)size);
		ret = -EIO;
		goto out;
	}
	*prog = malloc((size_t)size);
	if (!*prog || (ret = pread_full(fd, *prog, (size_t)size, 0))) {
		free(*prog);
		*prog = NULL;
		ret = ret ? ret : -ENOMEM;
		snprintf(err, errlen, "reading the filter back: %s", strerror(-ret));
		goto out;
	}
	*len = (size_t)size / sizeof(struct sock_filter);
	ret = 0;
out:
	if (ret && !err[0])
		snprintf(err, errlen, "libseccomp: %s", strerror(-ret));
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret;
}
