/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: a small ring-3 virtio driver layer. virtio 1.2 over the
 * MMIO transport (version 2, §4.2.2), split virtqueues (§2.7), block (§5.2)
 * and net (§5.1) helpers. Everything is polled from ring 3 unless a device
 * is put in interrupt mode (vdev_irq_mode()), then it halts until its IOAPIC
 * vector fires. Errors are described in virtio_err (one line). */
#ifndef TESTGUEST_VIRTIO_H
#define TESTGUEST_VIRTIO_H

#include "guest.h"

/* ---------------------------------------------------------------- MMIO */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW 0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Transport feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_PACKED 34
#define FEAT(bit) (1ull << (bit))

/* ---------------------------------------------------------------- rings */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then used_event (EVENT_IDX) */
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* then avail_event (EVENT_IDX) */
};
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VQ_MAX 256          /* largest queue the layer sets up */
#define VDEV_MAX_QUEUES 2

/* One chain element handed to vq_add(). */
struct vbuf {
	uint64_t addr;
	uint32_t len;
	bool write;          /* device-writable */
};

struct virtq {
	uint16_t index;
	uint16_t size;
	bool ready;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	void **token;        /* per head, NULL when free */
	uint16_t free_head, num_free;
	uint16_t avail_idx;  /* next avail->ring slot (shadow of avail->idx) */
	uint16_t published;  /* avail->idx as last written */
	uint16_t kicked;     /* avail->idx at the last notification decision */
	uint16_t last_used;
	uint16_t inflight;
};

struct vdev {
	unsigned slot;                /* index in virtio_devs[] */
	uint64_t base;
	uint32_t gsi, device_id;
	uint64_t offered, features;   /* device features; negotiated */
	bool event_idx;
	bool irq_mode;
	uint8_t vector;
	uint64_t irq_seen;            /* irq_counts[vector] already handled */
	uint32_t isr_vring, isr_config; /* InterruptStatus bits seen in irq mode */
	unsigned nvqs;
	struct virtq vq[VDEV_MAX_QUEUES];
};

extern char virtio_err[200];
void verr(const char *fmt, ...) PRINTF(1, 2);

/* ---------------------------------------------------------------- DMA */
/* Data buffers come from the DMA area right above the image
 * ([_dma_start, _dma_end), guest.ld); never freed. NULL (and virtio_err)
 * when it is exhausted or not RAM. */
void *dma_alloc(uint64_t size, uint64_t align);
static inline uint64_t dma_addr(const void *p) { return (uint64_t)(uintptr_t)p; }

/* ---------------------------------------------------------------- transport */
static inline uint32_t vreg_read(const struct vdev *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}
static inline void vreg_write(const struct vdev *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}
static inline uint32_t vdev_status(const struct vdev *d)
{
	return vreg_read(d, VIRTIO_MMIO_STATUS);
}

/* Virtio devices of one type (0: any) in command-line order: fills out[]
 * (probed, not initialised), returns how many there are. */
unsigned virtio_find(uint32_t device_id, struct vdev *out, unsigned max);
/* DeviceID of virtio_devs[slot] (probed once; 0: none or no device). */
uint32_t virtio_device_id(unsigned slot);
/* virtio_devs[] slot of the nth device with this ID, or -1. */
int virtio_nth(uint32_t device_id, unsigned nth);
/* Magic, version 2 and DeviceID of virtio_devs[slot]. */
bool vdev_probe(struct vdev *d, unsigned slot);

/* Whole initialisation: reset, ACK, DRIVER, features (offered & wanted;
 * VERSION_1 is required), FEATURES_OK checked, nvqs queues of size qsize
 * (0: QueueNumMax, capped at VQ_MAX), DRIVER_OK. */
bool vdev_init(struct vdev *d, uint64_t wanted, unsigned nvqs, uint16_t qsize);
/* The steps, for scenarios that go off the path. */
bool vdev_reset(struct vdev *d);  /* writes 0, waits for Status to read 0 */
bool vdev_negotiate(struct vdev *d, uint64_t wanted); /* reset .. FEATURES_OK */
uint64_t vdev_read_offered(struct vdev *d);
void vdev_write_features(struct vdev *d, uint64_t f);
bool vq_setup(struct vdev *d, unsigned qi, uint16_t qsize);
bool vdev_driver_ok(struct vdev *d);
/* Ring memory of queue qi (static, page aligned, in the image). */
void vq_mem(struct vdev *d, unsigned qi, struct virtq_desc **desc,
	    struct virtq_avail **avail, struct virtq_used **used);

/* Config space, read with the ConfigGeneration protocol (§2.5.1). */
void vdev_config_read(struct vdev *d, uint32_t off, void *buf, uint32_t len);
uint64_t vdev_config_read64(struct vdev *d, uint32_t off);

/* Interrupt mode: routes the GSI through the IOAPIC to vector 0x20 + gsi and
 * arms a 50 ms LAPIC watchdog tick so that waits keep their deadlines. */
void vdev_irq_mode(struct vdev *d, bool on);

/* ---------------------------------------------------------------- queues */
/* Adds a chain (not yet visible to the device); token != NULL comes back
 * from vq_pop(). Returns the head, or -1 when the ring is full. */
int vq_add(struct virtq *q, const struct vbuf *b, unsigned n, void *token);
/* Publishes avail->idx and notifies the device unless it suppressed the
 * notification (EVENT_IDX avail_event / VIRTQ_USED_F_NO_NOTIFY). */
void vq_kick(struct vdev *d, struct virtq *q);
void vq_publish(struct virtq *q);
void vq_notify(struct vdev *d, struct virtq *q);
/* Takes one used element; false when there is none (or on a device bug,
 * which sets vq_broken). */
bool vq_pop(struct vdev *d, struct virtq *q, uint32_t *len, void **token);
bool vq_has_used(const struct virtq *q);
volatile uint16_t *vq_avail_event(struct virtq *q); /* EVENT_IDX, written by the device */
extern bool vq_broken;
/* Until a queue of d has a used element (or, in irq mode, an interrupt
 * came), or the deadline passes (false). */
bool vdev_wait(struct vdev *d, deadline_t dl);

/* ---------------------------------------------------------------- block */
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR 512

/* A request slot, in DMA memory: header (device-readable), status byte
 * (device-writable), bookkeeping. */
struct blk_slot {
	uint32_t type, reserved;
	uint64_t sector;
	uint8_t status;
	uint8_t busy;
	uint16_t index;
	uint32_t len;
	uint64_t buf;
	uint64_t tag;
};

struct vblk {
	struct vdev dev;
	uint64_t capacity;        /* sectors */
	bool ro, flush;           /* features offered */
	struct blk_slot *slots;   /* VQ_MAX */
	unsigned inflight;
};

struct blk_done {
	uint64_t tag, sector, buf;
	uint32_t type, len, used_len;
	uint8_t status;
};

/* Options from the command line: event_idx=0 turns RING_EVENT_IDX off,
 * irq=1 puts devices in interrupt mode. */
uint64_t virtio_common_features(void);
/* The nth block device (command-line order), initialised. */
bool vblk_open(struct vblk *b, unsigned nth);
bool vblk_open_slot(struct vblk *b, unsigned slot); /* virtio_devs[] index */
unsigned vblk_count(void);
/* Queues one request (3 descriptors, 2 without data); false when full. */
bool vblk_submit(struct vblk *b, uint32_t type, uint64_t sector, uint64_t buf,
		 uint32_t len, uint64_t tag);
static inline void vblk_kick(struct vblk *b) { vq_kick(&b->dev, &b->dev.vq[0]); }
bool vblk_complete(struct vblk *b, struct blk_done *out);
/* One request, waited for (nothing else may be in flight): the status
 * byte, or -1 on timeout / device error (virtio_err). */
int vblk_sync(struct vblk *b, uint32_t type, uint64_t sector, uint64_t buf,
	      uint32_t len, uint32_t *used_len);
/* Resets and re-initialises b (same device). */
bool vblk_reopen(struct vblk *b);

/* ---------------------------------------------------------------- net */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VNET_HDR_LEN 12
#define VNET_BUF 2048
#define ETH_HLEN 14
#define ETH_MAX_FRAME 1514
#define ETHERTYPE_TEST 0x88b5

struct vnet {
	struct vdev dev;
	uint8_t mac[6];
	bool has_mac, mrg;
	uint8_t *rx_bufs, *tx_bufs;     /* VQ_MAX buffers of VNET_BUF each */
	uint16_t tx_free[VQ_MAX];
	unsigned tx_nfree;
	uint64_t rx_frames, tx_frames, rx_bytes, tx_bytes;
	uint64_t rx_dropped;            /* RX buffers used with length 0 */
	uint32_t rx_buf_len;            /* rx_buf=N (default VNET_BUF) */
	uint8_t *frame;                 /* DMA: reassembly of merged buffers */
};

unsigned vnet_count(void);
bool vnet_open(struct vnet *n, unsigned nth);
bool vnet_open_slot(struct vnet *n, unsigned slot);
bool vnet_reopen(struct vnet *n);
/* Posts every free RX buffer (rx_buf=N bytes each, at most VNET_BUF). */
void vnet_rx_fill(struct vnet *n);
/* One received frame (without the virtio header), or NULL; the buffer is
 * reposted (kicked) by the next vnet_rx_fill(). */
const uint8_t *vnet_recv(struct vnet *n, uint32_t *len);
/* Queues one frame; split: header and frame in two descriptors. False when
 * the TX ring is full (reap with vnet_tx_reap()). kick: notify now. */
bool vnet_send(struct vnet *n, const void *frame, uint32_t len, bool split, bool kick);
unsigned vnet_tx_reap(struct vnet *n);
static inline unsigned vnet_tx_inflight(const struct vnet *n) { return n->dev.vq[1].inflight; }

#endif
