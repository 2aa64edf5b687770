/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio-mmio transport, version 2 (virtio spec v1.2 §4.2.2), for one
 * device. Registers are served on vCPU threads under the device lock; the
 * device's queues are served on the VMM thread under the same lock. Status
 * changes follow a table of allowed transitions; DRIVER_OK only records a
 * request, and the VMM thread activates the device (it owns the epoll set).
 * QueueNotify is a KVM ioeventfd per queue from the moment the device
 * exists; interrupts go through one irqfd. See docs/virtio.md. */
#ifndef EMBER_DEVICES_VIRTIO_MMIO_H
#define EMBER_DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "bus/bus.h"
#include "devices/irq.h"
#include "devices/virtio/queue.h"
#include "mem/guest_mem.h"

#define VIRTIO_MMIO_MAX_QUEUES	 3
#define VIRTIO_MMIO_WINDOW	 0x1000
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050

struct virtio_mmio;

/* What a device implements. Every callback runs with the device lock held. */
struct virtio_dev_ops {
	const char *kind; /* "block", "net" */
	uint32_t device_id;
	unsigned num_queues;
	/* Config space (offset from 0x100, checked against config_len). */
	void (*config_read)(void *dev, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint64_t off, const uint8_t *data, uint32_t len);
	/* VMM thread, on DRIVER_OK with every ready queue activated. 0 or
	 * -errno (the device then asks for a reset). */
	int (*activate)(void *dev);
	/* VMM thread: queue q was notified (or needs another look). */
	void (*queue_notify)(void *dev, unsigned q);
	/* Any thread: the driver reset the device. Stop using guest memory
	 * (finish or cancel in-flight I/O) before returning. */
	void (*reset)(void *dev);
};

struct virtio_mmio_stats {
	uint64_t bad_accesses;	 /* wrong width/alignment, unknown registers */
	uint64_t refused_status; /* status writes outside the allowed table */
	uint64_t queue_faults;	 /* queues broken by the driver */
	uint64_t activate_fails;
	uint64_t notifies;   /* queue notifications handled */
	uint64_t interrupts; /* used-buffer interrupts raised */
	uint64_t config_interrupts;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *gm;
	const char *id; /* the device's configured id, for logs */
	gpa_t base;
	uint32_t config_len;
	uint64_t features; /* offered */

	/* Registers. */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t isr; /* atomic: read and acknowledged without the lock */
	uint32_t config_generation;
	struct vq queues[VIRTIO_MMIO_MAX_QUEUES];

	bool active;			       /* the VMM thread activated it */
	bool activate_pending;		       /* DRIVER_OK seen, activation not done */
	int notify_fd[VIRTIO_MMIO_MAX_QUEUES]; /* ioeventfds */
	int control_fd;			       /* eventfd: activation wanted */
	struct irq_line irq;
	struct virtio_mmio_stats st;
};

extern const struct bus_ops virtio_mmio_ops;

/* Marks every fd closed, so that a device whose set-up fails before
 * vmmio_init can be destroyed safely. */
void vmmio_preinit(struct virtio_mmio *t);
/* Sets up the transport and its eventfds (not yet registered with KVM). */
int vmmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct guest_mem *gm, const char *id, gpa_t base, uint32_t gsi,
	       uint64_t features, uint32_t config_len) WUR;
void vmmio_destroy(struct virtio_mmio *t);

/* VMM thread: the queue's ioeventfd fired. */
void vmmio_handle_notify(struct virtio_mmio *t, unsigned q);
/* VMM thread: the control eventfd fired (DRIVER_OK was written). */
void vmmio_handle_control(struct virtio_mmio *t);

/* For devices (lock held): */
/* Publish used buffers on queue q and interrupt the driver if it wants. */
void vmmio_publish_used(struct virtio_mmio *t, unsigned q);
/* A queue broke: stop it, NEEDS_RESET, configuration interrupt. */
void vmmio_queue_fault(struct virtio_mmio *t, unsigned q);
/* The device changed its config space. */
void vmmio_config_changed(struct virtio_mmio *t);
bool vmmio_has_feature(const struct virtio_mmio *t, unsigned bit);

#endif
