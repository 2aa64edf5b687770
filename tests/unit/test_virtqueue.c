/* SPDX-License-Identifier: Apache-2.0 */
/* The split virtqueue, device side, driven by a hand-written driver in guest
 * memory (vdrv.h): activation checks (size, alignment, rings in one RAM
 * region), pops of single and chained descriptors copied exactly, every way
 * a chain breaks the queue (and that it stays broken), unpop, the used ring
 * and its publication, interrupt suppression with and without EVENT_IDX
 * (including 16-bit wrap-around), notification re-enabling and its race,
 * buffer mapping, and index wrap-around at 65535. */
#include "vdrv.h"

struct fx {
	struct guest_mem gm;
	struct vd_q d; /* the driver's view */
	struct vq q;   /* the device's */
	struct vq_chain c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	vd_gm_init(&f->gm);
	vd_q_init(&f->d, &f->gm, 0, 256);
	vq_init(&f->q, VIRTIO_QUEUE_MAX_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	gm_destroy(&f->gm);
	free(f);
	return 0;
}

/* Points the device queue at the driver's rings, with size n. */
static void configure(struct fx *f, uint16_t n)
{
	vd_q_init(&f->d, &f->gm, 0, n);
	f->q.size = n;
	f->q.desc_gpa = f->d.desc;
	f->q.avail_gpa = f->d.avail;
	f->q.used_gpa = f->d.used;
}

static void activate(struct fx *f, uint16_t n, bool event_idx)
{
	configure(f, n);
	assert_int_equal(vq_activate(&f->q, &f->gm, event_idx), 0);
	assert_true(f->q.active);
}

/* vq_check's verdict, with its reason when it refuses. */
static int check(struct fx *f, const char **why)
{
	*why = NULL;
	return vq_check(&f->q, &f->gm, why);
}

/* ---------------------------------------------------------------- activation */

static void check_sizes(void **state)
{
	struct fx *f = *state;
	const char *why;
	static const uint16_t bad[] = {0, 3, 6, 255, 257, 384, 512, 1024, 0x8000, 0xffff};
	static const uint16_t good[] = {1, 2, 4, 8, 64, 128, 256};

	configure(f, 256);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		f->q.size = bad[i];
		if (check(f, &why) != -EINVAL)
			fail_msg("size %u accepted", bad[i]);
		assert_substr(why, "power of two");
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		f->q.size = good[i];
		if (check(f, &why) != 0)
			fail_msg("size %u refused: %s", good[i], why);
	}
	/* The maximum is the device's, not 256 by nature. */
	vq_init(&f->q, 16);
	assert_int_equal(f->q.size, 16); /* defaults to the maximum */
	configure(f, 32);
	assert_errno(check(f, &why), -EINVAL);
	f->q.size = 16;
	assert_int_equal(check(f, &why), 0);
	/* vq_activate applies the same checks. */
	f->q.size = 3;
	assert_errno(vq_activate(&f->q, &f->gm, false), -EINVAL);
	assert_false(f->q.active);
}

static void check_alignment(void **state)
{
	struct fx *f = *state;
	const char *why;

	configure(f, 256);
	assert_int_equal(check(f, &why), 0);
	for (unsigned a = 1; a < 16; a++) {
		f->q.desc_gpa = f->d.desc + a;
		assert_errno(check(f, &why), -EINVAL);
		assert_substr(why, "misaligned");
	}
	f->q.desc_gpa = f->d.desc;
	f->q.avail_gpa = f->d.avail + 1;
	assert_errno(check(f, &why), -EINVAL);
	assert_substr(why, "misaligned");
	f->q.avail_gpa = f->d.avail + 2; /* 2-byte alignment is enough */
	assert_int_equal(check(f, &why), 0);
	f->q.avail_gpa = f->d.avail;
	for (unsigned a = 1; a < 4; a++) {
		f->q.used_gpa = f->d.used + a;
		assert_errno(check(f, &why), -EINVAL);
		assert_substr(why, "misaligned");
	}
	f->q.used_gpa = f->d.used + 4;
	assert_int_equal(check(f, &why), 0);
}

static void check_rings_in_ram(void **state)
{
	struct fx *f = *state;
	const char *why;
	/* Bytes each ring takes for 256 entries (§2.7), with the event words. */
	const uint64_t desc = 16 * 256, avail = 6 + 2 * 256, used = 6 + 8 * 256;

	configure(f, 256);
	struct {
		gpa_t *field;
		gpa_t at;
		bool ok;
	} cases[] = {
		/* Exactly at the end of a region: fits. */
		{&f->q.desc_gpa, VD_R0 + VD_RSZ - desc, true},
		{&f->q.avail_gpa, VD_R2 + VD_RSZ - avail, true},
		{&f->q.used_gpa, VD_R2 + VD_RSZ - used - 2, true}, /* 4-aligned */
		/* One aligned step further: straddles the end of R0 into the
		 * touching R1, or the end of R2 into nothing. */
		{&f->q.desc_gpa, VD_R0 + VD_RSZ - desc + 16, false},
		{&f->q.avail_gpa, VD_R0 + VD_RSZ - avail + 2, false},
		{&f->q.avail_gpa, VD_R2 + VD_RSZ - avail + 2, false},
		{&f->q.used_gpa, VD_R2 + VD_RSZ - used + 2, false},
		/* The trailing used_event / avail_event words count. */
		{&f->q.avail_gpa, VD_R2 + VD_RSZ - (avail - 2), false},
		{&f->q.used_gpa, VD_R2 + VD_RSZ - (used - 2), false},
		/* In the gap, past the end of RAM, wrapping past 2^64. */
		{&f->q.desc_gpa, VD_GAP, false},
		{&f->q.avail_gpa, VD_GAP, false},
		{&f->q.used_gpa, VD_GAP, false},
		{&f->q.desc_gpa, VD_R2 + VD_RSZ, false},
		{&f->q.desc_gpa, 0xfffffffffffff000ull, false},
		{&f->q.used_gpa, 0xfffffffffffffffcull, false},
		/* Inside the second and third regions. */
		{&f->q.desc_gpa, VD_R1, true},
		{&f->q.used_gpa, VD_R2 + 0x800, true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		configure(f, 256);
		*cases[i].field = cases[i].at;
		int ret = check(f, &why);
		if (cases[i].ok && ret)
			fail_msg("case %zu (0x%llx) refused: %s", i,
				 (unsigned long long)cases[i].at, why);
		if (!cases[i].ok) {
			if (ret != -EINVAL)
				fail_msg("case %zu (0x%llx) accepted", i,
					 (unsigned long long)cases[i].at);
			assert_substr(why, "not in guest RAM");
		}
	}
	/* A smaller queue's rings fit where a larger one's would not. */
	configure(f, 16);
	f->q.desc_gpa = VD_R0 + VD_RSZ - 16 * 16;
	assert_int_equal(check(f, &why), 0);
	f->q.size = 32;
	assert_errno(check(f, &why), -EINVAL);
}

static void activate_resets_state(void **state)
{
	struct fx *f = *state;

	activate(f, 8, true);
	assert_true(f->q.event_idx);
	assert_int_equal(f->q.fault, VQ_OK);
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(f->q.next_used, 0);
	/* The ring pointers are the host addresses of the driver's rings. */
	assert_ptr_equal((void *)f->q.desc, vd_ptr(&f->gm, f->d.desc, 1));
	assert_ptr_equal((void *)f->q.avail, vd_ptr(&f->gm, f->d.avail, 1));
	assert_ptr_equal((void *)f->q.used, vd_ptr(&f->gm, f->d.used, 1));
	/* Nothing available on fresh rings. */
	assert_false(vq_has_avail(&f->q));
	assert_int_equal(vq_pop(&f->q, &f->c), 0);
	/* A queue that was never activated has nothing either. */
	struct vq idle;
	vq_init(&idle, 256);
	assert_false(idle.active);
	assert_false(vq_has_avail(&idle));
	assert_false(vq_enable_notify(&idle));
}

/* ---------------------------------------------------------------- pop */

static void pop_single(void **state)
{
	struct fx *f = *state;

	activate(f, 16, false);
	vd_desc(&f->d, 11, 0x40000, 512, VIRTQ_DESC_F_WRITE, 0x1234);
	vd_push(&f->d, 11);
	assert_true(vq_has_avail(&f->q));
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 11);
	assert_int_equal(f->c.n, 1);
	assert_int_equal(f->c.d[0].addr, 0x40000);
	assert_int_equal(f->c.d[0].len, 512);
	assert_int_equal(f->c.d[0].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(f->c.d[0].next, 0x1234); /* copied, not followed */
	assert_int_equal(f->q.last_avail, 1);
	assert_false(vq_has_avail(&f->q));
	assert_int_equal(vq_pop(&f->q, &f->c), 0);
}

static void pop_chain(void **state)
{
	struct fx *f = *state;

	activate(f, 16, false);
	/* 5 -> 9 -> 2 -> 15, out of order in the table. */
	vd_desc(&f->d, 5, 0x40000, 16, VIRTQ_DESC_F_NEXT, 9);
	vd_desc(&f->d, 9, 0x1000000000ull, 0xffffffffu, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vd_desc(&f->d, 2, 0x41000, 0, VIRTQ_DESC_F_NEXT, 15);
	vd_desc(&f->d, 15, 0xfffffffffffffff0ull, 1, VIRTQ_DESC_F_WRITE, 7);
	vd_desc(&f->d, 0, 0x42000, 100, 0, 0);
	vd_push(&f->d, 5);
	vd_push(&f->d, 0);

	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.n, 4);
	const struct virtq_desc want[] = {
		{0x40000, 16, VIRTQ_DESC_F_NEXT, 9},
		{0x1000000000ull, 0xffffffffu, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2},
		{0x41000, 0, VIRTQ_DESC_F_NEXT, 15},
		{0xfffffffffffffff0ull, 1, VIRTQ_DESC_F_WRITE, 7},
	};
	assert_memory_equal(f->c.d, want, sizeof(want));
	/* The chain is a copy: the driver rewriting the table changes nothing. */
	vd_desc(&f->d, 9, 0x666, 1, 0, 0);
	assert_int_equal(f->c.d[1].addr, 0x1000000000ull);

	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.n, 1);
	assert_int_equal(f->c.d[0].addr, 0x42000);
	assert_int_equal(vq_pop(&f->q, &f->c), 0);
}

static void pop_chain_of_queue_size(void **state)
{
	struct fx *f = *state;

	/* Exactly `size` descriptors is the longest legal chain. */
	activate(f, 4, false);
	for (uint16_t i = 0; i < 4; i++)
		vd_desc(&f->d, i, 0x40000 + i, 1, i < 3 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	vd_push(&f->d, 0);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.n, 4);
	assert_int_equal(f->c.d[3].addr, 0x40003);
	assert_int_equal(f->q.fault, VQ_OK);

	/* The biggest queue, one chain through all 256 descriptors. */
	activate(f, 256, false);
	for (unsigned i = 0; i < 256; i++)
		vd_desc(&f->d, (uint16_t)i, 0x40000, 1, i < 255 ? VIRTQ_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	vd_push(&f->d, 0);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.n, 256);
}

/* Asserts that the queue is broken for `why` and stays so. */
static void assert_broken(struct fx *f, enum vq_fault why)
{
	assert_int_equal(f->q.fault, why);
	assert_string_not_equal(vq_fault_name(why), "ok");
	assert_false(vq_has_avail(&f->q));
	assert_false(vq_enable_notify(&f->q));
	/* Whatever the driver does now, the queue stays broken. */
	for (uint16_t i = 0; i < f->q.size; i++)
		vd_desc(&f->d, i, 0x40000, 1, 0, 0);
	vd_set_avail_idx(&f->d, (uint16_t)(f->q.last_avail + 1));
	vd_avail_slot(&f->d, f->q.last_avail, 0);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, why);
}

static void avail_idx_jump(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	for (uint16_t i = 0; i < 8; i++)
		vd_desc(&f->d, i, 0x40000, 1, 0, 0);
	/* Exactly `size` ahead is allowed: a full ring. */
	for (uint16_t i = 0; i < 8; i++)
		vd_push(&f->d, i);
	for (uint16_t i = 0; i < 8; i++) {
		assert_int_equal(vq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.head, i);
	}
	/* size + 1 ahead of what was consumed: broken. */
	vd_set_avail_idx(&f->d, (uint16_t)(8 + 9));
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.last_avail, 8);
	assert_broken(f, VQ_FAULT_AVAIL_IDX);

	/* Going backwards is a huge jump forwards too. */
	activate(f, 8, false);
	vd_set_avail_idx(&f->d, 0xffff);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, VQ_FAULT_AVAIL_IDX);
}

static void head_out_of_range(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 1, 0, 0);
	vd_push(&f->d, 0);
	vd_push(&f->d, 8); /* == size */
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.last_avail, 1);
	assert_broken(f, VQ_FAULT_HEAD_RANGE);

	activate(f, 8, false);
	vd_push(&f->d, 0xffff);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, VQ_FAULT_HEAD_RANGE);
}

static void next_out_of_range(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 1, VIRTQ_DESC_F_NEXT, 1);
	vd_desc(&f->d, 1, 0x40000, 1, VIRTQ_DESC_F_NEXT, 8); /* == size */
	vd_push(&f->d, 0);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.last_avail, 0);
	assert_broken(f, VQ_FAULT_NEXT_RANGE);

	/* Without NEXT, the next field is not looked at. */
	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 1, 0, 0xffff);
	vd_push(&f->d, 0);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
}

static void chain_loop(void **state)
{
	struct fx *f = *state;

	/* 0 -> 1 -> 2 -> 0 ... */
	activate(f, 4, false);
	vd_desc(&f->d, 0, 0x40000, 1, VIRTQ_DESC_F_NEXT, 1);
	vd_desc(&f->d, 1, 0x40000, 1, VIRTQ_DESC_F_NEXT, 2);
	vd_desc(&f->d, 2, 0x40000, 1, VIRTQ_DESC_F_NEXT, 0);
	vd_push(&f->d, 0);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_broken(f, VQ_FAULT_CHAIN_LONG);

	/* A descriptor that names itself, in the largest queue. */
	activate(f, 256, false);
	vd_desc(&f->d, 7, 0x40000, 1, VIRTQ_DESC_F_NEXT, 7);
	vd_push(&f->d, 7);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, VQ_FAULT_CHAIN_LONG);
}

static void indirect_refused(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 64, VIRTQ_DESC_F_INDIRECT, 0);
	vd_push(&f->d, 0);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_broken(f, VQ_FAULT_INDIRECT);

	/* Also further down a chain. */
	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 16, VIRTQ_DESC_F_NEXT, 3);
	vd_desc(&f->d, 3, 0x40000, 64, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	vd_push(&f->d, 0);
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, VQ_FAULT_INDIRECT);
}

static void unpop_gives_back(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vd_desc(&f->d, 3, 0x40000, 10, 0, 0);
	vd_desc(&f->d, 4, 0x41000, 20, 0, 0);
	vd_push(&f->d, 3);
	vd_push(&f->d, 4);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	vq_unpop(&f->q);
	assert_int_equal(f->q.last_avail, 0);
	assert_true(vq_has_avail(&f->q));
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.d[0].len, 10);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 4);
	/* Two back, two again. */
	vq_unpop(&f->q);
	vq_unpop(&f->q);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(vq_pop(&f->q, &f->c), 0);
}

/* ---------------------------------------------------------------- used ring */

static void used_ring_and_publish(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vq_add_used(&f->q, 7, 0x12345678);
	vq_add_used(&f->q, 3, 0);
	/* Written, but not published: the driver sees no new index yet. */
	assert_int_equal(vd_used_idx(&f->d), 0);
	assert_int_equal(vd_used_id(&f->d, 0), 7);
	assert_int_equal(vd_used_len(&f->d, 0), 0x12345678);
	assert_int_equal(vd_used_id(&f->d, 1), 3);
	assert_int_equal(vd_used_len(&f->d, 1), 0);
	vq_publish(&f->q);
	assert_int_equal(vd_used_idx(&f->d), 2);
	assert_int_equal(vd_used_flags(&f->d), 0);
	/* The ring wraps at the queue size; the index keeps counting. */
	for (uint32_t i = 0; i < 7; i++)
		vq_add_used(&f->q, (uint16_t)i, 100 + i);
	vq_publish(&f->q);
	assert_int_equal(vd_used_idx(&f->d), 9);
	assert_int_equal(vd_used_id(&f->d, 8), 6); /* slot 0 again */
	assert_int_equal(vd_used_len(&f->d, 8), 106);
	assert_int_equal(vd_used_id(&f->d, 7), 5);
	/* Nothing beyond the 8 elements was written. */
	assert_int_equal(vd_get32(&f->gm, f->d.used + 4 + 8 * 8), 0);
}

static void interrupt_without_event_idx(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vq_add_used(&f->q, 0, 1);
	vq_publish(&f->q);
	assert_true(vq_should_interrupt(&f->q));
	vd_avail_flags(&f->d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq_add_used(&f->q, 1, 1);
	vq_publish(&f->q);
	assert_false(vq_should_interrupt(&f->q));
	/* used_event means nothing without the feature. */
	vd_set_used_event(&f->d, 1);
	assert_false(vq_should_interrupt(&f->q));
	vd_avail_flags(&f->d, 0);
	vd_set_used_event(&f->d, 0x7777);
	vq_add_used(&f->q, 2, 1);
	vq_publish(&f->q);
	assert_true(vq_should_interrupt(&f->q));
}

static void publish_n(struct fx *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vq_add_used(&f->q, 0, 1);
	vq_publish(&f->q);
}

static void interrupt_with_event_idx(void **state)
{
	struct fx *f = *state;

	activate(f, 8, true);
	/* The first decision after activation always interrupts. */
	vd_set_used_event(&f->d, 100);
	publish_n(f, 1); /* used idx 1 */
	assert_true(vq_should_interrupt(&f->q));
	/* NO_INTERRUPT is ignored with EVENT_IDX (§2.7.10). */
	vd_avail_flags(&f->d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vd_set_used_event(&f->d, 2); /* "interrupt when used idx passes 2" */
	publish_n(f, 1);	     /* 1 -> 2: used_event 2 not passed */
	assert_false(vq_should_interrupt(&f->q));
	publish_n(f, 1); /* 2 -> 3: the entry at index 2 was written */
	assert_true(vq_should_interrupt(&f->q));
	/* Several at once, crossing used_event. */
	vd_set_used_event(&f->d, 4);
	publish_n(f, 3); /* 3 -> 6 */
	assert_true(vq_should_interrupt(&f->q));
	/* Stale used_event (behind the old index): no interrupt. */
	vd_set_used_event(&f->d, 4);
	publish_n(f, 2); /* 6 -> 8 */
	assert_false(vq_should_interrupt(&f->q));
	/* used_event == old index: the first new entry crosses it. */
	vd_set_used_event(&f->d, 8);
	publish_n(f, 1); /* 8 -> 9 */
	assert_true(vq_should_interrupt(&f->q));
	/* Nothing new published: no interrupt, whatever used_event says. */
	vd_set_used_event(&f->d, 9);
	assert_false(vq_should_interrupt(&f->q));
	/* Re-activation forgets the last decision. */
	activate(f, 8, true);
	vd_set_used_event(&f->d, 0x5555);
	publish_n(f, 1);
	assert_true(vq_should_interrupt(&f->q));
}

static void interrupt_event_idx_wraps(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint16_t used_event;
		bool irq;
	} cases[] = {
		{65533, false}, /* already passed before the old index */
		{65534, true},	/* == old */
		{65535, true},	/* crossed during the wrap */
		{0, false},	/* the next entry: not yet */
		{1, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		activate(f, 8, true);
		/* A device that has been running for a while: 65534 used. */
		f->q.next_used = 65533;
		publish_n(f, 1); /* 65533 -> 65534, first decision */
		assert_true(vq_should_interrupt(&f->q));
		vd_set_used_event(&f->d, cases[i].used_event);
		publish_n(f, 2); /* 65534 -> 0 */
		assert_int_equal(vd_used_idx(&f->d), 0);
		if (vq_should_interrupt(&f->q) != cases[i].irq)
			fail_msg("used_event %u: expected %s", cases[i].used_event,
				 cases[i].irq ? "an interrupt" : "none");
	}
}

static void enable_notify_event_idx(void **state)
{
	struct fx *f = *state;

	activate(f, 8, true);
	for (uint16_t i = 0; i < 3; i++) {
		vd_desc(&f->d, i, 0x40000, 1, 0, 0);
		vd_push(&f->d, i);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&f->q, &f->c), 1);
	/* Empty: ask to hear about entry 3; nothing raced. */
	assert_false(vq_enable_notify(&f->q));
	assert_int_equal(vd_avail_event(&f->d), 3);
	/* The driver adds one before the device looks again: the race is
	 * reported, and avail_event still names the first unseen entry. */
	vd_push(&f->d, 0);
	assert_true(vq_enable_notify(&f->q));
	assert_int_equal(vd_avail_event(&f->d), 3);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_false(vq_enable_notify(&f->q));
	assert_int_equal(vd_avail_event(&f->d), 4);
	/* The used ring's flags are left alone with EVENT_IDX. */
	assert_int_equal(vd_used_flags(&f->d), 0);
}

static void enable_notify_flags(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	vd_put16(&f->gm, f->d.used, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(vq_enable_notify(&f->q));
	assert_int_equal(vd_used_flags(&f->d), 0);  /* notifications wanted */
	assert_int_equal(vd_avail_event(&f->d), 0); /* not written */
	vd_desc(&f->d, 0, 0x40000, 1, 0, 0);
	vd_push(&f->d, 0);
	assert_true(vq_enable_notify(&f->q));
}

/* ---------------------------------------------------------------- buffers */

static void chain_iov_maps(void **state)
{
	struct fx *f = *state;
	struct iovec iov[4];

	activate(f, 8, false);
	vd_desc(&f->d, 0, 0x40000, 16, VIRTQ_DESC_F_NEXT, 1);
	vd_desc(&f->d, 1, VD_R1 + 0x100, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vd_desc(&f->d, 2, VD_R2 + VD_RSZ - 1, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	vd_desc(&f->d, 3, 0x50000, 0, 0, 0);
	vd_push(&f->d, 0);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(vq_chain_iov(&f->gm, &f->c, 0, 4, iov), 0);
	assert_ptr_equal(iov[0].iov_base, vd_ptr(&f->gm, 0x40000, 16));
	assert_int_equal(iov[0].iov_len, 16);
	assert_ptr_equal(iov[1].iov_base, vd_ptr(&f->gm, VD_R1 + 0x100, 4096));
	assert_int_equal(iov[1].iov_len, 4096);
	assert_ptr_equal(iov[2].iov_base, vd_ptr(&f->gm, VD_R2 + VD_RSZ - 1, 1));
	assert_int_equal(iov[3].iov_len, 0);
	/* A sub-range. */
	memset(iov, 0, sizeof(iov));
	assert_int_equal(vq_chain_iov(&f->gm, &f->c, 1, 2, iov), 0);
	assert_int_equal(iov[0].iov_len, 4096);
	assert_int_equal(iov[1].iov_len, 1);
	assert_int_equal(vq_chain_iov(&f->gm, &f->c, 4, 0, iov), 0);
	/* Out of the chain's bounds. */
	assert_errno(vq_chain_iov(&f->gm, &f->c, 0, 5, iov), -EINVAL);
	assert_errno(vq_chain_iov(&f->gm, &f->c, 5, 0, iov), -EINVAL);
	assert_errno(vq_chain_iov(&f->gm, &f->c, 2, 3, iov), -EINVAL);
}

static void chain_iov_bad_buffer(void **state)
{
	struct fx *f = *state;
	struct iovec iov[2];
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{VD_GAP, 1},		       /* in the gap */
		{VD_R0 + VD_RSZ - 8, 16},      /* R0 into the touching R1 */
		{VD_R2 + VD_RSZ - 1, 2},       /* past the end of RAM */
		{0xfffffffffffffff0ull, 0x20}, /* wrapping past 2^64 to 0x10 */
		{0x40000, 0xffffffffu},	       /* 4 GiB from RAM */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		activate(f, 8, false);
		vd_desc(&f->d, 0, 0x40000, 16, VIRTQ_DESC_F_NEXT, 1);
		vd_desc(&f->d, 1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_WRITE, 0);
		vd_push(&f->d, 0);
		/* The queue is fine: buffers are the device's business. */
		assert_int_equal(vq_pop(&f->q, &f->c), 1);
		if (vq_chain_iov(&f->gm, &f->c, 0, 2, iov) != -EFAULT)
			fail_msg("case %zu: buffer 0x%llx+%u mapped", i,
				 (unsigned long long)bad[i].addr, bad[i].len);
		assert_int_equal(vq_chain_iov(&f->gm, &f->c, 0, 1, iov), 0);
		assert_int_equal(f->q.fault, VQ_OK);
	}
}

/* ---------------------------------------------------------------- wrap-around */

static void index_wraps_at_65535(void **state)
{
	struct fx *f = *state;

	activate(f, 8, false);
	/* Driver and device have agreed on 65533 entries so far. */
	f->q.last_avail = 65533;
	f->q.next_used = 65533;
	vd_set_avail_idx(&f->d, 65533);
	for (uint16_t i = 0; i < 5; i++) {
		vd_desc(&f->d, i, 0x40000 + i, 1, 0, 0);
		vd_push(&f->d, (uint16_t)(4 - i)); /* heads 4, 3, 2, 1, 0 */
	}
	assert_int_equal(f->d.avail_idx, 2); /* wrapped */
	/* Slots 65533 % 8 = 5, 6, 7, 0, 1. */
	assert_int_equal(vd_get16(&f->gm, f->d.avail + 4 + 2 * 5), 4);
	assert_int_equal(vd_get16(&f->gm, f->d.avail + 4 + 2 * 1), 0);
	for (uint16_t i = 0; i < 5; i++) {
		assert_int_equal(vq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.head, 4 - i);
		assert_int_equal(f->c.d[0].addr, 0x40000 + 4 - i);
		vq_add_used(&f->q, f->c.head, i);
	}
	assert_int_equal(vq_pop(&f->q, &f->c), 0);
	assert_int_equal(f->q.last_avail, 2);
	vq_publish(&f->q);
	assert_int_equal(vd_used_idx(&f->d), 2);
	/* Used slots 5, 6, 7, 0, 1 in order. */
	assert_int_equal(vd_used_id(&f->d, 5), 4);
	assert_int_equal(vd_used_id(&f->d, 7), 2);
	assert_int_equal(vd_used_id(&f->d, 0), 1);
	assert_int_equal(vd_used_len(&f->d, 1), 4);

	/* A full ring across the wrap is fine; one more is a jump. */
	activate(f, 8, false);
	f->q.last_avail = 65530;
	for (uint16_t i = 0; i < 8; i++)
		vd_desc(&f->d, i, 0x40000, 1, 0, 0);
	vd_set_avail_idx(&f->d, (uint16_t)(65530 + 8));
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	f->q.last_avail = 65530;
	vd_set_avail_idx(&f->d, (uint16_t)(65530 + 9));
	assert_errno(vq_pop(&f->q, &f->c), -EPROTO);
	assert_int_equal(f->q.fault, VQ_FAULT_AVAIL_IDX);

	/* unpop across the wrap. */
	activate(f, 8, false);
	f->q.last_avail = 65535;
	vd_set_avail_idx(&f->d, 65535);
	vd_push(&f->d, 1);
	vd_desc(&f->d, 1, 0x40000, 1, 0, 0);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->q.last_avail, 0);
	vq_unpop(&f->q);
	assert_int_equal(f->q.last_avail, 65535);
	assert_int_equal(vq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(check_sizes),
	T(check_alignment),
	T(check_rings_in_ram),
	T(activate_resets_state),
	T(pop_single),
	T(pop_chain),
	T(pop_chain_of_queue_size),
	T(avail_idx_jump),
	T(head_out_of_range),
	T(next_out_of_range),
	T(chain_loop),
	T(indirect_refused),
	T(unpop_gives_back),
	T(used_ring_and_publish),
	T(interrupt_without_event_idx),
	T(interrupt_with_event_idx),
	T(interrupt_event_idx_wraps),
	T(enable_notify_event_idx),
	T(enable_notify_flags),
	T(chain_iov_maps),
	T(chain_iov_bad_buffer),
	T(index_wraps_at_65535),
};

UT_MAIN(tests, NULL, NULL)
