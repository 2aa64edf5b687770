/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio-mmio transport (docs/virtio.md), driven as a guest drives it:
 * every register through virtio_mmio_ops at its offset, activation on the
 * "VMM thread" through vmmio_handle_control, notifications through the
 * queue ioeventfds and vmmio_handle_notify, interrupts seen on the irq
 * eventfd and in InterruptStatus. The device behind it is a two-queue echo
 * device defined here, so that the transport is tested alone. */
#include "vdrv.h"

#include <sys/eventfd.h>

#define ECHO_ID 0x1f
#define ECHO_FEATURES (BIT_ULL(0) | BIT_ULL(VIRTIO_F_RING_EVENT_IDX) | BIT_ULL(35))
#define ECHO_CONFIG_LEN 10

/* The device: pops every chain and returns it used with the chain's total
 * length; counts what the transport asks of it. */
struct echo {
	struct virtio_mmio t;
	unsigned activates, resets, notifies[VIRTIO_MMIO_MAX_QUEUES];
	int activate_ret;
	uint8_t cfg[ECHO_CONFIG_LEN];
	unsigned cfg_writes;
	uint64_t cfg_write_off;
	uint32_t cfg_write_len;
	struct vq_chain chain;
};

static void echo_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct echo *e = dev;
	if (off > ECHO_CONFIG_LEN || len > ECHO_CONFIG_LEN - off)
		fail_msg("config read %u bytes at %llu: past config_len", len,
			 (unsigned long long)off);
	memcpy(data, e->cfg + off, len);
}

static void echo_config_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct echo *e = dev;
	if (off > ECHO_CONFIG_LEN || len > ECHO_CONFIG_LEN - off)
		fail_msg("config write %u bytes at %llu: past config_len", len,
			 (unsigned long long)off);
	memcpy(e->cfg + off, data, len);
	e->cfg_writes++;
	e->cfg_write_off = off;
	e->cfg_write_len = len;
}

static int echo_activate(void *dev)
{
	struct echo *e = dev;
	e->activates++;
	return e->activate_ret;
}

static void echo_notify(void *dev, unsigned qi)
{
	struct echo *e = dev;
	struct vq *q = &e->t.queues[qi];
	bool used = false;
	int got;

	e->notifies[qi]++;
	while ((got = vq_pop(q, &e->chain)) == 1) {
		uint32_t len = 0;
		for (unsigned i = 0; i < e->chain.n; i++)
			len += e->chain.d[i].len;
		vq_add_used(q, e->chain.head, len);
		used = true;
	}
	if (got < 0)
		vmmio_queue_fault(&e->t, qi);
	if (used)
		vmmio_publish_used(&e->t, qi);
}

static void echo_reset(void *dev)
{
	struct echo *e = dev;
	e->resets++;
}

static const struct virtio_dev_ops echo_ops = {
	.kind = "echo",
	.device_id = ECHO_ID,
	.num_queues = 2,
	.config_read = echo_config_read,
	.config_write = echo_config_write,
	.activate = echo_activate,
	.queue_notify = echo_notify,
	.reset = echo_reset,
};

struct fx {
	struct guest_mem gm;
	struct echo e;
	struct vd_q q[2];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	vd_gm_init(&f->gm);
	for (unsigned i = 0; i < ECHO_CONFIG_LEN; i++)
		f->e.cfg[i] = (uint8_t)(i + 1);
	if (vmmio_init(&f->e.t, &echo_ops, &f->e, &f->gm, "echo0", 0xc0001000, 5, ECHO_FEATURES,
		       ECHO_CONFIG_LEN))
		return -1;
	vd_q_init(&f->q[0], &f->gm, 0, 16);
	vd_q_init(&f->q[1], &f->gm, 1, 16);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	vmmio_destroy(&f->e.t);
	pthread_mutex_destroy(&f->e.t.lock);
	gm_destroy(&f->gm);
	free(f);
	return 0;
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	return vd_rd(&f->e.t, off);
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
	vd_wr(&f->e.t, off, v);
}

static uint64_t irqs(struct fx *f)
{
	return ut_efd_take(f->e.t.irq.fd);
}

static uint64_t control(struct fx *f)
{
	return ut_efd_take(f->e.t.control_fd);
}

#define V1 BIT_ULL(VIRTIO_F_VERSION_1)
#define S_ALL (VD_ACK | VD_DRV | VD_FOK | VD_DOK)

/* The whole bring-up: features, both queues (or only the first), DRIVER_OK,
 * activation. */
static void bring_up(struct fx *f, uint64_t features, unsigned nqueues)
{
	assert_int_equal(vd_negotiate(&f->e.t, features), VD_ACK | VD_DRV | VD_FOK);
	for (unsigned i = 0; i < nqueues; i++)
		assert_int_equal(vd_queue(&f->e.t, i, &f->q[i]), 1);
	vd_driver_ok(&f->e.t);
	assert_true(f->e.t.active);
	assert_int_equal(rd(f, VD_STATUS), S_ALL);
}

/* ---------------------------------------------------------------- identity */

static void identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VD_MAGIC), 0x74726976);
	assert_int_equal(rd(f, VD_VERSION), 2);
	assert_int_equal(rd(f, VD_DEVICE_ID), ECHO_ID);
	assert_int_equal(rd(f, VD_VENDOR_ID), 0);
	/* Read-only: writes change nothing. */
	wr(f, VD_MAGIC, 0);
	wr(f, VD_VERSION, 1);
	wr(f, VD_DEVICE_ID, 7);
	assert_int_equal(rd(f, VD_MAGIC), 0x74726976);
	assert_int_equal(rd(f, VD_VERSION), 2);
	assert_int_equal(rd(f, VD_DEVICE_ID), ECHO_ID);
	assert_int_equal(f->e.t.st.bad_accesses, 3);
	/* Initial registers. */
	assert_int_equal(rd(f, VD_STATUS), 0);
	assert_int_equal(rd(f, VD_INT_STATUS), 0);
	assert_int_equal(rd(f, VD_CONFIG_GEN), 0);
	assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	assert_int_equal(irqs(f), 0);
}

static void device_features(void **state)
{
	struct fx *f = *state;
	const uint64_t offered = ECHO_FEATURES | V1;

	assert_int_equal(rd(f, VD_DEV_FEAT), (uint32_t)offered); /* sel defaults to 0 */
	wr(f, VD_DEV_FEAT_SEL, 1);
	assert_int_equal(rd(f, VD_DEV_FEAT), (uint32_t)(offered >> 32));
	assert_int_equal(rd(f, VD_DEV_FEAT), 0x9); /* VERSION_1 (32) and 35 */
	wr(f, VD_DEV_FEAT_SEL, 2);
	assert_int_equal(rd(f, VD_DEV_FEAT), 0);
	wr(f, VD_DEV_FEAT_SEL, 0xffffffff);
	assert_int_equal(rd(f, VD_DEV_FEAT), 0);
	wr(f, VD_DEV_FEAT_SEL, 0);
	assert_int_equal(rd(f, VD_DEV_FEAT), BIT_ULL(0) | BIT_ULL(29));
	/* The offer is the same in every state. */
	assert_int_equal(vd_negotiate(&f->e.t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_dev_features(&f->e.t), offered);
}

/* ---------------------------------------------------------------- status */

/* The normal sequence, then what the model says any write does. */
static const uint32_t seq[] = {0, VD_ACK, VD_ACK | VD_DRV, VD_ACK | VD_DRV | VD_FOK, S_ALL};

static uint32_t model(unsigned state, uint32_t v)
{
	uint32_t s = seq[state];
	v &= ~(uint32_t)VD_NR; /* the device's bit: ignored in writes */
	if (v == (s | VD_FAILED))
		return v;
	if (state + 1 < ARRAY_SIZE(seq) && v == seq[state + 1])
		return v;
	return s;
}

static void walk_to(struct fx *f, unsigned state)
{
	wr(f, VD_STATUS, 0);
	for (unsigned i = 1; i <= state; i++) {
		wr(f, VD_STATUS, seq[i]);
		if (seq[i] == (VD_ACK | VD_DRV))
			vd_drv_features(&f->e.t, V1); /* so that FEATURES_OK may stick */
	}
	assert_int_equal(rd(f, VD_STATUS), seq[state]);
}

static void status_table(void **state)
{
	struct fx *f = *state;

	for (unsigned st = 0; st < ARRAY_SIZE(seq); st++) {
		for (uint32_t v = 1; v <= 0xff; v++) {
			walk_to(f, st);
			uint64_t refused = f->e.t.st.refused_status;
			uint32_t want = model(st, v);
			wr(f, VD_STATUS, v);
			uint32_t got = rd(f, VD_STATUS);
			if (got != want)
				fail_msg("status 0x%x, write 0x%x: read 0x%x, expected 0x%x",
					 seq[st], v, got, want);
			bool ok = want != seq[st];
			if (f->e.t.st.refused_status != refused + !ok)
				fail_msg("status 0x%x, write 0x%x: refusal not counted", seq[st],
					 v);
		}
	}
	/* Writes above the byte are refused as well. */
	walk_to(f, 0);
	wr(f, VD_STATUS, 0x101);
	assert_int_equal(rd(f, VD_STATUS), 0);
}

static void status_failed_is_final(void **state)
{
	struct fx *f = *state;

	walk_to(f, 2);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FAILED);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FAILED);
	/* Nothing moves on from FAILED but a reset. */
	vd_drv_features(&f->e.t, V1);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK | VD_FAILED);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FAILED);
	wr(f, VD_STATUS, 0);
	assert_int_equal(rd(f, VD_STATUS), 0);
	wr(f, VD_STATUS, VD_ACK);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK);
}

static void features_ok_checks(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	/* Without VERSION_1: FEATURES_OK reads back clear. */
	assert_int_equal(vd_negotiate(t, BIT_ULL(0)), VD_ACK | VD_DRV);
	assert_int_equal(t->st.refused_status, 1);
	/* With a bit the device did not offer (1, 28 indirect, 33). */
	static const uint64_t unoffered[] = {BIT_ULL(1), BIT_ULL(VIRTIO_F_RING_INDIRECT_DESC),
					     BIT_ULL(33), BIT_ULL(63)};
	for (size_t i = 0; i < ARRAY_SIZE(unoffered); i++)
		assert_int_equal(vd_negotiate(t, V1 | unoffered[i]), VD_ACK | VD_DRV);
	/* Every offered bit, or a subset with VERSION_1: accepted. */
	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(t->driver_features, V1);
	assert_int_equal(vd_negotiate(t, ECHO_FEATURES | V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(t->driver_features, ECHO_FEATURES | V1);
	assert_true(vmmio_has_feature(t, VIRTIO_F_RING_EVENT_IDX));
	assert_true(vmmio_has_feature(t, 35));
	assert_false(vmmio_has_feature(t, 1));
	/* A refused FEATURES_OK can be retried after fixing the features. */
	assert_int_equal(vd_negotiate(t, BIT_ULL(0)), VD_ACK | VD_DRV);
	vd_drv_features(t, V1);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FOK);
}

static void driver_features_window(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	/* Before DRIVER: ignored. */
	wr(f, VD_STATUS, VD_ACK);
	vd_drv_features(t, V1 | 1);
	assert_int_equal(t->driver_features, 0);
	/* DRIVER: both halves, by selector; other selectors ignored. */
	wr(f, VD_STATUS, VD_ACK | VD_DRV);
	wr(f, VD_DRV_FEAT_SEL, 0);
	wr(f, VD_DRV_FEAT, 0x20000001);
	wr(f, VD_DRV_FEAT_SEL, 1);
	wr(f, VD_DRV_FEAT, 0x9);
	wr(f, VD_DRV_FEAT_SEL, 2);
	wr(f, VD_DRV_FEAT, 0xffffffff);
	assert_int_equal(t->driver_features, 0x920000001ull);
	/* Rewriting a half replaces it. */
	wr(f, VD_DRV_FEAT_SEL, 0);
	wr(f, VD_DRV_FEAT, 0x1);
	assert_int_equal(t->driver_features, 0x900000001ull);
	/* After FEATURES_OK: frozen. */
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FOK);
	wr(f, VD_DRV_FEAT, 0);
	wr(f, VD_DRV_FEAT_SEL, 1);
	wr(f, VD_DRV_FEAT, 0);
	assert_int_equal(t->driver_features, 0x900000001ull);
	/* After DRIVER_OK too. */
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	vd_driver_ok(t);
	vd_drv_features(t, V1);
	assert_int_equal(t->driver_features, 0x900000001ull);
}

/* ---------------------------------------------------------------- queues */

static void queue_num_max(void **state)
{
	struct fx *f = *state;

	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(f, VD_QUEUE_SEL, sel);
		assert_int_equal(rd(f, VD_QUEUE_NUM_MAX), 256);
		assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	}
	static const uint32_t bad[] = {2, 3, 255, 0x10000, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		wr(f, VD_QUEUE_SEL, bad[i]);
		assert_int_equal(rd(f, VD_QUEUE_NUM_MAX), 0);
		assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	}
	/* A non-queue cannot be set up. */
	assert_int_equal(vd_negotiate(&f->e.t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_queue(&f->e.t, 2, &f->q[0]), 0);
	assert_int_equal(f->e.t.queues[2].desc_gpa, 0);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FOK);
}

/* The queue registers of queue 0 as the device holds them. */
static void assert_q0_untouched(struct fx *f)
{
	const struct vq *q = &f->e.t.queues[0];
	assert_int_equal(q->size, 256);
	assert_int_equal(q->desc_gpa, 0);
	assert_int_equal(q->avail_gpa, 0);
	assert_int_equal(q->used_gpa, 0);
	assert_false(q->ready);
}

static void queue_regs_window(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;
	const struct vq *q = &t->queues[0];

	/* Before FEATURES_OK (ACKNOWLEDGE, then DRIVER): ignored. */
	wr(f, VD_STATUS, VD_ACK);
	vd_queue(t, 0, &f->q[0]);
	assert_q0_untouched(f);
	wr(f, VD_STATUS, VD_ACK | VD_DRV);
	vd_queue(t, 0, &f->q[0]);
	assert_q0_untouched(f);
	assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	/* Between FEATURES_OK and DRIVER_OK: each register lands. */
	vd_drv_features(t, V1);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	wr(f, VD_QUEUE_SEL, 0);
	wr(f, VD_QUEUE_NUM, 64);
	wr(f, VD_DESC_LO, 0x40000);
	wr(f, VD_DESC_HI, 0x1);
	wr(f, VD_DRIVER_LO, 0x41000);
	wr(f, VD_DRIVER_HI, 0x2);
	wr(f, VD_DEVICE_LO, 0x42000);
	wr(f, VD_DEVICE_HI, 0x3);
	assert_int_equal(q->size, 64);
	assert_int_equal(q->desc_gpa, 0x100040000ull);
	assert_int_equal(q->avail_gpa, 0x200041000ull);
	assert_int_equal(q->used_gpa, 0x300042000ull);
	/* Halves are independent. */
	wr(f, VD_DESC_HI, 0);
	assert_int_equal(q->desc_gpa, 0x40000);
	wr(f, VD_DESC_LO, 0x50000);
	assert_int_equal(q->desc_gpa, 0x50000);
	/* QueueNum beyond 16 bits is not silently truncated to a valid size. */
	wr(f, VD_QUEUE_NUM, 0x10010);
	assert_int_equal(q->size, 0);
	/* While ready, only QueueReady may be written. */
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	wr(f, VD_QUEUE_NUM, 8);
	wr(f, VD_DESC_LO, 0x60000);
	assert_int_equal(q->size, 16);
	assert_int_equal(q->desc_gpa, f->q[0].desc);
	wr(f, VD_QUEUE_READY, 0);
	assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	wr(f, VD_QUEUE_NUM, 8);
	assert_int_equal(q->size, 8);
	/* After DRIVER_OK: frozen. */
	f->q[0].size = 8;
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	vd_driver_ok(t);
	wr(f, VD_QUEUE_READY, 0);
	wr(f, VD_QUEUE_NUM, 4);
	wr(f, VD_DEVICE_LO, 0x70000);
	assert_int_equal(rd(f, VD_QUEUE_READY), 1);
	assert_int_equal(q->size, 8);
	assert_int_equal(q->used_gpa, f->q[0].used);
	wr(f, VD_QUEUE_SEL, 1);
	vd_queue(t, 1, &f->q[1]);
	assert_int_equal(rd(f, VD_QUEUE_READY), 0);
}

/* QueueReady = 1 with the selected queue set up badly by `spoil`. */
static void refuse_ready(struct fx *f, const char *what, void (*spoil)(struct fx *))
{
	struct virtio_mmio *t = &f->e.t;
	uint32_t gen = rd(f, VD_CONFIG_GEN);

	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	irqs(f);
	wr(f, VD_QUEUE_SEL, 1);
	vd_queue(t, 1, &f->q[1]);
	wr(f, VD_QUEUE_READY, 0);
	spoil(f);
	wr(f, VD_QUEUE_READY, 1);
	if (rd(f, VD_QUEUE_READY) != 0)
		fail_msg("%s: QueueReady stuck", what);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FOK | VD_NR);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, VD_CONFIG_GEN), gen); /* the config did not change */
	/* Asking again sets nothing new and raises nothing new. */
	wr(f, VD_QUEUE_READY, 1);
	assert_int_equal(rd(f, VD_QUEUE_READY), 0);
	assert_int_equal(irqs(f), 0);
	wr(f, VD_INT_ACK, VIRTIO_MMIO_INT_CONFIG);
}

static void spoil_size3(struct fx *f)
{
	wr(f, VD_QUEUE_NUM, 3);
}
static void spoil_size0(struct fx *f)
{
	wr(f, VD_QUEUE_NUM, 0);
}
static void spoil_size512(struct fx *f)
{
	wr(f, VD_QUEUE_NUM, 512);
}
static void spoil_desc_align(struct fx *f)
{
	wr(f, VD_DESC_LO, (uint32_t)f->q[1].desc + 8);
}
static void spoil_avail_align(struct fx *f)
{
	wr(f, VD_DRIVER_LO, (uint32_t)f->q[1].avail + 1);
}
static void spoil_used_align(struct fx *f)
{
	wr(f, VD_DEVICE_LO, (uint32_t)f->q[1].used + 2);
}
static void spoil_desc_gap(struct fx *f)
{
	wr(f, VD_DESC_LO, (uint32_t)VD_GAP);
}
static void spoil_used_high(struct fx *f)
{
	wr(f, VD_DEVICE_HI, 1); /* 4 GiB up: no RAM there */
}
static void spoil_avail_straddle(struct fx *f)
{
	wr(f, VD_DRIVER_LO, (uint32_t)(VD_R2 + VD_RSZ - 8));
}

static void queue_ready_refused(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *what;
		void (*spoil)(struct fx *);
	} cases[] = {
		{"size 3", spoil_size3},
		{"size 0", spoil_size0},
		{"size 512", spoil_size512},
		{"desc misaligned", spoil_desc_align},
		{"avail misaligned", spoil_avail_align},
		{"used misaligned", spoil_used_align},
		{"desc in the gap", spoil_desc_gap},
		{"used above RAM", spoil_used_high},
		{"avail straddling the end of RAM", spoil_avail_straddle},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		refuse_ready(f, cases[i].what, cases[i].spoil);
	assert_int_equal(f->e.activates, 0);
}

static void activation_on_vmm_thread(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	/* A chain posted before DRIVER_OK. */
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 100, false}}, 1);
	assert_int_equal(control(f), 0);
	wr(f, VD_STATUS, S_ALL);
	/* DRIVER_OK only asks the VMM thread. */
	assert_int_equal(rd(f, VD_STATUS), S_ALL);
	assert_false(t->active);
	assert_true(t->activate_pending);
	assert_int_equal(f->e.activates, 0);
	assert_false(t->queues[0].active);
	uint64_t v = 0;
	assert_int_equal(read(t->control_fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	vmmio_handle_control(t);
	assert_true(t->active);
	assert_false(t->activate_pending);
	assert_int_equal(f->e.activates, 1);
	assert_true(t->queues[0].active);
	assert_false(t->queues[1].active); /* never made ready */
	assert_false(t->queues[0].event_idx);
	/* The chain posted early is served at once. */
	assert_int_equal(f->e.notifies[0], 1);
	assert_int_equal(f->e.notifies[1], 0);
	assert_int_equal(vd_used_idx(&f->q[0]), 1);
	assert_int_equal(vd_used_len(&f->q[0], 0), 100);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irqs(f), 1);
	/* A second control event changes nothing. */
	vmmio_handle_control(t);
	assert_int_equal(f->e.activates, 1);
	/* Notifications for the queue that is not ready are ignored. */
	vd_kick(t, 1);
	assert_int_equal(f->e.notifies[1], 0);
	assert_int_equal(t->st.notifies, 0);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 7, false}, {0x41000, 9, true}}, 2);
	vd_kick(t, 0);
	assert_int_equal(t->st.notifies, 1);
	assert_int_equal(vd_used_idx(&f->q[0]), 2);
	assert_int_equal(vd_used_len(&f->q[0], 1), 16);
	assert_int_equal(t->st.interrupts, 2);
}

static void activation_with_event_idx(void **state)
{
	struct fx *f = *state;

	bring_up(f, V1 | BIT_ULL(VIRTIO_F_RING_EVENT_IDX), 2);
	assert_true(f->e.t.queues[0].event_idx);
	assert_true(f->e.t.queues[1].event_idx);
	/* The driver asks for an interrupt only after the second entry. */
	vd_set_used_event(&f->q[0], 1);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 1, false}}, 1);
	vd_kick(&f->e.t, 0);
	assert_int_equal(irqs(f), 1); /* the first always interrupts */
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 1, false}}, 1);
	vd_set_used_event(&f->q[0], 2);
	vd_kick(&f->e.t, 0);
	assert_int_equal(vd_used_idx(&f->q[0]), 2);
	assert_int_equal(irqs(f), 0);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 1, false}}, 1);
	vd_kick(&f->e.t, 0);
	assert_int_equal(irqs(f), 1);
}

static void driver_ok_without_queue(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	wr(f, VD_STATUS, S_ALL);
	assert_int_equal(rd(f, VD_STATUS), S_ALL);
	assert_int_equal(irqs(f), 0);
	vmmio_handle_control(t);
	assert_false(t->active);
	assert_int_equal(f->e.activates, 0);
	assert_int_equal(rd(f, VD_STATUS), S_ALL | VD_NR);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(t->st.activate_fails, 1);
	/* Nothing is served. */
	vd_kick(t, 0);
	assert_int_equal(f->e.notifies[0], 0);
	/* A reset recovers. */
	wr(f, VD_STATUS, 0);
	assert_int_equal(rd(f, VD_STATUS), 0);
	assert_int_equal(rd(f, VD_INT_STATUS), 0);
	bring_up(f, V1, 1);
}

static void activate_fails(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	f->e.activate_ret = -EIO;
	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 1, false}}, 1);
	vd_driver_ok(t);
	assert_int_equal(f->e.activates, 1);
	assert_false(t->active);
	assert_false(t->queues[0].active);
	assert_int_equal(rd(f, VD_STATUS), S_ALL | VD_NR);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(t->st.activate_fails, 1);
	vd_kick(t, 0);
	assert_int_equal(f->e.notifies[0], 0);
	assert_int_equal(vd_used_idx(&f->q[0]), 0);
}

static void notify_before_driver_ok(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 5, false}}, 1);
	vd_kick(t, 0);
	vd_kick(t, 1);
	assert_int_equal(f->e.notifies[0] + f->e.notifies[1], 0);
	assert_int_equal(t->st.notifies, 0);
	assert_false(t->queues[0].active);
	assert_int_equal(vd_used_idx(&f->q[0]), 0);
	assert_int_equal(irqs(f), 0);
	/* The eventfd was drained: nothing stale is left for later. */
	uint64_t v;
	assert_int_equal(read(t->notify_fd[0], &v, sizeof(v)), -1);
	/* QueueNotify reaching the transport itself (no ioeventfd) is
	 * ignored at any time. */
	wr(f, VD_QUEUE_NOTIFY, 0);
	assert_int_equal(f->e.notifies[0], 0);
	/* After activation the chain is served. */
	vd_driver_ok(t);
	assert_int_equal(vd_used_idx(&f->q[0]), 1);
	assert_int_equal(vd_used_len(&f->q[0], 0), 5);
}

static void broken_queue(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	bring_up(f, V1, 2);
	irqs(f);
	/* Queue 0: avail->idx jumps by more than the size. */
	vd_set_avail_idx(&f->q[0], 17);
	vd_kick(t, 0);
	assert_int_equal(t->queues[0].fault, VQ_FAULT_AVAIL_IDX);
	assert_int_equal(rd(f, VD_STATUS), S_ALL | VD_NR);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(t->st.queue_faults, 1);
	assert_int_equal(t->st.config_interrupts, 1);
	assert_int_equal(vd_used_idx(&f->q[0]), 0);
	/* Queue 1 keeps working. */
	vd_chain(&f->q[1], (struct vd_buf[]){{0x40000, 33, true}}, 1);
	vd_kick(t, 1);
	assert_int_equal(vd_used_idx(&f->q[1]), 1);
	assert_int_equal(vd_used_len(&f->q[1], 0), 33);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irqs(f), 1);
	/* Queue 0 is not served again, and the fault is not raised again. */
	vd_set_avail_idx(&f->q[0], 1);
	vd_kick(t, 0);
	assert_int_equal(f->e.notifies[0], 2); /* activation + the first kick */
	assert_int_equal(t->st.queue_faults, 1);
	assert_int_equal(irqs(f), 0);
	/* The status write the driver makes next cannot clear NEEDS_RESET. */
	wr(f, VD_STATUS, S_ALL);
	assert_int_equal(rd(f, VD_STATUS), S_ALL | VD_NR);
	/* Reset and start again: both queues work. */
	wr(f, VD_STATUS, 0);
	vd_q_init(&f->q[0], &f->gm, 0, 16);
	vd_q_init(&f->q[1], &f->gm, 1, 16);
	bring_up(f, V1, 2);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 2, true}}, 1);
	vd_kick(t, 0);
	assert_int_equal(vd_used_idx(&f->q[0]), 1);
}

static void reset_restores_everything(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	bring_up(f, ECHO_FEATURES | V1, 2);
	vd_chain(&f->q[1], (struct vd_buf[]){{0x40000, 3, true}}, 1);
	vd_kick(t, 1);
	vmmio_config_changed(t);
	wr(f, VD_DEV_FEAT_SEL, 1);
	wr(f, VD_DRV_FEAT_SEL, 1);
	wr(f, VD_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VD_INT_STATUS), 3);
	uint32_t gen = rd(f, VD_CONFIG_GEN);

	wr(f, VD_STATUS, 0);
	assert_int_equal(f->e.resets, 1);
	assert_int_equal(rd(f, VD_STATUS), 0);
	assert_int_equal(rd(f, VD_INT_STATUS), 0);
	assert_int_equal(rd(f, VD_DEV_FEAT), (uint32_t)(ECHO_FEATURES | V1)); /* sel 0 */
	assert_int_equal(t->driver_features_sel, 0);
	assert_int_equal(t->driver_features, 0);
	assert_int_equal(t->queue_sel, 0);
	assert_false(t->active);
	assert_false(t->activate_pending);
	for (unsigned i = 0; i < 2; i++) {
		const struct vq *q = &t->queues[i];
		wr(f, VD_QUEUE_SEL, i);
		assert_int_equal(rd(f, VD_QUEUE_READY), 0);
		assert_int_equal(rd(f, VD_QUEUE_NUM_MAX), 256);
		assert_int_equal(q->size, 256);
		assert_int_equal(q->desc_gpa | q->avail_gpa | q->used_gpa, 0);
		assert_false(q->active);
		assert_int_equal(q->fault, VQ_OK);
		assert_int_equal(q->last_avail, 0);
		assert_int_equal(q->next_used, 0);
	}
	/* The configuration generation is the config space's, not reset. */
	assert_int_equal(rd(f, VD_CONFIG_GEN), gen);
	/* Nothing is served after the reset: the used index stays at 1. */
	vd_chain(&f->q[1], (struct vd_buf[]){{0x40000, 3, true}}, 1);
	vd_kick(t, 1);
	assert_int_equal(vd_used_idx(&f->q[1]), 1);
	assert_int_equal(f->e.notifies[1], 2);
	/* A second reset of an idle device does not call the device. */
	wr(f, VD_STATUS, 0);
	assert_int_equal(f->e.resets, 1);
	/* A fresh bring-up starts the rings from 0. */
	vd_q_init(&f->q[0], &f->gm, 0, 16);
	vd_q_init(&f->q[1], &f->gm, 1, 16);
	bring_up(f, V1, 2);
	vd_chain(&f->q[1], (struct vd_buf[]){{0x40000, 4, true}}, 1);
	vd_kick(t, 1);
	assert_int_equal(vd_used_idx(&f->q[1]), 1);
	assert_int_equal(vd_used_len(&f->q[1], 0), 4);
	/* A reset while activation is pending reaches the device too. */
	wr(f, VD_STATUS, 0);
	assert_int_equal(f->e.resets, 2);
	assert_int_equal(vd_negotiate(t, V1), VD_ACK | VD_DRV | VD_FOK);
	assert_int_equal(vd_queue(t, 0, &f->q[0]), 1);
	wr(f, VD_STATUS, S_ALL);
	wr(f, VD_STATUS, 0);
	assert_int_equal(f->e.resets, 3);
	vmmio_handle_control(t);
	assert_false(t->active);
	assert_int_equal(f->e.activates, 2);
}

/* ---------------------------------------------------------------- accesses */

static void access_width_and_alignment(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	/* Reads of 1, 2 and 8 bytes and misaligned reads: 0, counted. */
	uint64_t bad = t->st.bad_accesses;
	static const struct {
		uint64_t off;
		uint32_t len;
	} reads[] = {
		{VD_MAGIC, 1},
		{VD_MAGIC, 2},
		{VD_MAGIC, 8},
		{VD_MAGIC + 1, 4},
		{VD_MAGIC + 2, 2},
		{VD_VERSION, 1},
		{VD_INT_STATUS, 2},
		{VD_INT_STATUS, 8},
		{VD_STATUS, 1},
		{VD_CONFIG_GEN, 8},
		{VD_QUEUE_NUM_MAX + 3, 1},
		{0x0fe, 2},
		{0x0fd, 4},
	};
	vmmio_config_changed(t); /* make InterruptStatus and ConfigGeneration non-zero */
	for (size_t i = 0; i < ARRAY_SIZE(reads); i++) {
		uint64_t v = vd_rdn(t, reads[i].off, reads[i].len);
		if (v != 0)
			fail_msg("%u-byte read at 0x%llx: 0x%llx", reads[i].len,
				 (unsigned long long)reads[i].off, (unsigned long long)v);
	}
	assert_int_equal(t->st.bad_accesses, bad + ARRAY_SIZE(reads));
	/* Writes of the wrong width or alignment are ignored. */
	vd_wrn(t, VD_STATUS, VD_ACK, 1);
	vd_wrn(t, VD_STATUS, VD_ACK, 2);
	vd_wrn(t, VD_STATUS, VD_ACK, 8);
	vd_wrn(t, VD_STATUS + 1, VD_ACK, 4);
	vd_wrn(t, VD_STATUS - 2, (uint64_t)VD_ACK << 16, 4);
	assert_int_equal(rd(f, VD_STATUS), 0);
	vd_wrn(t, VD_INT_ACK, 0xff, 1);
	vd_wrn(t, VD_INT_ACK, 0xff, 2);
	vd_wrn(t, VD_INT_ACK, 0xffffffffffffffffull, 8);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(f, VD_STATUS, VD_ACK);
	wr(f, VD_STATUS, VD_ACK | VD_DRV);
	vd_wrn(t, VD_DRV_FEAT, 1, 2);
	vd_wrn(t, VD_DRV_FEAT, 1, 8);
	assert_int_equal(t->driver_features, 0);
	vd_drv_features(t, V1);
	wr(f, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	vd_wrn(t, VD_QUEUE_NUM, 8, 2);
	vd_wrn(t, VD_DESC_LO, 0x40000, 8);
	vd_wrn(t, VD_QUEUE_SEL, 1, 1);
	assert_int_equal(t->queues[0].size, 256);
	assert_int_equal(t->queues[0].desc_gpa, 0);
	assert_int_equal(t->queue_sel, 0);
	/* Unknown and write-only registers read 0; unknown writes vanish. */
	static const uint64_t zero[] = {0x018,	     0x01c,	   0x028,	 0x03c,
					0x040,	     0x048,	   0x04c,	 VD_QUEUE_NOTIFY,
					VD_INT_ACK,  VD_DESC_LO,   VD_DEVICE_HI, VD_DEV_FEAT_SEL,
					VD_DRV_FEAT, VD_QUEUE_NUM, 0x0b0,	 0x0f8};
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
		if (rd(f, zero[i]) != 0)
			fail_msg("register 0x%llx reads non-zero", (unsigned long long)zero[i]);
	bad = t->st.bad_accesses;
	wr(f, 0x0b0, 1);
	wr(f, 0x0f8, 1);
	wr(f, VD_VENDOR_ID, 1);
	assert_int_equal(t->st.bad_accesses, bad + 3);
	assert_int_equal(rd(f, VD_STATUS), VD_ACK | VD_DRV | VD_FOK);
}

static void config_space(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	/* cfg = 01 02 03 ... 0a, then nothing. */
	assert_int_equal(vd_rdn(t, VD_CONFIG, 1), 0x01);
	assert_int_equal(vd_rdn(t, VD_CONFIG + 1, 2), 0x0302); /* unaligned is fine */
	assert_int_equal(vd_rdn(t, VD_CONFIG, 4), 0x04030201);
	assert_int_equal(vd_rdn(t, VD_CONFIG, 8), 0x0807060504030201ull);
	assert_int_equal(vd_rdn(t, VD_CONFIG + 8, 4), 0x0a09); /* half inside */
	assert_int_equal(vd_rdn(t, VD_CONFIG + 9, 8), 0x0a);
	assert_int_equal(vd_rdn(t, VD_CONFIG + 10, 1), 0);
	assert_int_equal(vd_rdn(t, VD_CONFIG + 12, 4), 0);
	assert_int_equal(vd_rdn(t, 0xff8, 8), 0);
	assert_int_equal(vd_rdn(t, 0xfff, 1), 0);
	/* Writes reach the device, cut at config_len. */
	vd_wrn(t, VD_CONFIG + 2, 0xbbaa, 2);
	assert_int_equal(f->e.cfg_writes, 1);
	assert_int_equal(f->e.cfg_write_off, 2);
	assert_int_equal(f->e.cfg_write_len, 2);
	assert_int_equal(vd_rdn(t, VD_CONFIG, 4), 0xbbaa0201);
	vd_wrn(t, VD_CONFIG + 8, 0x44332211, 4);
	assert_int_equal(f->e.cfg_write_off, 8);
	assert_int_equal(f->e.cfg_write_len, 2);
	assert_int_equal(vd_rdn(t, VD_CONFIG + 8, 2), 0x2211);
	vd_wrn(t, VD_CONFIG + 10, 0xff, 1);
	vd_wrn(t, VD_CONFIG + 0x200, 0xffffffff, 4);
	assert_int_equal(f->e.cfg_writes, 2);
	/* Config-space accesses are not register accesses. */
	assert_int_equal(t->st.bad_accesses, 0);
}

static void interrupt_ack(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	bring_up(f, V1, 1);
	irqs(f);
	vd_chain(&f->q[0], (struct vd_buf[]){{0x40000, 1, true}}, 1);
	vd_kick(t, 0);
	vmmio_config_changed(t);
	assert_int_equal(irqs(f), 2);
	assert_int_equal(rd(f, VD_INT_STATUS), 3);
	wr(f, VD_INT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(f, VD_INT_ACK, 0);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(f, VD_INT_ACK, 0xfffffffc); /* bits that are not set */
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(f, VD_INT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(f, VD_INT_STATUS), 0);
	/* InterruptStatus is read-only. */
	wr(f, VD_INT_STATUS, 3);
	assert_int_equal(rd(f, VD_INT_STATUS), 0);
	assert_int_equal(irqs(f), 0);
}

static void config_generation(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *t = &f->e.t;

	uint32_t g0 = rd(f, VD_CONFIG_GEN);
	vmmio_config_changed(t);
	uint32_t g1 = rd(f, VD_CONFIG_GEN);
	assert_int_not_equal(g0, g1);
	assert_int_equal(rd(f, VD_INT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(t->st.config_interrupts, 1);
	/* Stable while nothing changes, and changes again on each change. */
	assert_int_equal(rd(f, VD_CONFIG_GEN), g1);
	vmmio_config_changed(t);
	assert_int_not_equal(rd(f, VD_CONFIG_GEN), g1);
	assert_int_not_equal(rd(f, VD_CONFIG_GEN), g0);
	/* ConfigGeneration is read-only. */
	uint32_t g2 = rd(f, VD_CONFIG_GEN);
	wr(f, VD_CONFIG_GEN, 0);
	assert_int_equal(rd(f, VD_CONFIG_GEN), g2);
}

static void irq_line(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->e.t.irq.gsi, 5);
	assert_int_equal(f->e.t.base, 0xc0001000);
	/* The irq eventfd is non-blocking and counts raises until taken. */
	vmmio_config_changed(&f->e.t);
	vmmio_config_changed(&f->e.t);
	assert_int_equal(f->e.t.irq.raised, 2);
	assert_int_equal(irqs(f), 2);
	assert_int_equal(irqs(f), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(identity),
	T(device_features),
	T(status_table),
	T(status_failed_is_final),
	T(features_ok_checks),
	T(driver_features_window),
	T(queue_num_max),
	T(queue_regs_window),
	T(queue_ready_refused),
	T(activation_on_vmm_thread),
	T(activation_with_event_idx),
	T(driver_ok_without_queue),
	T(activate_fails),
	T(notify_before_driver_ok),
	T(broken_queue),
	T(reset_restores_everything),
	T(access_width_and_alignment),
	T(config_space),
	T(interrupt_ack),
	T(config_generation),
	T(irq_line),
};

UT_MAIN(tests, NULL, NULL)
