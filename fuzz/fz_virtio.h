/* SPDX-License-Identifier: Apache-2.0 */
/* The guest side of virtio for the fuzz targets (virtqueue, mmio, blk,
 * net): a small guest RAM with three regions (two touching, one after a
 * gap), split rings at guest addresses, buffer addresses and lengths drawn
 * from the input so that most land in RAM and some straddle a region end,
 * fall in the gap, run past RAM or wrap past 2^64, and the MMIO register
 * dance through virtio_mmio_ops. Same shapes as tests/unit/vdrv.h, without
 * cmocka. */
#ifndef EMBER_FUZZ_FZ_VIRTIO_H
#define EMBER_FUZZ_FZ_VIRTIO_H

#include "devices/virtio/mmio.h"
#include "devices/virtio/queue.h"
#include "fuzz.h"

/* Guest RAM: R0 [0, 64 KiB), R1 [64 KiB, 128 KiB) touching it, R2
 * [256 KiB, 320 KiB) after a gap. */
#define FV_R0  0x00000ull
#define FV_R1  0x10000ull
#define FV_R2  0x40000ull
#define FV_RSZ 0x10000ull
#define FV_GAP 0x20000ull
#define FV_END (FV_R2 + FV_RSZ)

/* Rings of queue n (0-2) at fixed places in R0, room for 256 entries;
 * buffers go in [FV_BUF, ...) of R0, in R1 and in R2. */
#define FV_DESC(n)  (0x1000ull + 0x4000ull * (n))
#define FV_AVAIL(n) (FV_DESC(n) + 0x1000)
#define FV_USED(n)  (FV_DESC(n) + 0x2000)
#define FV_BUF	    0xd000ull

static const struct gm_layout fv_layout = {
    .base = {FV_R0, FV_R1, FV_R2}, .size = {FV_RSZ, FV_RSZ, FV_RSZ}, .n = 3};

/* Ring sizes in bytes for a queue of n entries (§2.7). */
#define FV_DESC_BYTES(n)  (16ull * (n))
#define FV_AVAIL_BYTES(n) (6ull + 2ull * (n))
#define FV_USED_BYTES(n)  (6ull + 8ull * (n))

/* A buffer address: mostly RAM that is free for buffers, sometimes an edge. */
static inline uint64_t fv_addr(struct fin *f)
{
	uint8_t sel = fin_u8(f);
	uint16_t off = fin_u16(f);

	switch (sel % 16) {
	case 0:
	case 1:
	case 2:
	case 3:
		return FV_BUF + off % (FV_R1 - FV_BUF);
	case 4:
	case 5:
	case 6:
		return FV_R1 + off % FV_RSZ;
	case 7:
	case 8:
		return FV_R2 + off % FV_RSZ;
	case 9: /* ends just before or straddles the R0/R1 seam */
		return FV_R1 - 1 - off % 64;
	case 10: /* straddles the end of R1 into the gap */
		return FV_R1 + FV_RSZ - 1 - off % 64;
	case 11: /* the end of RAM */
		return FV_END - 1 - off % 64;
	case 12:
		return FV_GAP + off;
	case 13: /* wraps past 2^64 */
		return UINT64_MAX - off % 64;
	case 14: /* the rings themselves */
		return FV_DESC(0) + off % (FV_BUF - FV_DESC(0));
	default:
		return fin_u64(f);
	}
}

/* A buffer length: mostly small, some sector-sized, some huge. */
static inline uint32_t fv_len(struct fin *f)
{
	uint8_t sel = fin_u8(f);

	switch (sel % 8) {
	case 0:
	case 1:
		return sel >> 3;
	case 2:
		return 16;
	case 3:
		return 512u * (1 + (sel >> 6));
	case 4:
		return 1;
	case 5:
		return fin_u16(f) % 0x2000;
	case 6:
		return 0;
	default:
		return fin_u32(f);
	}
}

/* ---------------------------------------------------------------- rings */

/* One queue as the driver sees it. */
struct fv_q {
	const struct guest_mem *gm;
	gpa_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx; /* next avail->idx to publish */
	uint16_t next_desc; /* descriptors are handed out round-robin */
};

static inline void fv_q_init(struct fv_q *q, const struct guest_mem *gm, unsigned n, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->gm = gm;
	q->size = size;
	q->desc = FV_DESC(n);
	q->avail = FV_AVAIL(n);
	q->used = FV_USED(n);
}

static inline void fv_put16(const struct guest_mem *gm, gpa_t gpa, uint16_t v)
{
	void *p = gm_ptr(gm, gpa, 2);
	if (p)
		memcpy(p, &v, 2);
}

static inline uint16_t fv_get16(const struct guest_mem *gm, gpa_t gpa)
{
	uint16_t v = 0;
	const void *p = gm_ptr(gm, gpa, 2);
	if (p)
		memcpy(&v, p, 2);
	return v;
}

static inline uint32_t fv_get32(const struct guest_mem *gm, gpa_t gpa)
{
	uint32_t v = 0;
	const void *p = gm_ptr(gm, gpa, 4);
	if (p)
		memcpy(&v, p, 4);
	return v;
}

static inline void fv_desc(const struct fv_q *q, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	void *p = gm_ptr(q->gm, q->desc + 16ull * (i % q->size), 16);
	if (p)
		memcpy(p, &d, 16);
}

static inline struct virtq_desc fv_get_desc(const struct fv_q *q, uint16_t i)
{
	struct virtq_desc d;
	memset(&d, 0, sizeof(d));
	const void *p = gm_ptr(q->gm, q->desc + 16ull * i, 16);
	if (p)
		memcpy(&d, p, 16);
	return d;
}

static inline void fv_set_avail_idx(struct fv_q *q, uint16_t idx)
{
	q->avail_idx = idx;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fv_put16(q->gm, q->avail + 2, idx);
}

/* avail->ring[avail_idx] = head, then the index. */
static inline void fv_push(struct fv_q *q, uint16_t head)
{
	fv_put16(q->gm, q->avail + 4 + 2ull * (q->avail_idx % q->size), head);
	fv_set_avail_idx(q, (uint16_t)(q->avail_idx + 1));
}

static inline uint16_t fv_used_idx(const struct fv_q *q)
{
	return fv_get16(q->gm, q->used + 2);
}

static inline uint32_t fv_used_id(const struct fv_q *q, uint16_t i)
{
	return fv_get32(q->gm, q->used + 4 + 8ull * (i % q->size));
}

static inline uint32_t fv_used_len(const struct fv_q *q, uint16_t i)
{
	return fv_get32(q->gm, q->used + 8 + 8ull * (i % q->size));
}

static inline void fv_set_used_event(const struct fv_q *q, uint16_t v)
{
	fv_put16(q->gm, q->avail + 4 + 2ull * q->size, v);
}

/* The chain at avail entry `slot`, walked as docs/virtio.md says a pop
 * walks it (head and every next < size, at most size descriptors, no
 * INDIRECT): VQ_OK with the copy in c, or the fault that breaks the queue.
 * The avail index is not looked at. */
static inline enum vq_fault fv_walk(const struct fv_q *q, uint16_t slot, struct vq_chain *c)
{
	uint16_t head = fv_get16(q->gm, q->avail + 4 + 2ull * (slot % q->size));
	if (head >= q->size)
		return VQ_FAULT_HEAD_RANGE;
	c->head = head;
	c->n = 0;
	for (uint16_t i = head;;) {
		if (c->n == q->size)
			return VQ_FAULT_CHAIN_LONG;
		struct virtq_desc d = fv_get_desc(q, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return VQ_FAULT_INDIRECT;
		c->d[c->n++] = d;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VQ_OK;
		if (d.next >= q->size)
			return VQ_FAULT_NEXT_RANGE;
		i = d.next;
	}
}

/* [a, a+len) touches the ring area of the queues (FV_DESC(0) to FV_BUF). */
static inline bool fv_in_rings(uint64_t a, uint64_t len)
{
	return ranges_overlap(a, len ? len : 1, FV_DESC(0), FV_BUF - FV_DESC(0));
}

/* Guest-physical ranges the device may write on its own: the used ring
 * with avail_event. */
static inline void fv_allow_used(struct fz_ranges *rs, const struct fv_q *q)
{
	fz_ranges_add(rs, q->used, FV_USED_BYTES(q->size));
}

/* ---------------------------------------------------------------- transport */

static inline uint32_t fv_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	virtio_mmio_ops.read(t, off, (uint8_t *)&v, 4);
	return v;
}

static inline void fv_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(t, off, (const uint8_t *)&v, 4);
}

/* Register offsets (§4.2.2), spelled out on the driver side. */
enum {
	FV_MAGIC = 0x000,
	FV_VERSION = 0x004,
	FV_DEVICE_ID = 0x008,
	FV_VENDOR_ID = 0x00c,
	FV_DEV_FEAT = 0x010,
	FV_DEV_FEAT_SEL = 0x014,
	FV_DRV_FEAT = 0x020,
	FV_DRV_FEAT_SEL = 0x024,
	FV_QUEUE_SEL = 0x030,
	FV_QUEUE_NUM_MAX = 0x034,
	FV_QUEUE_NUM = 0x038,
	FV_QUEUE_READY = 0x044,
	FV_QUEUE_NOTIFY = 0x050,
	FV_INT_STATUS = 0x060,
	FV_INT_ACK = 0x064,
	FV_STATUS = 0x070,
	FV_DESC_LO = 0x080,
	FV_DESC_HI = 0x084,
	FV_DRIVER_LO = 0x090,
	FV_DRIVER_HI = 0x094,
	FV_DEVICE_LO = 0x0a0,
	FV_DEVICE_HI = 0x0a4,
	FV_CONFIG_GEN = 0x0fc,
	FV_CONFIG = 0x100,
};

#define FV_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define FV_DRV VIRTIO_STATUS_DRIVER
#define FV_FOK VIRTIO_STATUS_FEATURES_OK
#define FV_DOK VIRTIO_STATUS_DRIVER_OK
#define FV_NR  VIRTIO_STATUS_NEEDS_RESET

static inline void fv_drv_features(struct virtio_mmio *t, uint64_t f)
{
	fv_wr(t, FV_DRV_FEAT_SEL, 0);
	fv_wr(t, FV_DRV_FEAT, (uint32_t)f);
	fv_wr(t, FV_DRV_FEAT_SEL, 1);
	fv_wr(t, FV_DRV_FEAT, (uint32_t)(f >> 32));
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; the status read back. */
static inline uint32_t fv_negotiate(struct virtio_mmio *t, uint64_t features)
{
	fv_wr(t, FV_STATUS, 0);
	fv_wr(t, FV_STATUS, FV_ACK);
	fv_wr(t, FV_STATUS, FV_ACK | FV_DRV);
	fv_drv_features(t, features);
	fv_wr(t, FV_STATUS, FV_ACK | FV_DRV | FV_FOK);
	return fv_rd(t, FV_STATUS);
}

/* Programs queue qi from q and sets QueueReady; returns QueueReady. */
static inline uint32_t fv_queue(struct virtio_mmio *t, unsigned qi, const struct fv_q *q)
{
	fv_wr(t, FV_QUEUE_SEL, qi);
	fv_wr(t, FV_QUEUE_NUM, q->size);
	fv_wr(t, FV_DESC_LO, (uint32_t)q->desc);
	fv_wr(t, FV_DESC_HI, (uint32_t)(q->desc >> 32));
	fv_wr(t, FV_DRIVER_LO, (uint32_t)q->avail);
	fv_wr(t, FV_DRIVER_HI, (uint32_t)(q->avail >> 32));
	fv_wr(t, FV_DEVICE_LO, (uint32_t)q->used);
	fv_wr(t, FV_DEVICE_HI, (uint32_t)(q->used >> 32));
	fv_wr(t, FV_QUEUE_READY, 1);
	return fv_rd(t, FV_QUEUE_READY);
}

/* DRIVER_OK, then the VMM thread's turn on the control eventfd. */
static inline void fv_driver_ok(struct virtio_mmio *t)
{
	fv_wr(t, FV_STATUS, FV_ACK | FV_DRV | FV_FOK | FV_DOK);
	vmmio_handle_control(t);
}

/* QueueNotify as KVM delivers it: the ioeventfd, then the VMM thread. */
static inline void fv_kick(struct virtio_mmio *t, unsigned qi)
{
	uint64_t one = 1;
	CHECK(write(t->notify_fd[qi], &one, sizeof(one)) == sizeof(one));
	vmmio_handle_notify(t, qi);
}

/* Takes an eventfd's counter (0 when not signalled). */
static inline uint64_t fv_efd_take(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

#endif
