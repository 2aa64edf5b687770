/* SPDX-License-Identifier: Apache-2.0 */
/* An interrupt line a device raises: an eventfd that KVM routes to a GSI
 * through KVM_IRQFD (an edge on the in-kernel IOAPIC/PIC). Raising it is
 * one write(2), safe from any thread. */
#ifndef EMBER_DEVICES_IRQ_H
#define EMBER_DEVICES_IRQ_H

#include <stdint.h>
#include <sys/eventfd.h>

#include "common/util.h"

struct irq_line {
	int fd;
	uint32_t gsi;
	uint64_t raised; /* count, for metrics */
};

static inline int irq_line_init(struct irq_line *l, uint32_t gsi)
{
	l->gsi = gsi;
	l->raised = 0;
	l->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return l->fd < 0 ? -errno : 0;
}

static inline void irq_line_raise(struct irq_line *l)
{
	uint64_t one = 1;
	__atomic_add_fetch(&l->raised, 1, __ATOMIC_RELAXED);
	/* EAGAIN means the counter is saturated: the interrupt is pending. */
	if (write(l->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		BUG_ON(errno == EBADF);
}

static inline void irq_line_destroy(struct irq_line *l)
{
	close_fd(&l->fd);
}

#endif
