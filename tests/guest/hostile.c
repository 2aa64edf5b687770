/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: harness and helpers of the hostile-* scenarios; see
 * hostile.h. */
#include "hostile.h"

#define WAIT_US 2000000
#define BROKEN_US 1000000
#define PROBE_US 50000

static struct tgt target NOINIT, other NOINIT; /* tgt_open() clears */
const char *hround = "";
uint8_t *hscratch;
static char why[300];
static char notes[200];
static bool skipped;

bool hfail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

void hnote(const char *fmt, ...)
{
	size_t n = strlen(notes);
	if (n + 2 >= sizeof(notes))
		return;
	if (n)
		notes[n++] = ' ';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(notes + n, sizeof(notes) - n, fmt, ap);
	va_end(ap);
}

void hskip(void)
{
	skipped = true;
}

uint64_t ram_top(void)
{
	return ram_end();
}

bool ram_reaches_gap(void)
{
	for (unsigned i = 0; i < boot.mem_count; i++) {
		const struct mem_region *r = &boot.mem[i];
		if (r->type == E820_RAM && r->base < MMIO_GAP_START &&
		    r->base + r->size >= MMIO_GAP_START)
			return true;
	}
	return false;
}

uint32_t queue_count(const struct tgt *t)
{
	return t->blk ? 1 : 2;
}

/* ---------------------------------------------------------------- devices */
static bool tgt_open(struct tgt *t, unsigned slot)
{
	memset(t, 0, sizeof(*t));
	t->slot = slot;
	uint32_t id = virtio_device_id(slot);
	bool ok;
	if (id == VIRTIO_ID_BLOCK) {
		t->blk = true;
		ok = vblk_open_slot(&t->b, slot);
		t->d = &t->b.dev;
		t->q = &t->d->vq[0];
	} else if (id == VIRTIO_ID_NET) {
		ok = vnet_open_slot(&t->n, slot);
		t->d = &t->n.dev;
		t->q = &t->d->vq[1];
	} else {
		return hfail("virtio device %u: DeviceID %u is neither net nor block", slot, id);
	}
	return ok || hfail("%s", virtio_err);
}

static bool tgt_reopen(struct tgt *t)
{
	vq_broken = false;
	bool ok = t->blk ? vblk_reopen(&t->b) : vnet_reopen(&t->n);
	return ok || hfail("re-initialisation after the reset: %s", virtio_err);
}

static bool net_check(struct tgt *t)
{
	uint8_t f[60];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, t->n.has_mac ? t->n.mac : (const uint8_t *)"\x02\0\0\0\0\x01", 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, "ember-hostile-check", 19);
	vnet_tx_reap(&t->n);
	if (!vnet_send(&t->n, f, sizeof(f), false, true))
		return hfail("TX ring full");
	deadline_t dl = deadline_in_us(WAIT_US);
	while (vnet_tx_inflight(&t->n)) {
		if (vnet_tx_reap(&t->n))
			continue;
		if (vq_broken)
			return hfail("%s", virtio_err);
		if (!vdev_wait(t->d, dl))
			return hfail("a normal TX frame was not used within 2 s (Status 0x%x)",
				     vdev_status(t->d));
	}
	return true;
}

bool tgt_check(struct tgt *t)
{
	uint32_t st = vdev_status(t->d);
	if (st & VIRTIO_STATUS_NEEDS_RESET)
		return hfail("Status 0x%x has NEEDS_RESET", st);
	if (!t->blk)
		return net_check(t);
	uint32_t used = 0;
	memset(hscratch, 0xcc, SECTOR);
	int r = vblk_sync(&t->b, VIRTIO_BLK_T_IN, 0, dma_addr(hscratch), SECTOR, &used);
	if (r < 0)
		return hfail("normal read: %s", virtio_err);
	if (r != VIRTIO_BLK_S_OK || used != SECTOR + 1)
		return hfail("normal read: status %d, used length %u (expected 0, %u)", r, used,
			     SECTOR + 1);
	return true;
}

static unsigned check_others(void)
{
	unsigned n = 0;
	for (unsigned s = 0; s < virtio_dev_count; s++) {
		uint32_t id = virtio_device_id(s);
		if (s == target.slot || (id != VIRTIO_ID_BLOCK && id != VIRTIO_ID_NET))
			continue;
		if (!tgt_open(&other, s) || !tgt_check(&other)) {
			char w[sizeof(why)];
			memcpy(w, why, sizeof(w));
			hfail("other device (virtio %u) while the target is in trouble: %s", s, w);
			return ~0u;
		}
		vdev_reset(other.d);
		n++;
	}
	return n;
}

static int pick_target(unsigned flags)
{
	const char *dev = param_get("dev");
	if (dev && *dev)
		return (int)param_u64("dev", 0);
	if (flags & HOSTILE_NET_ONLY)
		return virtio_nth(VIRTIO_ID_NET, 0);
	int s = virtio_nth(VIRTIO_ID_BLOCK, 0);
	if (s < 0)
		s = virtio_nth(VIRTIO_ID_NET, 0);
	return s;
}

void hostile_run(hround_fn fn, unsigned rounds, unsigned flags)
{
	unsigned others = 0, done = 0, skips = 0;
	notes[0] = 0;
	if (!hscratch && !(hscratch = dma_alloc(HSCRATCH_SIZE, 4096))) {
		test_fail("%s", virtio_err);
		return;
	}
	if (param_u64("irq", 0)) {
		test_fail("hostile scenarios poll; irq=1 is not supported");
		return;
	}
	int slot = pick_target(flags);
	if (slot < 0) {
		test_fail("no suitable virtio device");
		return;
	}
	if (!tgt_open(&target, (unsigned)slot)) {
		test_fail("target (virtio %d): %s", slot, why);
		return;
	}
	if ((flags & HOSTILE_BLK_ONLY) && !target.blk) {
		test_fail("the target (virtio %d) must be a block device", slot);
		return;
	}
	if ((flags & HOSTILE_NET_ONLY) && target.blk) {
		test_fail("the target (virtio %d) must be a network device", slot);
		return;
	}
	const char *only = param_get("round");
	for (unsigned r = 0; r < rounds; r++) {
		if (only && *only && param_u64("round", 0) != r)
			continue;
		hround = "?";
		skipped = false;
		vq_broken = false;
		if (!fn(&target, r)) {
			test_fail("%s: %s", hround, why);
			return;
		}
		if (skipped) {
			skips++;
			continue;
		}
		done++;
		others = check_others();
		if (others == ~0u) {
			test_fail("%s: %s", hround, why);
			return;
		}
		vdev_reset(target.d);
		if (!tgt_reopen(&target) || !tgt_check(&target)) {
			test_fail("%s: after reset and re-initialisation: %s", hround, why);
			return;
		}
	}
	test_pass("rounds=%u others=%u%s%s", done, others, notes[0] ? " " : "", notes);
	(void)skips;
}

/* ---------------------------------------------------------------- requests */
void hreq_init(struct tgt *t, struct hreq *r, uint32_t type)
{
	memset(r, 0, sizeof(*r));
	r->head = -1;
	if (t->blk) {
		struct blk_slot *s = NULL;
		for (unsigned i = 0; i < t->q->size && !s; i++)
			if (!t->b.slots[i].busy)
				s = &t->b.slots[i];
		if (!s) /* cannot happen: rounds keep a request or two in flight */
			s = &t->b.slots[0];
		r->s = s;
		s->type = type;
		s->reserved = 0;
		s->sector = 0;
		s->status = 0xee;
		s->len = SECTOR;
		r->data = hscratch + SECTOR;
		s->buf = dma_addr(r->data);
		memset(r->data, 0xcc, SECTOR);
		r->v[0] = (struct vbuf){ dma_addr(s), 16, false };
		r->v[1] = (struct vbuf){ dma_addr(r->data), SECTOR, type != VIRTIO_BLK_T_OUT };
		r->v[2] = (struct vbuf){ dma_addr(&s->status), 1, true };
		r->n = 3;
	} else {
		struct vnet *n = &t->n;
		vnet_tx_reap(n);
		r->buf = n->tx_bufs + (uint64_t)n->tx_free[n->tx_nfree - 1] * VNET_BUF;
		memset(r->buf, 0, VNET_HDR_LEN + 60);
		memset(r->buf + VNET_HDR_LEN, 0xff, 6);
		r->buf[VNET_HDR_LEN + 12] = ETHERTYPE_TEST >> 8;
		r->buf[VNET_HDR_LEN + 13] = ETHERTYPE_TEST & 0xff;
		memcpy(r->buf + VNET_HDR_LEN + 14, "ember-hostile", 13);
		r->v[0] = (struct vbuf){ dma_addr(r->buf), VNET_HDR_LEN, false };
		r->v[1] = (struct vbuf){ dma_addr(r->buf) + VNET_HDR_LEN, 60, false };
		r->n = 2;
	}
}

bool hreq_add(struct tgt *t, struct hreq *r)
{
	void *token = t->blk ? (void *)r->s : (void *)r->buf;
	r->head = vq_add(t->q, r->v, r->n, token);
	if (r->head < 0)
		return hfail("ring full");
	uint16_t i = (uint16_t)r->head;
	for (unsigned k = 0; k < r->n; k++) {
		r->idx[k] = i;
		i = t->q->desc[i].next;
	}
	if (t->blk) {
		r->s->busy = 1;
		t->b.inflight++;
	} else {
		t->n.tx_nfree--;
	}
	return true;
}

void hsubmit(struct tgt *t)
{
	vq_publish(t->q);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq_notify(t->d, t->q);
}

bool hwait_one(struct tgt *t, uint32_t *used_len, uint8_t *status)
{
	deadline_t dl = deadline_in_us(WAIT_US);
	for (;;) {
		if (t->blk) {
			struct blk_done d;
			if (vblk_complete(&t->b, &d)) {
				*used_len = d.used_len;
				*status = d.status;
				return true;
			}
		} else {
			void *tok;
			if (vq_pop(t->d, t->q, used_len, &tok)) {
				struct vnet *n = &t->n;
				n->tx_free[n->tx_nfree++] =
					(uint16_t)((uint64_t)((uint8_t *)tok - n->tx_bufs) / VNET_BUF);
				*status = 0;
				return true;
			}
		}
		if (vq_broken)
			return hfail("%s", virtio_err);
		if (!vdev_wait(t->d, dl))
			return hfail("no used element within 2 s (Status 0x%x, InterruptStatus 0x%x)",
				     vdev_status(t->d),
				     vreg_read(t->d, VIRTIO_MMIO_INTERRUPT_STATUS));
	}
}

bool expect_request(struct tgt *t, int want_status)
{
	uint32_t used;
	uint8_t st;
	if (!hwait_one(t, &used, &st))
		return false;
	if (!t->blk) {
		if (used != 0)
			return hfail("TX chain used with length %u, expected 0", used);
	} else if (want_status < 0) {
		if (used != 0 || st != 0xee)
			return hfail("used length %u, status byte 0x%x; expected length 0 and the "
				     "byte untouched (0xee)", used, st);
	} else if (st != want_status || used != 1) {
		return hfail("status %u, used length %u; expected status %d, length 1", st, used,
			     want_status);
	}
	uint32_t s = vdev_status(t->d);
	if (s & VIRTIO_STATUS_NEEDS_RESET)
		return hfail("a bad buffer set NEEDS_RESET (Status 0x%x): it must fail the "
			     "request, not the queue", s);
	if (!tgt_check(t)) {
		char w[sizeof(why)];
		memcpy(w, why, sizeof(w));
		return hfail("the queue after the bad request: %s", w);
	}
	return true;
}

bool wait_needs_reset(struct vdev *d, uint32_t *status)
{
	deadline_t dl = deadline_in_us(BROKEN_US);
	for (;;) {
		*status = vdev_status(d);
		if (*status & VIRTIO_STATUS_NEEDS_RESET)
			return true;
		if (deadline_passed(dl))
			return false;
		delay_us(200);
	}
}

/* A well-formed request on the (broken) queue, built by hand at the top
 * descriptors; the device must not serve it. */
static bool dead_probe(struct tgt *t, uint16_t used_before)
{
	struct virtq *q = t->q;
	uint16_t top = (uint16_t)(q->size - 3);
	uint8_t *st = hscratch + 4 * SECTOR;
	if (t->blk) {
		struct blk_slot *s = &t->b.slots[q->size - 1];
		memset(s, 0, 16);
		q->desc[top] = (struct virtq_desc){ dma_addr(s), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(top + 1) };
		q->desc[top + 1] = (struct virtq_desc){ dma_addr(hscratch + 2 * SECTOR), SECTOR,
							VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(top + 2) };
		q->desc[top + 2] = (struct virtq_desc){ dma_addr(st), 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		uint8_t *b = t->n.tx_bufs + (uint64_t)(q->size - 1) * VNET_BUF;
		memset(b, 0, VNET_HDR_LEN + 60);
		q->desc[top] = (struct virtq_desc){ dma_addr(b), VNET_HDR_LEN + 60, 0, 0 };
	}
	*st = 0xee;
	q->avail->ring[q->avail_idx & (q->size - 1)] = top;
	q->avail_idx++;
	hsubmit(t);
	delay_us(PROBE_US);
	uint16_t now = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	if (now != used_before || *st != 0xee)
		return hfail("the broken queue still served a request (used->idx %u -> %u, "
			     "status byte 0x%x)", used_before, now, *st);
	return true;
}

bool expect_broken(struct tgt *t, bool probe)
{
	uint16_t used0 = t->q->last_used; /* nothing else is outstanding */
	uint32_t st;
	if (!wait_needs_reset(t->d, &st))
		return hfail("no NEEDS_RESET 1 s after the notification (Status 0x%x, "
			     "InterruptStatus 0x%x, used->idx %u)", st,
			     vreg_read(t->d, VIRTIO_MMIO_INTERRUPT_STATUS),
			     __atomic_load_n(&t->q->used->idx, __ATOMIC_ACQUIRE));
	uint32_t isr = vreg_read(t->d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (!(isr & VIRTIO_MMIO_INT_CONFIG))
		return hfail("NEEDS_RESET (Status 0x%x) without the configuration-change "
			     "interrupt: InterruptStatus 0x%x", st, isr);
	uint16_t used1 = __atomic_load_n(&t->q->used->idx, __ATOMIC_ACQUIRE);
	if (used1 != used0)
		hnote("%s:bad-chain-used", hround);
	if (probe && !dead_probe(t, used1))
		return false;
	return true;
}
