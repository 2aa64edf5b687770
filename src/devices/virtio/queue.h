/* SPDX-License-Identifier: Apache-2.0 */
/* Split virtqueues (virtio spec v1.2 §2.7), the device side.
 *
 * The rings live in guest memory, which the guest keeps changing while we
 * read it. So: activation checks size, alignment and that each ring lies
 * wholly in RAM (then the ring pointers are fixed for the life of the
 * queue); each pop reads avail->idx once and rejects a jump of more than
 * the queue size; each chain is walked with every index bounded and at most
 * `size` descriptors; each descriptor is copied out once and only the copy
 * is used. A structural violation marks the queue broken; the device then
 * asks for a reset. Buffers themselves are not checked here: a device maps
 * each one through the guest-memory accessor when it uses it. */
#ifndef EMBER_DEVICES_VIRTIO_QUEUE_H
#define EMBER_DEVICES_VIRTIO_QUEUE_H

#include <stdint.h>
#include <sys/uio.h>

#include "common/util.h"
#include "devices/virtio/virtio.h"
#include "mem/guest_mem.h"

/* Descriptor flags (§2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* Ring flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
} __attribute__((packed));

/* Why a queue broke, for the log and the tests. */
enum vq_fault {
	VQ_OK = 0,
	VQ_FAULT_AVAIL_IDX,  /* avail->idx ran ahead by more than the size */
	VQ_FAULT_HEAD_RANGE, /* head index out of range */
	VQ_FAULT_NEXT_RANGE, /* next index out of range */
	VQ_FAULT_CHAIN_LONG, /* more descriptors than the queue has: a loop */
	VQ_FAULT_INDIRECT,   /* INDIRECT without the feature */
};
const char *vq_fault_name(enum vq_fault f);

struct vq {
	/* Driver-set configuration (transport registers). */
	uint16_t max_size;
	uint16_t size;
	bool ready;
	gpa_t desc_gpa, avail_gpa, used_gpa;

	/* Device state, valid once activated. */
	bool active;
	bool event_idx;
	enum vq_fault fault;
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, then the elements */
	uint16_t last_avail;	  /* next avail entry to consume */
	uint16_t next_used;	  /* used->idx we will publish next */
	uint16_t signalled_used;  /* used idx at the last interrupt decision */
	bool signalled_valid;
};

/* One chain, copied out of the descriptor table. */
struct vq_chain {
	uint16_t head;
	uint16_t n;
	struct virtq_desc d[VIRTIO_QUEUE_MAX_SIZE];
};

/* Resets to the initial (driver-unconfigured) state. */
void vq_init(struct vq *q, uint16_t max_size);
/* Checks the driver's configuration (§2.7: size a power of two within
 * max, alignment, rings in RAM). 0 or -EINVAL; `why` says what failed. */
int vq_check(const struct vq *q, const struct guest_mem *gm, const char **why) WUR;
/* Resolves ring pointers and starts serving; call after vq_check. */
int vq_activate(struct vq *q, const struct guest_mem *gm, bool event_idx) WUR;

/* 1: a chain was copied into c; 0: nothing available; -EPROTO: the queue
 * is broken (q->fault says why; it stays broken until reset). */
int vq_pop(struct vq *q, struct vq_chain *c) WUR;
/* Gives the last popped chain back (to retry it later). */
void vq_unpop(struct vq *q);
/* Whether the driver has made chains available. */
bool vq_has_avail(struct vq *q);
/* Records a used element (not visible to the driver until vq_publish). */
void vq_add_used(struct vq *q, uint16_t head, uint32_t len);
/* Makes the added used elements visible (release fence, then used->idx). */
void vq_publish(struct vq *q);
/* After vq_publish: whether the driver wants an interrupt now (honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). */
bool vq_should_interrupt(struct vq *q);
/* Before sleeping on an empty queue: ask for notifications (avail_event
 * with EVENT_IDX). Returns true if chains arrived meanwhile (process again). */
bool vq_enable_notify(struct vq *q);
/* The same when the device took k chains, found them too few, and gave
 * them back: it wants to hear only about chains beyond those k. */
bool vq_enable_notify_beyond(struct vq *q, uint16_t k);

/* Maps a chain's buffers [first, first+count) into iovecs through the
 * guest-memory accessor. Fails with -EFAULT when any buffer is not wholly
 * in RAM. */
int vq_chain_iov(const struct guest_mem *gm, const struct vq_chain *c, unsigned first,
		 unsigned count, struct iovec *iov) WUR;

#endif
