/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: virtio-blk helpers (virtio 1.2 §5.2) on top of
 * virtio.c. A request is three descriptors: the 16-byte header
 * (device-readable), the data (device-writable for IN and GET_ID,
 * device-readable for OUT; absent when len is 0) and the status byte
 * (device-writable). Header and status live in a per-ring-slot blk_slot in
 * DMA memory; the slot is the request's token. */
#include "virtio.h"

uint64_t virtio_common_features(void)
{
	uint64_t f = FEAT(VIRTIO_F_VERSION_1);
	if (param_u64("event_idx", 1))
		f |= FEAT(VIRTIO_F_RING_EVENT_IDX);
	return f;
}

unsigned vblk_count(void)
{
	return virtio_find(VIRTIO_ID_BLOCK, NULL, 0);
}

static bool vblk_start(struct vblk *b)
{
	struct vdev *d = &b->dev;
	bool irq = d->irq_mode;
	if (irq)
		vdev_irq_mode(d, false);
	uint64_t want = virtio_common_features() | FEAT(VIRTIO_BLK_F_RO) | FEAT(VIRTIO_BLK_F_FLUSH);
	if (!vdev_init(d, want, 1, (uint16_t)param_u64("qsize", 0)))
		return false;
	b->ro = d->offered & FEAT(VIRTIO_BLK_F_RO);
	b->flush = d->offered & FEAT(VIRTIO_BLK_F_FLUSH);
	b->capacity = vdev_config_read64(d, 0);
	b->inflight = 0;
	for (unsigned i = 0; i < VQ_MAX; i++) {
		b->slots[i].busy = 0;
		b->slots[i].index = (uint16_t)i;
	}
	if (irq || param_u64("irq", 0))
		vdev_irq_mode(d, true);
	return true;
}

bool vblk_open_slot(struct vblk *b, unsigned slot)
{
	static struct blk_slot *slot_mem[MAX_VIRTIO_DEVICES];
	memset(b, 0, sizeof(*b));
	if (!vdev_probe(&b->dev, slot))
		return false;
	if (b->dev.device_id != VIRTIO_ID_BLOCK) {
		verr("virtio device %u is not a block device (DeviceID %u)", slot, b->dev.device_id);
		return false;
	}
	if (!slot_mem[slot])
		slot_mem[slot] = dma_alloc(sizeof(struct blk_slot) * VQ_MAX, 64);
	b->slots = slot_mem[slot];
	if (!b->slots)
		return false;
	if (!vblk_start(b)) {
		char why[sizeof(virtio_err)];
		memcpy(why, virtio_err, sizeof(why));
		verr("block device at virtio %u: %s", slot, why);
		return false;
	}
	return true;
}

bool vblk_open(struct vblk *b, unsigned nth)
{
	int slot = virtio_nth(VIRTIO_ID_BLOCK, nth);
	if (slot < 0) {
		memset(b, 0, sizeof(*b));
		verr("no block device %u (%u virtio devices, %u block)", nth, virtio_dev_count,
		     vblk_count());
		return false;
	}
	return vblk_open_slot(b, (unsigned)slot);
}

bool vblk_reopen(struct vblk *b)
{
	return vblk_start(b);
}

bool vblk_submit(struct vblk *b, uint32_t type, uint64_t sector, uint64_t buf,
		 uint32_t len, uint64_t tag)
{
	struct virtq *q = &b->dev.vq[0];
	if (q->num_free < (len ? 3 : 2))
		return false;
	struct blk_slot *s = NULL;
	for (unsigned i = 0; i < q->size; i++) {
		if (!b->slots[i].busy) {
			s = &b->slots[i];
			break;
		}
	}
	if (!s)
		return false;
	s->type = type;
	s->reserved = 0;
	s->sector = sector;
	s->status = 0xee; /* not a status the device may write */
	s->busy = 1;
	s->len = len;
	s->buf = buf;
	s->tag = tag;
	struct vbuf v[3];
	unsigned n = 0;
	v[n++] = (struct vbuf){ dma_addr(s), 16, false };
	if (len)
		v[n++] = (struct vbuf){ buf, len, type != VIRTIO_BLK_T_OUT };
	v[n++] = (struct vbuf){ dma_addr(&s->status), 1, true };
	if (vq_add(q, v, n, s) < 0) {
		s->busy = 0;
		return false;
	}
	b->inflight++;
	return true;
}

bool vblk_complete(struct vblk *b, struct blk_done *out)
{
	uint32_t len;
	void *tok;
	if (!vq_pop(&b->dev, &b->dev.vq[0], &len, &tok))
		return false;
	struct blk_slot *s = tok;
	barrier();
	out->tag = s->tag;
	out->sector = s->sector;
	out->buf = s->buf;
	out->type = s->type;
	out->len = s->len;
	out->used_len = len;
	out->status = *(volatile uint8_t *)&s->status;
	s->busy = 0;
	b->inflight--;
	return true;
}

int vblk_sync(struct vblk *b, uint32_t type, uint64_t sector, uint64_t buf,
	      uint32_t len, uint32_t *used_len)
{
	if (!vblk_submit(b, type, sector, buf, len, 0)) {
		verr("block request: ring full");
		return -1;
	}
	vblk_kick(b);
	deadline_t dl = deadline_in_us(2000000);
	struct blk_done done;
	for (;;) {
		if (vblk_complete(b, &done))
			break;
		if (vq_broken)
			return -1;
		if (!vdev_wait(&b->dev, dl)) {
			verr("block request type %u sector %lu: no completion within 2 s "
			     "(Status 0x%x, InterruptStatus 0x%x)", type, sector,
			     vdev_status(&b->dev),
			     vreg_read(&b->dev, VIRTIO_MMIO_INTERRUPT_STATUS));
			return -1;
		}
	}
	if (used_len)
		*used_len = done.used_len;
	return done.status;
}
