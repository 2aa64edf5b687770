/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: hostile-guest scenarios. Each does driver mistakes on
 * purpose and checks the outcome docs/virtio.md defines; the harness
 * (hostile.c) then checks the other devices, resets the target,
 * re-initialises it and checks that it works again. README.md lists every
 * round. */
#include "hostile.h"
#include "scenarios.h"

#define RESET_IO_REQ (32 * 1024)
#define RESET_IO_MAX 85          /* 3 descriptors each in a 256-entry ring */
#define CANARY_US 100000

static bool data_untouched(const struct hreq *r)
{
	if (!r || !r->data)
		return true;
	for (unsigned i = 0; i < SECTOR; i++)
		if (r->data[i] != 0xcc)
			return hfail("the data buffer was written (byte %u is 0x%x) although the "
				     "request was invalid", i, r->data[i]);
	return true;
}

/* ---------------------------------------------------------------- broken chains */
static bool r_desc_loop(struct tgt *t, unsigned round)
{
	struct hreq r;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	if (!hreq_add(t, &r))
		return false;
	struct virtq_desc *d = t->q->desc;
	if (round == 0) {
		hround = "chain-loop"; /* last -> first */
		d[r.idx[r.n - 1]].flags |= VIRTQ_DESC_F_NEXT;
		d[r.idx[r.n - 1]].next = r.idx[0];
	} else {
		hround = "self-loop";
		d[r.idx[0]].next = r.idx[0];
	}
	hsubmit(t);
	return expect_broken(t, true);
}

static bool r_next_oob(struct tgt *t, unsigned round)
{
	struct hreq r;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	if (!hreq_add(t, &r))
		return false;
	hround = round ? "next-0xffff" : "next-qsize";
	t->q->desc[r.idx[0]].next = round ? 0xffff : t->q->size;
	hsubmit(t);
	return expect_broken(t, true);
}

static bool r_head_oob(struct tgt *t, unsigned round)
{
	struct virtq *q = t->q;
	hround = round ? "head-0xffff" : "head-qsize";
	q->avail->ring[q->avail_idx & (q->size - 1)] = round ? 0xffff : q->size;
	q->avail_idx++;
	hsubmit(t);
	return expect_broken(t, true);
}

static bool r_indirect(struct tgt *t, unsigned round)
{
	struct hreq r;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	/* A well-formed indirect table holding the same request. */
	struct virtq_desc *table = (struct virtq_desc *)(hscratch + 8192);
	for (unsigned k = 0; k < r.n; k++)
		table[k] = (struct virtq_desc){ r.v[k].addr, r.v[k].len,
			(uint16_t)((r.v[k].write ? VIRTQ_DESC_F_WRITE : 0) |
				   (k + 1 < r.n ? VIRTQ_DESC_F_NEXT : 0)), (uint16_t)(k + 1) };
	if (!hreq_add(t, &r))
		return false;
	struct virtq_desc *d = t->q->desc;
	uint16_t i = round ? r.idx[r.n - 1] : r.idx[0];
	hround = round ? "indirect-last" : "indirect-head";
	d[i].addr = dma_addr(table);
	d[i].len = (uint32_t)(r.n * sizeof(*table));
	d[i].flags = VIRTQ_DESC_F_INDIRECT;
	hsubmit(t);
	return expect_broken(t, true);
}

static bool r_avail_jump(struct tgt *t, unsigned round)
{
	struct virtq *q = t->q;
	uint16_t jump = round ? 0x8000 : (uint16_t)(q->size + 1);
	hround = round ? "avail+0x8000" : "avail+qsize+1";
	__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + jump), __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq_notify(t->d, q);
	if (!expect_broken(t, false))
		return false;
	uint16_t used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	if (used != q->last_used)
		return hfail("the device consumed %u entries behind a bad avail->idx",
			     (uint16_t)(used - q->last_used));
	return true;
}

void scenario_hostile_desc_loop(void) { hostile_run(r_desc_loop, 2, 0); }
void scenario_hostile_next_oob(void) { hostile_run(r_next_oob, 2, 0); }
void scenario_hostile_head_oob(void) { hostile_run(r_head_oob, 2, 0); }
void scenario_hostile_indirect(void) { hostile_run(r_indirect, 2, 0); }
void scenario_hostile_avail_jump(void) { hostile_run(r_avail_jump, 2, 0); }

/* ---------------------------------------------------------------- bad buffers */
/* One bad buffer: blk descriptor `which` (0 header, 1 data, 2 status) or
 * net descriptor (0 header, 1 frame) moved to addr/len. */
static bool bad_buffer(struct tgt *t, unsigned which, uint64_t addr, uint32_t len)
{
	struct hreq r;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	if (which >= r.n)
		return hfail("no descriptor %u", which);
	r.v[which].addr = addr;
	r.v[which].len = len;
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	int want = t->blk ? (which == 2 ? -1 : VIRTIO_BLK_S_IOERR) : 0;
	return expect_request(t, want) && data_untouched(which == 1 ? NULL : &r);
}

static bool r_outside_ram(struct tgt *t, unsigned round)
{
	uint64_t top = ram_top();
	if (!t->blk) {
		static const char *const names[] = { "frame-above-ram", "header-above-ram",
						     "frame-straddles-ram-end" };
		if (round >= 3) {
			hskip();
			return true;
		}
		hround = names[round];
		return round == 0 ? bad_buffer(t, 1, top, 60) :
		       round == 1 ? bad_buffer(t, 0, top, VNET_HDR_LEN) :
				    bad_buffer(t, 1, top - 30, 60);
	}
	switch (round) {
	case 0:
		hround = "data-above-ram";
		return bad_buffer(t, 1, top, 4096);
	case 1:
		hround = "data-at-64TiB";
		return bad_buffer(t, 1, 1ull << 46, 4096);
	case 2:
		hround = "data-straddles-ram-end";
		return bad_buffer(t, 1, top - 2048, 4096);
	case 3:
		hround = "header-above-ram";
		return bad_buffer(t, 0, top, 16);
	default:
		hround = "status-above-ram";
		return bad_buffer(t, 2, top, 1);
	}
}

static bool r_buf_gap(struct tgt *t, unsigned round)
{
	uint64_t mmio = virtio_devs[t->slot].base;
	if (round == 0)
		hnote("ram_to_gap=%u", ram_reaches_gap());
	switch (round) {
	case 0:
		hround = "data-into-gap"; /* starts below 3 GiB, ends above */
		return bad_buffer(t, 1, MMIO_GAP_START - 2048, t->blk ? 4096 : 4000);
	case 1:
		hround = "data-on-own-registers";
		return bad_buffer(t, 1, mmio, t->blk ? SECTOR : 60);
	default:
		hround = "data-on-lapic";
		return bad_buffer(t, 1, LAPIC_BASE, t->blk ? SECTOR : 60);
	}
}

static bool r_len_overflow(struct tgt *t, unsigned round)
{
	switch (round) {
	case 0:
		hround = "data-wraps";
		return bad_buffer(t, 1, 0ull - 512, t->blk ? 1024 : 600);
	case 1:
		hround = "data-at-2^64-1";
		return bad_buffer(t, 1, ~0ull, t->blk ? SECTOR : 60);
	default:
		hround = "header-wraps";
		return bad_buffer(t, 0, 0ull - 8, t->blk ? 16 : VNET_HDR_LEN);
	}
}

void scenario_hostile_buf_outside_ram(void) { hostile_run(r_outside_ram, 5, 0); }
void scenario_hostile_buf_gap(void) { hostile_run(r_buf_gap, 3, 0); }
void scenario_hostile_len_overflow(void) { hostile_run(r_len_overflow, 3, 0); }

/* ---------------------------------------------------------------- blk requests */
static bool r_short_header(struct tgt *t, unsigned round)
{
	static const uint32_t lens[] = { 8, 15, 0 };
	static const char *const names[] = { "header-8", "header-15", "header-0" };
	struct hreq r;
	hround = names[round];
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	r.v[0].len = lens[round];
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	return expect_request(t, VIRTIO_BLK_S_IOERR) && data_untouched(&r);
}

/* OUT to the last sector with inverted data and a device-readable status
 * byte: the write must not happen (checked by reading the sector back;
 * restored if it did). */
static bool out_without_status(struct tgt *t)
{
	struct hreq r;
	uint8_t orig[SECTOR];
	uint64_t last = t->b.capacity - 1;
	hround = "out-status-device-readable";
	int st = vblk_sync(&t->b, VIRTIO_BLK_T_IN, last, dma_addr(hscratch), SECTOR, NULL);
	if (st != VIRTIO_BLK_S_OK)
		return hfail("reading the last sector first: %d %s", st, st < 0 ? virtio_err : "");
	memcpy(orig, hscratch, SECTOR);
	hreq_init(t, &r, VIRTIO_BLK_T_OUT);
	r.s->sector = last;
	for (unsigned i = 0; i < SECTOR; i++)
		r.data[i] = (uint8_t)~orig[i];
	r.v[2].write = false;
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	if (!expect_request(t, -1))
		return false;
	st = vblk_sync(&t->b, VIRTIO_BLK_T_IN, last, dma_addr(hscratch), SECTOR, NULL);
	if (st != VIRTIO_BLK_S_OK)
		return hfail("reading the last sector back: %d %s", st, st < 0 ? virtio_err : "");
	if (!memcmp(hscratch, orig, SECTOR))
		return true;
	memcpy(hscratch, orig, SECTOR);
	vblk_sync(&t->b, VIRTIO_BLK_T_OUT, last, dma_addr(hscratch), SECTOR, NULL);
	return hfail("the device wrote the data of an OUT request whose status byte is "
		     "device-readable (sector %lu; restored)", last);
}

static bool r_ro_status(struct tgt *t, unsigned round)
{
	struct hreq r;
	uint8_t sector0[SECTOR];
	int want = VIRTIO_BLK_S_IOERR;
	if (round == 4)
		return out_without_status(t);
	if (round == 2) {
		/* OUT with the current sector 0, in case it were written. */
		int st = vblk_sync(&t->b, VIRTIO_BLK_T_IN, 0, dma_addr(hscratch), SECTOR, NULL);
		if (st != VIRTIO_BLK_S_OK)
			return hfail("reading sector 0 first: %d %s", st, st < 0 ? virtio_err : "");
		memcpy(sector0, hscratch, SECTOR);
	}
	hreq_init(t, &r, round == 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
	switch (round) {
	case 0:
		hround = "status-device-readable";
		r.v[2].write = false;
		want = -1;
		break;
	case 1:
		hround = "in-data-device-readable";
		r.v[1].write = false;
		break;
	case 2:
		hround = "out-data-device-writable";
		memcpy(r.data, sector0, SECTOR);
		r.v[1].write = true;
		break;
	default:
		hround = "header-device-writable";
		r.v[0].write = true;
		break;
	}
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	if (!expect_request(t, want))
		return false;
	if (round == 2)
		return !memcmp(r.data, sector0, SECTOR) ||
		       hfail("the device wrote into an OUT request's data buffer");
	return data_untouched(&r);
}

/* Well-formed chains with a request the device must refuse. */
static bool r_blk_request(struct tgt *t, unsigned round)
{
	struct hreq r;
	uint64_t cap = t->b.capacity;
	int want = VIRTIO_BLK_S_IOERR;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	switch (round) {
	case 0:
		hround = "past-capacity";
		r.s->sector = cap;
		break;
	case 1:
		hround = "straddles-capacity";
		r.s->sector = cap - 1;
		r.v[1].len = 2 * SECTOR;
		break;
	case 2:
		hround = "sector-overflow";
		r.s->sector = ~0ull;
		break;
	case 3:
		hround = "len-511";
		r.v[1].len = SECTOR - 1;
		break;
	case 4:
		hround = "unknown-type";
		r.s->type = 99;
		want = VIRTIO_BLK_S_UNSUPP;
		break;
	default:
		hround = "flush";
		r.s->type = VIRTIO_BLK_T_FLUSH;
		r.v[1] = r.v[2];
		r.n = 2;
		r.data = NULL;
		want = t->b.flush ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	return expect_request(t, want) && data_untouched(&r);
}

/* TX chains shorter than the 12-byte virtio-net header: dropped, used
 * length 0, the queue keeps working. */
static bool r_net_short(struct tgt *t, unsigned round)
{
	struct hreq r;
	hreq_init(t, &r, 0);
	if (round == 0) {
		hround = "tx-8-bytes";
		r.v[0].len = 8;
		r.n = 1;
	} else {
		hround = "tx-6+4-bytes";
		r.v[0].len = 6;
		r.v[1].len = 4;
	}
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	return expect_request(t, 0);
}

/* Zero-length descriptors. A zero length where data is needed is a bad
 * buffer; one among others is just a buffer of no bytes. */
static bool r_zero_len(struct tgt *t, unsigned round)
{
	struct hreq r;
	uint32_t used;
	uint8_t st;
	hreq_init(t, &r, VIRTIO_BLK_T_IN);
	if (!t->blk) {
		switch (round) {
		case 0:
			hround = "frame-0"; /* the header and nothing else */
			r.v[1].len = 0;
			break;
		case 1:
			hround = "zero-desc-in-chain"; /* header, 0 bytes, frame */
			r.v[2] = r.v[1];
			r.v[1].len = 0;
			r.n = 3;
			break;
		default:
			hround = "all-zero"; /* one descriptor of 0 bytes */
			r.v[0].len = 0;
			r.n = 1;
			break;
		}
		if (!hreq_add(t, &r))
			return false;
		hsubmit(t);
		return expect_request(t, 0);
	}
	switch (round) {
	case 0:
		hround = "data-0";
		r.v[1].len = 0;
		break;
	case 1:
		/* header, 512 bytes of sector 1, 0 bytes, status: served. */
		hround = "zero-desc-in-chain";
		r.s->sector = 1;
		r.v[3] = r.v[2];
		r.v[2] = (struct vbuf){ dma_addr(hscratch + 4 * SECTOR), 0, true };
		r.n = 4;
		if (!hreq_add(t, &r))
			return false;
		hsubmit(t);
		if (!hwait_one(t, &used, &st))
			return false;
		uint64_t first;
		memcpy(&first, r.data, sizeof(first));
		if (st != VIRTIO_BLK_S_OK || used != SECTOR + 1 || first != 1)
			return hfail("status %u, used length %u, sector tag %lu; expected 0, %u, 1",
				     st, used, first, SECTOR + 1);
		return true;
	default:
		hround = "status-0";
		r.v[2].len = 0;
		break;
	}
	if (!hreq_add(t, &r))
		return false;
	hsubmit(t);
	return expect_request(t, round == 0 ? VIRTIO_BLK_S_IOERR : -1) && data_untouched(&r);
}

void scenario_hostile_zero_len(void) { hostile_run(r_zero_len, 3, 0); }
void scenario_hostile_net_short(void) { hostile_run(r_net_short, 2, HOSTILE_NET_ONLY); }
void scenario_hostile_blk_short_header(void) { hostile_run(r_short_header, 3, HOSTILE_BLK_ONLY); }
void scenario_hostile_blk_request(void) { hostile_run(r_blk_request, 6, HOSTILE_BLK_ONLY); }
void scenario_hostile_blk_ro_status(void) { hostile_run(r_ro_status, 5, HOSTILE_BLK_ONLY); }

/* ---------------------------------------------------------------- queue set-up */
/* Sets queue 0 up with num entries and the given ring addresses (0: the
 * driver's own rings); QueueReady must stay 0 and NEEDS_RESET appear.
 * (The spec asks for a configuration-change interrupt only once DRIVER_OK
 * is set, so InterruptStatus is only reported here.) */
static bool bad_queue(struct tgt *t, uint32_t num, uint64_t da, uint64_t aa, uint64_t ua)
{
	struct vdev *d = t->d;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	if (!vdev_negotiate(d, virtio_common_features()))
		return hfail("%s", virtio_err);
	vq_mem(d, 0, &desc, &avail, &used);
	memset(desc, 0, 4096);
	memset(avail, 0, 4096);
	memset(used, 0, 4096);
	da = da ? da : dma_addr(desc);
	aa = aa ? aa : dma_addr(avail);
	ua = ua ? ua : dma_addr(used);
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)da);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(da >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)aa);
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(aa >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)ua);
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(ua >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	uint32_t ready = vreg_read(d, VIRTIO_MMIO_QUEUE_READY), st;
	if (ready)
		return hfail("QueueReady reads %u", ready);
	if (!wait_needs_reset(d, &st))
		return hfail("QueueReady stayed 0 but Status is 0x%x, without NEEDS_RESET", st);
	/* Noted when it differs from the previous round's. */
	static uint32_t last_st, last_isr = ~0u;
	uint32_t isr = vreg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (st != last_st || isr != last_isr)
		hnote("%s:status=0x%x,isr=0x%x", hround, st, isr);
	last_st = st;
	last_isr = isr;
	return true;
}

static bool r_qsize(struct tgt *t, unsigned round)
{
	struct vdev *d = t->d;
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	uint32_t max = vreg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	switch (round) {
	case 0:
		hround = "num-3";
		return bad_queue(t, 3, 0, 0, 0);
	case 1:
		hround = "num-2x-max";
		return bad_queue(t, max * 2, 0, 0, 0);
	default:
		hround = "num-0";
		return bad_queue(t, 0, 0, 0, 0);
	}
}

static bool r_ring_addr(struct tgt *t, unsigned round)
{
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint64_t top = ram_top();
	vq_mem(t->d, 0, &desc, &avail, &used);
	vreg_write(t->d, VIRTIO_MMIO_QUEUE_SEL, 0);
	uint32_t num = vreg_read(t->d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (num > VQ_MAX)
		num = VQ_MAX;
	switch (round) {
	case 0:
		hround = "desc-8-aligned";
		return bad_queue(t, num, dma_addr(desc) + 8, 0, 0);
	case 1:
		hround = "avail-odd";
		return bad_queue(t, num, 0, dma_addr(avail) + 1, 0);
	case 2:
		hround = "used-2-aligned";
		return bad_queue(t, num, 0, 0, dma_addr(used) + 2);
	case 3:
		hround = "used-straddles-ram-end";
		return bad_queue(t, num, 0, 0, top - 1024);
	case 4:
		hround = "desc-above-ram";
		return bad_queue(t, num, top, 0, 0);
	case 5:
		hround = "avail-into-gap"; /* or beyond RAM when RAM ends lower */
		return bad_queue(t, num, 0, MMIO_GAP_START - 256, 0);
	/* Rings that start in the last page of the address space and wrap
	 * past 2^64 into page 0 (which is RAM). */
	case 6:
		hround = "desc-wraps";
		return bad_queue(t, num, 0xfffffffffffff000ull, 0, 0);
	case 7:
		hround = "avail-wraps";
		return bad_queue(t, num, 0, 0xfffffffffffffffeull, 0);
	default:
		hround = "used-wraps";
		return bad_queue(t, num, 0, 0, 0xfffffffffffffffcull);
	}
}

void scenario_hostile_qsize(void) { hostile_run(r_qsize, 3, 0); }
void scenario_hostile_ring_addr(void) { hostile_run(r_ring_addr, 9, 0); }

/* ---------------------------------------------------------------- ring overlap */
/* Rings that overlap each other are not refused (they are in RAM; the spec
 * does not forbid it): the device reads each chain, and copies each
 * descriptor, before it writes the used element, so a request is served
 * as it was posted even when its used element lands on its own
 * descriptors. The queue is built by hand, OVL_QSIZE entries, in the
 * first page of the target queue's own ring memory; VERSION_1 only. */
#define OVL_QSIZE 8

struct ovl {
	volatile uint8_t *page;
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail;          /* flags, idx, ring[] */
	volatile uint8_t *used;            /* flags, idx, elements */
};

static bool ovl_setup(struct tgt *t, struct ovl *o, uint32_t doff, uint32_t aoff, uint32_t uoff)
{
	struct vdev *d = t->d;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	if (!vdev_negotiate(d, FEAT(VIRTIO_F_VERSION_1)))
		return hfail("%s", virtio_err);
	for (uint32_t i = 0; i < queue_count(t); i++)
		if (i != t->q->index && !vq_setup(d, i, 0))
			return hfail("%s", virtio_err);
	vq_mem(d, t->q->index, &desc, &avail, &used);
	o->page = (volatile uint8_t *)desc;
	memset((void *)desc, 0, 4096);
	o->desc = (volatile struct virtq_desc *)(o->page + doff);
	o->avail = (volatile uint16_t *)(o->page + aoff);
	o->used = o->page + uoff;
	uint64_t base = dma_addr(desc);
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, t->q->index);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, OVL_QSIZE);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(base + doff));
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)((base + doff) >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(base + aoff));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)((base + aoff) >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(base + uoff));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)((base + uoff) >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	uint32_t ready = vreg_read(d, VIRTIO_MMIO_QUEUE_READY);
	if (ready != 1)
		return hfail("overlapping rings refused: QueueReady reads %u (Status 0x%x)", ready,
			     vdev_status(d));
	return vdev_driver_ok(d) || hfail("%s", virtio_err);
}

static void ovl_elem(const struct ovl *o, uint16_t k, uint32_t *id, uint32_t *len)
{
	volatile uint8_t *e = o->used + 4 + 8 * (k % OVL_QSIZE);
	*id = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
	*len = (uint32_t)e[4] | (uint32_t)e[5] << 8 | (uint32_t)e[6] << 16 | (uint32_t)e[7] << 24;
}

/* Posts request k (avail slot k) as a chain at descriptor head: blk a
 * 512-byte read of sector 1 (header, data, status), net one 72-byte TX
 * descriptor. Waits until used element k says (head, expected length),
 * or, with poll_idx, until used->idx reads k + 1; then checks it. */
static bool ovl_request(struct tgt *t, const struct ovl *o, uint16_t head, uint16_t k,
			bool poll_idx)
{
	uint8_t *hdr = hscratch + 0x3000, *data = hscratch + 0x1000, *st = hscratch + 0x2000;
	volatile struct virtq_desc *d = o->desc;
	uint32_t want_len = t->blk ? SECTOR + 1 : 0, id, len;
	/* Until the device writes it, element k must not look complete. */
	memset((void *)(o->used + 4 + 8 * (k % OVL_QSIZE)), 0xff, 8);
	if (t->blk) {
		memset(hdr, 0, 16);
		hdr[8] = 1; /* sector 1 */
		memset(data, 0xcc, SECTOR);
		*st = 0xee;
		d[head] = (struct virtq_desc){ dma_addr(hdr), 16, VIRTQ_DESC_F_NEXT,
					       (uint16_t)(head + 1) };
		d[head + 1] = (struct virtq_desc){ dma_addr(data), SECTOR,
						   VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
						   (uint16_t)(head + 2) };
		d[head + 2] = (struct virtq_desc){ dma_addr(st), 1, VIRTQ_DESC_F_WRITE, 0 };
	} else {
		memset(data, 0, VNET_HDR_LEN + 60);
		memset(data + VNET_HDR_LEN, 0xff, 6);
		data[VNET_HDR_LEN + 12] = ETHERTYPE_TEST >> 8;
		data[VNET_HDR_LEN + 13] = ETHERTYPE_TEST & 0xff;
		d[head] = (struct virtq_desc){ dma_addr(data), VNET_HDR_LEN + 60, 0, 0 };
	}
	o->avail[2 + k % OVL_QSIZE] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	o->avail[1] = (uint16_t)(k + 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vreg_write(t->d, VIRTIO_MMIO_QUEUE_NOTIFY, t->q->index);
	deadline_t dl = deadline_in_us(2000000);
	for (;;) {
		ovl_elem(o, k, &id, &len);
		if (poll_idx ? *(volatile uint16_t *)(o->used + 2) == k + 1
			     : id == head && len == want_len)
			break;
		if (deadline_passed(dl))
			return hfail("request %u not completed within 2 s: used element (%u, %u), "
				     "Status 0x%x", k, id, len, vdev_status(t->d));
		cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ovl_elem(o, k, &id, &len);
	if (id != head || len != want_len)
		return hfail("request %u: used element (%u, %u), expected (%u, %u)", k, id, len,
			     head, want_len);
	uint32_t s = vdev_status(t->d);
	if (s & VIRTIO_STATUS_NEEDS_RESET)
		return hfail("request %u: Status 0x%x has NEEDS_RESET", k, s);
	if (t->blk) {
		uint64_t tag;
		memcpy(&tag, data, sizeof(tag));
		if (*st != VIRTIO_BLK_S_OK || tag != 1)
			return hfail("request %u: status 0x%x, sector tag %lu; expected 0, 1", k, *st,
				     tag);
	}
	return true;
}

static bool r_ring_overlap(struct tgt *t, unsigned round)
{
	struct ovl o;
	switch (round) {
	case 0:
		/* The used ring on the avail ring: used element 0 overwrites
		 * avail->ring[0..3] once the chain it names was read. */
		hround = "used-on-avail";
		return ovl_setup(t, &o, 0, 1024, 1024) && ovl_request(t, &o, 0, 0, false);
	case 1:
		/* The used ring 12 bytes into the descriptor table: flags and
		 * idx on descriptor 0 (unused), used element 0 on the address
		 * of descriptor 1 (the head of both requests), element 1 on its
		 * length, flags and next. */
		hround = "used-on-desc";
		return ovl_setup(t, &o, 0, 2048, 12) && ovl_request(t, &o, 1, 0, true) &&
		       ovl_request(t, &o, 1, 1, true);
	default:
		/* All three at one address: descriptor 0 is the rings' heads. */
		hround = "all-rings-at-one-address";
		return ovl_setup(t, &o, 0, 0, 0) && ovl_request(t, &o, 1, 0, false);
	}
}

void scenario_hostile_ring_overlap(void) { hostile_run(r_ring_overlap, 3, 0); }

/* ---------------------------------------------------------------- reset-io */
static bool canary_ok(const uint8_t *p, uint64_t n, const char *what)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != 0xdd)
			return hfail("the device wrote %s (offset %lu: 0x%x) after the reset "
				     "completed", what, i, p[i]);
	return true;
}

static bool r_reset_io(struct tgt *t, unsigned round)
{
	static uint8_t *bufs;
	static const uint32_t delays[] = { 0, 200, 2000 };
	static const char *const names[] = { "reset-at-once", "reset-after-200us",
					     "reset-after-2ms" };
	struct virtq *q = t->q;
	unsigned n = 0;
	uint16_t used0 = q->last_used;
	hround = names[round];
	if (t->blk) {
		if (!bufs && !(bufs = dma_alloc((uint64_t)RESET_IO_MAX * RESET_IO_REQ, 4096)))
			return hfail("%s", virtio_err);
		uint64_t cap = t->b.capacity, span = RESET_IO_REQ / SECTOR;
		unsigned max = q->size / 3 < RESET_IO_MAX ? q->size / 3 : RESET_IO_MAX;
		memset(bufs, 0xcc, (uint64_t)max * RESET_IO_REQ);
		for (; n < max; n++) {
			uint64_t sector = cap > span ? (n * span) % (cap - span) : 0;
			uint32_t len = cap >= span ? RESET_IO_REQ : (uint32_t)cap * SECTOR;
			if (!vblk_submit(&t->b, VIRTIO_BLK_T_IN, sector,
					 dma_addr(bufs + (uint64_t)n * RESET_IO_REQ), len, n))
				break;
		}
		vblk_kick(&t->b);
	} else {
		static uint8_t f[ETH_MAX_FRAME];
		memset(f, 0xff, 6);
		f[12] = ETHERTYPE_TEST >> 8;
		f[13] = ETHERTYPE_TEST & 0xff;
		while (n < q->size && vnet_send(&t->n, f, sizeof(f), false, false))
			n++;
		vq_kick(t->d, q);
	}
	if (delays[round])
		delay_us(delays[round]);
	if (!vdev_reset(t->d))
		return hfail("%s", virtio_err);
	uint16_t done = (uint16_t)(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) - used0);
	hnote("%s:%u/%u-done", names[round] + 6, done, n);
	/* The reset has completed: from now on the device must leave guest
	 * memory alone. */
	uint64_t used_bytes = 4 + 8ull * q->size + 2;
	memset(q->used, 0xdd, used_bytes);
	if (t->blk) {
		memset(bufs, 0xdd, (uint64_t)n * RESET_IO_REQ);
		for (unsigned i = 0; i < q->size; i++)
			t->b.slots[i].status = 0xdd;
	}
	delay_us(CANARY_US);
	if (!canary_ok((const uint8_t *)q->used, used_bytes, "the used ring"))
		return false;
	if (t->blk) {
		if (!canary_ok(bufs, (uint64_t)n * RESET_IO_REQ, "a data buffer"))
			return false;
		for (unsigned i = 0; i < q->size; i++)
			if (t->b.slots[i].status != 0xdd)
				return hfail("the device wrote a status byte after the reset completed");
	}
	return true;
}

void scenario_hostile_reset_io(void) { hostile_run(r_reset_io, 3, 0); }
