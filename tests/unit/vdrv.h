/* SPDX-License-Identifier: Apache-2.0 */
/* A virtio "driver" for unit tests: the guest side of split virtqueues laid
 * out by hand in a struct guest_mem, and the virtio-mmio register dance done
 * through virtio_mmio_ops exactly as a vCPU would dispatch it. Shared by
 * test_virtqueue, test_virtio_mmio, test_virtio_blk and test_virtio_net.
 * Everything is static inline, as in unit.h. */
#ifndef EMBER_TESTS_UNIT_VDRV_H
#define EMBER_TESTS_UNIT_VDRV_H

#include "unit.h"

#include <poll.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/queue.h"

/* Guest RAM for every virtio test: two adjacent regions (so that "wholly in
 * one region" differs from "in RAM at both ends") and one after a gap. */
#define VD_R0 0x000000ull /* [0, 1 MiB) */
#define VD_R1 0x100000ull /* [1 MiB, 2 MiB), touching R0 */
#define VD_R2 0x400000ull /* [4 MiB, 5 MiB), after a gap */
#define VD_RSZ 0x100000ull
#define VD_GAP 0x300000ull /* not RAM */

/* Register offsets (§4.2.2), spelled out again on the driver side. */
enum {
	VD_MAGIC = 0x000,
	VD_VERSION = 0x004,
	VD_DEVICE_ID = 0x008,
	VD_VENDOR_ID = 0x00c,
	VD_DEV_FEAT = 0x010,
	VD_DEV_FEAT_SEL = 0x014,
	VD_DRV_FEAT = 0x020,
	VD_DRV_FEAT_SEL = 0x024,
	VD_QUEUE_SEL = 0x030,
	VD_QUEUE_NUM_MAX = 0x034,
	VD_QUEUE_NUM = 0x038,
	VD_QUEUE_READY = 0x044,
	VD_QUEUE_NOTIFY = 0x050,
	VD_INT_STATUS = 0x060,
	VD_INT_ACK = 0x064,
	VD_STATUS = 0x070,
	VD_DESC_LO = 0x080,
	VD_DESC_HI = 0x084,
	VD_DRIVER_LO = 0x090,
	VD_DRIVER_HI = 0x094,
	VD_DEVICE_LO = 0x0a0,
	VD_DEVICE_HI = 0x0a4,
	VD_CONFIG_GEN = 0x0fc,
	VD_CONFIG = 0x100,
};

#define VD_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define VD_DRV VIRTIO_STATUS_DRIVER
#define VD_FOK VIRTIO_STATUS_FEATURES_OK
#define VD_DOK VIRTIO_STATUS_DRIVER_OK
#define VD_NR VIRTIO_STATUS_NEEDS_RESET
#define VD_FAILED VIRTIO_STATUS_FAILED

static inline void vd_gm_init(struct guest_mem *gm)
{
	struct gm_layout l = {
		.base = {VD_R0, VD_R1, VD_R2}, .size = {VD_RSZ, VD_RSZ, VD_RSZ}, .n = 3};
	int ret = gm_init(gm, &l, GM_BACKING_4K);
	if (ret)
		fail_msg("gm_init failed: %d", ret);
}

/* A host pointer into guest RAM, asserting it is there. */
static inline void *vd_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		fail_msg("test bug: 0x%llx+%llu is not guest RAM", (unsigned long long)gpa,
			 (unsigned long long)len);
	return p;
}

static inline uint16_t vd_get16(const struct guest_mem *gm, gpa_t gpa)
{
	uint16_t v;
	memcpy(&v, vd_ptr(gm, gpa, 2), 2);
	return v;
}

static inline void vd_put16(const struct guest_mem *gm, gpa_t gpa, uint16_t v)
{
	memcpy(vd_ptr(gm, gpa, 2), &v, 2);
}

static inline uint32_t vd_get32(const struct guest_mem *gm, gpa_t gpa)
{
	uint32_t v;
	memcpy(&v, vd_ptr(gm, gpa, 4), 4);
	return v;
}

/* ---------------------------------------------------------------- rings */

/* One queue as the driver sees it. */
struct vd_q {
	const struct guest_mem *gm;
	gpa_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx; /* next avail->idx to publish */
	uint16_t next_desc; /* descriptors are handed out round-robin */
};

/* Rings of queue `n` (0..3) at fixed places in R0, sized for 256 entries. */
static inline void vd_q_init(struct vd_q *q, const struct guest_mem *gm, unsigned n, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->gm = gm;
	q->size = size;
	q->desc = 0x10000 + n * 0x4000;
	q->avail = q->desc + 0x1000;
	q->used = q->desc + 0x2000;
	memset(vd_ptr(gm, q->desc, 0x3000), 0, 0x3000);
}

static inline void vd_desc(const struct vd_q *q, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	memcpy(vd_ptr(q->gm, q->desc + 16ull * i, 16), &d, 16);
}

/* avail->ring[slot] = head (slot taken modulo the size). */
static inline void vd_avail_slot(const struct vd_q *q, uint16_t slot, uint16_t head)
{
	vd_put16(q->gm, q->avail + 4 + 2ull * (slot % q->size), head);
}

static inline void vd_set_avail_idx(struct vd_q *q, uint16_t idx)
{
	q->avail_idx = idx;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vd_put16(q->gm, q->avail + 2, idx);
}

/* Makes `head` available: the ring entry, then the index. */
static inline void vd_push(struct vd_q *q, uint16_t head)
{
	vd_avail_slot(q, q->avail_idx, head);
	vd_set_avail_idx(q, (uint16_t)(q->avail_idx + 1));
}

static inline void vd_avail_flags(const struct vd_q *q, uint16_t flags)
{
	vd_put16(q->gm, q->avail, flags);
}

/* used_event lives after avail->ring[size]; avail_event after used->ring. */
static inline void vd_set_used_event(const struct vd_q *q, uint16_t v)
{
	vd_put16(q->gm, q->avail + 4 + 2ull * q->size, v);
}

static inline uint16_t vd_avail_event(const struct vd_q *q)
{
	return vd_get16(q->gm, q->used + 4 + 8ull * q->size);
}

static inline uint16_t vd_used_flags(const struct vd_q *q)
{
	return vd_get16(q->gm, q->used);
}

static inline uint16_t vd_used_idx(const struct vd_q *q)
{
	return vd_get16(q->gm, q->used + 2);
}

static inline uint32_t vd_used_id(const struct vd_q *q, uint16_t i)
{
	return vd_get32(q->gm, q->used + 4 + 8ull * (i % q->size));
}

static inline uint32_t vd_used_len(const struct vd_q *q, uint16_t i)
{
	return vd_get32(q->gm, q->used + 8 + 8ull * (i % q->size));
}

/* One buffer of a chain. */
struct vd_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

/* Writes a chain of n buffers into the next free descriptors and makes it
 * available. Returns its head. */
static inline uint16_t vd_chain(struct vd_q *q, const struct vd_buf *b, unsigned n)
{
	uint16_t head = q->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = q->next_desc;
		q->next_desc = (uint16_t)((q->next_desc + 1) % q->size);
		vd_desc(q, cur, b[i].addr, b[i].len,
			(uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			i + 1 < n ? q->next_desc : 0);
	}
	vd_push(q, head);
	return head;
}

/* ---------------------------------------------------------------- transport */

static inline uint32_t vd_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	virtio_mmio_ops.read(t, off, (uint8_t *)&v, 4);
	return v;
}

static inline void vd_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(t, off, (const uint8_t *)&v, 4);
}

/* Reads `len` bytes at `off`, returned little-endian in a u64 (the buffer
 * starts poisoned so that an untouched byte shows). */
static inline uint64_t vd_rdn(struct virtio_mmio *t, uint64_t off, uint32_t len)
{
	uint8_t b[8];
	uint64_t v = 0;
	memset(b, 0xa5, sizeof(b));
	virtio_mmio_ops.read(t, off, b, len);
	memcpy(&v, b, len);
	return v;
}

static inline void vd_wrn(struct virtio_mmio *t, uint64_t off, uint64_t v, uint32_t len)
{
	uint8_t b[8];
	memcpy(b, &v, sizeof(b));
	virtio_mmio_ops.write(t, off, b, len);
}

static inline uint64_t vd_dev_features(struct virtio_mmio *t)
{
	vd_wr(t, VD_DEV_FEAT_SEL, 1);
	uint64_t hi = vd_rd(t, VD_DEV_FEAT);
	vd_wr(t, VD_DEV_FEAT_SEL, 0);
	return hi << 32 | vd_rd(t, VD_DEV_FEAT);
}

static inline void vd_drv_features(struct virtio_mmio *t, uint64_t f)
{
	vd_wr(t, VD_DRV_FEAT_SEL, 0);
	vd_wr(t, VD_DRV_FEAT, (uint32_t)f);
	vd_wr(t, VD_DRV_FEAT_SEL, 1);
	vd_wr(t, VD_DRV_FEAT, (uint32_t)(f >> 32));
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status
 * read back. */
static inline uint32_t vd_negotiate(struct virtio_mmio *t, uint64_t features)
{
	vd_wr(t, VD_STATUS, 0);
	vd_wr(t, VD_STATUS, VD_ACK);
	vd_wr(t, VD_STATUS, VD_ACK | VD_DRV);
	vd_drv_features(t, features);
	vd_wr(t, VD_STATUS, VD_ACK | VD_DRV | VD_FOK);
	return vd_rd(t, VD_STATUS);
}

/* Programs queue `qi` from q and sets QueueReady; returns QueueReady. */
static inline uint32_t vd_queue(struct virtio_mmio *t, unsigned qi, const struct vd_q *q)
{
	vd_wr(t, VD_QUEUE_SEL, qi);
	vd_wr(t, VD_QUEUE_NUM, q->size);
	vd_wr(t, VD_DESC_LO, (uint32_t)q->desc);
	vd_wr(t, VD_DESC_HI, (uint32_t)(q->desc >> 32));
	vd_wr(t, VD_DRIVER_LO, (uint32_t)q->avail);
	vd_wr(t, VD_DRIVER_HI, (uint32_t)(q->avail >> 32));
	vd_wr(t, VD_DEVICE_LO, (uint32_t)q->used);
	vd_wr(t, VD_DEVICE_HI, (uint32_t)(q->used >> 32));
	vd_wr(t, VD_QUEUE_READY, 1);
	return vd_rd(t, VD_QUEUE_READY);
}

/* DRIVER_OK, then the VMM thread's turn on the control eventfd. */
static inline void vd_driver_ok(struct virtio_mmio *t)
{
	vd_wr(t, VD_STATUS, VD_ACK | VD_DRV | VD_FOK | VD_DOK);
	vmmio_handle_control(t);
}

/* QueueNotify as KVM delivers it: the ioeventfd, then the VMM thread. */
static inline void vd_kick(struct virtio_mmio *t, unsigned qi)
{
	uint64_t one = 1;
	if (write(t->notify_fd[qi], &one, sizeof(one)) != (ssize_t)sizeof(one))
		fail_msg("writing the notify eventfd: %s", strerror(errno));
	vmmio_handle_notify(t, qi);
}

/* Whether fd becomes readable within ms. */
static inline bool vd_wait_fd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

#endif
