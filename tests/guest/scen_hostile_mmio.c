/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: hostile-guest scenarios against the MMIO transport
 * itself: QueueSel out of range, notifications before DRIVER_OK, feature
 * and status mistakes, wrong access widths, a doorbell storm. The harness
 * (hostile.c) checks the other devices, resets and re-initialises the
 * target afterwards. */
#include "hostile.h"
#include "kbd.h"
#include "scenarios.h"

#define QUIET_US 50000
#define CONTRACT_QUEUE_MAX 256

static bool expect_reg(struct vdev *d, uint32_t off, uint32_t want, const char *what)
{
	uint32_t v = vreg_read(d, off);
	return v == want || hfail("%s: register 0x%03x reads 0x%x, expected 0x%x", what, off, v, want);
}

static bool expect_status(struct vdev *d, uint32_t want, const char *after)
{
	uint32_t st = vdev_status(d);
	return st == want || hfail("Status 0x%x after %s, expected 0x%x", st, after, want);
}

static void write_status(struct vdev *d, uint32_t v)
{
	vreg_write(d, VIRTIO_MMIO_STATUS, v);
}

/* ---------------------------------------------------------------- queue-sel */
static bool r_queue_sel(struct tgt *t, unsigned round)
{
	struct vdev *d = t->d;
	uint32_t nq = queue_count(t);
	const uint32_t bad[] = { nq, nq + 1, 0x8000, 0xffffffffu };
	(void)round;
	hround = "queue-sel";
	if (!vdev_negotiate(d, virtio_common_features()))
		return hfail("%s", virtio_err);
	for (uint32_t i = 0; i < nq; i++)
		if (!vq_setup(d, i, 0))
			return hfail("%s", virtio_err);
	for (unsigned k = 0; k < ARRAY_SIZE(bad); k++) {
		char what[48];
		snprintf(what, sizeof(what), "QueueSel 0x%x", bad[k]);
		vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, bad[k]);
		if (!expect_reg(d, VIRTIO_MMIO_QUEUE_NUM_MAX, 0, what) ||
		    !expect_reg(d, VIRTIO_MMIO_QUEUE_READY, 0, what))
			return false;
		/* None of this may reach a real queue. */
		vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, 8);
		vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xdead0000);
		vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0xdead1000);
		vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0xdead2000);
		vreg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
		if (!expect_reg(d, VIRTIO_MMIO_QUEUE_READY, 0, what))
			return false;
		vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 0);
	}
	for (uint32_t i = 0; i < nq; i++) {
		vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, i);
		if (!expect_reg(d, VIRTIO_MMIO_QUEUE_READY, 1, "a real queue after the bad QueueSels") ||
		    !expect_reg(d, VIRTIO_MMIO_QUEUE_NUM_MAX, CONTRACT_QUEUE_MAX, "QueueNumMax"))
			return false;
	}
	if (!expect_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK,
			   "writes to queue registers of non-existent queues"))
		return false;
	if (!vdev_driver_ok(d))
		return hfail("%s", virtio_err);
	if (!tgt_check(t))
		return false;
	/* Notifications naming queues that do not exist are ignored. */
	vreg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, nq);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	delay_us(QUIET_US);
	return expect_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK,
			     "QueueNotify of non-existent queues") && tgt_check(t);
}

/* Queue registers are writable only between DRIVER and DRIVER_OK. */
static bool r_queue_window(struct tgt *t)
{
	struct vdev *d = t->d;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	hround = "queue-writes-outside-driver..driver_ok";
	if (!vdev_reset(d))
		return hfail("%s", virtio_err);
	write_status(d, VIRTIO_STATUS_ACK);
	vq_mem(d, 0, &desc, &avail, &used);
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)dma_addr(desc));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)dma_addr(avail));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)dma_addr(used));
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!expect_reg(d, VIRTIO_MMIO_QUEUE_READY, 0, "QueueReady = 1 written before DRIVER") ||
	    !expect_status(d, VIRTIO_STATUS_ACK, "queue writes before DRIVER"))
		return false;
	/* The normal sequence from here: set-up must start from scratch. */
	write_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	uint64_t f = vdev_read_offered(d) & (virtio_common_features() | FEAT(VIRTIO_BLK_F_RO));
	d->features = f;
	d->event_idx = f & FEAT(VIRTIO_F_RING_EVENT_IDX);
	vdev_write_features(d, f);
	write_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (uint32_t i = 0; i < queue_count(t); i++)
		if (!vq_setup(d, i, 0))
			return hfail("%s", virtio_err);
	if (!vdev_driver_ok(d))
		return hfail("%s", virtio_err);
	/* Live: none of these may change the queue. */
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, t->q->index);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, 2);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xdead0000);
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0xdead2000);
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 0);
	if (!expect_reg(d, VIRTIO_MMIO_QUEUE_READY, 1, "QueueReady = 0 written after DRIVER_OK"))
		return false;
	for (int i = 0; i < 4; i++) /* more requests than a 2-entry queue holds */
		if (!tgt_check(t))
			return false;
	return true;
}

static bool r_queue_regs(struct tgt *t, unsigned round)
{
	return round ? r_queue_window(t) : r_queue_sel(t, round);
}

void scenario_hostile_queue_sel(void) { hostile_run(r_queue_regs, 2, 0); }

/* ---------------------------------------------------------------- notify-early */
static void notify_all(struct tgt *t)
{
	for (uint32_t i = 0; i < queue_count(t); i++)
		vreg_write(t->d, VIRTIO_MMIO_QUEUE_NOTIFY, i);
}

static bool r_notify_early(struct tgt *t, unsigned round)
{
	struct vdev *d = t->d;
	const uint32_t fok = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	(void)round;
	hround = "notify-early";
	if (!vdev_reset(d))
		return hfail("%s", virtio_err);
	notify_all(t);
	if (!expect_status(d, 0, "QueueNotify right after reset"))
		return false;
	write_status(d, VIRTIO_STATUS_ACK);
	notify_all(t);
	write_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	notify_all(t);
	uint64_t f = vdev_read_offered(d) & (virtio_common_features() | FEAT(VIRTIO_BLK_F_RO));
	d->features = f;
	d->event_idx = f & FEAT(VIRTIO_F_RING_EVENT_IDX);
	vdev_write_features(d, f);
	write_status(d, fok);
	notify_all(t);
	if (!expect_status(d, fok, "notifications before FEATURES_OK"))
		return false;
	for (uint32_t i = 0; i < queue_count(t); i++)
		if (!vq_setup(d, i, 0))
			return hfail("%s", virtio_err);
	/* A complete request, published and notified, before DRIVER_OK. */
	struct hreq r;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	notify_all(t);
	delay_us(QUIET_US);
	uint16_t used = __atomic_load_n(&t->q->used->idx, __ATOMIC_ACQUIRE);
	if (used)
		return hfail("the device served a request before DRIVER_OK (used->idx %u)", used);
	if (t->blk && (r.s->status != 0xee || r.data[0] != 0xcc))
		return hfail("the device wrote guest memory before DRIVER_OK");
	if (!expect_status(d, fok, "QueueNotify before DRIVER_OK"))
		return false;
	/* Now live: the same request must be served. */
	if (!vdev_driver_ok(d))
		return hfail("%s", virtio_err);
	vq_notify(d, t->q);
	uint32_t len;
	uint8_t st;
	if (!hwait_one(t, &len, &st))
		return false;
	if (t->blk && (st != VIRTIO_BLK_S_OK || len != SECTOR + 1))
		return hfail("the first request after DRIVER_OK: status %u, used length %u", st, len);
	return tgt_check(t);
}

void scenario_hostile_notify_early(void) { hostile_run(r_notify_early, 1, 0); }

/* ---------------------------------------------------------------- features */
static bool to_driver(struct vdev *d)
{
	if (!vdev_reset(d))
		return hfail("%s", virtio_err);
	write_status(d, VIRTIO_STATUS_ACK);
	write_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	return expect_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER, "ACK, DRIVER");
}

/* Writes status values in turn; each must read back as listed. */
static bool status_walk(struct vdev *d, const uint32_t (*steps)[2], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t before = vdev_status(d);
		write_status(d, steps[i][0]);
		uint32_t st = vdev_status(d);
		if (st != steps[i][1])
			return hfail("Status 0x%x -> write 0x%x -> reads 0x%x, expected 0x%x", before,
				     steps[i][0], st, steps[i][1]);
	}
	return true;
}

/* avail_event (the u16 after the used ring) after one normal request;
 * the ring is cleared by set-up, so 0 means the device did not write it. */
static bool avail_event_after_request(struct tgt *t, uint64_t features, bool late,
				      uint16_t *ev)
{
	struct vdev *d = t->d;
	if (!to_driver(d))
		return false;
	uint64_t offered = vdev_read_offered(d);
	d->features = offered & features;
	d->event_idx = false;
	vdev_write_features(d, d->features);
	write_status(d, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (late) /* too late: must be ignored */
		vdev_write_features(d, offered);
	d->event_idx = d->features & FEAT(VIRTIO_F_RING_EVENT_IDX);
	for (uint32_t i = 0; i < queue_count(t); i++)
		if (!vq_setup(d, i, 0))
			return hfail("%s", virtio_err);
	if (!vdev_driver_ok(d) || !tgt_check(t))
		return hfail("%s", virtio_err);
	*ev = *vq_avail_event(t->q);
	return true;
}

/* DriverFeatures written after FEATURES_OK is ignored: acking EVENT_IDX
 * late must not make the device publish avail_event. Control: with
 * EVENT_IDX negotiated properly it does. */
static bool late_features(struct tgt *t)
{
	uint16_t ev_on, ev_late;
	const uint64_t v1 = FEAT(VIRTIO_F_VERSION_1);
	hround = "late-feature-write";
	if (!(vdev_read_offered(t->d) & FEAT(VIRTIO_F_RING_EVENT_IDX))) {
		hskip();
		return true;
	}
	if (!avail_event_after_request(t, v1 | FEAT(VIRTIO_F_RING_EVENT_IDX), false, &ev_on) ||
	    !avail_event_after_request(t, v1, true, &ev_late))
		return false;
	if (!ev_on) {
		hnote("late-feature-write:no-avail_event-even-with-EVENT_IDX");
		return true;
	}
	if (ev_late)
		return hfail("avail_event written (%u) after EVENT_IDX was acked only after "
			     "FEATURES_OK (with EVENT_IDX negotiated: %u)", ev_late, ev_on);
	return true;
}

static bool r_features(struct tgt *t, unsigned round)
{
	struct vdev *d = t->d;
	const uint32_t drv = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER;
	const uint32_t fok = drv | VIRTIO_STATUS_FEATURES_OK;
	if (round <= 1) {
		if (!to_driver(d))
			return false;
		uint64_t offered = vdev_read_offered(d), ack;
		if (round == 0) {
			unsigned bit = VIRTIO_F_RING_PACKED;
			for (unsigned k = 0; k < 64 && (offered & FEAT(bit)); k++)
				bit = (bit + 1) % 64;
			hround = "unoffered-feature";
			ack = offered | FEAT(bit);
		} else {
			hround = "no-VERSION_1";
			ack = offered & ~FEAT(VIRTIO_F_VERSION_1);
		}
		vdev_write_features(d, ack);
		write_status(d, fok);
		uint32_t st = vdev_status(d);
		if (st != drv)
			return hfail("Status 0x%x after FEATURES_OK with features 0x%lx (offered "
				     "0x%lx): expected 0x%x, FEATURES_OK not sticking", st, ack,
				     offered, drv);
		return true;
	}
	if (round == 2) {
		/* Only the next bit of ACK, DRIVER, FEATURES_OK, DRIVER_OK. */
		static const uint32_t steps[][2] = {
			{ 0x3, 0x0 }, { 0x4, 0x0 }, { 0x8, 0x0 }, { 0x1, 0x1 },
			{ 0xb, 0x1 }, { 0x7, 0x1 }, { 0x3, 0x3 }, { 0x2, 0x3 },
			{ 0x7, 0x3 }, { 0x1, 0x3 },
		};
		hround = "status-order";
		if (!vdev_reset(d))
			return hfail("%s", virtio_err);
		if (!status_walk(d, steps, ARRAY_SIZE(steps)))
			return false;
		vdev_write_features(d, vdev_read_offered(d) & FEAT(VIRTIO_F_VERSION_1));
		static const uint32_t rest[][2] = { { 0xf, 0x3 }, { 0xb, 0xb }, { 0x3, 0xb } };
		return status_walk(d, rest, ARRAY_SIZE(rest));
	}
	if (round == 3) {
		/* DRIVER_OK with no ready queue: sticks, with NEEDS_RESET. */
		hround = "driver-ok-without-queues";
		if (!to_driver(d))
			return false;
		vdev_write_features(d, vdev_read_offered(d) & FEAT(VIRTIO_F_VERSION_1));
		write_status(d, fok);
		write_status(d, fok | VIRTIO_STATUS_DRIVER_OK);
		uint32_t st;
		if (!wait_needs_reset(d, &st) || !(st & VIRTIO_STATUS_DRIVER_OK))
			return hfail("Status 0x%x, expected DRIVER_OK | NEEDS_RESET (0x4f)", st);
		hnote("driver-ok-without-queues:isr=0x%x",
		      vreg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS));
		return true;
	}
	if (round == 4) {
		hround = "failed";
		if (!to_driver(d))
			return false;
		write_status(d, drv | VIRTIO_STATUS_FAILED);
		return expect_status(d, drv | VIRTIO_STATUS_FAILED, "setting FAILED");
	}
	return late_features(t);
}

void scenario_hostile_features(void) { hostile_run(r_features, 6, 0); }

/* ---------------------------------------------------------------- mmio-width */
static bool expect_zero(uint64_t got, const char *what, uint32_t off)
{
	return !got || hfail("%s at 0x%03x reads 0x%lx, expected 0", what, off, got);
}

/* Config space: 1, 2, 4 and 8-byte reads of the first 8 bytes agree. */
static bool config_widths(struct vdev *d)
{
	uint64_t c = d->base + VIRTIO_MMIO_CONFIG, v8 = 0, v16 = 0, v32 = 0, v64;
	for (unsigned i = 0; i < 8; i++)
		v8 |= (uint64_t)mmio_read8(c + i) << (8 * i);
	for (unsigned i = 0; i < 8; i += 2)
		v16 |= (uint64_t)mmio_read16(c + i) << (8 * i);
	for (unsigned i = 0; i < 8; i += 4)
		v32 |= (uint64_t)mmio_read32(c + i) << (8 * i);
	v64 = mmio_read64(c);
	if (v8 != v16 || v8 != v32 || v8 != v64)
		return hfail("config bytes 0-7 read 0x%lx (8-bit), 0x%lx (16), 0x%lx (32), "
			     "0x%lx (64)", v8, v16, v32, v64);
	return true;
}

static bool r_mmio_width(struct tgt *t, unsigned round)
{
	struct vdev *d = t->d;
	uint64_t b = d->base;
	static const uint32_t unknown[] = { 0x018, 0x01c, 0x028, 0x02c, 0x03c, 0x040,
					    0x048, 0x04c, 0x058, 0x068, 0x074, 0x0f8 };
	(void)round;
	hround = "reads";
	if (!expect_zero(mmio_read8(b), "8-bit MagicValue", 0) ||
	    !expect_zero(mmio_read8(b + 3), "8-bit MagicValue", 3) ||
	    !expect_zero(mmio_read16(b), "16-bit MagicValue", 0) ||
	    !expect_zero(mmio_read16(b + 2), "16-bit MagicValue", 2) ||
	    !expect_zero(mmio_read64(b), "64-bit MagicValue+Version", 0) ||
	    !expect_zero(mmio_read32(b + 1), "unaligned 32-bit", 1) ||
	    !expect_zero(mmio_read8(b + VIRTIO_MMIO_DEVICE_ID), "8-bit DeviceID", 8) ||
	    !expect_zero(mmio_read16(b + VIRTIO_MMIO_STATUS), "16-bit Status", 0x70) ||
	    !expect_zero(mmio_read8(b + VIRTIO_MMIO_QUEUE_NUM_MAX), "8-bit QueueNumMax", 0x34))
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++)
		if (!expect_zero(vreg_read(d, unknown[i]), "unknown register", unknown[i]))
			return false;
	if (!expect_reg(d, VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_MAGIC, "32-bit MagicValue"))
		return false;

	hround = "config";
	if (!config_widths(d))
		return false;
	/* An access that runs past the end of the structure (blk 16 bytes,
	 * net 12): the bytes inside read as they are, the rest as 0. */
	uint64_t end = b + VIRTIO_MMIO_CONFIG + (t->blk ? 16 : 12);
	uint64_t tail = mmio_read32(end - 4), across = mmio_read64(end - 4);
	if (across != tail)
		return hfail("an 8-byte config read across the end reads 0x%lx, expected 0x%lx",
			     across, tail);
	/* Both config structures are read-only: writes inside are ignored. */
	uint64_t c0 = mmio_read64(b + VIRTIO_MMIO_CONFIG);
	mmio_write64(b + VIRTIO_MMIO_CONFIG, ~c0);
	mmio_write32(b + VIRTIO_MMIO_CONFIG + 4, ~(uint32_t)(c0 >> 32));
	mmio_write16(b + VIRTIO_MMIO_CONFIG + 1, 0x5a5a);
	mmio_write8(b + VIRTIO_MMIO_CONFIG, (uint8_t)~c0);
	mmio_write64(end - 4, ~0ull);
	uint64_t c1 = mmio_read64(b + VIRTIO_MMIO_CONFIG);
	if (c1 != c0 || mmio_read32(end - 4) != tail)
		return hfail("config writes changed the config space: bytes 0-7 0x%lx -> 0x%lx, "
			     "last 4 0x%lx -> 0x%x", c0, c1, tail, mmio_read32(end - 4));
	static const uint32_t oob[] = { 0x200, 0x400, 0xff8 };
	for (unsigned i = 0; i < ARRAY_SIZE(oob); i++) {
		mmio_write8(b + oob[i], 0x5a);
		mmio_write32(b + oob[i] + 4, 0x5a5a5a5a);
		if (!expect_zero(mmio_read8(b + oob[i]), "config (8-bit) beyond the structure", oob[i]) ||
		    !expect_zero(mmio_read32(b + oob[i] + 4), "config (32-bit) beyond the structure",
				 oob[i] + 4) ||
		    !expect_zero(mmio_read64(b + oob[i]), "config (64-bit) beyond the structure",
				 oob[i]))
			return false;
	}

	hround = "writes";
	if (!vdev_reset(d))
		return hfail("%s", virtio_err);
	mmio_write8(b + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	if (!expect_status(d, 0, "an 8-bit write of ACK"))
		return false;
	mmio_write16(b + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	if (!expect_status(d, 0, "a 16-bit write of ACK"))
		return false;
	mmio_write64(b + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	if (!expect_status(d, 0, "a 64-bit write of ACK"))
		return false;
	mmio_write32(b + VIRTIO_MMIO_STATUS + 1, VIRTIO_STATUS_ACK);
	if (!expect_status(d, 0, "an unaligned 32-bit write of ACK"))
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++)
		vreg_write(d, unknown[i], 0xffffffffu);
	if (!expect_status(d, 0, "writes to unknown registers") || !to_driver(d))
		return false;
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	mmio_write8(b + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!expect_reg(d, VIRTIO_MMIO_DEVICE_FEATURES, lo, "after an 8-bit DeviceFeaturesSel = 1"))
		return false;
	mmio_write16(b + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!expect_reg(d, VIRTIO_MMIO_DEVICE_FEATURES, lo, "after a 16-bit DeviceFeaturesSel = 1"))
		return false;
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint32_t hi = vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(hi & 1))
		return hfail("DeviceFeatures[63:32] reads 0x%x without VERSION_1", hi);
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	return expect_reg(d, VIRTIO_MMIO_DEVICE_FEATURES, 0, "DeviceFeaturesSel 2");
}

void scenario_hostile_mmio_width(void) { hostile_run(r_mmio_width, 1, 0); }

/* ---------------------------------------------------------------- doorbell */
#define DOORBELL_BATCH 10000

/* Notifications until Ctrl-Alt-Del arrives from the host (polled between
 * batches: one exit per DOORBELL_BATCH notifications); how many, or 0
 * after timeout_s. */
static uint64_t doorbell_until_cad(uint64_t notify, uint32_t qi, uint64_t timeout_s)
{
	struct cad_matcher m = { false, false, false, false, false };
	deadline_t dl = deadline_in_us(timeout_s * 1000000);
	uint64_t sent = 0;
	while (!cad_done(&m)) {
		for (unsigned i = 0; i < DOORBELL_BATCH; i++)
			mmio_write32(notify, qi);
		sent += DOORBELL_BATCH;
		kbd_drain(&m);
		if (!cad_done(&m) && deadline_passed(dl))
			return 0;
	}
	return sent;
}

static bool r_doorbell(struct tgt *t, unsigned round)
{
	uint64_t count = param_u64("count", 1000000), bad = 1000;
	uint64_t notify = t->d->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	uint32_t qi = t->q->index;
	bool until_cad = param_u64("until_cad", 0);
	(void)round;
	hround = "doorbell";
	if (until_cad) {
		if (!kbd_present())
			return hfail("until_cad=1 needs an i8042");
		kbd_drain(NULL);
	}
	say("TEST %s START", test_name);
	uint64_t t0 = rdtsc();
	if (until_cad) {
		count = doorbell_until_cad(notify, qi, param_u64("timeout_s", 60));
		if (!count)
			return hfail("no Ctrl-Alt-Del from the host within the timeout");
	} else {
		for (uint64_t i = 0; i < count; i++)
			mmio_write32(notify, qi);
	}
	uint64_t t1 = rdtsc();
	for (uint64_t i = 0; i < bad; i++) /* no such queue: not an ioeventfd */
		mmio_write32(notify, 0x7fff);
	for (uint64_t i = 0; i < bad; i++) /* the wrong width: ignored, logged */
		mmio_write16(notify, (uint16_t)qi);
	uint64_t t2 = rdtsc(), per_ms = tsc_hz() / 1000;
	say("testguest: %s: %lu notifications in ~%lu ms, %lu for no queue and %lu 16-bit "
	    "in ~%lu ms", test_name, count, (t1 - t0) / per_ms, bad, bad, (t2 - t1) / per_ms);
	uint32_t st = vdev_status(t->d);
	if (st & VIRTIO_STATUS_NEEDS_RESET)
		return hfail("Status 0x%x after the storm of empty notifications", st);
	if (!tgt_check(t))
		return false;
	hnote("notifies=%lu ms=%lu%s", count, (t1 - t0) / per_ms, until_cad ? " cad=1" : "");
	return true;
}

void scenario_hostile_doorbell(void) { hostile_run(r_doorbell, 1, 0); }
