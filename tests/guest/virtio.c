/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: virtio-mmio transport and split virtqueues, in ring 3.
 *
 * Memory: each (device slot, queue) owns three static pages in the image
 * (NOINIT: not cleared at boot; vq_setup() clears them): the descriptor
 * table, the avail ring (with the driver's per-head tokens after it) and
 * the used ring. Data buffers come from the DMA area above the image
 * (dma_alloc()).
 *
 * Ordering (x86 is TSO): ring entries are written before avail->idx
 * (compiler barrier + release store); the store of avail->idx is fenced
 * (mfence) before reading avail_event / used->flags for notification
 * suppression, and likewise used_event before re-checking used->idx when
 * interrupts are enabled; used->idx is read (acquire) before the elements. */
#include "virtio.h"

char virtio_err[200];
bool vq_broken;

void verr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(virtio_err, sizeof(virtio_err), fmt, ap);
	va_end(ap);
}

static inline void mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------------- DMA */
extern char _dma_start[], _dma_end[]; /* guest.ld */
static uint64_t dma_next;

static bool ram_covers(uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < boot.mem_count; i++) {
		const struct mem_region *r = &boot.mem[i];
		if (r->type == E820_RAM && a >= r->base && a + len <= r->base + r->size)
			return true;
	}
	return false;
}

void *dma_alloc(uint64_t size, uint64_t align)
{
	uint64_t start = (uintptr_t)_dma_start, end = (uintptr_t)_dma_end;
	if (!dma_next)
		dma_next = start;
	uint64_t a = (dma_next + align - 1) & ~(align - 1);
	if (a + size > end) {
		verr("DMA area exhausted (%lu bytes wanted, 0x%lx-0x%lx)", size, start, end);
		return NULL;
	}
	if (!ram_covers(a, size)) {
		verr("DMA area 0x%lx-0x%lx is not all RAM", a, a + size);
		return NULL;
	}
	dma_next = a + size;
	return phys(a);
}

/* ---------------------------------------------------------------- rings */
#define PAGE 4096
struct vq_pages {
	struct virtq_desc desc[VQ_MAX];  /* page 0 */
	uint8_t avail[1024];             /* page 1: 4 + 2 * 256 + 2 bytes */
	void *token[VQ_MAX];             /*   driver only: 2 KiB */
	uint8_t pad[PAGE - 1024 - VQ_MAX * sizeof(void *)];
	uint8_t used[PAGE];              /* page 2: 4 + 8 * 256 + 2 bytes */
};
_Static_assert(sizeof(struct vq_pages) == 3 * PAGE, "vq_pages is three pages");

static struct vq_pages vq_pool[MAX_VIRTIO_DEVICES][VDEV_MAX_QUEUES] NOINIT
	__attribute__((aligned(PAGE)));

void vq_mem(struct vdev *d, unsigned qi, struct virtq_desc **desc,
	    struct virtq_avail **avail, struct virtq_used **used)
{
	struct vq_pages *p = &vq_pool[d->slot][qi];
	*desc = p->desc;
	*avail = (struct virtq_avail *)p->avail;
	*used = (struct virtq_used *)p->used;
}

static volatile uint16_t *used_event(struct virtq *q)
{
	return &q->avail->ring[q->size];
}

volatile uint16_t *vq_avail_event(struct virtq *q)
{
	/* The u16 after the used ring (address arithmetic, not a cast of
	 * a used element: no type punning). */
	return (volatile uint16_t *)((uintptr_t)q->used + 4 + 8 * (uintptr_t)q->size);
}

/* ---------------------------------------------------------------- probe */
static uint32_t id_cache[MAX_VIRTIO_DEVICES];
static bool id_cached[MAX_VIRTIO_DEVICES];

bool vdev_probe(struct vdev *d, unsigned slot)
{
	memset(d, 0, sizeof(*d));
	if (slot >= virtio_dev_count) {
		verr("no virtio device %u (the command line lists %u)", slot, virtio_dev_count);
		return false;
	}
	d->slot = slot;
	d->base = virtio_devs[slot].base;
	d->gsi = virtio_devs[slot].irq;
	uint32_t magic = vreg_read(d, VIRTIO_MMIO_MAGIC_VALUE);
	uint32_t version = vreg_read(d, VIRTIO_MMIO_VERSION);
	d->device_id = vreg_read(d, VIRTIO_MMIO_DEVICE_ID);
	id_cache[slot] = d->device_id;
	id_cached[slot] = true;
	if (magic != VIRTIO_MMIO_MAGIC) {
		verr("device %u at 0x%lx: MagicValue 0x%x", slot, d->base, magic);
		return false;
	}
	if (version != 2) {
		verr("device %u at 0x%lx: Version %u, not 2", slot, d->base, version);
		return false;
	}
	return true;
}

uint32_t virtio_device_id(unsigned slot)
{
	struct vdev tmp;
	if (slot >= virtio_dev_count)
		return 0;
	if (!id_cached[slot])
		vdev_probe(&tmp, slot);
	return id_cache[slot];
}

unsigned virtio_find(uint32_t device_id, struct vdev *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned s = 0; s < virtio_dev_count; s++) {
		uint32_t id = virtio_device_id(s);
		if (!id || (device_id && id != device_id))
			continue;
		if (n < max && out)
			vdev_probe(&out[n], s);
		n++;
	}
	return n;
}

int virtio_nth(uint32_t device_id, unsigned nth)
{
	unsigned n = 0;
	for (unsigned s = 0; s < virtio_dev_count; s++)
		if (virtio_device_id(s) == device_id && n++ == nth)
			return (int)s;
	return -1;
}

/* ---------------------------------------------------------------- status */
bool vdev_reset(struct vdev *d)
{
	vreg_write(d, VIRTIO_MMIO_STATUS, 0);
	deadline_t dl = deadline_in_us(1000000);
	uint32_t st;
	while ((st = vdev_status(d)) != 0) {
		if (deadline_passed(dl)) {
			verr("Status reads 0x%x, not 0, 1 s after reset", st);
			return false;
		}
		delay_us(100);
	}
	for (unsigned i = 0; i < VDEV_MAX_QUEUES; i++)
		d->vq[i].ready = false;
	d->features = 0;
	d->event_idx = false;
	return true;
}

uint64_t vdev_read_offered(struct vdev *d)
{
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vreg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = vreg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	d->offered = hi << 32 | lo;
	return d->offered;
}

void vdev_write_features(struct vdev *d, uint64_t f)
{
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vreg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

static bool set_status(struct vdev *d, uint32_t bits)
{
	uint32_t want = vdev_status(d) | bits;
	vreg_write(d, VIRTIO_MMIO_STATUS, want);
	uint32_t st = vdev_status(d);
	if (st != want) {
		verr("Status reads 0x%x after writing 0x%x", st, want);
		return false;
	}
	return true;
}

bool vdev_negotiate(struct vdev *d, uint64_t wanted)
{
	if (!vdev_reset(d) || !set_status(d, VIRTIO_STATUS_ACK) ||
	    !set_status(d, VIRTIO_STATUS_DRIVER))
		return false;
	uint64_t offered = vdev_read_offered(d);
	if (!(offered & FEAT(VIRTIO_F_VERSION_1))) {
		verr("VERSION_1 not offered (features 0x%lx)", offered);
		return false;
	}
	d->features = offered & (wanted | FEAT(VIRTIO_F_VERSION_1));
	vdev_write_features(d, d->features);
	if (!set_status(d, VIRTIO_STATUS_FEATURES_OK)) {
		verr("FEATURES_OK did not stick (offered 0x%lx, acked 0x%lx): %s", offered,
		     d->features, virtio_err);
		return false;
	}
	d->event_idx = d->features & FEAT(VIRTIO_F_RING_EVENT_IDX);
	return true;
}

bool vq_setup(struct vdev *d, unsigned qi, uint16_t qsize)
{
	if (qi >= VDEV_MAX_QUEUES) {
		verr("queue %u: the driver handles %u queues", qi, VDEV_MAX_QUEUES);
		return false;
	}
	vreg_write(d, VIRTIO_MMIO_QUEUE_SEL, qi);
	uint32_t max = vreg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max) {
		verr("queue %u: QueueNumMax reads 0", qi);
		return false;
	}
	uint32_t ready = vreg_read(d, VIRTIO_MMIO_QUEUE_READY);
	if (ready) {
		verr("queue %u: QueueReady reads %u before set-up", qi, ready);
		return false;
	}
	uint32_t size = qsize ? qsize : (max < VQ_MAX ? max : VQ_MAX);
	if (size > max || size > VQ_MAX || (size & (size - 1))) {
		verr("queue %u: cannot use size %u (QueueNumMax %u)", qi, size, max);
		return false;
	}
	struct virtq *q = &d->vq[qi];
	struct vq_pages *p = &vq_pool[d->slot][qi];
	memset(q, 0, sizeof(*q));
	memset(p, 0, sizeof(*p));
	q->index = (uint16_t)qi;
	q->size = (uint16_t)size;
	q->desc = p->desc;
	q->avail = (struct virtq_avail *)p->avail;
	q->used = (struct virtq_used *)p->used;
	q->token = p->token;
	for (unsigned i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->num_free = (uint16_t)size;
	/* Polling: no interrupts wanted (with EVENT_IDX: one per 64 Ki). */
	if (!d->irq_mode)
		q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	*used_event(q) = d->irq_mode ? 0 : 0xffff;

	uint64_t da = dma_addr(q->desc), aa = dma_addr(q->avail), ua = dma_addr(q->used);
	vreg_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)da);
	vreg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(da >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)aa);
	vreg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(aa >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)ua);
	vreg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(ua >> 32));
	vreg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	ready = vreg_read(d, VIRTIO_MMIO_QUEUE_READY);
	if (ready != 1) {
		verr("queue %u: QueueReady reads %u after set-up (size %u, Status 0x%x)", qi,
		     ready, size, vdev_status(d));
		return false;
	}
	q->ready = true;
	if (d->nvqs < qi + 1)
		d->nvqs = qi + 1;
	return true;
}

bool vdev_driver_ok(struct vdev *d)
{
	if (!set_status(d, VIRTIO_STATUS_DRIVER_OK))
		return false;
	return true;
}

bool vdev_init(struct vdev *d, uint64_t wanted, unsigned nvqs, uint16_t qsize)
{
	if (!vdev_negotiate(d, wanted))
		return false;
	for (unsigned i = 0; i < nvqs; i++)
		if (!vq_setup(d, i, qsize))
			return false;
	return vdev_driver_ok(d);
}

/* ---------------------------------------------------------------- config */
void vdev_config_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *b = buf;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t gen = vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		for (uint32_t i = 0; i < len;) {
			uint64_t a = d->base + VIRTIO_MMIO_CONFIG + off + i;
			if (!(a & 3) && len - i >= 4) {
				uint32_t v = mmio_read32(a);
				memcpy(b + i, &v, 4);
				i += 4;
			} else if (!(a & 1) && len - i >= 2) {
				uint16_t v = mmio_read16(a);
				memcpy(b + i, &v, 2);
				i += 2;
			} else {
				b[i++] = mmio_read8(a);
			}
		}
		if (vreg_read(d, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
			return;
	}
}

uint64_t vdev_config_read64(struct vdev *d, uint32_t off)
{
	uint64_t v = 0;
	vdev_config_read(d, off, &v, 8); /* two 32-bit accesses (§4.2.2.2) */
	return v;
}

/* ---------------------------------------------------------------- interrupts */
/* KVM's APIC timer runs at 1 GHz; divided by 128, 50 ms is 390625 counts. */
#define WATCHDOG_COUNT 390625
#define IOAPIC_PINS 24
#define IOAPIC2_BASE 0xfec10000ull /* QEMU microvm's second IOAPIC (GSI 24-47) */

static unsigned irq_users;

static void ioapic_pin(uint32_t gsi, uint64_t *base, unsigned *pin)
{
	*base = mp.ioapic_base ? mp.ioapic_base : IOAPIC_BASE_DEFAULT;
	*pin = gsi;
	if (gsi >= IOAPIC_PINS) {
		*base = IOAPIC2_BASE;
		*pin = gsi - IOAPIC_PINS;
	}
}

void vdev_irq_mode(struct vdev *d, bool on)
{
	static bool apic_ready;
	uint64_t base;
	unsigned pin;
	if (on == d->irq_mode)
		return;
	ioapic_pin(d->gsi, &base, &pin);
	d->vector = (uint8_t)(IRQ_VECTOR_BASE + d->gsi);
	if (on) {
		if (!apic_ready) {
			interrupts_init();
			apic_ready = true;
		}
		d->irq_seen = irq_counts[d->vector];
		ioapic_route(base, pin, d->vector, lapic_id());
		if (!irq_users++)
			lapic_timer_periodic(VEC_LAPIC_TIMER, WATCHDOG_COUNT);
	} else {
		ioapic_mask(base, pin);
		if (!--irq_users)
			lapic_timer_stop();
	}
	d->irq_mode = on;
	for (unsigned i = 0; i < d->nvqs; i++) {
		struct virtq *q = &d->vq[i];
		if (!q->ready)
			continue;
		q->avail->flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
		*used_event(q) = on ? q->last_used : (uint16_t)(q->last_used - 1);
	}
}

/* ---------------------------------------------------------------- queues */
int vq_add(struct virtq *q, const struct vbuf *b, unsigned n, void *token)
{
	if (!n || !token || q->num_free < n)
		return -1;
	uint16_t head = q->free_head, i = head;
	for (unsigned k = 0; k < n; k++) {
		struct virtq_desc *dd = &q->desc[i];
		dd->addr = b[k].addr;
		dd->len = b[k].len;
		dd->flags = (uint16_t)((b[k].write ? VIRTQ_DESC_F_WRITE : 0) |
				       (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		i = dd->next; /* free-list order is chain order */
	}
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->token[head] = token;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
	q->inflight++;
	return head;
}

void vq_publish(struct virtq *q)
{
	barrier();
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	q->published = q->avail_idx;
}

void vq_notify(struct vdev *d, struct virtq *q)
{
	vreg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

void vq_kick(struct vdev *d, struct virtq *q)
{
	uint16_t old = q->kicked, now = q->avail_idx;
	vq_publish(q);
	mb(); /* avail->idx visible before avail_event / used->flags is read */
	q->kicked = now;
	bool need;
	if (d->event_idx) {
		uint16_t ev = *vq_avail_event(q);
		need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		need = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) &
			 VIRTQ_USED_F_NO_NOTIFY);
	}
	if (need)
		vq_notify(d, q);
}

bool vq_has_used(const struct virtq *q)
{
	return q->ready && __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

bool vq_pop(struct vdev *d, struct virtq *q, uint32_t *len, void **token)
{
	(void)d;
	if (!q->ready)
		return false;
	uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	if (used_idx == q->last_used)
		return false;
	if ((uint16_t)(used_idx - q->last_used) > q->inflight) {
		vq_broken = true;
		verr("queue %u: used->idx %u is %u ahead of %u with %u in flight", q->index,
		     used_idx, (uint16_t)(used_idx - q->last_used), q->last_used, q->inflight);
		return false;
	}
	volatile struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	uint32_t id = e->id, l = e->len;
	if (id >= q->size || !q->token[id]) {
		vq_broken = true;
		verr("queue %u: used element %u names id %u, which is not in flight", q->index,
		     q->last_used, id);
		return false;
	}
	/* Free the chain: follow NEXT from the head to the tail. */
	uint16_t i = (uint16_t)id, n = 1;
	while ((q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->size) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	*token = q->token[id];
	q->token[id] = NULL;
	*len = l;
	q->last_used++;
	q->inflight--;
	return true;
}

static bool any_used(struct vdev *d)
{
	for (unsigned i = 0; i < d->nvqs; i++)
		if (vq_has_used(&d->vq[i]))
			return true;
	return false;
}

bool vdev_wait(struct vdev *d, deadline_t dl)
{
	for (;;) {
		if (any_used(d))
			return true;
		if (deadline_passed(dl))
			return false;
		if (!d->irq_mode) {
			cpu_relax();
			continue;
		}
		/* Ask for an interrupt at the next used element, then look
		 * once more before halting (the device may have been faster). */
		for (unsigned i = 0; i < d->nvqs; i++)
			if (d->vq[i].ready)
				*used_event(&d->vq[i]) = d->vq[i].last_used;
		mb();
		if (any_used(d))
			return true;
		if (irq_counts[d->vector] == d->irq_seen)
			cpu_halt(); /* the device's vector or the watchdog tick */
		if (irq_counts[d->vector] != d->irq_seen) {
			d->irq_seen = irq_counts[d->vector];
			uint32_t isr = vreg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
			if (isr)
				vreg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
			if (isr & VIRTIO_MMIO_INT_VRING)
				d->isr_vring++;
			if (isr & VIRTIO_MMIO_INT_CONFIG) {
				d->isr_config++;
				return true;
			}
		}
	}
}
