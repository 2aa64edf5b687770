/* SPDX-License-Identifier: Apache-2.0 */
/* Token buckets (Firecracker's rate limiter): tb_init and tb_reduce on an
 * explicit clock (disabled buckets, full start, one-time burst, exact
 * refill over many small steps without drift, full refill, over-
 * consumption and its wait, short budgets), then rl_* on a real timerfd:
 * blocking until the timer fires, replenish, and PATCH-style updates. */
#include "unit.h"

#include <poll.h>
#include <sys/timerfd.h>

#include "devices/rate_limiter.h"

#define MS 1000000ull  /* ns */
#define T0 (1000 * MS) /* an arbitrary start time */

static struct bucket_cfg bcfg(uint64_t size, uint64_t otb, uint64_t refill_ms)
{
	return (struct bucket_cfg){
		.set = true, .size = size, .one_time_burst = otb, .refill_time_ms = refill_ms};
}

static struct token_bucket mk(uint64_t size, uint64_t otb, uint64_t refill_ms)
{
	struct token_bucket b;
	struct bucket_cfg c = bcfg(size, otb, refill_ms);
	tb_init(&b, &c, T0);
	return b;
}

static enum tb_result reduce(struct token_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t wait = 0xdead;
	enum tb_result r = tb_reduce(b, n, now, &wait);
	if (r != TB_OVER && wait != 0xdead)
		fail_msg("wait_ms written (%llu) for a result other than TB_OVER",
			 (unsigned long long)wait);
	return r;
}

/* ---------------------------------------------------------------- tb_init */

static void init_disabled(void **state)
{
	struct token_bucket b;
	struct bucket_cfg c;

	memset(&b, 0x5a, sizeof(b));
	c = (struct bucket_cfg){.set = false, .size = 10, .refill_time_ms = 10};
	tb_init(&b, &c, T0);
	assert_false(b.enabled);
	c = bcfg(0, 5, 100);
	tb_init(&b, &c, T0);
	assert_false(b.enabled);
	assert_int_equal(b.budget, 0);
	assert_int_equal(b.one_time_burst, 0);
	c = bcfg(100, 5, 0);
	tb_init(&b, &c, T0);
	assert_false(b.enabled);
	c = bcfg(0, 0, 0);
	tb_init(&b, &c, T0);
	assert_false(b.enabled);
}

static void init_full(void **state)
{
	struct token_bucket b = mk(1000, 300, 250);

	assert_true(b.enabled);
	assert_int_equal(b.size, 1000);
	assert_int_equal(b.budget, 1000);
	assert_int_equal(b.one_time_burst, 300);
	assert_int_equal(b.refill_ns, 250 * MS);
	assert_int_equal(b.last_ns, T0);
	assert_int_equal(b.rem, 0);
	/* A refill time too large for nanoseconds saturates. */
	b = mk(1, 0, UINT64_MAX);
	assert_int_equal(b.refill_ns, UINT64_MAX);
	b = mk(1, 0, UINT64_MAX / MS + 1);
	assert_int_equal(b.refill_ns, UINT64_MAX);
	b = mk(1, 0, UINT64_MAX / MS);
	assert_int_equal(b.refill_ns, (UINT64_MAX / MS) * MS);
}

/* ---------------------------------------------------------------- tb_reduce */

static void full_at_start(void **state)
{
	struct token_bucket b = mk(100, 0, 1000);

	/* The whole bucket at once, at the very start. */
	assert_int_equal(reduce(&b, 100, T0), TB_OK);
	assert_int_equal(b.budget, 0);
	assert_int_equal(reduce(&b, 1, T0), TB_SHORT);
	/* Consuming in small steps at one instant. */
	b = mk(100, 0, 1000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(reduce(&b, 1, T0), TB_OK);
	assert_int_equal(reduce(&b, 1, T0), TB_SHORT);
	/* 0 tokens always pass. */
	assert_int_equal(reduce(&b, 0, T0), TB_OK);
}

static void short_budget(void **state)
{
	struct token_bucket b = mk(100, 0, 1000);

	assert_int_equal(reduce(&b, 60, T0), TB_OK);
	assert_int_equal(reduce(&b, 50, T0), TB_SHORT);
	assert_int_equal(b.budget, 40); /* a refused request takes nothing */
	assert_int_equal(reduce(&b, 40, T0), TB_OK);
	assert_int_equal(b.budget, 0);
	/* 100 ms later: 10 tokens. */
	assert_int_equal(reduce(&b, 11, T0 + 100 * MS), TB_SHORT);
	assert_int_equal(b.budget, 10);
	assert_int_equal(reduce(&b, 10, T0 + 100 * MS), TB_OK);
	/* A request of exactly the size waits for a full bucket. */
	assert_int_equal(reduce(&b, 100, T0 + 1099 * MS), TB_SHORT);
	assert_int_equal(b.budget, 99);
	assert_int_equal(reduce(&b, 100, T0 + 1100 * MS), TB_OK);
}

static void one_time_burst(void **state)
{
	struct token_bucket b = mk(100, 50, 1000);

	/* The burst goes first, the bucket stays full. */
	assert_int_equal(reduce(&b, 30, T0), TB_OK);
	assert_int_equal(b.one_time_burst, 20);
	assert_int_equal(b.budget, 100);
	assert_int_equal(reduce(&b, 20, T0 + 5 * MS), TB_OK);
	assert_int_equal(b.one_time_burst, 0);
	assert_int_equal(b.budget, 100);
	/* Then the bucket. */
	assert_int_equal(reduce(&b, 100, T0 + 5 * MS), TB_OK);
	assert_int_equal(reduce(&b, 1, T0 + 5 * MS), TB_SHORT);
	/* The burst never comes back, however long we wait. */
	assert_int_equal(reduce(&b, 100, T0 + 3600000 * MS), TB_OK);
	assert_int_equal(b.one_time_burst, 0);
	assert_int_equal(reduce(&b, 1, T0 + 3600000 * MS), TB_SHORT);

	/* A request larger than the burst takes the rest from the bucket. */
	b = mk(100, 50, 1000);
	assert_int_equal(reduce(&b, 80, T0), TB_OK);
	assert_int_equal(b.one_time_burst, 0);
	assert_int_equal(b.budget, 70);
	/* Burst + bucket: 150 tokens at the start. */
	b = mk(100, 50, 1000);
	assert_int_equal(reduce(&b, 150, T0), TB_OK);
	assert_int_equal(b.budget, 0);
	assert_int_equal(reduce(&b, 1, T0), TB_SHORT);
}

static void refill_exact_1ms_steps(void **state)
{
	/* 1000 tokens per 1000 ms: emptied, then one token per 1 ms step
	 * for 10 s, every one of them granted, none extra. */
	struct token_bucket b = mk(1000, 0, 1000);
	assert_int_equal(reduce(&b, 1000, T0), TB_OK);
	for (uint64_t t = 1; t <= 10000; t++) {
		if (reduce(&b, 1, T0 + t * MS) != TB_OK)
			fail_msg("refused at %llu ms", (unsigned long long)t);
		if (t % 1000 == 0 && reduce(&b, 1, T0 + t * MS) != TB_SHORT)
			fail_msg("an extra token at %llu ms", (unsigned long long)t);
	}
	assert_int_equal(b.budget, 0);
	/* Half a millisecond later: half a token is not a token. */
	assert_int_equal(reduce(&b, 1, T0 + 10000 * MS + MS / 2), TB_SHORT);
	assert_int_equal(reduce(&b, 1, T0 + 10001 * MS), TB_OK);
}

static void refill_exact_fractions(void **state)
{
	/* 1000 tokens per 3000 ms: one token per 3 ms. Asking every 1 ms,
	 * the request succeeds exactly on every third step: the fractions
	 * carry over instead of being lost. */
	struct token_bucket b = mk(1000, 0, 3000);
	unsigned ok = 0;
	assert_int_equal(reduce(&b, 1000, T0), TB_OK);
	for (uint64_t t = 1; t <= 30000; t++) {
		enum tb_result r = reduce(&b, 1, T0 + t * MS);
		if ((r == TB_OK) != (t % 3 == 0))
			fail_msg("at %llu ms: %d", (unsigned long long)t, r);
		ok += r == TB_OK;
	}
	assert_int_equal(ok, 10000);

	/* 7 tokens per second, asked for every 1 ms for 10 s: exactly 70,
	 * at the ms where floor(t * 7 / 1000) goes up. */
	b = mk(7, 0, 1000);
	assert_int_equal(reduce(&b, 7, T0), TB_OK);
	ok = 0;
	for (uint64_t t = 1; t <= 10000; t++) {
		enum tb_result r = reduce(&b, 1, T0 + t * MS);
		bool want = (t * 7) / 1000 != ((t - 1) * 7) / 1000;
		if ((r == TB_OK) != want)
			fail_msg("at %llu ms: %d", (unsigned long long)t, r);
		ok += r == TB_OK;
	}
	assert_int_equal(ok, 70);

	/* Irregular steps (prime nanoseconds) add up the same. */
	b = mk(1000, 0, 1000);
	assert_int_equal(reduce(&b, 1000, T0), TB_OK);
	uint64_t t = T0;
	ok = 0;
	while (t + 999983 <= T0 + 5000 * MS) {
		t += 999983;
		ok += reduce(&b, 1, t) == TB_OK;
	}
	/* 5000 tokens refilled over (almost) 5 s; one per step at most. */
	uint64_t steps = (5000 * MS) / 999983;
	uint64_t tokens = ((t - T0) * 1000) / (1000 * MS);
	assert_int_equal(ok, MIN(steps, tokens));
}

static void refill_full_after_refill_time(void **state)
{
	struct token_bucket b = mk(100, 0, 1000);

	assert_int_equal(reduce(&b, 100, T0), TB_OK);
	/* Exactly one refill time later: full, and no more than full. */
	assert_int_equal(reduce(&b, 101, T0 + 1000 * MS), TB_OVER);
	b = mk(100, 0, 1000);
	assert_int_equal(reduce(&b, 100, T0), TB_OK);
	assert_int_equal(reduce(&b, 100, T0 + 1000 * MS), TB_OK);
	assert_int_equal(reduce(&b, 1, T0 + 1000 * MS), TB_SHORT);
	/* Long idle: capped at the size. */
	assert_int_equal(reduce(&b, 100, T0 + 100000 * MS), TB_OK);
	assert_int_equal(reduce(&b, 1, T0 + 100000 * MS), TB_SHORT);
	/* Partial refill capped at the size too. */
	b = mk(100, 0, 1000);
	assert_int_equal(reduce(&b, 10, T0), TB_OK);
	assert_int_equal(reduce(&b, 95, T0 + 500 * MS), TB_OK); /* 90 + 50 -> 100 */
	assert_int_equal(b.budget, 5);
}

static void over_consumption(void **state)
{
	uint64_t wait;
	struct token_bucket b = mk(100, 0, 1000);

	/* 250 from a full bucket of 100: allowed; 150 over the size take
	 * 1.5 refill times. */
	assert_int_equal(tb_reduce(&b, 250, T0, &wait), TB_OVER);
	assert_int_equal(wait, 1500);
	assert_int_equal(b.budget, 0);
	assert_int_equal(reduce(&b, 1, T0), TB_SHORT);
	/* From a partly used bucket: the excess counts from what is left. */
	b = mk(100, 0, 1000);
	assert_int_equal(reduce(&b, 60, T0), TB_OK);
	assert_int_equal(tb_reduce(&b, 250, T0, &wait), TB_OVER);
	assert_int_equal(wait, 2100);
	/* After a burst. */
	b = mk(100, 50, 1000);
	assert_int_equal(tb_reduce(&b, 250, T0, &wait), TB_OVER);
	assert_int_equal(wait, 1000); /* 250 - 50 burst - 100 budget */
	assert_int_equal(b.one_time_burst, 0);
	/* A tiny excess still waits 1 ms. */
	b = mk(1000000, 0, 1);
	assert_int_equal(tb_reduce(&b, 1000001, T0, &wait), TB_OVER);
	assert_int_equal(wait, 1);
	/* A huge one waits at most an hour. */
	b = mk(1, 0, 1000);
	assert_int_equal(tb_reduce(&b, UINT64_MAX, T0, &wait), TB_OVER);
	assert_int_equal(wait, 3600000);
	/* Only requests larger than the size are let through. */
	b = mk(100, 0, 1000);
	assert_int_equal(reduce(&b, 1, T0), TB_OK);
	assert_int_equal(reduce(&b, 100, T0), TB_SHORT);
}

/* ---------------------------------------------------------------- rl_* */

static struct rate_limiter_cfg rlcfg(struct bucket_cfg bw, struct bucket_cfg ops)
{
	return (struct rate_limiter_cfg){.bandwidth = bw, .ops = ops};
}

static const struct bucket_cfg UNSET = {0};

/* Remaining time on the limiter's timer, in ms (0: disarmed). */
static uint64_t timer_left_ms(const struct rate_limiter *rl)
{
	struct itimerspec its;
	assert_int_equal(timerfd_gettime(rl->timer_fd, &its), 0);
	return (uint64_t)its.it_value.tv_sec * 1000 + (uint64_t)its.it_value.tv_nsec / MS +
	       (its.it_value.tv_nsec % MS != 0);
}

static bool wait_timer(const struct rate_limiter *rl, int ms)
{
	struct pollfd p = {.fd = rl->timer_fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static void rl_inactive(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_cfg c = rlcfg(UNSET, bcfg(0, 0, 100));

	assert_int_equal(rl_init(&rl, &c), 0);
	assert_true(rl.timer_fd >= 0);
	assert_false(rl_active(&rl));
	for (int i = 0; i < 1000; i++) {
		assert_true(rl_consume(&rl, UINT64_MAX, RL_BYTES));
		assert_true(rl_consume(&rl, 1, RL_OPS));
	}
	assert_false(rl.blocked);
	assert_int_equal(timer_left_ms(&rl), 0);
	rl_replenish(&rl, 5, RL_OPS); /* harmless */
	assert_false(rl.b[RL_OPS].enabled);
	rl_destroy(&rl);
	assert_int_equal(rl.timer_fd, -1);
}

static void rl_blocks_until_timer(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_cfg c = rlcfg(UNSET, bcfg(2, 0, 1000));

	assert_int_equal(rl_init(&rl, &c), 0);
	assert_true(rl_active(&rl));
	assert_true(rl_consume(&rl, 1, RL_OPS));
	assert_true(rl_consume(&rl, 1, RL_OPS));
	assert_false(rl.blocked);
	assert_false(rl_consume(&rl, 1, RL_OPS));
	assert_true(rl.blocked);
	assert_int_equal(rl.throttled, 1);
	uint64_t left = timer_left_ms(&rl);
	assert_true(left > 0 && left <= RL_REFILL_TIMER_MS);
	/* Blocked: everything is refused, even the kind without a bucket. */
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	assert_false(rl_consume(&rl, 0, RL_OPS));
	assert_int_equal(rl.throttled, 3);
	/* Not yet fired: the timer event is spurious, still blocked. */
	assert_false(rl_timer_fired(&rl));
	assert_true(rl.blocked);
	/* Fired: unblocked; the bucket has refilled 100 ms worth (0.2 of a
	 * token), so the next request is still short and re-arms. */
	assert_true(wait_timer(&rl, 1000));
	assert_true(rl_timer_fired(&rl));
	assert_false(rl.blocked);
	assert_true(rl_consume(&rl, 1, RL_BYTES));
	assert_false(rl_consume(&rl, 1, RL_OPS));
	assert_true(rl.blocked);
	rl_destroy(&rl);
}

static void rl_over_consumption_arms(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_cfg c = rlcfg(bcfg(1000, 0, 100), UNSET);

	assert_int_equal(rl_init(&rl, &c), 0);
	/* 3000 bytes from a 1000-byte bucket: let through, then blocked for
	 * 2000 bytes' worth: 200 ms. */
	uint64_t t0 = now_mono_ns();
	assert_true(rl_consume(&rl, 3000, RL_BYTES));
	assert_true(rl.blocked);
	assert_int_equal(rl.throttled, 0);
	uint64_t left = timer_left_ms(&rl);
	assert_true(left > 0 && left <= 200);
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	assert_true(wait_timer(&rl, 1000));
	assert_true(now_mono_ns() - t0 >= 200 * MS);
	assert_true(rl_timer_fired(&rl));
	/* 200 ms refilled the whole bucket (refill time 100 ms). */
	assert_true(rl_consume(&rl, 1000, RL_BYTES));
	rl_destroy(&rl);
}

static void rl_replenish_caps(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_cfg c = rlcfg(bcfg(1000, 0, 100000), bcfg(10, 0, 100000));

	assert_int_equal(rl_init(&rl, &c), 0);
	assert_true(rl_consume(&rl, 10, RL_OPS));
	assert_true(rl_consume(&rl, 900, RL_BYTES));
	rl_replenish(&rl, 3, RL_OPS);
	assert_int_equal(rl.b[RL_OPS].budget, 3);
	rl_replenish(&rl, 100, RL_OPS);
	assert_int_equal(rl.b[RL_OPS].budget, 10); /* capped */
	rl_replenish(&rl, UINT64_MAX, RL_BYTES);
	assert_int_equal(rl.b[RL_BYTES].budget, 1000);
	assert_true(rl_consume(&rl, 1000, RL_BYTES));
	rl_destroy(&rl);
}

static void rl_update_semantics(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_cfg c = rlcfg(bcfg(1000, 0, 100000), bcfg(10, 5, 100000));

	assert_int_equal(rl_init(&rl, &c), 0);
	assert_true(rl_consume(&rl, 800, RL_BYTES));
	assert_true(rl_consume(&rl, 8, RL_OPS)); /* 5 burst + 3 */
	/* Only ops set: bandwidth keeps its state; ops is new and full. */
	struct rate_limiter_cfg u = rlcfg(UNSET, bcfg(20, 0, 50000));
	rl_update(&rl, &u);
	assert_int_equal(rl.b[RL_BYTES].budget, 200);
	assert_int_equal(rl.b[RL_BYTES].size, 1000);
	assert_true(rl.b[RL_OPS].enabled);
	assert_int_equal(rl.b[RL_OPS].size, 20);
	assert_int_equal(rl.b[RL_OPS].budget, 20);
	assert_int_equal(rl.b[RL_OPS].one_time_burst, 0);
	assert_int_equal(rl.b[RL_OPS].refill_ns, 50000 * MS);
	/* Size 0 (or refill_time 0) disables a bucket. */
	u = rlcfg(bcfg(0, 0, 100), UNSET);
	rl_update(&rl, &u);
	assert_false(rl.b[RL_BYTES].enabled);
	assert_true(rl.b[RL_OPS].enabled);
	assert_true(rl_consume(&rl, UINT64_MAX, RL_BYTES));
	u = rlcfg(UNSET, bcfg(5, 0, 0));
	rl_update(&rl, &u);
	assert_false(rl_active(&rl));
	/* Enabled again, with a burst: full bucket plus the burst. */
	u = rlcfg(bcfg(100, 50, 1000), UNSET);
	rl_update(&rl, &u);
	assert_true(rl_active(&rl));
	assert_true(rl_consume(&rl, 150, RL_BYTES));
	assert_false(rl_consume(&rl, 1, RL_BYTES));
	rl_destroy(&rl);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(init_disabled),	  cmocka_unit_test(init_full),
	cmocka_unit_test(full_at_start),	  cmocka_unit_test(short_budget),
	cmocka_unit_test(one_time_burst),	  cmocka_unit_test(refill_exact_1ms_steps),
	cmocka_unit_test(refill_exact_fractions), cmocka_unit_test(refill_full_after_refill_time),
	cmocka_unit_test(over_consumption),	  cmocka_unit_test(rl_inactive),
	cmocka_unit_test(rl_blocks_until_timer),  cmocka_unit_test(rl_over_consumption_arms),
	cmocka_unit_test(rl_replenish_caps),	  cmocka_unit_test(rl_update_semantics),
};

UT_MAIN(tests, NULL, NULL)
