/* SPDX-License-Identifier: Apache-2.0 */
/* The three allowlists. A syscall is here because one of ember's threads
 * needs it after its filter is in place; the reason says which code. The
 * VMM thread's filter goes on after the VM is built (building needs
 * KVM_CREATE_VM, memslots, opening files); the API thread's before it
 * serves; each vCPU thread's before its first KVM_RUN. */
#include "seccomp/rules.h"

#include <asm-generic/ioctls.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/mman.h>

#include "common/util.h"

/* One-line rule constructors: they read better as a table. */
/* clang-format off */
/* ioctl request numbers are 32-bit; some C libraries sign-extend them. */
#define IOCTL(req, why) {"ioctl", 1, {{1, SC_MASKED_EQ, 0xffffffffu, (req)}}, why}
#define NO_EXEC(name, idx, why) {name, 1, {{idx, SC_MASKED_EQ, PROT_EXEC, 0}}, why}
#define FUTEX(op, why) {"futex", 1, {{1, SC_EQ, 0, (op)}}, why}
#define ANY(name, why) {name, 0, {{0}}, why}
#define KICK_SIGNAL 35 /* ember's vCPU kick (kvm/vcpu.c), as Firecracker's */

/* Futex operations the C library's locks, condition variables and thread
 * exit use (private and shared, with and without the bitset). */
#define FUTEX_RULES(why)                                                                           \
	FUTEX(FUTEX_WAIT, why), FUTEX(FUTEX_WAKE, why), FUTEX(FUTEX_REQUEUE, why),                 \
		FUTEX(FUTEX_WAIT_BITSET, why), FUTEX(FUTEX_WAKE_BITSET, why),                      \
		FUTEX(FUTEX_WAIT | FUTEX_PRIVATE_FLAG, why),                                       \
		FUTEX(FUTEX_WAKE | FUTEX_PRIVATE_FLAG, why),                                       \
		FUTEX(FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG, why),                                    \
		FUTEX(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, why),                                \
		FUTEX(FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, why),                                \
		FUTEX(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, why),     \
		FUTEX(FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, why)

/* What every thread needs from the C library. */
#define COMMON_RULES(lock_why)                                                                     \
	FUTEX_RULES(lock_why), ANY("brk", "malloc"),                                               \
		NO_EXEC("mmap", 2, "malloc of large blocks; never executable memory"),             \
		ANY("munmap", "free of large blocks, thread stacks"),                              \
		ANY("mremap", "realloc of large blocks"),                                          \
		NO_EXEC("mprotect", 2, "the C library's guard pages; never executable"),           \
		ANY("madvise", "free returning pages; thread exit"),                               \
		ANY("clock_gettime", "log timestamps, timeouts (when the vDSO is not used)"),      \
		ANY("rt_sigprocmask", "the C library masks signals around thread operations"),     \
		ANY("rt_sigreturn", "return from a signal handler (the vCPU kick)"),               \
		ANY("sched_yield", "lock back-off"), ANY("gettid", "thread-directed signals"),     \
		ANY("getpid", "thread-directed signals"),                                          \
		ANY("restart_syscall", "a syscall restarted after a signal"),                      \
		ANY("exit", "thread exit"), ANY("exit_group", "process exit, incl. the SIGSYS path"), \
		ANY("getrandom", "jansson's hash-table seed"),                                     \
		IOCTL(TCSETS, "restore the terminal on a fatal exit"),                             \
		IOCTL(TCSETSW, "restore the terminal on a fatal exit")

/* The sanitized build (EMBER_SANITIZE: build/ember-asan, `make
 * integration-asan`) adds these: what the ASan+UBSan runtime does under a
 * filter, found by making each thread kind err on purpose
 * (EMBER_SANITIZER_SELFTEST, EMBER_SECCOMP_SELFTEST) and by running the
 * integration tests, under strace. A report needs nothing else: write,
 * mmap, munmap, getpid and exit_group are on every list, and
 * seccomp_prepare_sanitizers() opened the report file and read the module
 * list before any filter went on. LeakSanitizer cannot run under a filter
 * at all (docs/seccomp.md). */
#define SANITIZER_ALTSTACK                                                                         \
	ANY("sigaltstack", "ASan: before a noreturn call (the SIGSYS path's _exit) it asks "      \
			   "whether it is on the alternate signal stack; a thread's exit removes it")
#define SANITIZER_TCGETS                                                                           \
	IOCTL(TCGETS, "sanitizer: isatty() on the report file (the VMM thread's list has it)")

/* clang-format on */

static const struct sc_rule vmm_rules[] = {
    COMMON_RULES("device locks shared with vCPU threads; the API mailbox"),
    ANY("epoll_wait", "the event loop"),
    ANY("epoll_pwait", "the event loop (some C libraries use the p variant)"),
    ANY("epoll_ctl", "tap and console interest changes; removing sources"),
    ANY("read", "eventfds, signalfd, timerfds, the tap, console input"),
    ANY("write", "eventfds (interrupts, replies), console output, log and metrics lines"),
    ANY("readv", "the tap (a frame and its header)"),
    ANY("writev", "the tap (a frame and its header); the C library's stdio"),
    ANY("preadv", "virtio-blk reads, Sync engine"),
    ANY("pwritev", "virtio-blk writes, Sync engine"),
    ANY("fdatasync", "virtio-blk FLUSH, Sync engine"),
    ANY("io_uring_enter", "virtio-blk, Async engine"),
    ANY("timerfd_settime", "rate limiters, the metrics timer"),
    ANY("close", "replaced backing files, finished files"),
    ANY("open", "PATCH /drives path_on_host (musl's open())"),
    ANY("openat", "PATCH /drives path_on_host (glibc's open())"),
    ANY("fstat", "the size of a new backing file"),
    ANY("newfstatat", "the size of a new backing file"),
    ANY("statx", "the size of a new backing file (some C libraries)"),
    ANY("lseek", "the C library's file positioning"),
    IOCTL(BLKGETSIZE64, "the size of a block-device backing file"),
    IOCTL(TUNSETOFFLOAD, "tap offloads when the guest's net driver starts"),
    IOCTL(KVM_KVMCLOCK_CTRL, "pause: tell each vCPU's kvmclock"),
    IOCTL(TCGETS, "isatty() in the C library"),
    IOCTL(TIOCGWINSZ, "isatty() in the C library (musl)"),
    ANY("fcntl", "restoring the console's file status flags"),
    ANY("poll", "waiting for a slow console reader at exit"),
    ANY("ppoll", "waiting for a slow console reader at exit"),
    {"tkill", 1, {{1, SC_EQ, 0, KICK_SIGNAL}}, "kicking a vCPU out of KVM_RUN (pause, stop)"},
    {"tgkill", 1, {{2, SC_EQ, 0, KICK_SIGNAL}}, "kicking a vCPU out of KVM_RUN (pause, stop)"},
    {"tkill", 1, {{1, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    {"tgkill", 1, {{2, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    ANY("rt_sigaction", "abort() resets SIGABRT"),
    ANY("unlink", "removing the API socket at exit"),
    ANY("unlinkat", "removing the API socket at exit"),
#ifdef EMBER_SANITIZE
    SANITIZER_ALTSTACK,
#endif
};

static const struct sc_rule api_rules[] = {
    COMMON_RULES("the mailbox shared with the VMM thread"),
    ANY("epoll_wait", "the API thread's connections"),
    ANY("epoll_pwait", "the API thread's connections"),
    ANY("epoll_ctl", "adding, changing and removing connections"),
    ANY("accept4", "new connections"),
    ANY("read", "mailbox eventfd"),
    ANY("write", "mailbox eventfd, log lines"),
    ANY("recvfrom", "requests (recv)"),
    ANY("sendto", "answers (send)"),
    ANY("shutdown", "closing a connection after its answer"),
    ANY("close", "closing connections"),
    {"tkill", 1, {{1, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    {"tgkill", 1, {{2, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    ANY("rt_sigaction", "abort() resets SIGABRT"),
#ifdef EMBER_SANITIZE
    SANITIZER_ALTSTACK,
    SANITIZER_TCGETS,
#endif
};

static const struct sc_rule vcpu_rules[] = {
    COMMON_RULES("device locks shared with the VMM thread"),
    IOCTL(KVM_RUN, "running the guest"),
    IOCTL(KVM_GET_REGS, "registers for a fatal exit's log line"),
    IOCTL(KVM_GET_SREGS, "registers for a fatal exit's log line"),
    IOCTL(KVM_TRANSLATE, "instruction bytes for an emulation failure's log line"),
    ANY("write", "eventfds (interrupts, device notifications, stop), log lines"),
    {"tkill", 1, {{1, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    {"tgkill", 1, {{2, SC_EQ, 0, SIGABRT}}, "abort() on a broken invariant"},
    ANY("rt_sigaction", "abort() resets SIGABRT"),
#ifdef EMBER_SANITIZE
    SANITIZER_ALTSTACK,
    SANITIZER_TCGETS,
#endif
};

const struct sc_list seccomp_lists[SECCOMP_THREADS] = {
    [SECCOMP_VMM] = {"vmm", vmm_rules, ARRAY_SIZE(vmm_rules)},
    [SECCOMP_API] = {"api", api_rules, ARRAY_SIZE(api_rules)},
    [SECCOMP_VCPU] = {"vcpu", vcpu_rules, ARRAY_SIZE(vcpu_rules)},
};
