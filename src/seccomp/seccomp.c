/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp/seccomp.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/exit_codes.h"
#include "common/log.h"
#include "seccomp/compile.h"
#include "vmm/term.h"

#ifdef EMBER_SANITIZE
#include <sanitizer/common_interface_defs.h>
#endif

/* ember's own filters, generated at build time (tools/seccomp-gen.c). */
extern const struct sock_filter ember_seccomp_bpf_vmm[], ember_seccomp_bpf_api[],
    ember_seccomp_bpf_vcpu[];
extern const unsigned short ember_seccomp_bpf_vmm_len, ember_seccomp_bpf_api_len,
    ember_seccomp_bpf_vcpu_len;

static struct {
	bool disabled;
	struct sock_fprog prog[SECCOMP_THREADS];
	struct sock_filter *custom[SECCOMP_THREADS];
	unsigned long faults;
} sc;

static void init_builtin(void)
{
	if (sc.prog[0].filter || sc.custom[0])
		return;
	sc.prog[SECCOMP_VMM] = (struct sock_fprog){ember_seccomp_bpf_vmm_len,
						   (struct sock_filter *)ember_seccomp_bpf_vmm};
	sc.prog[SECCOMP_API] = (struct sock_fprog){ember_seccomp_bpf_api_len,
						   (struct sock_filter *)ember_seccomp_bpf_api};
	sc.prog[SECCOMP_VCPU] = (struct sock_fprog){ember_seccomp_bpf_vcpu_len,
						    (struct sock_filter *)ember_seccomp_bpf_vcpu};
}

void seccomp_disable(void)
{
	sc.disabled = true;
}

bool seccomp_enabled(void)
{
	return !sc.disabled;
}

unsigned long seccomp_faults(void)
{
	return __atomic_load_n(&sc.faults, __ATOMIC_RELAXED);
}

/* Async-signal-safe: formats one line with write(2) only, then exits. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char line[160], num[24];
	const char *name = log_thread_name();
	int n = si->si_syscall, k = 0;
	if (n < 0)
		n = 0;
	do
		num[k++] = (char)('0' + n % 10);
	while ((n /= 10) && k < 20);
	size_t len = 0;
	const char *a = "ember: seccomp: forbidden syscall ";
	memcpy(line, a, strlen(a));
	len = strlen(a);
	while (k)
		line[len++] = num[--k];
	const char *b = " in thread '";
	memcpy(line + len, b, strlen(b));
	len += strlen(b);
	size_t nl = strnlen(name, 16);
	memcpy(line + len, name, nl);
	len += nl;
	const char *c = "'; exiting with code 148\n";
	memcpy(line + len, c, strlen(c));
	len += strlen(c);
	__atomic_add_fetch(&sc.faults, 1, __ATOMIC_RELAXED);
	ssize_t unused = write(STDERR_FILENO, line, len);
	(void)unused;
	term_restore();
	_exit(EXIT_BAD_SYSCALL);
}

int seccomp_load_file(const char *path, char *err, size_t errlen)
{
	struct sock_filter *progs[SECCOMP_THREADS] = {0};
	size_t lens[SECCOMP_THREADS] = {0};
	int ret = seccomp_file_compile(path, progs, lens, err, errlen);
	for (int t = 0; t < SECCOMP_THREADS; t++) {
		if (!ret && lens[t] > 0xffff) {
			snprintf(err, errlen, "%s: the %s filter is too long", path,
				 seccomp_lists[t].name);
			ret = -E2BIG;
		}
	}
	if (ret) {
		for (int t = 0; t < SECCOMP_THREADS; t++)
			free(progs[t]);
		return ret;
	}
	for (int t = 0; t < SECCOMP_THREADS; t++) {
		sc.custom[t] = progs[t];
		sc.prog[t] = (struct sock_fprog){(unsigned short)lens[t], progs[t]};
	}
	return 0;
}

int seccomp_install_sigsys(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

#ifdef EMBER_SANITIZE
/* The sanitized build's defaults; ASAN_OPTIONS and UBSAN_OPTIONS override
 * them. symbolize=0: the symbolizer is a child process (fork, exec, pipes)
 * that no filter allows, so a report names each frame module+offset and
 * tests/integration symbolizes it afterwards. detect_leaks=0:
 * LeakSanitizer's check at exit stops the world with a ptrace tracer
 * (clone, ptrace, /proc/self/task), which the VMM thread's filter forbids
 * and should; leaks are checked with --no-seccomp instead (test_asan.py)
 * and in the unit tests. print_stacktrace=1: UBSan's reports say where. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
	return "symbolize=0:detect_leaks=0";
}
const char *__ubsan_default_options(void)
{
	return "symbolize=0:print_stacktrace=1";
}
#endif

void seccomp_prepare_sanitizers(void)
{
#ifdef EMBER_SANITIZE
	/* The runtimes' own hook for "a sandbox is about to go on". */
	__sanitizer_sandbox_on_notify(NULL);
	/* Opens the log_path file now (when one is set); otherwise the
	 * first report would open it under a filter. */
	(void)__sanitizer_get_report_path();
	/* Loads the module list now; otherwise the first report's stack
	 * trace would read /proc/self/maps under a filter. */
	char buf[8];
	__sanitizer_symbolize_pc((void *)(uintptr_t)seccomp_prepare_sanitizers, "%m", buf,
				 sizeof(buf));
#endif
}

int seccomp_apply(enum seccomp_thread t)
{
	if (sc.disabled)
		return 0;
	init_builtin();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* This thread only (no TSYNC): each thread kind has its own list. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc.prog[t]) < 0)
		return -errno;
	return 0;
}

#if defined(EMBER_TEST_HOOKS) && defined(EMBER_SANITIZE)
/* EMBER_SANITIZER_SELFTEST=THREAD:KIND (sanitized builds only): the named
 * thread kind makes a deliberate error right after its filter goes on, so
 * tests can prove that the sanitizer's whole report gets out under the
 * filter: "heap" (ASan: a heap buffer overflow), "ub" (UBSan: a signed
 * overflow), "leak" (an allocation nothing points to, for LeakSanitizer
 * at exit, which runs only with --no-seccomp: docs/seccomp.md). */
static void sanitizer_selftest(enum seccomp_thread t)
{
	const char *want = getenv("EMBER_SANITIZER_SELFTEST");
	size_t n = strlen(seccomp_lists[t].name);
	if (!want || strncmp(want, seccomp_lists[t].name, n) || want[n] != ':')
		return;
	const char *kind = want + n + 1;
	if (!strcmp(kind, "heap")) {
		/* volatile: neither the store nor the size is known to the
		 * compiler, so ASan (not UBSan's object-size check) sees it. */
		volatile size_t size = 16;
		volatile char *p = malloc(size);
		if (p)
			p[size] = 1;
		free((char *)p);
	} else if (!strcmp(kind, "ub")) {
		volatile int big = INT_MAX, sum;
		sum = big + 1;
		(void)sum;
	} else if (!strcmp(kind, "leak")) {
		char *volatile p = malloc(64);
		if (p)
			p[0] = 1;
		p = NULL;
	}
}
#endif

void seccomp_test_violation(enum seccomp_thread t)
{
#ifdef EMBER_TEST_HOOKS
	const char *want = getenv("EMBER_SECCOMP_SELFTEST");
	if (want && !strcmp(want, seccomp_lists[t].name))
		syscall(SYS_getppid); /* in no allowlist */
#ifdef EMBER_SANITIZE
	sanitizer_selftest(t);
#endif
#else
	(void)t;
#endif
}
