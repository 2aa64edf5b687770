/* SPDX-License-Identifier: Apache-2.0 */
/* Rules -> a classic BPF program (through libseccomp), for x86-64. Used at
 * build time for ember's own filters (tools/seccomp-gen.c) and at run time
 * for a filter file given with --seccomp-filter. */
#ifndef EMBER_SECCOMP_COMPILE_H
#define EMBER_SECCOMP_COMPILE_H

#include <linux/filter.h>
#include <stddef.h>

#include "common/util.h"
#include "seccomp/rules.h"

/* The default action for a syscall no rule allows. */
enum sc_default { SC_DEFAULT_TRAP, SC_DEFAULT_KILL, SC_DEFAULT_LOG };

/* Compiles; *prog gets a malloc'd array of *len instructions. 0, or -errno
 * with `err` naming the rule that failed. */
int seccomp_compile(const struct sc_rule *rules, size_t n, enum sc_default dflt,
		    struct sock_filter **prog, size_t *len, char *err, size_t errlen) WUR;

/* A filter file (see seccomp/file.c) -> one program per thread kind. */
int seccomp_file_compile(const char *path, struct sock_filter *progs[SECCOMP_THREADS],
			 size_t lens[SECCOMP_THREADS], char *err, size_t errlen) WUR;

#endif
