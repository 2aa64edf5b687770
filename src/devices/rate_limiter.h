/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's rate limiter: up to two token buckets (bandwidth in bytes,
 * operations) refilled continuously at size/refill_time, with an optional
 * one-time burst. A device asks for tokens before each request; when the
 * bucket is short the limiter arms a timerfd and the device stops that
 * queue until the VMM thread sees the timer fire. Semantics as in
 * firecracker-features.md §8. */
#ifndef EMBER_DEVICES_RATE_LIMITER_H
#define EMBER_DEVICES_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

/* How long to wait when a bucket is short (Firecracker's value). */
#define RL_REFILL_TIMER_MS 100

struct bucket_cfg {
	bool set;
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct rate_limiter_cfg {
	struct bucket_cfg bandwidth, ops;
};

struct token_bucket {
	bool enabled; /* size and refill_time both non-zero */
	uint64_t size, one_time_burst, refill_ns;
	uint64_t budget;
	uint64_t last_ns;
	uint64_t rem; /* token-nanoseconds carried to the next refill */
};

enum rl_kind { RL_BYTES, RL_OPS };

struct rate_limiter {
	struct token_bucket b[2]; /* [RL_BYTES], [RL_OPS] */
	int timer_fd;
	bool blocked;	    /* the timer is armed: every consume fails until it fires */
	uint64_t throttled; /* consume calls refused, for metrics */
};

/* Creates the timerfd; the buckets start full. now_ns from now_mono_ns(). */
int rl_init(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg) WUR;
void rl_destroy(struct rate_limiter *rl);
/* PATCH semantics: an unset bucket stays; one with size or refill_time 0
 * is disabled; otherwise a new, full bucket replaces it. */
void rl_update(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg);
/* Whether a limiter would ever limit (no timer needed when false). */
bool rl_active(const struct rate_limiter *rl);

/* Takes n tokens. false: not now; the timer is armed, stop the queue. */
bool rl_consume(struct rate_limiter *rl, uint64_t n, enum rl_kind k);
/* Returns n tokens (after a consume of the other kind failed). */
void rl_replenish(struct rate_limiter *rl, uint64_t n, enum rl_kind k);
/* VMM thread: the timer fired. Returns true if the limiter is unblocked. */
bool rl_timer_fired(struct rate_limiter *rl);

/* The bucket arithmetic, for tests: consume at time now_ns. */
enum tb_result { TB_OK, TB_OVER, TB_SHORT };
enum tb_result tb_reduce(struct token_bucket *b, uint64_t n, uint64_t now_ns, uint64_t *wait_ms);
void tb_init(struct token_bucket *b, const struct bucket_cfg *c, uint64_t now_ns);

#endif
