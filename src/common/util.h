/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every module: attributes, checked arithmetic,
 * invariant checks. Nothing here allocates or logs on a hot path. */
#ifndef EMBER_COMMON_UTIL_H
#define EMBER_COMMON_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define WUR	     __attribute__((warn_unused_result))
#define UNUSED	     __attribute__((unused))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define NORETURN     __attribute__((noreturn))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* Align up/down to a power of two. ALIGN_UP can overflow: use align_up_checked
 * for guest- or client-supplied values. */
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define ALIGN_UP(x, a)	 ALIGN_DOWN((x) + (a)-1, (a))

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Returns false on overflow. */
static inline WUR bool add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

static inline WUR bool align_up_checked(uint64_t x, uint64_t a, uint64_t *out)
{
	uint64_t t;
	if (!is_pow2(a) || __builtin_add_overflow(x, a - 1, &t))
		return false;
	*out = t & ~(a - 1);
	return true;
}

/* [a, a+alen) and [b, b+blen) overlap; lengths > 0, ends may be 2^64. */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a - b < blen || b - a < alen;
}

/* An invariant of ember's own broke: abort with file:line. Never used for
 * anything a guest, a client or the host can cause. */
NORETURN void ember_bug(const char *file, int line, const char *cond);
#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0))                                                 \
			ember_bug(__FILE__, __LINE__, #cond);                                      \
	} while (0)

/* read()/write() the whole buffer, retrying on EINTR and short counts.
 * Return 0 or -errno (-EIO on a premature end of file). */
int read_full(int fd, void *buf, size_t len) WUR;
int pread_full(int fd, void *buf, size_t len, off_t off) WUR;
int write_full(int fd, const void *buf, size_t len) WUR;

/* Monotonic and thread-CPU clocks in microseconds / nanoseconds. */
uint64_t now_mono_ns(void);
uint64_t now_mono_us(void);
uint64_t process_cpu_us(void);
uint64_t thread_cpu_us(void);

/* Open a log, metrics or console destination for appending, creating a
 * regular file if needed. Never blocks: a FIFO is opened read-write so it
 * opens without a reader, and writes to it fail with EAGAIN rather than
 * wait when it is full. Returns the fd or -errno. */
int open_sink(const char *path) WUR;

/* Close an fd if >= 0 and set it to -1. */
void close_fd(int *fd);

#endif
