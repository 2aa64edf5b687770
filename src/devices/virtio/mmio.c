/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/virtio/mmio.h"

#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>

#include "common/log.h"
#include "devices/virtio/virtio.h"

/* Register offsets (§4.2.2). */
enum {
	R_MAGIC = 0x000,
	R_VERSION = 0x004,
	R_DEVICE_ID = 0x008,
	R_VENDOR_ID = 0x00c,
	R_DEVICE_FEATURES = 0x010,
	R_DEVICE_FEATURES_SEL = 0x014,
	R_DRIVER_FEATURES = 0x020,
	R_DRIVER_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030,
	R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050,
	R_INTERRUPT_STATUS = 0x060,
	R_INTERRUPT_ACK = 0x064,
	R_STATUS = 0x070,
	R_QUEUE_DESC_LOW = 0x080,
	R_QUEUE_DESC_HIGH = 0x084,
	R_QUEUE_DRIVER_LOW = 0x090,
	R_QUEUE_DRIVER_HIGH = 0x094,
	R_QUEUE_DEVICE_LOW = 0x0a0,
	R_QUEUE_DEVICE_HIGH = 0x0a4,
	R_CONFIG_GENERATION = 0x0fc,
	R_CONFIG = 0x100,
};

#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2

#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV VIRTIO_STATUS_DRIVER
#define S_FOK VIRTIO_STATUS_FEATURES_OK
#define S_DOK VIRTIO_STATUS_DRIVER_OK

/* The status transitions a driver may make (§3.1.1), besides writing 0
 * (reset) and adding FAILED. NEEDS_RESET is the device's and is ignored in
 * both columns. */
static const struct {
	uint32_t from, to;
} status_steps[] = {
    {0, S_ACK},
    {S_ACK, S_ACK | S_DRV},
    {S_ACK | S_DRV, S_ACK | S_DRV | S_FOK},
    {S_ACK | S_DRV | S_FOK, S_ACK | S_DRV | S_FOK | S_DOK},
};

static bool step_allowed(uint32_t from, uint32_t to)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_steps); i++)
		if (status_steps[i].from == from && status_steps[i].to == to)
			return true;
	return false;
}

bool vmmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return t->driver_features & BIT_ULL(bit);
}

static struct vq *selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

static void raise_irq(struct virtio_mmio *t, uint32_t bits)
{
	__atomic_or_fetch(&t->isr, bits, __ATOMIC_SEQ_CST);
	irq_line_raise(&t->irq);
}

void vmmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	t->st.config_interrupts++;
	raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void needs_reset(struct virtio_mmio *t)
{
	if (!(t->status & VIRTIO_STATUS_NEEDS_RESET)) {
		t->status |= VIRTIO_STATUS_NEEDS_RESET;
		t->st.config_interrupts++;
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
	}
}

void vmmio_queue_fault(struct virtio_mmio *t, unsigned q)
{
	t->st.queue_faults++;
	LOG_RL_WARN("virtio-%s %s: queue %u broken by the driver (%s); the device needs a reset",
		    t->ops->kind, t->id, q, vq_fault_name(t->queues[q].fault));
	needs_reset(t);
}

void vmmio_publish_used(struct virtio_mmio *t, unsigned q)
{
	struct vq *vq = &t->queues[q];
	vq_publish(vq);
	if (vq_should_interrupt(vq)) {
		t->st.interrupts++;
		raise_irq(t, VIRTIO_MMIO_INT_VRING);
	}
}

static void reset_registers(struct virtio_mmio *t)
{
	t->status = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		vq_init(&t->queues[i], VIRTIO_QUEUE_MAX_SIZE);
	t->active = false;
	t->activate_pending = false;
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->active || t->activate_pending)
		t->ops->reset(t->dev);
	reset_registers(t);
}

static bool features_ok(const struct virtio_mmio *t)
{
	return (t->driver_features & BIT_ULL(VIRTIO_F_VERSION_1)) &&
	       !(t->driver_features & ~t->features);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t cur = t->status & ~VIRTIO_STATUS_NEEDS_RESET;
	uint32_t keep = t->status & VIRTIO_STATUS_NEEDS_RESET;

	if (v == 0) {
		device_reset(t);
		return;
	}
	v &= ~VIRTIO_STATUS_NEEDS_RESET;
	if (v == (cur | VIRTIO_STATUS_FAILED)) {
		t->status = v | keep;
		return;
	}
	if (!step_allowed(cur, v)) {
		t->st.refused_status++;
		LOG_RL_DEBUG("virtio-%s %s: status 0x%x -> 0x%x refused", t->ops->kind, t->id, cur,
			     v);
		return;
	}
	if ((v & S_FOK) && !(cur & S_FOK) && !features_ok(t)) {
		t->st.refused_status++;
		LOG_RL_INFO("virtio-%s %s: FEATURES_OK refused: driver features 0x%" PRIx64
			    " (offered 0x%" PRIx64 ", VERSION_1 required)",
			    t->ops->kind, t->id, t->driver_features, t->features);
		return;
	}
	t->status = v | keep;
	if ((v & S_DOK) && !(cur & S_DOK)) {
		/* The VMM thread activates: it owns the event loop. */
		uint64_t one = 1;
		t->activate_pending = true;
		if (write(t->control_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			BUG_ON(errno == EBADF);
	}
}

/* Queue registers are the driver's between FEATURES_OK and DRIVER_OK. */
static bool queue_setup_phase(const struct virtio_mmio *t)
{
	return (t->status & S_FOK) && !(t->status & S_DOK);
}

static void set_addr_half(gpa_t *a, uint32_t v, bool high)
{
	*a = high ? (*a & 0xffffffffull) | ((uint64_t)v << 32) : (*a & ~0xffffffffull) | v;
}

static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct vq *q = selected(t);
	if (!q || !queue_setup_phase(t) || (q->ready && off != R_QUEUE_READY)) {
		t->st.bad_accesses++;
		return;
	}
	switch (off) {
	case R_QUEUE_NUM:
		q->size = v > 0xffff ? 0 : (uint16_t)v;
		break;
	case R_QUEUE_READY:
		if (v == 1) {
			const char *why;
			if (vq_check(q, t->gm, &why) == 0) {
				q->ready = true;
			} else {
				LOG_RL_INFO("virtio-%s %s: queue %u refused: %s", t->ops->kind,
					    t->id, t->queue_sel, why);
				needs_reset(t);
			}
		} else if (v == 0) {
			q->ready = false;
		}
		break;
	case R_QUEUE_DESC_LOW:
	case R_QUEUE_DESC_HIGH:
		set_addr_half(&q->desc_gpa, v, off == R_QUEUE_DESC_HIGH);
		break;
	case R_QUEUE_DRIVER_LOW:
	case R_QUEUE_DRIVER_HIGH:
		set_addr_half(&q->avail_gpa, v, off == R_QUEUE_DRIVER_HIGH);
		break;
	case R_QUEUE_DEVICE_LOW:
	case R_QUEUE_DEVICE_HIGH:
		set_addr_half(&q->used_gpa, v, off == R_QUEUE_DEVICE_HIGH);
		break;
	}
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct vq *q = selected(t);
	switch (off) {
	case R_MAGIC:
		return MMIO_MAGIC;
	case R_VERSION:
		return MMIO_VERSION;
	case R_DEVICE_ID:
		return t->ops->device_id;
	case R_VENDOR_ID:
		return 0;
	case R_DEVICE_FEATURES:
		return t->device_features_sel == 0   ? (uint32_t)t->features
		       : t->device_features_sel == 1 ? (uint32_t)(t->features >> 32)
						     : 0;
	case R_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;
	case R_QUEUE_READY:
		return q ? q->ready : 0;
	case R_INTERRUPT_STATUS:
		return __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
	case R_STATUS:
		return t->status;
	case R_CONFIG_GENERATION:
		return t->config_generation;
	default:
		t->st.bad_accesses++;
		return 0;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case R_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case R_DRIVER_FEATURES:
		if ((t->status & (S_DRV | S_FOK)) != S_DRV || t->driver_features_sel > 1) {
			t->st.bad_accesses++;
			break;
		}
		set_addr_half(&t->driver_features, v, t->driver_features_sel == 1);
		break;
	case R_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case R_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case R_QUEUE_NUM:
	case R_QUEUE_READY:
	case R_QUEUE_DESC_LOW:
	case R_QUEUE_DESC_HIGH:
	case R_QUEUE_DRIVER_LOW:
	case R_QUEUE_DRIVER_HIGH:
	case R_QUEUE_DEVICE_LOW:
	case R_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, v);
		break;
	case R_QUEUE_NOTIFY:
		/* Valid notifications are absorbed by the ioeventfds; one
		 * that reaches here names no queue of this device. */
		t->st.bad_accesses++;
		break;
	case R_INTERRUPT_ACK:
		__atomic_and_fetch(&t->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case R_STATUS:
		write_status(t, v);
		break;
	default:
		t->st.bad_accesses++;
		break;
	}
}

static void config_access(struct virtio_mmio *t, uint64_t off, uint8_t *rd, const uint8_t *wr,
			  uint32_t len)
{
	/* Bytes past the device's config structure read 0, writes vanish. */
	if (rd)
		memset(rd, 0, len);
	if (off >= t->config_len)
		return;
	uint32_t n = (uint32_t)MIN((uint64_t)len, t->config_len - off);
	if (rd && t->ops->config_read)
		t->ops->config_read(t->dev, off, rd, n);
	else if (wr && t->ops->config_write)
		t->ops->config_write(t->dev, off, wr, n);
}

static void vmmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	if (off == R_INTERRUPT_STATUS && len == 4) {
		/* Lock-free: an interrupt handler never waits behind I/O. */
		uint32_t v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
		memcpy(data, &v, 4);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (off >= R_CONFIG) {
		config_access(t, off - R_CONFIG, data, NULL, len);
	} else if (len != 4 || (off & 3)) {
		t->st.bad_accesses++;
		LOG_RL_INFO("virtio-%s %s: %u-byte read at register 0x%" PRIx64 " ignored",
			    t->ops->kind, t->id, len, off);
		memset(data, 0, len);
	} else {
		uint32_t v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void vmmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;
	if (off == R_INTERRUPT_ACK && len == 4) {
		memcpy(&v, data, 4);
		__atomic_and_fetch(&t->isr, ~v, __ATOMIC_SEQ_CST);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (off >= R_CONFIG) {
		config_access(t, off - R_CONFIG, NULL, data, len);
	} else if (len != 4 || (off & 3)) {
		t->st.bad_accesses++;
		LOG_RL_INFO("virtio-%s %s: %u-byte write at register 0x%" PRIx64 " ignored",
			    t->ops->kind, t->id, len, off);
	} else {
		memcpy(&v, data, 4);
		write_reg(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops virtio_mmio_ops = {.read = vmmio_read, .write = vmmio_write};

/* Lock held. Activates on DRIVER_OK; false when the device is not live. */
static bool ensure_active(struct virtio_mmio *t)
{
	if (t->active)
		return true;
	if (!t->activate_pending || !(t->status & S_DOK))
		return false;
	t->activate_pending = false;
	bool event_idx = vmmio_has_feature(t, VIRTIO_F_RING_EVENT_IDX);
	unsigned ready = 0;
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		struct vq *q = &t->queues[i];
		if (q->ready && vq_activate(q, t->gm, event_idx) == 0)
			ready++;
	}
	int ret = ready ? t->ops->activate(t->dev) : -ENODEV;
	if (ret) {
		t->st.activate_fails++;
		LOG_RL_WARN("virtio-%s %s: activation failed: %s", t->ops->kind, t->id,
			    ready ? strerror(-ret) : "no queue is ready");
		for (unsigned i = 0; i < t->ops->num_queues; i++)
			t->queues[i].active = false;
		needs_reset(t);
		return false;
	}
	t->active = true;
	LOG_RL_DEBUG("virtio-%s %s: activated (features 0x%" PRIx64 ")", t->ops->kind, t->id,
		     t->driver_features);
	/* Anything posted before activation was not looked at yet. */
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		if (t->queues[i].active)
			t->ops->queue_notify(t->dev, i);
	return true;
}

void vmmio_handle_control(struct virtio_mmio *t)
{
	uint64_t v;
	if (read(t->control_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&t->lock);
	(void)ensure_active(t);
	pthread_mutex_unlock(&t->lock);
}

void vmmio_handle_notify(struct virtio_mmio *t, unsigned q)
{
	uint64_t v;
	if (read(t->notify_fd[q], &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&t->lock);
	if (ensure_active(t) && t->queues[q].active && !t->queues[q].fault) {
		t->st.notifies++;
		t->ops->queue_notify(t->dev, q);
	}
	pthread_mutex_unlock(&t->lock);
}

void vmmio_preinit(struct virtio_mmio *t)
{
	memset(t, 0, sizeof(*t));
	t->control_fd = -1;
	t->irq.fd = -1;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		t->notify_fd[i] = -1;
}

int vmmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct guest_mem *gm, const char *id, gpa_t base, uint32_t gsi,
	       uint64_t features, uint32_t config_len)
{
	int ret;

	vmmio_preinit(t);
	BUG_ON(ops->num_queues > VIRTIO_MMIO_MAX_QUEUES);
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->id = id;
	t->base = base;
	t->features = features | BIT_ULL(VIRTIO_F_VERSION_1);
	t->config_len = config_len;
	pthread_mutex_init(&t->lock, NULL);
	reset_registers(t);

	if ((ret = irq_line_init(&t->irq, gsi)))
		goto err;
	t->control_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->control_fd < 0) {
		ret = -errno;
		goto err;
	}
	for (unsigned i = 0; i < ops->num_queues; i++) {
		t->notify_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->notify_fd[i] < 0) {
			ret = -errno;
			goto err;
		}
	}
	return 0;
err:
	vmmio_destroy(t);
	return ret;
}

void vmmio_destroy(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		close_fd(&t->notify_fd[i]);
	close_fd(&t->control_fd);
	irq_line_destroy(&t->irq);
}
