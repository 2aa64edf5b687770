/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/virtio/queue.h"

#include <string.h>

/* Ring sizes in bytes for a queue of n entries (§2.7). */
#define DESC_BYTES(n)  (16ull * (n))
#define AVAIL_BYTES(n) (6ull + 2ull * (n))
#define USED_BYTES(n)  (6ull + 8ull * (n))

const char *vq_fault_name(enum vq_fault f)
{
	switch (f) {
	case VQ_OK:
		return "ok";
	case VQ_FAULT_AVAIL_IDX:
		return "avail index ran ahead by more than the queue size";
	case VQ_FAULT_HEAD_RANGE:
		return "chain head out of range";
	case VQ_FAULT_NEXT_RANGE:
		return "descriptor next out of range";
	case VQ_FAULT_CHAIN_LONG:
		return "descriptor chain longer than the queue (a loop)";
	case VQ_FAULT_INDIRECT:
		return "indirect descriptor without the feature";
	}
	return "?";
}

void vq_init(struct vq *q, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->max_size = max_size;
	q->size = max_size;
}

int vq_check(const struct vq *q, const struct guest_mem *gm, const char **why)
{
	if (!q->size || q->size > q->max_size || !is_pow2(q->size)) {
		*why = "queue size is not a power of two within the maximum";
		return -EINVAL;
	}
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3)) {
		*why = "ring misaligned";
		return -EINVAL;
	}
	if (!gm_ptr(gm, q->desc_gpa, DESC_BYTES(q->size)) ||
	    !gm_ptr(gm, q->avail_gpa, AVAIL_BYTES(q->size)) ||
	    !gm_ptr(gm, q->used_gpa, USED_BYTES(q->size))) {
		*why = "ring not in guest RAM";
		return -EINVAL;
	}
	return 0;
}

int vq_activate(struct vq *q, const struct guest_mem *gm, bool event_idx)
{
	const char *why;
	if (vq_check(q, gm, &why))
		return -EINVAL;
	q->desc = gm_ptr(gm, q->desc_gpa, DESC_BYTES(q->size));
	q->avail = gm_ptr(gm, q->avail_gpa, AVAIL_BYTES(q->size));
	q->used = gm_ptr(gm, q->used_gpa, USED_BYTES(q->size));
	q->event_idx = event_idx;
	q->fault = VQ_OK;
	q->last_avail = 0;
	q->next_used = 0;
	q->signalled_valid = false;
	q->active = true;
	return 0;
}

static uint16_t load16(volatile uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int broken(struct vq *q, enum vq_fault f)
{
	q->fault = f;
	return -EPROTO;
}

bool vq_has_avail(struct vq *q)
{
	return q->active && !q->fault && load16(&q->avail[1]) != q->last_avail;
}

int vq_pop(struct vq *q, struct vq_chain *c)
{
	if (q->fault)
		return -EPROTO;
	uint16_t avail_idx = load16(&q->avail[1]); /* read once */
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return broken(q, VQ_FAULT_AVAIL_IDX);

	uint16_t head = q->avail[2 + (q->last_avail & (q->size - 1))];
	if (head >= q->size)
		return broken(q, VQ_FAULT_HEAD_RANGE);

	c->head = head;
	c->n = 0;
	uint16_t i = head;
	for (;;) {
		if (c->n == q->size)
			return broken(q, VQ_FAULT_CHAIN_LONG);
		struct virtq_desc d;
		/* One copy per descriptor; only the copy is looked at again. */
		memcpy(&d, (const void *)&q->desc[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, VQ_FAULT_INDIRECT);
		c->d[c->n++] = d;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return broken(q, VQ_FAULT_NEXT_RANGE);
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

void vq_unpop(struct vq *q)
{
	q->last_avail--;
}

void vq_add_used(struct vq *q, uint16_t head, uint32_t len)
{
	volatile struct virtq_used_elem *e =
	    (volatile struct virtq_used_elem *)(q->used + 2) + (q->next_used & (q->size - 1));
	e->id = head;
	e->len = len;
	q->next_used++;
}

void vq_publish(struct vq *q)
{
	/* The elements before the index (§2.7.14). */
	__atomic_store_n(&q->used[1], q->next_used, __ATOMIC_RELEASE);
}

bool vq_should_interrupt(struct vq *q)
{
	/* The driver's flags/used_event must be read after the index store. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t new_idx = q->next_used;
	if (!q->event_idx)
		return !(load16(&q->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t old = q->signalled_used;
	bool valid = q->signalled_valid;
	q->signalled_used = new_idx;
	q->signalled_valid = true;
	if (!valid)
		return true;
	uint16_t used_event = load16(&q->avail[2 + q->size]);
	/* vring_need_event(): the driver asked to hear about used_event. */
	return (uint16_t)(new_idx - used_event - 1) < (uint16_t)(new_idx - old);
}

bool vq_enable_notify_beyond(struct vq *q, uint16_t k)
{
	if (!q->active || q->fault)
		return false;
	uint16_t want = (uint16_t)(q->last_avail + k);
	if (q->event_idx)
		__atomic_store_n(&q->used[2 + 4 * q->size], want, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->used[0], 0, __ATOMIC_RELAXED);
	/* Publish the request before looking again at avail->idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (uint16_t)(load16(&q->avail[1]) - q->last_avail) > k;
}

bool vq_enable_notify(struct vq *q)
{
	return vq_enable_notify_beyond(q, 0);
}

int vq_chain_iov(const struct guest_mem *gm, const struct vq_chain *c, unsigned first,
		 unsigned count, struct iovec *iov)
{
	if (first > c->n || count > c->n - first)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		const struct virtq_desc *d = &c->d[first + i];
		void *p = gm_ptr(gm, d->addr, d->len);
		if (!p)
			return -EFAULT;
		iov[i].iov_base = p;
		iov[i].iov_len = d->len;
	}
	return 0;
}
