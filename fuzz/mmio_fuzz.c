/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the virtio-mmio transport alone
 * (src/devices/virtio/mmio.c): a sequence of register reads and writes
 * (offset, width, value) through virtio_mmio_ops as a vCPU dispatches
 * them, interleaved with the VMM thread's activation and queue
 * notifications and with driver writes to the rings, against a two-queue
 * echo device (as in tests/unit/test_virtio_mmio.c). Every register read
 * is compared with a model of docs/virtio.md; after every step:
 *   - Status is one of the states of the allowed table (plus FAILED and
 *     the device's NEEDS_RESET) and moved only along it;
 *   - FEATURES_OK is set only with VERSION_1 acknowledged and nothing the
 *     device did not offer; DriverFeatures changed only between DRIVER and
 *     FEATURES_OK, queue registers only between FEATURES_OK and DRIVER_OK;
 *   - QueueReady is 1 only for a queue whose rings pass the checks
 *     (computed here from the RAM layout);
 *   - the device is activated only after DRIVER_OK with a ready queue,
 *     notified only while live, reset only when it was live or pending;
 *     its config space is accessed only inside config_len;
 *   - InterruptStatus holds only bits 0-1; NEEDS_RESET comes with a
 *     configuration interrupt; the device writes guest RAM only in the
 *     used rings of its queues.
 *
 *   make fuzz-mmio FUZZ_SECONDS=600
 */
#include "fz_virtio.h"

#define ECHO_ID		0x1f
#define ECHO_FEATURES	(BIT_ULL(0) | BIT_ULL(VIRTIO_F_RING_EVENT_IDX) | BIT_ULL(35))
#define ECHO_OFFERED	(ECHO_FEATURES | BIT_ULL(VIRTIO_F_VERSION_1))
#define ECHO_CONFIG_LEN 10
#define NQ		2

struct echo {
	struct virtio_mmio t;
	unsigned activates, resets, notifies[NQ];
	int activate_ret;
	uint8_t cfg[ECHO_CONFIG_LEN];
	struct vq_chain chain;
};

static void echo_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct echo *e = dev;
	CHECK(off < ECHO_CONFIG_LEN && len >= 1 && len <= ECHO_CONFIG_LEN - off);
	memcpy(data, e->cfg + off, len);
}

static void echo_config_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct echo *e = dev;
	CHECK(off < ECHO_CONFIG_LEN && len >= 1 && len <= ECHO_CONFIG_LEN - off);
	memcpy(e->cfg + off, data, len);
}

static int echo_activate(void *dev)
{
	struct echo *e = dev;
	CHECK(e->t.status & FV_DOK);
	e->activates++;
	return e->activate_ret;
}

static void echo_notify(void *dev, unsigned qi)
{
	struct echo *e = dev;
	struct vq *q = &e->t.queues[qi];
	bool used = false;
	int got;

	CHECK(qi < NQ && q->active && !q->fault);
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
    .num_queues = NQ,
    .config_read = echo_config_read,
    .config_write = echo_config_write,
    .activate = echo_activate,
    .queue_notify = echo_notify,
    .reset = echo_reset,
};

/* ---------------------------------------------------------------- model */

struct mq {
	uint16_t size;
	bool ready;
	uint64_t desc, avail, used;
};

struct model {
	uint32_t status, dev_sel, drv_sel, queue_sel, isr, gen;
	uint64_t drv_features;
	struct mq q[NQ];
	bool active, pending;
	unsigned activates, resets, notifies[NQ];
	uint8_t cfg[ECHO_CONFIG_LEN];
};

static struct guest_mem gm;
static uint8_t *snap;
static struct echo e;
static struct model m;
static struct fv_q dq[NQ]; /* the driver's rings */

static void model_reset_regs(void)
{
	m.status = m.dev_sel = m.drv_sel = m.queue_sel = m.isr = 0;
	m.drv_features = 0;
	for (unsigned i = 0; i < NQ; i++)
		m.q[i] = (struct mq){.size = VIRTIO_QUEUE_MAX_SIZE};
	m.active = m.pending = false;
}

static bool rings_ok(const struct mq *q)
{
	return is_pow2(q->size) && q->size <= VIRTIO_QUEUE_MAX_SIZE && !(q->desc & 15) &&
	       !(q->avail & 1) && !(q->used & 3) &&
	       fz_in_ram(&fv_layout, q->desc, FV_DESC_BYTES(q->size)) &&
	       fz_in_ram(&fv_layout, q->avail, FV_AVAIL_BYTES(q->size)) &&
	       fz_in_ram(&fv_layout, q->used, FV_USED_BYTES(q->size));
}

static void model_needs_reset(void)
{
	if (!(m.status & FV_NR)) {
		m.status |= FV_NR;
		m.isr |= VIRTIO_MMIO_INT_CONFIG;
	}
}

static bool step_ok(uint32_t from, uint32_t to)
{
	static const uint32_t seq[] = {0, FV_ACK, FV_ACK | FV_DRV, FV_ACK | FV_DRV | FV_FOK,
				       FV_ACK | FV_DRV | FV_FOK | FV_DOK};
	for (unsigned i = 0; i + 1 < ARRAY_SIZE(seq); i++)
		if (from == seq[i] && to == seq[i + 1])
			return true;
	return false;
}

static void model_status(uint32_t v)
{
	uint32_t cur = m.status & ~FV_NR, keep = m.status & FV_NR;

	if (v == 0) {
		if (m.active || m.pending)
			m.resets++;
		model_reset_regs();
		return;
	}
	v &= ~FV_NR;
	if (v == (cur | VIRTIO_STATUS_FAILED)) {
		m.status = v | keep;
		return;
	}
	if (!step_ok(cur, v))
		return;
	if ((v & FV_FOK) && !(cur & FV_FOK) &&
	    (!(m.drv_features & BIT_ULL(VIRTIO_F_VERSION_1)) || (m.drv_features & ~ECHO_OFFERED)))
		return;
	m.status = v | keep;
	if ((v & FV_DOK) && !(cur & FV_DOK))
		m.pending = true;
}

static struct mq *model_selected(void)
{
	return m.queue_sel < NQ ? &m.q[m.queue_sel] : NULL;
}

static void set_half(uint64_t *a, uint32_t v, bool high)
{
	*a = high ? (*a & 0xffffffffull) | ((uint64_t)v << 32) : (*a & ~0xffffffffull) | v;
}

static void model_write_reg(uint64_t off, uint32_t v)
{
	struct mq *q = model_selected();

	switch (off) {
	case FV_DEV_FEAT_SEL:
		m.dev_sel = v;
		return;
	case FV_DRV_FEAT:
		if ((m.status & (FV_DRV | FV_FOK)) == FV_DRV && m.drv_sel <= 1)
			set_half(&m.drv_features, v, m.drv_sel == 1);
		return;
	case FV_DRV_FEAT_SEL:
		m.drv_sel = v;
		return;
	case FV_QUEUE_SEL:
		m.queue_sel = v;
		return;
	case FV_QUEUE_NUM:
	case FV_QUEUE_READY:
	case FV_DESC_LO:
	case FV_DESC_HI:
	case FV_DRIVER_LO:
	case FV_DRIVER_HI:
	case FV_DEVICE_LO:
	case FV_DEVICE_HI:
		if (!q || !(m.status & FV_FOK) || (m.status & FV_DOK) ||
		    (q->ready && off != FV_QUEUE_READY))
			return;
		if (off == FV_QUEUE_NUM)
			q->size = v > 0xffff ? 0 : (uint16_t)v;
		else if (off == FV_QUEUE_READY && v == 1 && rings_ok(q))
			q->ready = true;
		else if (off == FV_QUEUE_READY && v == 1)
			model_needs_reset();
		else if (off == FV_QUEUE_READY && v == 0)
			q->ready = false;
		else if (off == FV_DESC_LO || off == FV_DESC_HI)
			set_half(&q->desc, v, off == FV_DESC_HI);
		else if (off == FV_DRIVER_LO || off == FV_DRIVER_HI)
			set_half(&q->avail, v, off == FV_DRIVER_HI);
		else if (off == FV_DEVICE_LO || off == FV_DEVICE_HI)
			set_half(&q->used, v, off == FV_DEVICE_HI);
		return;
	case FV_INT_ACK:
		m.isr &= ~v;
		return;
	case FV_STATUS:
		model_status(v);
		return;
	default:
		return;
	}
}

static uint32_t model_read_reg(uint64_t off)
{
	struct mq *q = model_selected();

	switch (off) {
	case FV_MAGIC:
		return 0x74726976;
	case FV_VERSION:
		return 2;
	case FV_DEVICE_ID:
		return ECHO_ID;
	case FV_DEV_FEAT:
		return m.dev_sel == 0	? (uint32_t)ECHO_OFFERED
		       : m.dev_sel == 1 ? (uint32_t)(ECHO_OFFERED >> 32)
					: 0;
	case FV_QUEUE_NUM_MAX:
		return q ? VIRTIO_QUEUE_MAX_SIZE : 0;
	case FV_QUEUE_READY:
		return q ? q->ready : 0;
	case FV_INT_STATUS:
		return m.isr;
	case FV_STATUS:
		return m.status;
	case FV_CONFIG_GEN:
		return m.gen;
	default:
		return 0;
	}
}

/* A register access as the bus delivers it: inside the 4 KiB window. */
static void reg_io(uint64_t off, uint32_t len, uint64_t val, bool write)
{
	uint8_t data[8], want[8];

	if (off + len > VIRTIO_MMIO_WINDOW)
		off = VIRTIO_MMIO_WINDOW - len;
	memcpy(data, &val, sizeof(data));
	if (write) {
		virtio_mmio_ops.write(&e.t, off, data, len);
		if (off >= FV_CONFIG) {
			uint64_t c = off - FV_CONFIG;
			if (c < ECHO_CONFIG_LEN)
				memcpy(m.cfg + c, data, MIN((uint64_t)len, ECHO_CONFIG_LEN - c));
		} else if (len == 4 && !(off & 3)) {
			uint32_t v;
			memcpy(&v, data, 4);
			model_write_reg(off, v);
		}
		return;
	}
	memset(data, 0xa5, sizeof(data));
	memset(want, 0, sizeof(want));
	virtio_mmio_ops.read(&e.t, off, data, len);
	if (off >= FV_CONFIG) {
		uint64_t c = off - FV_CONFIG;
		if (c < ECHO_CONFIG_LEN)
			memcpy(want, m.cfg + c, MIN((uint64_t)len, ECHO_CONFIG_LEN - c));
	} else if (len == 4 && !(off & 3)) {
		uint32_t v = model_read_reg(off);
		memcpy(want, &v, 4);
	}
	if (memcmp(data, want, len)) {
		fprintf(
		    stderr,
		    "read of %u bytes at 0x%llx: got %02x%02x%02x%02x, model %02x%02x%02x%02x\n",
		    len, (unsigned long long)off, data[0], data[1], data[2], data[3], want[0],
		    want[1], want[2], want[3]);
		CHECK(!"register read differs from the model");
	}
}

/* ---------------------------------------------------------------- VMM thread */

/* The device ran (activation, notifications): its queues may have broken
 * (NEEDS_RESET, config interrupt) and it may have raised used-buffer
 * interrupts; nothing else may change, and RAM only in the used rings. */
static void after_device(void)
{
	struct fz_ranges *rs = calloc(1, sizeof(*rs));
	CHECK(rs);
	for (unsigned i = 0; i < NQ; i++)
		if (e.t.queues[i].active)
			fz_ranges_add(rs, e.t.queues[i].used_gpa,
				      FV_USED_BYTES(e.t.queues[i].size));
	fz_diff(&gm, snap, rs);
	free(rs);

	CHECK((e.t.status & ~FV_NR) == (m.status & ~FV_NR));
	if ((e.t.status & FV_NR) && !(m.status & FV_NR)) {
		CHECK(e.t.isr & VIRTIO_MMIO_INT_CONFIG);
		m.status |= FV_NR;
	}
	CHECK((e.t.isr & m.isr) == m.isr);
	m.isr = e.t.isr;
}

/* ensure_active() as the model sees it. */
static bool model_ensure_active(void)
{
	if (m.active)
		return true;
	if (!m.pending || !(m.status & FV_DOK))
		return false;
	m.pending = false;
	unsigned ready = 0;
	for (unsigned i = 0; i < NQ; i++)
		ready += m.q[i].ready;
	int ret = ready ? e.activate_ret : -ENODEV;
	if (ready)
		m.activates++;
	if (ret) {
		model_needs_reset();
		return false;
	}
	m.active = true;
	for (unsigned i = 0; i < NQ; i++)
		if (m.q[i].ready)
			m.notifies[i]++;
	return true;
}

static void control(void)
{
	fz_snap(&gm, snap);
	(void)model_ensure_active();
	vmmio_handle_control(&e.t);
	after_device();
}

static void notify(unsigned qi)
{
	bool was_active = m.active;
	bool live = e.t.queues[qi].active && !e.t.queues[qi].fault;

	fz_snap(&gm, snap);
	bool now_active = model_ensure_active();
	fv_kick(&e.t, qi);
	/* Served if live before the kick; if the kick activated the device,
	 * if the activation's own pass did not break the queue (a second
	 * pass over unchanged rings cannot). */
	if (was_active ? live : now_active && m.q[qi].ready && !e.t.queues[qi].fault)
		m.notifies[qi]++;
	after_device();
}

/* ---------------------------------------------------------------- checks */

static void check_invariants(void)
{
	uint32_t s = e.t.status & ~(FV_NR | VIRTIO_STATUS_FAILED);

	CHECK(s == 0 || s == FV_ACK || s == (FV_ACK | FV_DRV) || s == (FV_ACK | FV_DRV | FV_FOK) ||
	      s == (FV_ACK | FV_DRV | FV_FOK | FV_DOK));
	CHECK(e.t.status == m.status && e.t.driver_features == m.drv_features);
	if (e.t.status & FV_FOK)
		CHECK((e.t.driver_features & BIT_ULL(VIRTIO_F_VERSION_1)) &&
		      !(e.t.driver_features & ~ECHO_OFFERED));
	CHECK(!(e.t.isr & ~3u) && e.t.isr == m.isr);
	for (unsigned i = 0; i < NQ; i++) {
		const struct vq *q = &e.t.queues[i];
		struct mq r = {q->size, q->ready, q->desc_gpa, q->avail_gpa, q->used_gpa};
		CHECK(q->ready == m.q[i].ready && q->size == m.q[i].size);
		CHECK(q->desc_gpa == m.q[i].desc && q->avail_gpa == m.q[i].avail &&
		      q->used_gpa == m.q[i].used);
		if (q->ready)
			CHECK(rings_ok(&r));
		if (q->active)
			CHECK(q->ready && e.t.active);
		CHECK(e.notifies[i] == m.notifies[i]);
	}
	CHECK(e.t.active == m.active && e.t.activate_pending == m.pending);
	CHECK(e.activates == m.activates && e.resets == m.resets);
	CHECK(e.t.config_generation == m.gen);
	CHECK(!memcmp(e.cfg, m.cfg, ECHO_CONFIG_LEN));
}

/* ---------------------------------------------------------------- input */

static const uint16_t regs[] = {
    FV_MAGIC,	     FV_VERSION,     FV_DEVICE_ID,    FV_VENDOR_ID,  FV_DEV_FEAT,
    FV_DEV_FEAT_SEL, FV_DRV_FEAT,    FV_DRV_FEAT_SEL, FV_QUEUE_SEL,  FV_QUEUE_NUM_MAX,
    FV_QUEUE_NUM,    FV_QUEUE_READY, FV_QUEUE_NOTIFY, FV_INT_STATUS, FV_INT_ACK,
    FV_STATUS,	     FV_DESC_LO,     FV_DESC_HI,      FV_DRIVER_LO,  FV_DRIVER_HI,
    FV_DEVICE_LO,    FV_DEVICE_HI,   FV_CONFIG_GEN,   FV_CONFIG,     FV_CONFIG + 4,
    FV_CONFIG + 8,
};

static void reg_access(struct fin *in, uint8_t op, bool write)
{
	uint8_t r = fin_u8(in);
	uint64_t off = r < ARRAY_SIZE(regs) ? regs[r]
		       : r < 200	    ? (uint64_t)(r & 0x3f) * 4
					    : fin_u16(in) % VIRTIO_MMIO_WINDOW;
	static const uint8_t widths[] = {4, 4, 4, 4, 4, 1, 2, 8};
	uint32_t len = widths[(op >> 4) & 7];
	uint64_t v = len == 8 ? fin_u64(in) : fin_u32(in);

	reg_io(off, len, v, write);
}

static void status_write(struct fin *in)
{
	uint8_t k = fin_u8(in);
	uint32_t cur = m.status & ~FV_NR;
	static const uint32_t next[] = {FV_ACK, FV_ACK | FV_DRV, FV_ACK | FV_DRV | FV_FOK,
					FV_ACK | FV_DRV | FV_FOK | FV_DOK};
	uint32_t v = k % 8 < 4	  ? next[k % 4]
		     : k % 8 == 4 ? 0
		     : k % 8 == 5 ? cur | 0x80
				  : fin_u8(in);

	reg_io(FV_STATUS, 4, v, true);
	if ((k & 0x80) && (m.status & FV_DOK))
		control();
}

/* DriverFeatures: VERSION_1 and some of the offered bits, or anything. */
static void features_write(struct fin *in)
{
	uint8_t k = fin_u8(in);
	uint64_t f =
	    k & 1 ? fin_u64(in) : (ECHO_OFFERED & fin_u64(in)) | BIT_ULL(VIRTIO_F_VERSION_1);

	reg_io(FV_DRV_FEAT_SEL, 4, 0, true);
	reg_io(FV_DRV_FEAT, 4, (uint32_t)f, true);
	reg_io(FV_DRV_FEAT_SEL, 4, 1, true);
	reg_io(FV_DRV_FEAT, 4, (uint32_t)(f >> 32), true);
}

/* Programs queue qi at its canonical rings with a power-of-two size. */
static void queue_setup(struct fin *in, uint8_t op)
{
	unsigned qi = (op >> 4) & 1;
	uint16_t size = (uint16_t)(1u << (fin_u8(in) % 9));

	fv_q_init(&dq[qi], &gm, qi, size);
	reg_io(FV_QUEUE_SEL, 4, qi, true);
	reg_io(FV_QUEUE_NUM, 4, size, true);
	reg_io(FV_DESC_LO, 4, (uint32_t)dq[qi].desc, true);
	reg_io(FV_DESC_HI, 4, 0, true);
	reg_io(FV_DRIVER_LO, 4, (uint32_t)dq[qi].avail, true);
	reg_io(FV_DRIVER_HI, 4, 0, true);
	reg_io(FV_DEVICE_LO, 4, (uint32_t)dq[qi].used, true);
	reg_io(FV_DEVICE_HI, 4, 0, true);
	reg_io(FV_QUEUE_READY, 4, 1, true);
}

/* A chain of 1-4 descriptors on the driver's ring of queue qi. */
static void chain(struct fin *in, uint8_t op)
{
	struct fv_q *q = &dq[(op >> 4) & 1];
	uint16_t n = 1 + fin_u8(in) % 4, head = q->next_desc;

	for (uint16_t i = 0; i < n; i++) {
		uint16_t cur = q->next_desc;
		q->next_desc = (uint16_t)((q->next_desc + 1) % q->size);
		fv_desc(q, cur, fv_addr(in), fv_len(in), i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
			q->next_desc);
	}
	if (fin_u8(in) == 0xff) /* now and then a chain that loops */
		fv_desc(q, head, 0, 0, VIRTQ_DESC_F_NEXT, head);
	fv_push(q, head);
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
	memset(&e, 0, sizeof(e));
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < ECHO_CONFIG_LEN; i++)
		e.cfg[i] = m.cfg[i] = (uint8_t)(i + 1);
	CHECK(vmmio_init(&e.t, &echo_ops, &e, &gm, "echo0", 0xc0001000, 5, ECHO_FEATURES,
			 ECHO_CONFIG_LEN) == 0);
	model_reset_regs();
	for (unsigned i = 0; i < NQ; i++)
		fv_q_init(&dq[i], &gm, i, 16);

	while (in.n) {
		uint8_t op = fin_u8(&in);
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
			reg_access(&in, op, true);
			break;
		case 3:
		case 4:
			reg_access(&in, op, false);
			break;
		case 5:
		case 6:
			status_write(&in);
			break;
		case 7:
			features_write(&in);
			break;
		case 8:
			queue_setup(&in, op);
			break;
		case 9:
			control();
			break;
		case 10:
		case 11:
			notify((op >> 4) & 1);
			break;
		case 12:
			chain(&in, op);
			break;
		case 13:
			e.activate_ret = op & 0x10 ? -EIO : 0;
			break;
		case 14:
			/* The device changed its config space. */
			vmmio_config_changed(&e.t);
			m.gen++;
			m.isr |= VIRTIO_MMIO_INT_CONFIG;
			break;
		default:
			/* The driver moves avail->idx by itself (e.g. a jump). */
			fv_set_avail_idx(
			    &dq[(op >> 4) & 1],
			    (uint16_t)(dq[(op >> 4) & 1].avail_idx + (int8_t)fin_u8(&in)));
			break;
		}
		check_invariants();
	}
	vmmio_destroy(&e.t);
	pthread_mutex_destroy(&e.t.lock);
	return 0;
}
