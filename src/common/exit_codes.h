/* SPDX-License-Identifier: Apache-2.0 */
/* Process exit codes: Firecracker's, so that tools reading them keep
 * working. Documented in README.md. */
#ifndef EMBER_COMMON_EXIT_CODES_H
#define EMBER_COMMON_EXIT_CODES_H

enum ember_exit {
	EXIT_OK = 0,		/* includes a guest reset (i8042 0xFE) or shutdown */
	EXIT_GENERIC = 1,	/* a runtime failure: KVM, the host, a vCPU fault */
	EXIT_UNEXPECTED = 2,	/* an internal error ember did not expect */
	EXIT_BAD_SYSCALL = 148, /* seccomp */
	EXIT_SIGBUS = 149,
	EXIT_SIGSEGV = 150,
	EXIT_SIGXFSZ = 151,
	EXIT_BAD_CONFIG = 152, /* invalid --config-file, or a resource it names */
	EXIT_ARG_PARSING = 153,
	EXIT_SIGXCPU = 154,
	EXIT_SIGPIPE = 155,
	EXIT_SIGHUP = 156,
	EXIT_SIGILL = 157,
};

#endif
