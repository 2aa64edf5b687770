/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: virtio-blk scenarios. Drives are the block devices in
 * command-line order (drive 0, drive 1, ...). The test image pattern: each
 * 512-byte sector n starts with n as a little-endian u64. See README.md for
 * parameters and what each expects of the host. */
#include "scenarios.h"
#include "virtio.h"

#define MAX_DRIVES MAX_VIRTIO_DEVICES
#define MAX_DEPTH 64
#define WRITE_XOR 0xA5A5A5A5A5A5A5A5ull
#define STALL_US 5000000 /* no completion for this long: FAIL */

static struct vblk drives[MAX_DRIVES] NOINIT; /* vblk_open() clears */

/* "status N", or the error of a request that did not complete. */
static const char *req_result(int st)
{
	static char buf[sizeof(virtio_err) + 16];
	if (st < 0)
		return virtio_err;
	snprintf(buf, sizeof(buf), "status %d", st);
	return buf;
}

/* ---------------------------------------------------------------- streams */
/* Requests over one drive with `depth` buffers of `req` bytes in flight. */
struct stream {
	struct vblk *b;
	uint8_t *bufs;
	uint32_t req;
	unsigned depth;
	uint16_t freebuf[MAX_DEPTH];
	unsigned nfree;
	uint64_t pos, end;     /* next sector to submit, stop at end (in sectors) */
	uint64_t bytes_done;
	bool write, random, check;
	uint32_t type;
	uint64_t rng;
	unsigned errors;
	char first_error[160];
};

static bool stream_init(struct stream *s, struct vblk *b, uint32_t req, unsigned depth)
{
	memset(s, 0, sizeof(*s));
	s->b = b;
	s->req = req;
	s->depth = depth;
	s->bufs = dma_alloc((uint64_t)req * depth, 4096);
	if (!s->bufs)
		return false;
	for (unsigned i = 0; i < depth; i++)
		s->freebuf[s->nfree++] = (uint16_t)i;
	s->type = VIRTIO_BLK_T_IN;
	s->rng = 0x9e3779b97f4a7c15ull;
	return true;
}

static void stream_error(struct stream *s, const char *fmt, ...) PRINTF(2, 3);
static void stream_error(struct stream *s, const char *fmt, ...)
{
	if (!s->errors++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
		va_end(ap);
	}
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Fills the data of an OUT request: the blk-read pattern (stream writes keep
 * the drive a valid blk-read image). */
static void fill_pattern(uint8_t *p, uint64_t sector, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors; i++) {
		uint64_t n = sector + i;
		memcpy(p + (uint64_t)i * SECTOR, &n, 8);
	}
}

/* Submits as many requests as there are free buffers; true if any. */
static bool stream_submit(struct stream *s)
{
	bool any = false;
	uint64_t cap = s->b->capacity;
	while (s->nfree && s->pos < s->end) {
		uint64_t sector;
		uint32_t sectors;
		if (s->random) {
			uint64_t blocks = cap >= 8 ? cap / 8 : 1;
			sector = (xorshift(&s->rng) % blocks) * 8;
			sectors = cap >= 8 ? 8 : (uint32_t)cap;
			s->pos += sectors;
		} else {
			sector = s->pos % cap;
			uint64_t left = cap - sector, want = s->end - s->pos;
			sectors = s->req / SECTOR;
			if (sectors > left)
				sectors = (uint32_t)left;
			if (sectors > want)
				sectors = (uint32_t)want;
			s->pos += sectors;
		}
		uint16_t bi = s->freebuf[s->nfree - 1];
		uint8_t *buf = s->bufs + (uint64_t)bi * s->req;
		if (s->write)
			fill_pattern(buf, sector, sectors);
		if (!vblk_submit(s->b, s->type, sector, dma_addr(buf), sectors * SECTOR, bi)) {
			s->pos -= sectors;
			break;
		}
		s->nfree--;
		any = true;
	}
	if (any)
		vblk_kick(s->b);
	return any;
}

static void check_read(struct stream *s, const struct blk_done *d)
{
	const uint8_t *p = phys(d->buf);
	for (uint32_t i = 0; i < d->len / SECTOR; i++) {
		uint64_t v;
		memcpy(&v, p + (uint64_t)i * SECTOR, 8);
		if (v != d->sector + i) {
			stream_error(s, "sector %lu starts with 0x%lx", d->sector + i, v);
			return;
		}
	}
}

/* Takes every completion; false if nothing was there. */
static bool stream_reap(struct stream *s)
{
	struct blk_done d;
	bool any = false;
	while (vblk_complete(s->b, &d)) {
		any = true;
		s->freebuf[s->nfree++] = (uint16_t)d.tag;
		uint32_t want_used = d.type == VIRTIO_BLK_T_IN ? d.len + 1 : 1;
		if (d.status != VIRTIO_BLK_S_OK)
			stream_error(s, "type %u sector %lu len %u: status %u", d.type, d.sector,
				     d.len, d.status);
		else if (d.used_len != want_used)
			stream_error(s, "type %u sector %lu len %u: used length %u, expected %u",
				     d.type, d.sector, d.len, d.used_len, want_used);
		else if (s->check)
			check_read(s, &d);
		s->bytes_done += d.len;
	}
	return any;
}

static bool stream_busy(const struct stream *s)
{
	return s->pos < s->end || s->nfree < s->depth;
}

/* Runs streams[0..n) interleaved until all are done. False (and
 * virtio_err) when a device stalls or breaks the ring protocol. */
static bool run_streams(struct stream *st, unsigned n)
{
	deadline_t stall = deadline_in_us(STALL_US);
	for (;;) {
		bool busy = false, progress = false;
		for (unsigned i = 0; i < n; i++) {
			progress |= stream_reap(&st[i]);
			if (vq_broken)
				return false;
			stream_submit(&st[i]);
			busy |= stream_busy(&st[i]);
		}
		if (!busy)
			return true;
		if (progress) {
			stall = deadline_in_us(STALL_US);
			continue;
		}
		/* Wait on one drive with requests in flight (in irq mode it
		 * halts; polling, this spins once and comes back). */
		for (unsigned i = 0; i < n; i++) {
			if (st[i].nfree < st[i].depth) {
				if (!st[i].b->dev.irq_mode || vdev_wait(&st[i].b->dev, stall))
					break;
			}
		}
		if (deadline_passed(stall)) {
			for (unsigned i = 0; i < n; i++)
				if (st[i].nfree < st[i].depth)
					verr("drive %u: %u requests outstanding for %u s (Status 0x%x)",
					     i, st[i].depth - st[i].nfree, STALL_US / 1000000,
					     vdev_status(&st[i].b->dev));
			return false;
		}
	}
}

static bool open_drive(unsigned i)
{
	if (!vblk_open(&drives[i], i)) {
		test_fail("%s", virtio_err);
		return false;
	}
	if (!drives[i].capacity) {
		test_fail("drive %u: capacity 0", i);
		return false;
	}
	return true;
}

static uint32_t req_bytes(void)
{
	uint64_t kib = param_u64("req_kib", 64);
	if (kib < 1)
		kib = 1;
	if (kib > 4096)
		kib = 4096;
	return (uint32_t)kib * 1024;
}

static unsigned depth_param(void)
{
	uint64_t d = param_u64("depth", 8);
	return d < 1 ? 1 : d > MAX_DEPTH ? MAX_DEPTH : (unsigned)d;
}

/* ---------------------------------------------------------------- blk-read */
void scenario_blk_read(void)
{
	static struct stream s;
	if (!open_drive(0))
		return;
	if (!stream_init(&s, &drives[0], req_bytes(), depth_param())) {
		test_fail("%s", virtio_err);
		return;
	}
	s.end = drives[0].capacity;
	s.check = true;
	if (!run_streams(&s, 1)) {
		test_fail("%s", virtio_err);
		return;
	}
	struct vdev *d = &drives[0].dev;
	if (s.errors) {
		test_fail("%u bad requests, first: %s", s.errors, s.first_error);
	} else if (d->irq_mode && !d->isr_vring) {
		test_fail("interrupt mode: InterruptStatus bit 0 never seen (%lu interrupts)",
			  irq_counts[d->vector]);
	} else if (d->irq_mode) {
		test_pass("sectors=%lu interrupts=%u", drives[0].capacity, d->isr_vring);
	} else {
		test_pass("sectors=%lu", drives[0].capacity);
	}
}

/* ---------------------------------------------------------------- blk-multi */
void scenario_blk_multi(void)
{
	static struct stream st[MAX_DRIVES] NOINIT; /* stream_init() clears */
	unsigned n = vblk_count();
	uint64_t expect = param_u64("expect_drives", 0);
	if (expect && n != expect) {
		test_fail("%u block devices, expected %lu", n, expect);
		return;
	}
	if (!n) {
		test_fail("no block devices");
		return;
	}
	uint64_t total = 0;
	for (unsigned i = 0; i < n && i < MAX_DRIVES; i++) {
		if (!open_drive(i))
			return;
		if (!stream_init(&st[i], &drives[i], req_bytes(), depth_param() > 4 ? 4 : depth_param())) {
			test_fail("%s", virtio_err);
			return;
		}
		st[i].end = drives[i].capacity;
		st[i].check = true;
		total += drives[i].capacity;
	}
	if (!run_streams(st, n)) {
		test_fail("%s", virtio_err);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (st[i].errors) {
			test_fail("drive %u: %u bad requests, first: %s", i, st[i].errors,
				  st[i].first_error);
			return;
		}
	}
	test_pass("drives=%u sectors=%lu", n, total);
}

/* ---------------------------------------------------------------- blk-write */
void scenario_blk_write(void)
{
	if (!open_drive(1))
		return;
	struct vblk *b = &drives[1];
	if (!b->flush) {
		test_fail("VIRTIO_BLK_F_FLUSH not offered (features 0x%lx)", b->dev.offered);
		return;
	}
	if (b->ro) {
		test_fail("drive 1 is read-only (VIRTIO_BLK_F_RO offered)");
		return;
	}
	/* Write every sector with the XOR pattern, depth requests at a time. */
	uint32_t req = req_bytes();
	unsigned depth = depth_param();
	uint8_t *bufs = dma_alloc((uint64_t)req * depth, 4096);
	if (!bufs) {
		test_fail("%s", virtio_err);
		return;
	}
	uint64_t cap = b->capacity, next = 0, done = 0;
	unsigned inflight = 0, errors = 0;
	uint16_t freebuf[MAX_DEPTH];
	unsigned nfree = 0;
	for (unsigned i = 0; i < depth; i++)
		freebuf[nfree++] = (uint16_t)i;
	deadline_t stall = deadline_in_us(STALL_US);
	while (done < cap) {
		bool kicked = false;
		while (nfree && next < cap) {
			uint32_t sectors = req / SECTOR;
			if (sectors > cap - next)
				sectors = (uint32_t)(cap - next);
			uint16_t bi = freebuf[nfree - 1];
			uint64_t *w = (uint64_t *)(bufs + (uint64_t)bi * req);
			for (uint32_t k = 0; k < sectors; k++)
				for (unsigned j = 0; j < SECTOR / 8; j++)
					w[k * (SECTOR / 8) + j] = (next + k) ^ WRITE_XOR;
			if (!vblk_submit(b, VIRTIO_BLK_T_OUT, next, dma_addr(w), sectors * SECTOR, bi))
				break;
			nfree--;
			inflight++;
			next += sectors;
			kicked = true;
		}
		if (kicked)
			vblk_kick(b);
		struct blk_done d;
		bool any = false;
		while (vblk_complete(b, &d)) {
			any = true;
			freebuf[nfree++] = (uint16_t)d.tag;
			inflight--;
			done += d.len / SECTOR;
			if (d.status != VIRTIO_BLK_S_OK && !errors++)
				verr("write of sector %lu: status %u", d.sector, d.status);
		}
		if (vq_broken) {
			test_fail("%s", virtio_err);
			return;
		}
		if (any)
			stall = deadline_in_us(STALL_US);
		else if (!vdev_wait(&b->dev, stall)) {
			test_fail("writes stalled: %u outstanding (Status 0x%x)", inflight,
				  vdev_status(&b->dev));
			return;
		}
	}
	if (errors) {
		test_fail("%u writes failed, first: %s", errors, virtio_err);
		return;
	}
	uint32_t used;
	int st = vblk_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &used);
	if (st != VIRTIO_BLK_S_OK) {
		test_fail("flush: %s", req_result(st));
		return;
	}
	/* Read back: the device must return what was written. */
	uint8_t *rb = bufs;
	for (uint64_t s = 0; s < cap; s += req / SECTOR) {
		uint32_t sectors = req / SECTOR;
		if (sectors > cap - s)
			sectors = (uint32_t)(cap - s);
		st = vblk_sync(b, VIRTIO_BLK_T_IN, s, dma_addr(rb), sectors * SECTOR, NULL);
		if (st != VIRTIO_BLK_S_OK) {
			test_fail("read-back of sector %lu: %s", s, req_result(st));
			return;
		}
		const uint64_t *w = (const uint64_t *)rb;
		for (uint32_t k = 0; k < sectors * (SECTOR / 8); k++) {
			if (w[k] != ((s + k / (SECTOR / 8)) ^ WRITE_XOR)) {
				test_fail("read-back: sector %lu word %u is 0x%lx", s + k / (SECTOR / 8),
					  k % (SECTOR / 8), w[k]);
				return;
			}
		}
	}
	test_pass("sectors=%lu", cap);
}

/* ---------------------------------------------------------------- blk-ro */
void scenario_blk_ro(void)
{
	if (!open_drive(0))
		return;
	struct vblk *b = &drives[0];
	if (!b->ro) {
		test_fail("VIRTIO_BLK_F_RO not offered (features 0x%lx)", b->dev.offered);
		return;
	}
	uint8_t *before = dma_alloc(2 * 4096, 4096), *after = before + 4096;
	if (!before) {
		test_fail("%s", virtio_err);
		return;
	}
	uint32_t used = 0;
	int st = vblk_sync(b, VIRTIO_BLK_T_IN, 0, dma_addr(before), 4096, &used);
	if (st != VIRTIO_BLK_S_OK) {
		test_fail("read before the write: %s", req_result(st));
		return;
	}
	memset(after, 0x5a, 4096);
	st = vblk_sync(b, VIRTIO_BLK_T_OUT, 0, dma_addr(after), 4096, &used);
	if (st != VIRTIO_BLK_S_IOERR) {
		test_fail("write to a read-only drive: %s, expected S_IOERR (1)", req_result(st));
		return;
	}
	st = vblk_sync(b, VIRTIO_BLK_T_IN, 0, dma_addr(after), 4096, NULL);
	if (st != VIRTIO_BLK_S_OK) {
		test_fail("read after the write: %s", req_result(st));
		return;
	}
	if (memcmp(before, after, 4096)) {
		test_fail("the first 4 KiB changed after a refused write");
		return;
	}
	test_pass("ioerr_used_len=%u", used);
}

/* ---------------------------------------------------------------- blk-id */
void scenario_blk_id(void)
{
	char ids[400];
	size_t off = 0;
	unsigned n = vblk_count();
	uint8_t *buf = dma_alloc(64, 64);
	if (!n || !buf) {
		test_fail(!n ? "no block devices" : "%s", virtio_err);
		return;
	}
	ids[0] = 0;
	for (unsigned i = 0; i < n && i < MAX_DRIVES; i++) {
		if (!open_drive(i))
			return;
		memset(buf, 0xff, 64);
		uint32_t used;
		int st = vblk_sync(&drives[i], VIRTIO_BLK_T_GET_ID, 0, dma_addr(buf),
				   VIRTIO_BLK_ID_BYTES, &used);
		if (st != VIRTIO_BLK_S_OK) {
			test_fail("drive %u GET_ID: %s", i, req_result(st));
			return;
		}
		char id[VIRTIO_BLK_ID_BYTES + 1];
		unsigned k;
		for (k = 0; k < VIRTIO_BLK_ID_BYTES && buf[k]; k++)
			id[k] = (buf[k] >= 0x20 && buf[k] < 0x7f) ? (char)buf[k] : '?';
		id[k] = 0;
		off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%s", i ? "," : "", id);
		if (off >= sizeof(ids))
			off = sizeof(ids) - 1;
	}
	test_pass("ids=%s", ids);
}

/* ---------------------------------------------------------------- blk-stream */
void scenario_blk_stream(void)
{
	static struct stream s;
	bool random = param_u64("random", 0);
	uint32_t req = random ? 4096 : req_bytes();
	if (!open_drive(0))
		return;
	if (!stream_init(&s, &drives[0], req, depth_param())) {
		test_fail("%s", virtio_err);
		return;
	}
	s.write = param_u64("write", 0);
	s.random = random;
	s.type = s.write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	s.end = param_u64("total_mib", 64) << 11; /* MiB -> sectors */
	if (s.write && drives[0].ro) {
		test_fail("write=1 on a read-only drive");
		return;
	}
	say("TEST %s START", test_name);
	if (!run_streams(&s, 1)) {
		test_fail("%s", virtio_err);
		return;
	}
	if (s.errors)
		test_fail("%u bad requests, first: %s", s.errors, s.first_error);
	else
		test_pass("bytes=%lu", s.bytes_done);
}

/* ---------------------------------------------------------------- blk-capacity */
void scenario_blk_capacity(void)
{
	if (!vblk_open(&drives[0], 0)) {
		test_fail("%s", virtio_err);
		return;
	}
	struct vblk *b = &drives[0];
	struct vdev *d = &b->dev;
	if (!param_u64("wait_config", 0)) {
		test_pass("sectors=%lu", b->capacity);
		return;
	}
	uint64_t old = b->capacity;
	uint32_t gen0 = vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION), gen = gen0;
	uint32_t isr = 0;
	vdev_irq_mode(d, true);
	deadline_t dl = deadline_in_us(param_u64("timeout_s", 30) * 1000000);
	say("TEST %s READY", test_name);
	/* Halt until the device's interrupt or the 50 ms watchdog tick, then
	 * look at ConfigGeneration and InterruptStatus. */
	while (!deadline_passed(dl)) {
		if (irq_counts[d->vector] == d->irq_seen)
			cpu_halt();
		d->irq_seen = irq_counts[d->vector];
		uint32_t now = vreg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		if (now)
			vreg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, now);
		isr |= now;
		gen = vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		if ((isr & VIRTIO_MMIO_INT_CONFIG) || gen != gen0)
			break;
	}
	vdev_irq_mode(d, false);
	if (!(isr & VIRTIO_MMIO_INT_CONFIG) && gen == gen0) {
		test_fail("no configuration change within %lu s (capacity %lu)",
			  param_u64("timeout_s", 30), old);
		return;
	}
	b->capacity = vdev_config_read64(d, 0);
	test_pass("sectors=%lu old_sectors=%lu config_irq=%u generation=%u->%u", b->capacity,
		  old, !!(isr & VIRTIO_MMIO_INT_CONFIG), gen0,
		  vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION));
}
