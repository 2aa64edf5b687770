/* SPDX-License-Identifier: Apache-2.0 */
/* virtio devices of a VM: placed as Firecracker places them (block devices,
 * root first, then network interfaces; 4 KiB windows from 0xc0001000, GSIs
 * from 5), announced on the kernel command line in the same order, wired to
 * KVM (irqfd, one ioeventfd per queue), the MMIO bus and the event loop. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "arch/x86_64/layout.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "vmm/vm.h"

static gpa_t slot_base(unsigned i)
{
	return LAYOUT_VIRTIO_MMIO_START + (gpa_t)i * LAYOUT_VIRTIO_MMIO_LEN;
}

static uint32_t slot_gsi(unsigned i)
{
	return LAYOUT_IRQ_VIRTIO_FIRST + i;
}

int vm_create_virtio(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *c = &vm->cfg;
	char why[256];
	unsigned slot = 0;

	vm->nvdevs = c->ndrives + c->nnets;
	if (!vm->nvdevs)
		return 0;
	BUG_ON(vm->nvdevs > LAYOUT_IRQ_VIRTIO_LAST - LAYOUT_IRQ_VIRTIO_FIRST + 1);
	vm->blks = calloc(c->ndrives + 1, sizeof(*vm->blks));
	vm->nets = calloc(c->nnets + 1, sizeof(*vm->nets));
	vm->vdevs = calloc(vm->nvdevs, sizeof(*vm->vdevs));
	if (!vm->blks || !vm->nets || !vm->vdevs) {
		snprintf(err, errlen, "out of memory");
		return EXIT_GENERIC;
	}
	for (unsigned i = 0; i < c->ndrives; i++, slot++) {
		const struct drive_cfg *d = &c->drives[i];
		struct vblk_cfg bc = {.drive_id = d->drive_id,
				      .path = d->path_on_host,
				      .read_only = d->is_read_only,
				      .cache = d->cache_type,
				      .engine = d->io_engine,
				      .rl = d->rate_limiter};
		if (vblk_init(&vm->blks[i], &bc, &vm->gm, slot_base(slot), slot_gsi(slot), why,
			      sizeof(why))) {
			snprintf(err, errlen, "drives[%u] '%s': path_on_host: %s", i, d->drive_id,
				 why);
			vm->nvdevs = slot;
			return EXIT_BAD_CONFIG;
		}
		vm->vdevs[slot].blk = &vm->blks[i];
		vm->vdevs[slot].t = &vm->blks[i].t;
	}
	for (unsigned i = 0; i < c->nnets; i++, slot++) {
		const struct net_cfg *n = &c->nets[i];
		struct vnet_cfg nc = {.iface_id = n->iface_id,
				      .host_dev_name = n->host_dev_name,
				      .has_mac = n->has_mac,
				      .mtu = n->mtu,
				      .rx_rl = n->rx_rate_limiter,
				      .tx_rl = n->tx_rate_limiter};
		memcpy(nc.mac, n->guest_mac, 6);
		if (vnet_init(&vm->nets[i], &nc, &vm->gm, slot_base(slot), slot_gsi(slot), why,
			      sizeof(why))) {
			snprintf(err, errlen, "network-interfaces[%u] '%s': host_dev_name: %s", i,
				 n->iface_id, why);
			vm->nvdevs = slot;
			return EXIT_BAD_CONFIG;
		}
		vm->vdevs[slot].net = &vm->nets[i];
		vm->vdevs[slot].t = &vm->nets[i].t;
	}
	return 0;
}

int vm_cmdline_virtio(struct vm *vm, struct cmdline *c)
{
	char buf[96];
	int ret;

	if (vm->cfg.ndrives && vm->cfg.drives[0].is_root_device) {
		const struct drive_cfg *root = &vm->cfg.drives[0];
		if (root->partuuid)
			snprintf(buf, sizeof(buf), "root=PARTUUID=%s", root->partuuid);
		else
			snprintf(buf, sizeof(buf), "root=/dev/vda");
		if ((ret = cmdline_append(c, buf)) ||
		    (ret = cmdline_append(c, root->is_read_only ? "ro" : "rw")))
			return ret;
	}
	for (unsigned i = 0; i < vm->nvdevs; i++) {
		snprintf(buf, sizeof(buf), "virtio_mmio.device=%lluK@0x%08" PRIx64 ":%u",
			 LAYOUT_VIRTIO_MMIO_LEN >> 10, slot_base(i), slot_gsi(i));
		if ((ret = cmdline_append(c, buf)))
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------- events */

static void on_notify(struct evl_source *s, uint32_t events)
{
	struct vm_vdev_queue *qc = s->opaque;
	vmmio_handle_notify(qc->owner->t, qc->q);
}

static void on_control(struct evl_source *s, uint32_t events)
{
	struct vm_vdev *d = s->opaque;
	vmmio_handle_control(d->t);
}

static void on_completions(struct evl_source *s, uint32_t events)
{
	struct vm_vdev *d = s->opaque;
	vblk_handle_completions(d->blk);
}

static void on_rate_limiter(struct evl_source *s, uint32_t events)
{
	struct vm_vdev *d = s->opaque;
	if (d->blk)
		vblk_handle_rate_limiter(d->blk);
	else if (s == &d->rl[0])
		vnet_handle_rx_rate_limiter(d->net);
	else
		vnet_handle_tx_rate_limiter(d->net);
}

static int wire_one(struct vm *vm, struct vm_vdev *d)
{
	struct virtio_mmio *t = d->t;
	int ret;

	if ((ret = kvm_irqfd(&vm->kvm, t->irq.fd, t->irq.gsi)) ||
	    (ret =
		 bus_insert(&vm->mmio, t->base, VIRTIO_MMIO_WINDOW, &virtio_mmio_ops, t, t->id)) ||
	    (ret = evl_add(vm->evl, &d->control, t->control_fd, EPOLLIN, on_control, d)))
		return ret;
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		d->qctx[q] = (struct vm_vdev_queue){d, q};
		/* A notification is a write of the queue index to QueueNotify:
		 * KVM absorbs it into the queue's eventfd, no exit. */
		if ((ret = kvm_ioeventfd(&vm->kvm, t->notify_fd[q],
					 t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true, q, false)) ||
		    (ret = evl_add(vm->evl, &d->notify[q], t->notify_fd[q], EPOLLIN, on_notify,
				   &d->qctx[q])))
			return ret;
	}
	if (d->blk) {
		if (d->blk->ring_ready && (ret = evl_add(vm->evl, &d->completions, d->blk->ring_efd,
							 EPOLLIN, on_completions, d)))
			return ret;
		return evl_add(vm->evl, &d->rl[0], d->blk->rl.timer_fd, EPOLLIN, on_rate_limiter,
			       d);
	}
	if ((ret = evl_add(vm->evl, &d->rl[0], d->net->rx_rl.timer_fd, EPOLLIN, on_rate_limiter,
			   d)) ||
	    (ret =
		 evl_add(vm->evl, &d->rl[1], d->net->tx_rl.timer_fd, EPOLLIN, on_rate_limiter, d)))
		return ret;
	return vnet_attach(d->net, vm->evl);
}

int vm_wire_virtio(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->nvdevs; i++) {
		int ret = wire_one(vm, &vm->vdevs[i]);
		if (ret) {
			snprintf(err, errlen, "wiring virtio device %s: %s", vm->vdevs[i].t->id,
				 strerror(-ret));
			return EXIT_GENERIC;
		}
	}
	return 0;
}

void vm_destroy_virtio(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.ndrives && vm->blks; i++)
		if (vm->blks[i].t.ops)
			vblk_destroy(&vm->blks[i]);
	for (unsigned i = 0; i < vm->cfg.nnets && vm->nets; i++)
		if (vm->nets[i].t.ops)
			vnet_destroy(&vm->nets[i]);
	free(vm->blks);
	free(vm->nets);
	free(vm->vdevs);
	vm->blks = NULL;
	vm->nets = NULL;
	vm->vdevs = NULL;
}
