/* SPDX-License-Identifier: Apache-2.0 */
/* ember's seccomp allowlists, one per thread kind, as data: each rule
 * allows one syscall, optionally only with given argument values, and says
 * why. The default action for anything else is SIGSYS (a trap), which
 * ember turns into one log line and exit code 148. */
#ifndef EMBER_SECCOMP_RULES_H
#define EMBER_SECCOMP_RULES_H

#include <stddef.h>
#include <stdint.h>

enum seccomp_thread { SECCOMP_VMM, SECCOMP_API, SECCOMP_VCPU, SECCOMP_THREADS };

enum sc_op { SC_EQ, SC_MASKED_EQ, SC_NE, SC_LT, SC_LE, SC_GT, SC_GE };

struct sc_arg {
	uint8_t index; /* 0..5 */
	enum sc_op op;
	uint64_t mask; /* SC_MASKED_EQ */
	uint64_t value;
};

#define SC_MAX_ARGS 6

/* Rules for the same syscall are alternatives; the args of one rule must
 * all hold. */
struct sc_rule {
	const char *syscall;
	unsigned nargs;
	struct sc_arg args[SC_MAX_ARGS];
	const char *reason;
};

struct sc_list {
	const char *name; /* "vmm", "api", "vcpu" */
	const struct sc_rule *rules;
	size_t nrules;
};

extern const struct sc_list seccomp_lists[SECCOMP_THREADS];

#endif
