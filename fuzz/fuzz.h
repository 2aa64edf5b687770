/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of ember's libFuzzer targets (fuzz/README.md): the CHECK
 * macro, a reader that turns the fuzzer's bytes into values, the logger
 * sent to /dev/null, guest memory with guard pages around it, and a diff
 * of guest RAM against the ranges a device was allowed to write.
 * Everything is static inline so that each target is one .c file. */
#ifndef EMBER_FUZZ_FUZZ_H
#define EMBER_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "mem/guest_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Known bugs in src/ that a target steps around until they are fixed, as
 * a unit test skip()s them: each use names the bug (fuzz/README.md lists
 * them). Build with FUZZ_KNOWN_BUGS=0 to hit them again:
 *   make fuzz FUZZ_EXTRA_CFLAGS=-DFUZZ_KNOWN_BUGS=0 */
#ifndef FUZZ_KNOWN_BUGS
#define FUZZ_KNOWN_BUGS 1
#endif
#define KNOWN_BUG(cond) (FUZZ_KNOWN_BUGS && (cond))

/* Harness loops over guest RAM run on every input: keep them out of the
 * coverage feedback (and away from libFuzzer's memcmp hooks), or they cost
 * more than the code under test. */
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

/* memcmp(a, b, n) == 0, uninstrumented. */
static inline FZ_NOCOV bool fz_same(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t u, v;
		__builtin_memcpy(&u, x + i, 8);
		__builtin_memcpy(&v, y + i, 8);
		if (u != v)
			return false;
	}
	for (; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* Every byte of [p, p+n) is 0, uninstrumented. */
static inline FZ_NOCOV bool fz_zero(const void *p, size_t n)
{
	static const uint8_t zero[4096];
	const uint8_t *b = p;
	for (; n >= sizeof(zero); b += sizeof(zero), n -= sizeof(zero))
		if (!fz_same(b, zero, sizeof(zero)))
			return false;
	return fz_same(b, zero, n);
}

/* ---------------------------------------------------------------- input */

/* The fuzzer's bytes, consumed front to back; past the end every value is 0. */
struct fin {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fin_u8(struct fin *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fin_u16(struct fin *f)
{
	uint16_t lo = fin_u8(f);
	return (uint16_t)(lo | fin_u8(f) << 8);
}

static inline uint32_t fin_u32(struct fin *f)
{
	uint32_t lo = fin_u16(f);
	return lo | (uint32_t)fin_u16(f) << 16;
}

static inline uint64_t fin_u64(struct fin *f)
{
	uint64_t lo = fin_u32(f);
	return lo | (uint64_t)fin_u32(f) << 32;
}

/* Copies up to n bytes (zero-filling the rest); returns how many came from input. */
static inline size_t fin_bytes(struct fin *f, void *dst, size_t n)
{
	size_t k = n < f->n ? n : f->n;
	memcpy(dst, f->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	f->p += k;
	f->n -= k;
	return k;
}

/* ---------------------------------------------------------------- logging */

/* Every level on, into /dev/null, so that the formatting of guest- and
 * client-controlled values runs under the sanitizers without flooding the
 * fuzzer's output. EMBER_FUZZ_LOG=1 keeps the log on stdout instead. */
static inline void fz_logs(void)
{
	log_set_level(LOG_LVL_TRACE);
	if (!getenv("EMBER_FUZZ_LOG"))
		CHECK(log_set_path("/dev/null") == 0);
}

/* ---------------------------------------------------------------- guest memory */

#define FZ_GUARD (1ull << 20)

/* gm_init, then PROT_NONE pages on both sides of the mapping (where the
 * address space is free), so that a write just outside guest RAM faults
 * instead of landing in some other mapping. */
static inline void fz_gm_init(struct guest_mem *gm, const struct gm_layout *l)
{
	CHECK(gm_init(gm, l, GM_BACKING_4K) == 0);
	uint8_t *lo = gm->mapping - FZ_GUARD, *hi = gm->mapping + gm->mapping_len;
	void *a =
	    mmap(lo, FZ_GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *b =
	    mmap(hi, FZ_GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	/* Leave alone whatever was there already. */
	if (a != MAP_FAILED && a != lo)
		munmap(a, FZ_GUARD);
	if (b != MAP_FAILED && b != hi)
		munmap(b, FZ_GUARD);
}

/* Zeroes every region (between inputs). */
static inline void fz_gm_clear(const struct guest_mem *gm)
{
	memset(gm->mapping, 0, gm->mapping_len);
}

/* A guest-physical address in RAM, or the host pointer; for the driver side
 * of a harness, which knows its addresses are RAM. */
static inline void *fz_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	CHECK(p);
	return p;
}

/* Reference for gm_ptr: is [gpa, gpa+len) wholly inside one region of l?
 * Written from the rule, not from gm_ptr. */
static inline bool fz_in_ram(const struct gm_layout *l, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < l->n; i++) {
		unsigned __int128 end = (unsigned __int128)gpa + len;
		if (gpa >= l->base[i] && end <= (unsigned __int128)l->base[i] + l->size[i])
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- write checks */

#define FZ_RANGES_MAX 4096

/* Guest-physical ranges a device may write. */
struct fz_ranges {
	unsigned n;
	bool overflow; /* too many to track: allow everything */
	struct {
		uint64_t a, len;
	} r[FZ_RANGES_MAX];
};

static inline void fz_ranges_add(struct fz_ranges *rs, uint64_t a, uint64_t len)
{
	if (!len)
		return;
	if (rs->n == FZ_RANGES_MAX) {
		rs->overflow = true;
		return;
	}
	rs->r[rs->n].a = a;
	rs->r[rs->n].len = len;
	rs->n++;
}

static inline FZ_NOCOV bool fz_ranges_has(const struct fz_ranges *rs, uint64_t gpa)
{
	if (rs->overflow)
		return true;
	for (unsigned i = 0; i < rs->n; i++)
		if (gpa - rs->r[i].a < rs->r[i].len)
			return true;
	return false;
}

/* A copy of guest RAM (the whole mapping) to compare against later. */
static inline void fz_snap(const struct guest_mem *gm, uint8_t *snap)
{
	memcpy(snap, gm->mapping, gm->mapping_len);
}

/* Checks that every byte of guest RAM that differs from the snapshot lies
 * in `allowed`; returns how many bytes changed. */
static inline FZ_NOCOV uint64_t fz_diff(const struct guest_mem *gm, const uint8_t *snap,
					const struct fz_ranges *allowed)
{
	uint64_t changed = 0;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		const uint8_t *old = snap + (r->host - gm->mapping);
		for (uint64_t off = 0; off < r->size; off += 64) {
			if (fz_same(old + off, r->host + off, 64))
				continue;
			for (uint64_t k = off; k < off + 64; k++) {
				if (old[k] == r->host[k])
					continue;
				changed++;
				if (!fz_ranges_has(allowed, r->base + k)) {
					fprintf(stderr,
						"guest RAM at 0x%llx changed outside the allowed "
						"ranges\n",
						(unsigned long long)(r->base + k));
					CHECK(!"write outside the allowed ranges");
				}
			}
		}
	}
	return changed;
}

#endif
