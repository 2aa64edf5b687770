/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread seccomp filters. main() prepares them (ember's own, compiled
 * into the binary at build time, or a filter file); each thread installs
 * its kind before it runs anything a guest or a client can influence. A
 * forbidden syscall raises SIGSYS, whose handler writes one line naming
 * the syscall and the thread and exits with code 148. */
#ifndef EMBER_SECCOMP_SECCOMP_H
#define EMBER_SECCOMP_SECCOMP_H

#include <stdbool.h>

#include "common/util.h"
#include "seccomp/rules.h"

/* No filters at all (--no-seccomp). */
void seccomp_disable(void);
/* Replaces ember's filters with those of a JSON file (Firecracker's
 * seccompiler source format, see docs/seccomp.md). 0 or -errno with err. */
int seccomp_load_file(const char *path, char *err, size_t errlen) WUR;
/* The SIGSYS handler (process-wide). Call once, early. */
int seccomp_install_sigsys(void) WUR;
/* Sanitized builds (EMBER_SANITIZE) only, a no-op otherwise: does now,
 * before any filter, what the sanitizer runtimes would otherwise do under
 * one at their first report (open the report file, read /proc/self/maps).
 * Call once, before any thread installs its filter. */
void seccomp_prepare_sanitizers(void);
/* Installs the calling thread's filter. 0 or -errno. */
int seccomp_apply(enum seccomp_thread t) WUR;
bool seccomp_enabled(void);
/* Faults seen (for metrics; the process exits on the first). */
unsigned long seccomp_faults(void);

/* Test hook (builds with EMBER_TEST_HOOKS only): the named thread kind
 * makes a forbidden syscall right after installing its filter, so tests
 * can prove the filter is fatal. */
void seccomp_test_violation(enum seccomp_thread t);

#endif
