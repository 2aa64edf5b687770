/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/rate_limiter.h"

#include <string.h>
#include <sys/timerfd.h>

void tb_init(struct token_bucket *b, const struct bucket_cfg *c, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	if (!c->set || !c->size || !c->refill_time_ms)
		return;
	b->enabled = true;
	b->size = c->size;
	b->one_time_burst = c->one_time_burst;
	/* refill_time is client-sized: saturate instead of overflowing. */
	b->refill_ns =
	    c->refill_time_ms > UINT64_MAX / 1000000 ? UINT64_MAX : c->refill_time_ms * 1000000;
	b->budget = c->size;
	b->last_ns = now_ns;
}

static void refill(struct token_bucket *b, uint64_t now_ns)
{
	uint64_t elapsed = now_ns - b->last_ns;
	b->last_ns = now_ns;
	if (elapsed >= b->refill_ns) {
		b->budget = b->size;
		b->rem = 0;
		return;
	}
	/* Exact: carry the fraction of a token as token-nanoseconds. */
	unsigned __int128 acc = (unsigned __int128)elapsed * b->size + b->rem;
	unsigned __int128 tokens = acc / b->refill_ns;
	b->rem = (uint64_t)(acc % b->refill_ns);
	if (tokens >= b->size - b->budget) {
		b->budget = b->size;
		b->rem = 0;
	} else {
		b->budget += (uint64_t)tokens;
	}
}

enum tb_result tb_reduce(struct token_bucket *b, uint64_t n, uint64_t now_ns, uint64_t *wait_ms)
{
	if (b->one_time_burst) {
		if (b->one_time_burst >= n) {
			b->one_time_burst -= n;
			b->last_ns = now_ns; /* the bucket is full meanwhile */
			return TB_OK;
		}
		n -= b->one_time_burst;
		b->one_time_burst = 0;
	}
	if (n > b->budget) {
		refill(b, now_ns);
		if (n > b->size) {
			/* One request larger than the bucket: let it through and
			 * stay blocked for as long as the excess takes to refill. */
			unsigned __int128 excess = n - b->budget;
			b->budget = 0;
			unsigned __int128 ms = excess * (b->refill_ns / 1000000) / b->size;
			*wait_ms = ms > 3600000 ? 3600000 : (uint64_t)ms;
			if (!*wait_ms)
				*wait_ms = 1;
			return TB_OVER;
		}
		if (n > b->budget)
			return TB_SHORT;
	}
	b->budget -= n;
	return TB_OK;
}

int rl_init(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg)
{
	uint64_t now = now_mono_ns();
	memset(rl, 0, sizeof(*rl));
	tb_init(&rl->b[RL_BYTES], &cfg->bandwidth, now);
	tb_init(&rl->b[RL_OPS], &cfg->ops, now);
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return rl->timer_fd < 0 ? -errno : 0;
}

void rl_destroy(struct rate_limiter *rl)
{
	close_fd(&rl->timer_fd);
}

void rl_update(struct rate_limiter *rl, const struct rate_limiter_cfg *cfg)
{
	uint64_t now = now_mono_ns();
	if (cfg->bandwidth.set)
		tb_init(&rl->b[RL_BYTES], &cfg->bandwidth, now);
	if (cfg->ops.set)
		tb_init(&rl->b[RL_OPS], &cfg->ops, now);
}

bool rl_active(const struct rate_limiter *rl)
{
	return rl->b[RL_BYTES].enabled || rl->b[RL_OPS].enabled;
}

static void arm(struct rate_limiter *rl, uint64_t ms)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000}};
	if (timerfd_settime(rl->timer_fd, 0, &its, NULL) == 0)
		rl->blocked = true;
}

bool rl_consume(struct rate_limiter *rl, uint64_t n, enum rl_kind k)
{
	struct token_bucket *b = &rl->b[k];
	uint64_t wait_ms = 0;

	if (rl->blocked) {
		rl->throttled++;
		return false;
	}
	if (!b->enabled)
		return true;
	switch (tb_reduce(b, n, now_mono_ns(), &wait_ms)) {
	case TB_OK:
		return true;
	case TB_OVER:
		arm(rl, wait_ms);
		return true;
	case TB_SHORT:
		break;
	}
	rl->throttled++;
	arm(rl, RL_REFILL_TIMER_MS);
	return false;
}

void rl_replenish(struct rate_limiter *rl, uint64_t n, enum rl_kind k)
{
	struct token_bucket *b = &rl->b[k];
	if (b->enabled)
		b->budget = n >= b->size - b->budget ? b->size : b->budget + n;
}

bool rl_timer_fired(struct rate_limiter *rl)
{
	uint64_t v;
	if (read(rl->timer_fd, &v, sizeof(v)) < 0 && errno == EAGAIN && rl->blocked)
		return false; /* spurious: still armed */
	rl->blocked = false;
	return true;
}
