/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for virtio-blk (src/devices/virtio/block.c), structure-
 * aware in the manner of cloud-hypervisor's fuzz/fuzz_targets/block.rs:
 * the input describes the device (engine, read-only, cache, disk size,
 * drive id, negotiated features, queue size) and then driver steps:
 * requests built field by field (type, sector, header/data/status
 * descriptors with addresses and lengths mostly right and sometimes at an
 * edge), notifications through the queue ioeventfd and
 * vmmio_handle_notify, raw ring corruption, device resets, config reads.
 * The device runs over a memfd disk through the real MMIO transport
 * (virtio_mmio_ops). With the first byte's top bit set the input instead
 * drives blk_parse() directly on one fuzzed chain.
 *
 * Each request's outcome is predicted from the table in docs/virtio.md
 * and checked after the notification (and, with io_engine Async, after
 * every completion):
 *   - one used element per consumed chain, with the chain's head; status
 *     byte S_OK, S_IOERR or S_UNSUPP as the table says, in the last byte of
 *     a device-writable, wholly-in-RAM last descriptor, or no status and
 *     used length 0; used length = 1 + bytes written (IN: the data, GET_ID:
 *     the id, up to 20 bytes);
 *   - IN data equals the disk; OUT data lands on the disk; nothing else
 *     changes on it, and nothing at all when the drive is read-only;
 *   - the device writes guest RAM only in the used ring and in the
 *     device-writable buffers of the chains it consumed;
 *   - a broken queue sets NEEDS_RESET and consumes nothing more;
 *   - invalid_reqs_count counts the malformed requests; capacity in
 *     config space is the disk size in sectors.
 *
 *   make fuzz-blk FUZZ_SECONDS=600
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/block.h"
#include "fz_virtio.h"

#define MAX_SECTORS 255
#define DISK_MAX    (MAX_SECTORS * 512 + 511)

enum io { IO_NONE, IO_READ, IO_WRITE, IO_FLUSH, IO_ID };

/* What one chain must come to (docs/virtio.md, virtio-blk). */
struct expect {
	struct vq_chain c;
	bool status_ok; /* a usable status byte */
	gpa_t status_gpa;
	bool malformed;
	uint8_t st; /* the status written */
	uint32_t used_len;
	enum io io;
	uint32_t type;
	uint64_t sector, data_len;
};

static struct guest_mem gm;
static uint8_t *snap;
static int disk = -1;
static uint8_t shadow[DISK_MAX], filebuf[DISK_MAX];
static struct vblk b;
static struct fv_q dq;
static struct {
	bool async, ro, writeback, flush, event_idx;
	uint64_t size, capacity;
	uint64_t features;
	uint16_t qsize;
	char id[32];
	uint16_t last_used; /* used->idx seen so far */
	uint16_t consumed;  /* avail entries the device took */
	bool live;	    /* driver set up, device activated */
	bool loose;	    /* the device wrote over the rings: counts are off */
	uint64_t invalid;
} s;
static struct expect *pend; /* chains of the current notification */

/* ---------------------------------------------------------------- reference */

static void ref_blk(struct expect *x, uint64_t capacity, bool ro, bool flush_offered)
{
	const struct vq_chain *c = &x->c;
	const struct virtq_desc *last = &c->d[c->n - 1], *hdr = &c->d[0];

	x->status_ok = c->n >= 2 && (last->flags & VIRTQ_DESC_F_WRITE) && last->len >= 1 &&
		       fz_in_ram(&fv_layout, last->addr, last->len);
	x->status_gpa = x->status_ok ? last->addr + last->len - 1 : 0;
	x->malformed = true;
	x->st = VIRTIO_BLK_S_IOERR;
	x->io = IO_NONE;
	x->used_len = x->status_ok ? 1 : 0;
	x->data_len = 0;
	if (!x->status_ok)
		return;
	/* The header's first 16 bytes must be in RAM (the device reads no more). */
	if ((hdr->flags & VIRTQ_DESC_F_WRITE) || hdr->len < 16 ||
	    !fz_in_ram(&fv_layout, hdr->addr, 16))
		return;
	memcpy(&x->type, fz_ptr(&gm, hdr->addr, 16), 4);
	memcpy(&x->sector, (uint8_t *)fz_ptr(&gm, hdr->addr, 16) + 8, 8);
	if (x->type == VIRTIO_BLK_T_FLUSH ||
	    (x->type != VIRTIO_BLK_T_IN && x->type != VIRTIO_BLK_T_OUT &&
	     x->type != VIRTIO_BLK_T_GET_ID)) {
		x->malformed = false;
		x->st = VIRTIO_BLK_S_UNSUPP;
		if (x->type == VIRTIO_BLK_T_FLUSH && flush_offered) {
			x->st = VIRTIO_BLK_S_OK;
			/* Descriptors between header and status are ignored,
			 * wherever they point (docs/virtio.md). */
			x->io = IO_FLUSH;
		}
		return;
	}
	bool want_w = x->type != VIRTIO_BLK_T_OUT;
	for (unsigned i = 1; i + 1 < c->n; i++) {
		const struct virtq_desc *d = &c->d[i];
		if (!!(d->flags & VIRTQ_DESC_F_WRITE) != want_w ||
		    !fz_in_ram(&fv_layout, d->addr, d->len))
			return;
		x->data_len += d->len;
	}
	if (!x->data_len)
		return;
	x->malformed = false;
	if (x->type == VIRTIO_BLK_T_GET_ID) {
		x->st = VIRTIO_BLK_S_OK;
		x->io = IO_ID;
		x->used_len = 1 + (uint32_t)MIN(x->data_len, (uint64_t)VIRTIO_BLK_ID_BYTES);
		return;
	}
	unsigned __int128 end = (unsigned __int128)x->sector + x->data_len / 512;
	if (x->data_len % 512 || end > capacity || (x->type == VIRTIO_BLK_T_OUT && ro))
		return;
	x->st = VIRTIO_BLK_S_OK;
	x->io = x->type == VIRTIO_BLK_T_IN ? IO_READ : IO_WRITE;
	x->used_len = 1 + (x->io == IO_READ ? (uint32_t)x->data_len : 0);
}

/* ---------------------------------------------------------------- parse mode */

static void parse_mode(struct fin *in)
{
	struct expect x;
	struct blk_req r;
	uint8_t h = fin_u8(in);
	uint64_t capacity = h & 1 ? fin_u64(in) : fin_u8(in);
	bool ro = h & 2, flush = h & 4;

	memset(&x, 0, sizeof(x));
	x.c.head = fin_u16(in);
	x.c.n = 1 + fin_u8(in) % (h & 8 ? VIRTIO_QUEUE_MAX_SIZE : 8);
	for (unsigned i = 0; i < x.c.n; i++) {
		x.c.d[i].addr = fv_addr(in);
		x.c.d[i].len = fv_len(in);
		x.c.d[i].flags = fin_u8(in) & VIRTQ_DESC_F_WRITE;
	}
	/* A header where the first descriptor points. */
	uint8_t hdr[16];
	fin_bytes(in, hdr, sizeof(hdr));
	hdr[0] %= 10;
	void *p = gm_ptr(&gm, x.c.d[0].addr, 16);
	if (p)
		memcpy(p, hdr, 16);

	ref_blk(&x, capacity, ro, flush);
	blk_parse(&gm, &x.c, capacity, ro, flush, &r);
	CHECK(r.head == x.c.head);
	CHECK(x.status_ok ? r.status == (uint8_t *)gm_ptr(&gm, x.status_gpa, 1) : !r.status);
	CHECK(r.malformed == x.malformed);
	if (x.io == IO_NONE) {
		CHECK(r.early == x.st);
		return;
	}
	CHECK(r.early == 0xff && r.type == x.type);
	if (x.io != IO_FLUSH)
		CHECK(r.data_first == 1 && r.data_count == x.c.n - 2u && r.data_len == x.data_len);
	if (x.io == IO_READ || x.io == IO_WRITE)
		CHECK(r.sector == x.sector && r.sector + r.data_len / 512 <= capacity);
}

/* ---------------------------------------------------------------- device */

static void disk_fill(struct fin *in)
{
	uint8_t seed = fin_u8(in);
	for (size_t i = 0; i < s.size; i++)
		shadow[i] = (uint8_t)(i * 131 + (i >> 9) * 7 + seed);
	CHECK(ftruncate(disk, 0) == 0 && ftruncate(disk, (off_t)s.size) == 0);
	CHECK(pwrite(disk, shadow, s.size, 0) == (ssize_t)s.size);
}

static void check_disk(void)
{
	CHECK(pread(disk, filebuf, sizeof(filebuf), 0) == (ssize_t)s.size);
	if (!fz_same(filebuf, shadow, s.size)) {
		CHECK(!s.ro); /* a read-only drive is never written */
		memcpy(shadow, filebuf, s.size);
	}
}

/* Driver: reset, features, the queue, DRIVER_OK. */
static void setup(void)
{
	uint32_t st = fv_negotiate(&b.t, s.features);
	CHECK(st == (FV_ACK | FV_DRV | FV_FOK));
	fv_q_init(&dq, &gm, 0, s.qsize);
	memset(fz_ptr(&gm, FV_DESC(0), 0x3000), 0, 0x3000);
	CHECK(fv_queue(&b.t, 0, &dq) == 1);
	fv_driver_ok(&b.t);
	CHECK(b.t.active && b.t.queues[0].active);
	s.last_used = s.consumed = 0;
	s.live = true;
	s.loose = false; /* the rings are fresh again */
}

/* One request built field by field. */
static void request(struct fin *in)
{
	struct vd {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
	} v[48];
	uint8_t k = fin_u8(in);
	unsigned ndata = k & 0x80 ? fin_u8(in) % 40 : k % 5;
	static const uint32_t types[] = {VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
					 VIRTIO_BLK_T_GET_ID};
	uint8_t t = fin_u8(in);
	uint32_t type = t < 0xf0 ? types[t % 4] : fin_u32(in);
	uint8_t ss = fin_u8(in);
	uint64_t sector = ss < 0xc0   ? ss % (s.capacity + 2)
			  : ss < 0xf0 ? s.capacity - ss % 4
				      : fin_u64(in);
	unsigned n = 0;

	/* header */
	v[n].addr = fv_addr(in);
	v[n].len = k & 0x40 ? fv_len(in) : 16;
	v[n++].flags = k & 0x20 ? VIRTQ_DESC_F_WRITE : 0;
	for (unsigned i = 0; i < ndata; i++, n++) {
		uint8_t f = fin_u8(in);
		v[n].addr = fv_addr(in);
		v[n].len = f & 1 ? fv_len(in) : 512u * (1 + (f >> 1) % 8);
		bool w = type != VIRTIO_BLK_T_OUT;
		v[n].flags = (f & 0x80 ? !w : w) ? VIRTQ_DESC_F_WRITE : 0;
	}
	if (!(k & 0x10)) { /* status */
		uint8_t f = fin_u8(in);
		v[n].addr = fv_addr(in);
		v[n].len = f & 1 ? fv_len(in) : 1;
		v[n++].flags = f & 2 ? 0 : VIRTQ_DESC_F_WRITE;
	}
	/* The header bytes, where the header descriptor points. */
	uint8_t hdr[16];
	memcpy(hdr, &type, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &sector, 8);
	void *p = fv_in_rings(v[0].addr, 16) ? NULL : gm_ptr(&gm, v[0].addr, 16);
	if (p)
		memcpy(p, hdr, 16);
	/* OUT data: something recognisable (never over the rings). */
	for (unsigned i = 1; i < n; i++) {
		uint8_t *q = v[i].len <= 0x10000 && !fv_in_rings(v[i].addr, v[i].len)
				 ? gm_ptr(&gm, v[i].addr, v[i].len)
				 : NULL;
		if (q && !(v[i].flags & VIRTQ_DESC_F_WRITE) && type == VIRTIO_BLK_T_OUT)
			for (uint32_t j = 0; j < v[i].len; j++)
				q[j] = (uint8_t)(j * 3 + i + k);
	}
	uint16_t head = dq.next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = dq.next_desc;
		dq.next_desc = (uint16_t)((dq.next_desc + 1) % dq.size);
		fv_desc(&dq, cur, v[i].addr, v[i].len,
			(uint16_t)(v[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)), dq.next_desc);
	}
	fv_push(&dq, head);
}

static bool overlaps_any(uint64_t a, uint64_t len, const struct expect *x, unsigned nx,
			 unsigned skip_chain, unsigned skip_desc)
{
	for (unsigned i = 0; i < nx; i++)
		for (unsigned j = 0; j < x[i].c.n; j++)
			if ((i != skip_chain || j != skip_desc) && len && x[i].c.d[j].len &&
			    ranges_overlap(a, len, x[i].c.d[j].addr, x[i].c.d[j].len))
				return true;
	return false;
}

/* Concatenated bytes of descriptors [1, n-1) of a chain. */
static void gather(const struct vq_chain *c, uint8_t *out, uint64_t max)
{
	uint64_t at = 0;
	for (unsigned i = 1; i + 1 < c->n && at < max; i++) {
		uint64_t k = MIN((uint64_t)c->d[i].len, max - at);
		memcpy(out + at, fz_ptr(&gm, c->d[i].addr, k), k);
		at += k;
	}
}

static void wait_async(void)
{
	while (s.async && b.ninflight) {
		struct pollfd p = {.fd = b.ring_efd, .events = POLLIN};
		CHECK(poll(&p, 1, 5000) == 1);
		vblk_handle_completions(&b);
	}
}

/* Returns false when a known bug would be hit (the input stops there). */
static bool kick(void)
{
	uint16_t avail = fv_get16(&gm, dq.avail + 2);
	uint16_t pending = (uint16_t)(avail - s.consumed);
	bool broken = b.t.queues[0].fault, will_break = false, rings_w = false;
	unsigned nx = 0;
	static uint8_t data[DISK_MAX + 4096];

	if (!broken && pending > dq.size) {
		will_break = true;
		pending = 0;
	}
	for (uint16_t i = 0; !broken && i < pending; i++) {
		struct expect *x = &pend[nx];
		memset(x, 0, sizeof(*x));
		if (fv_walk(&dq, (uint16_t)(s.consumed + i), &x->c)) {
			will_break = true;
			break;
		}
		ref_blk(x, s.capacity, s.ro, s.flush);
		for (unsigned j = 0; j < x->c.n; j++)
			if ((x->c.d[j].flags & VIRTQ_DESC_F_WRITE) &&
			    fv_in_rings(x->c.d[j].addr, x->c.d[j].len))
				rings_w = true;
		nx++;
	}
	/* Exact predictions need buffers that do not overlap (a write into
	 * one chain's header or data would change what the next one does). */
	bool clean = !rings_w;
	for (unsigned i = 0; clean && i < nx; i++)
		for (unsigned j = 0; clean && j < pend[i].c.n; j++) {
			uint64_t len = pend[i].c.d[j].len;
			if (len > 0x10000 || overlaps_any(pend[i].c.d[j].addr, len, pend, nx, i, j))
				clean = false;
		}
	/* Disk contents are predictable when no write shares a sector with
	 * another transfer of this kick (their order is the engine's). */
	bool data_clean = clean;
	for (unsigned i = 0; data_clean && i < nx; i++)
		for (unsigned j = 0; data_clean && j < nx; j++)
			if (i != j && pend[i].io == IO_WRITE &&
			    (pend[j].io == IO_WRITE || pend[j].io == IO_READ) &&
			    ranges_overlap(pend[i].sector, pend[i].data_len / 512, pend[j].sector,
					   pend[j].data_len / 512))
				data_clean = false;
	/* OUT data, read now (the device reads it during the kick). */
	for (unsigned i = 0; data_clean && i < nx; i++)
		if (pend[i].io == IO_WRITE) {
			gather(&pend[i].c, data, pend[i].data_len);
			memcpy(shadow + pend[i].sector * 512, data, pend[i].data_len);
		}

	fz_snap(&gm, snap);
	uint64_t invalid0 = b.st.invalid_reqs_count;
	fv_kick(&b.t, 0);
	wait_async();

	/* Where the device may have written. */
	struct fz_ranges *rs = calloc(1, sizeof(*rs));
	CHECK(rs);
	fv_allow_used(rs, &dq);
	for (unsigned i = 0; i < nx; i++)
		for (unsigned j = 0; j < pend[i].c.n; j++)
			if (pend[i].c.d[j].flags & VIRTQ_DESC_F_WRITE)
				fz_ranges_add(rs, pend[i].c.d[j].addr, pend[i].c.d[j].len);
	/* A device-writable buffer over the rings: the chains, the avail and
	 * used rings may change under the device as it goes; from here on
	 * only what holds whatever the guest does is checked. */
	s.loose |= rings_w;
	if (!s.loose)
		fz_diff(&gm, snap, rs);
	free(rs);

	uint16_t used = fv_used_idx(&dq);
	if (s.loose) {
		check_disk();
		return true;
	}
	if (broken) {
		CHECK(used == s.last_used);
		check_disk();
		return true;
	}
	CHECK((uint16_t)(used - s.last_used) == nx);
	if (will_break)
		CHECK(b.t.queues[0].fault && (b.t.status & FV_NR));
	else
		CHECK(!b.t.queues[0].fault);

	/* Each used element: a consumed chain's head and its used length, in
	 * order (Sync) or in any order (Async). */
	bool taken[VIRTIO_QUEUE_MAX_SIZE] = {0};
	uint64_t malformed = 0;
	for (uint16_t u = 0; u < nx; u++) {
		uint32_t id = fv_used_id(&dq, (uint16_t)(s.last_used + u));
		uint32_t len = fv_used_len(&dq, (uint16_t)(s.last_used + u));
		unsigned i;
		for (i = s.async ? 0 : u; i < nx; i++)
			if (!taken[i] && pend[i].c.head == id &&
			    (!clean || pend[i].used_len == len))
				break;
		CHECK(i < nx && (s.async || i == u));
		taken[i] = true;
		const struct expect *x = &pend[i];
		CHECK(x->status_ok ? len >= 1 : len == 0);
		malformed += x->malformed;
		if (!x->status_ok)
			continue;
		uint8_t st = *(uint8_t *)fz_ptr(&gm, x->status_gpa, 1);
		if (!clean) {
			/* At most every device-writable data byte, and the status. */
			uint64_t room = 0;
			for (unsigned j = 1; j + 1 < x->c.n; j++)
				if (x->c.d[j].flags & VIRTQ_DESC_F_WRITE)
					room += x->c.d[j].len;
			CHECK(len <= 1 + room);
			continue;
		}
		CHECK(st == x->st && len == x->used_len);
		if (x->io == IO_READ && data_clean) {
			gather(&x->c, data, x->data_len);
			CHECK(fz_same(data, shadow + x->sector * 512, x->data_len));
		} else if (x->io == IO_ID) {
			char id20[VIRTIO_BLK_ID_BYTES] = {0};
			memcpy(id20, s.id, MIN(strlen(s.id), sizeof(id20)));
			gather(&x->c, data, x->used_len - 1);
			CHECK(fz_same(data, id20, x->used_len - 1));
		}
	}
	if (clean)
		CHECK(b.st.invalid_reqs_count - invalid0 == malformed);
	s.last_used = used;
	s.consumed = (uint16_t)(s.consumed + nx);
	check_disk();
	return true;
}

static void config_read(struct fin *in)
{
	uint8_t off = fin_u8(in) % 24, len = (uint8_t[]){1, 2, 4, 8}[fin_u8(in) % 4];
	uint8_t got[8], want[24] = {0};
	uint32_t seg_max = VBLK_SEG_MAX;

	memcpy(want, &s.capacity, 8);
	memcpy(want + 12, &seg_max, 4);
	virtio_mmio_ops.read(&b.t, FV_CONFIG + off, got, len);
	for (unsigned i = 0; i < len; i++)
		CHECK(got[i] == (off + i < sizeof(want) ? want[off + i] : 0));
}

static void device_mode(struct fin *in, uint8_t h0)
{
	uint8_t h1 = fin_u8(in), idlen = fin_u8(in) % 26;
	static const uint64_t sectors[] = {0, 1, 2, 8, 16, 64, 200, MAX_SECTORS};
	struct vblk_cfg cfg;
	char path[64], err[256];

	memset(&s, 0, sizeof(s));
	s.async = h0 & 1;
	s.ro = h0 & 2;
	s.writeback = h0 & 4;
	s.flush = s.writeback && (h0 & 8);
	s.event_idx = h0 & 16;
	s.capacity = sectors[(h1 >> 4) & 7];
	s.size = s.capacity * 512 + (h1 & 0x80 ? 100 : 0);
	s.qsize = (uint16_t)(1u << (h1 % 9));
	for (unsigned i = 0; i < idlen; i++) /* [A-Za-z0-9_] from the input */
		s.id[i] =
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"[fin_u8(in) %
										      63];
	if (!idlen)
		strcpy(s.id, "rootfs");
	s.features = BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_BLK_F_SEG_MAX) |
		     (s.event_idx ? BIT_ULL(VIRTIO_F_RING_EVENT_IDX) : 0) |
		     (s.ro ? BIT_ULL(VIRTIO_BLK_F_RO) : 0) |
		     (s.flush ? BIT_ULL(VIRTIO_BLK_F_FLUSH) : 0);
	disk_fill(in);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", disk);
	cfg = (struct vblk_cfg){.drive_id = s.id,
				.path = path,
				.read_only = s.ro,
				.cache = s.writeback ? BLK_CACHE_WRITEBACK : BLK_CACHE_UNSAFE,
				.engine = s.async ? BLK_ENGINE_ASYNC : BLK_ENGINE_SYNC};
	CHECK(vblk_init(&b, &cfg, &gm, 0xc0001000, 5, err, sizeof(err)) == 0);
	CHECK(b.capacity == s.capacity);
	setup();

	while (in->n) {
		uint8_t op = fin_u8(in);
		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			request(in);
			break;
		case 3:
		case 4:
			if (!kick())
				goto out;
			break;
		case 5:
			config_read(in);
			break;
		case 6:
			if (op & 0x80) { /* reset, with requests in flight for Async */
				fv_wr(&b.t, FV_STATUS, 0);
				CHECK(b.ninflight == 0 && !b.t.active);
				setup();
			} else {
				fv_wr(&b.t, FV_INT_ACK, fin_u8(in) & 3);
			}
			break;
		default:
			/* The driver moves avail->idx by itself (e.g. a jump). */
			fv_set_avail_idx(&dq, (uint16_t)(dq.avail_idx + (int8_t)fin_u8(in)));
			break;
		}
	}
out:
	wait_async();
	vblk_destroy(&b);
	pthread_mutex_destroy(&b.t.lock);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	fz_gm_init(&gm, &fv_layout);
	snap = malloc(gm.mapping_len);
	pend = calloc(VIRTIO_QUEUE_MAX_SIZE, sizeof(*pend));
	disk = memfd_create("disk", MFD_CLOEXEC);
	CHECK(snap && pend && disk >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	uint8_t h0 = fin_u8(&in);

	fz_gm_clear(&gm);
	if (h0 & 0x80)
		parse_mode(&in);
	else
		device_mode(&in, h0);
	return 0;
}
