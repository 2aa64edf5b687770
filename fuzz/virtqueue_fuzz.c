/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the split virtqueue (src/devices/virtio/queue.c),
 * the device side of the guest boundary. A queue of fuzzed size and ring
 * placement (canonical, elsewhere, straddling a region seam, misaligned,
 * anywhere) in a small guest RAM; then a sequence of driver steps (write a
 * descriptor, a whole chain, an avail entry, avail->idx, flags, used_event,
 * raw ring bytes) interleaved with device steps (vq_activate, vq_pop,
 * vq_unpop, vq_add_used, vq_publish, vq_should_interrupt,
 * vq_enable_notify[_beyond], vq_has_avail, vq_chain_iov). Each device step
 * is compared with a reference written from docs/virtio.md and §2.7:
 *   - activation succeeds exactly for a power-of-two size within the
 *     maximum, aligned rings, each ring wholly in one RAM region;
 *   - a pop returns the chain the driver wrote (head from
 *     avail->ring[last_avail], descriptors copied as they were), at most
 *     `size` descriptors, every index < size; or 0 when nothing is new; or
 *     breaks the queue with the right fault (avail jump > size, head or
 *     next out of range, a loop, INDIRECT);
 *   - a fault is sticky: every later pop fails the same way, has_avail and
 *     enable_notify say no, nothing more is consumed;
 *   - used elements and used->idx are exactly what was added and
 *     published; interrupt decisions follow NO_INTERRUPT or used_event
 *     (vring_need_event, the first one always); avail_event / used flags
 *     and enable_notify's answer follow last_avail;
 *   - vq_chain_iov maps exactly the buffers wholly in one region, with the
 *     host addresses of the guest-memory accessor;
 *   - the device writes guest RAM only inside the used ring.
 *
 *   make fuzz-virtqueue FUZZ_SECONDS=600
 */
#include "fz_virtio.h"

struct model {
	uint16_t size, max;
	bool event_idx, active, overlap;
	enum vq_fault fault;
	uint16_t last_avail, next_used, signalled;
	bool signalled_valid;
	uint16_t unpoppable; /* pops since the last add_used */
	uint16_t out[1024];  /* popped heads not yet used, oldest first */
	unsigned nout;
	uint32_t used_id[VIRTIO_QUEUE_MAX_SIZE], used_len[VIRTIO_QUEUE_MAX_SIZE];
	unsigned added; /* used elements added since activation */
};

static struct guest_mem gm;
static uint8_t *snap;
static bool snap_valid;
static struct vq q;
static struct fv_q d; /* the driver's view (placement, avail_idx) */
static struct model m;
static struct vq_chain chain, want;
static bool have_chain;

static uint64_t place(struct fin *in, unsigned sel, uint64_t canonical, uint64_t align)
{
	switch (sel & 3) {
	case 0:
		return canonical;
	case 1:
		return FV_R1 + (fin_u16(in) % FV_RSZ & ~(align - 1));
	case 2:
		return FV_R1 - 2 * align * (fin_u8(in) % 32);
	default:
		return fin_u64(in);
	}
}

static bool ref_check(void)
{
	if (!is_pow2(m.size) || m.size > m.max)
		return false;
	if ((d.desc & 15) || (d.avail & 1) || (d.used & 3))
		return false;
	return fz_in_ram(&fv_layout, d.desc, FV_DESC_BYTES(m.size)) &&
	       fz_in_ram(&fv_layout, d.avail, FV_AVAIL_BYTES(m.size)) &&
	       fz_in_ram(&fv_layout, d.used, FV_USED_BYTES(m.size));
}

/* Device steps: the snapshot is taken before the first of a run of them
 * and compared before the next driver step (only the used ring may change). */
static void device_step(void)
{
	if (!snap_valid) {
		fz_snap(&gm, snap);
		snap_valid = true;
	}
}

static void driver_step(void)
{
	if (snap_valid) {
		struct fz_ranges *rs = calloc(1, sizeof(*rs));
		CHECK(rs);
		if (m.active)
			fv_allow_used(rs, &d);
		fz_diff(&gm, snap, rs);
		free(rs);
		snap_valid = false;
	}
}

static void activate(struct fin *in)
{
	uint8_t sel = fin_u8(in);
	uint8_t sz = fin_u8(in);
	static const uint16_t odd[] = {0, 3, 6, 100, 255, 257, 512}; /* codes 9-15 */

	driver_step();
	m.max = sel & 0x80 ? 16 : VIRTIO_QUEUE_MAX_SIZE;
	m.size = (sz & 15) <= 8 ? (uint16_t)(1u << (sz & 15)) : odd[(sz & 15) - 9];
	m.event_idx = sz & 0x10;
	vq_init(&q, m.max);
	q.size = m.size;
	fv_q_init(&d, &gm, 0, m.size ? m.size : 1);
	d.desc = place(in, sel, FV_DESC(0), 16);
	d.avail = place(in, sel >> 2, FV_AVAIL(0), 2);
	d.used = place(in, sel >> 4, FV_USED(0), 4);
	if (sel & 0x40) { /* nudge one ring off its alignment */
		uint8_t k = fin_u8(in);
		gpa_t *r = k % 3 == 0 ? &d.desc : k % 3 == 1 ? &d.avail : &d.used;
		*r += 1 + (k >> 2) % 15;
	}
	q.desc_gpa = d.desc;
	q.avail_gpa = d.avail;
	q.used_gpa = d.used;

	const char *why = NULL;
	bool ok = ref_check();
	CHECK((vq_check(&q, &gm, &why) == 0) == ok);
	CHECK(ok || (why && why[0]));
	CHECK((vq_activate(&q, &gm, m.event_idx) == 0) == ok);
	m.active = ok;
	m.fault = VQ_OK;
	m.last_avail = m.next_used = 0;
	m.signalled_valid = false;
	m.nout = m.unpoppable = 0;
	m.added = 0;
	have_chain = false;
	m.overlap =
	    ok && (ranges_overlap(d.desc, FV_DESC_BYTES(m.size), d.avail, FV_AVAIL_BYTES(m.size)) ||
		   ranges_overlap(d.desc, FV_DESC_BYTES(m.size), d.used, FV_USED_BYTES(m.size)) ||
		   ranges_overlap(d.avail, FV_AVAIL_BYTES(m.size), d.used, FV_USED_BYTES(m.size)));
	if (ok) {
		d.avail_idx = fv_get16(&gm, d.avail + 2);
		CHECK(q.active && !q.fault && q.size == m.size);
	}
}

/* The reference pop: what vq_pop must return, and the chain in `want`. */
static int ref_pop(enum vq_fault *f)
{
	uint16_t idx = fv_get16(&gm, d.avail + 2);
	uint16_t pending = (uint16_t)(idx - m.last_avail);

	*f = m.fault;
	if (m.fault)
		return -EPROTO;
	if (!pending)
		return 0;
	if (pending > m.size)
		return *f = VQ_FAULT_AVAIL_IDX, -EPROTO;
	*f = fv_walk(&d, m.last_avail, &want);
	return *f ? -EPROTO : 1;
}

static void pop(void)
{
	enum vq_fault f;
	int exp = ref_pop(&f);

	device_step();
	memset(&chain, 0x5a, sizeof(chain));
	int got = vq_pop(&q, &chain);
	CHECK(got == exp && q.fault == f);
	m.fault = f;
	have_chain = got == 1; /* a failed pop leaves the scratch chain undefined */
	if (got != 1)
		return;
	CHECK(chain.n >= 1 && chain.n <= m.size && chain.head < m.size);
	CHECK(chain.head == want.head && chain.n == want.n);
	CHECK(fz_same(chain.d, want.d, sizeof(chain.d[0]) * chain.n));
	for (unsigned i = 0; i + 1 < chain.n; i++)
		CHECK((chain.d[i].flags & VIRTQ_DESC_F_NEXT) && chain.d[i].next < m.size);
	CHECK(!(chain.d[chain.n - 1].flags & VIRTQ_DESC_F_NEXT));
	m.last_avail++;
	if (m.nout == ARRAY_SIZE(m.out)) /* a driver re-posting heads: forget the oldest */
		memmove(m.out, m.out + 1, --m.nout * sizeof(m.out[0]));
	m.out[m.nout++] = chain.head;
	m.unpoppable++;
	have_chain = true;
}

static void add_used(struct fin *in)
{
	uint32_t len = fin_u32(in);

	if (!m.nout || m.fault)
		return; /* a device completes only what it popped */
	device_step();
	uint16_t head = m.out[0];
	memmove(m.out, m.out + 1, --m.nout * sizeof(m.out[0]));
	vq_add_used(&q, head, len);
	m.used_id[m.next_used % m.size] = head;
	m.used_len[m.next_used % m.size] = len;
	m.next_used++;
	m.added++;
	m.unpoppable = 0;
	if (!m.overlap) {
		CHECK(fv_used_id(&d, (uint16_t)(m.next_used - 1)) == head);
		CHECK(fv_used_len(&d, (uint16_t)(m.next_used - 1)) == len);
	}
}

static void publish(void)
{
	device_step();
	vq_publish(&q);
	if (m.overlap)
		return;
	CHECK(fv_used_idx(&d) == m.next_used);
	for (unsigned k = 1; k <= MIN(m.added, (unsigned)m.size); k++) {
		uint16_t i = (uint16_t)(m.next_used - k);
		CHECK(fv_used_id(&d, i) == m.used_id[i % m.size]);
		CHECK(fv_used_len(&d, i) == m.used_len[i % m.size]);
	}
}

static void should_interrupt(void)
{
	bool want_irq;

	if (!m.event_idx) {
		want_irq = !(fv_get16(&gm, d.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	} else {
		uint16_t ev = fv_get16(&gm, d.avail + 4 + 2ull * m.size);
		uint16_t nw = m.next_used, old = m.signalled;
		want_irq = !m.signalled_valid || (uint16_t)(nw - ev - 1) < (uint16_t)(nw - old);
		m.signalled = nw;
		m.signalled_valid = true;
	}
	device_step();
	CHECK(vq_should_interrupt(&q) == want_irq);
}

static void enable_notify(uint16_t k)
{
	uint16_t idx = fv_get16(&gm, d.avail + 2);
	bool exp = !m.fault && (uint16_t)(idx - m.last_avail) > k;

	device_step();
	bool got = k ? vq_enable_notify_beyond(&q, k) : vq_enable_notify(&q);
	if (m.overlap) /* the store may have changed avail->idx itself */
		return;
	CHECK(got == exp);
	if (m.fault)
		return;
	if (m.event_idx)
		CHECK(fv_get16(&gm, d.used + 4 + 8ull * m.size) == (uint16_t)(m.last_avail + k));
	else
		CHECK(fv_get16(&gm, d.used) == 0);
}

static void chain_iov(struct fin *in)
{
	struct iovec iov[VIRTIO_QUEUE_MAX_SIZE];
	unsigned first = fin_u8(in) % (chain.n + 2), count = fin_u16(in) % (chain.n + 2);
	int exp = 0;

	if (!have_chain)
		return;
	if (first > chain.n || count > chain.n - first) {
		exp = -EINVAL;
	} else {
		for (unsigned i = first; i < first + count; i++)
			if (!fz_in_ram(&fv_layout, chain.d[i].addr, chain.d[i].len))
				exp = -EFAULT;
	}
	CHECK(vq_chain_iov(&gm, &chain, first, count, iov) == exp);
	for (unsigned i = 0; !exp && i < count; i++) {
		const struct virtq_desc *x = &chain.d[first + i];
		const struct gm_region *r = gm_region_of(&gm, x->addr);
		if (!r) { /* a zero-length buffer at the very end of a region */
			CHECK(x->len == 0);
			continue;
		}
		CHECK(iov[i].iov_base == r->host + (x->addr - r->base) && iov[i].iov_len == x->len);
	}
}

/* Driver: writes a well-formed chain of n descriptors from index `at`. */
static void write_chain(struct fin *in)
{
	uint16_t at = fin_u8(in), n = 1 + fin_u8(in) % 8;

	driver_step();
	for (uint16_t i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((at + i) % d.size),
			 nxt = (uint16_t)((at + i + 1) % d.size);
		uint64_t addr = fv_addr(in);
		uint32_t len = fv_len(in);
		uint16_t flags = (uint16_t)((fin_u8(in) & VIRTQ_DESC_F_WRITE) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		fv_desc(&d, cur, addr, len, flags, nxt);
	}
	fv_push(&d, (uint16_t)(at % d.size));
}

static void driver_op(struct fin *in, uint8_t op)
{
	driver_step();
	switch (op) {
	case 0: { /* one raw descriptor */
		uint16_t i = fin_u8(in);
		uint64_t addr = fv_addr(in);
		uint32_t len = fv_len(in);
		uint16_t flags = fin_u8(in), next = fin_u8(in);
		if (flags & 0x80)
			next = fin_u16(in);
		fv_desc(&d, i, addr, len, flags & 7, next);
		break;
	}
	case 1:
		fv_push(&d, fin_u8(in) & 0x80 ? fin_u16(in) : fin_u8(in) % d.size);
		break;
	case 2:
		fv_set_avail_idx(&d, (uint16_t)(d.avail_idx + (int8_t)fin_u8(in)));
		break;
	case 3:
		fv_put16(&gm, d.avail, fin_u8(in) & 1);
		break;
	case 4:
		fv_set_used_event(&d, (uint16_t)(m.next_used + (int8_t)fin_u8(in)));
		break;
	default: { /* raw bytes anywhere in the ring area */
		uint16_t off = fin_u16(in) % (FV_BUF - FV_DESC(0));
		uint8_t b[8];
		size_t k = fin_bytes(in, b, 1 + fin_u8(in) % 8);
		void *p = gm_ptr(&gm, FV_DESC(0) + off, k);
		if (p)
			memcpy(p, b, k);
		break;
	}
	}
}

static void check_sticky(void)
{
	if (!m.active)
		return;
	CHECK(q.fault == m.fault && q.last_avail == m.last_avail && q.next_used == m.next_used);
	if (m.fault)
		CHECK(!vq_has_avail(&q));
	else
		CHECK(vq_has_avail(&q) == (fv_get16(&gm, d.avail + 2) != m.last_avail));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	fz_gm_init(&gm, &fv_layout);
	snap = malloc(gm.mapping_len);
	CHECK(snap);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};

	fz_gm_clear(&gm);
	snap_valid = false;
	memset(&m, 0, sizeof(m));
	activate(&in);
	while (in.n) {
		uint8_t op = fin_u8(&in);
		if (op >= 0xf8) {
			activate(&in);
			continue;
		}
		if (!m.active) {
			driver_op(&in, op % 6);
			continue;
		}
		switch (op % 16) {
		case 0:
		case 1:
			write_chain(&in);
			break;
		case 2:
		case 3:
		case 4:
			pop();
			break;
		case 5:
			if (m.unpoppable && !m.fault) {
				device_step();
				vq_unpop(&q);
				m.last_avail--;
				m.unpoppable--;
				m.nout--;
			}
			break;
		case 6:
			add_used(&in);
			break;
		case 7:
			publish();
			break;
		case 8:
			should_interrupt();
			break;
		case 9:
			enable_notify(op & 0x10 ? fin_u8(&in) % 4 : 0);
			break;
		case 10:
			chain_iov(&in);
			break;
		default:
			driver_op(&in, (op >> 4) % 6);
			break;
		}
		check_sticky();
	}
	driver_step();
	return 0;
}
