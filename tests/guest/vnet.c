/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: virtio-net helpers (virtio 1.2 §5.1) on top of
 * virtio.c. Queue 0 receives, queue 1 transmits. Every buffer is VNET_BUF
 * (2 KiB) in DMA memory: enough for the 12-byte virtio_net_hdr_v1 and a
 * 1514-byte frame, since no GSO/checksum offload is negotiated. RX buffers
 * are one device-writable descriptor each; with MRG_RXBUF a frame may span
 * several (num_buffers), without it every frame fits in one. TX frames go
 * out as header + frame in one descriptor, or in two (split). */
#include "virtio.h"

#define RXQ 0
#define TXQ 1
#define HDR_NUM_BUFFERS 10 /* offset of num_buffers in virtio_net_hdr_v1 */

static uint16_t rx_free[MAX_VIRTIO_DEVICES][VQ_MAX] NOINIT; /* set by vnet_start() */
static unsigned rx_nfree[MAX_VIRTIO_DEVICES];

unsigned vnet_count(void)
{
	return virtio_find(VIRTIO_ID_NET, NULL, 0);
}

static bool vnet_start(struct vnet *n)
{
	struct vdev *d = &n->dev;
	bool irq = d->irq_mode;
	if (irq)
		vdev_irq_mode(d, false);
	uint64_t want = virtio_common_features() | FEAT(VIRTIO_NET_F_MAC);
	if (param_u64("mrg_rxbuf", 1))
		want |= FEAT(VIRTIO_NET_F_MRG_RXBUF);
	if (!vdev_init(d, want, 2, (uint16_t)param_u64("qsize", 0)))
		return false;
	n->rx_buf_len = (uint32_t)param_u64("rx_buf", VNET_BUF);
	if (n->rx_buf_len > VNET_BUF)
		n->rx_buf_len = VNET_BUF;
	n->has_mac = d->offered & FEAT(VIRTIO_NET_F_MAC);
	n->mrg = d->features & FEAT(VIRTIO_NET_F_MRG_RXBUF);
	memset(n->mac, 0, sizeof(n->mac));
	if (n->has_mac)
		vdev_config_read(d, 0, n->mac, 6);
	n->tx_nfree = 0;
	for (unsigned i = d->vq[TXQ].size; i--;)
		n->tx_free[n->tx_nfree++] = (uint16_t)i;
	rx_nfree[d->slot] = 0;
	for (unsigned i = d->vq[RXQ].size; i--;)
		rx_free[d->slot][rx_nfree[d->slot]++] = (uint16_t)i;
	if (irq || param_u64("irq", 0))
		vdev_irq_mode(d, true);
	return true;
}

bool vnet_open_slot(struct vnet *n, unsigned slot)
{
	static uint8_t *slot_mem[MAX_VIRTIO_DEVICES];
	memset(n, 0, sizeof(*n));
	if (!vdev_probe(&n->dev, slot))
		return false;
	if (n->dev.device_id != VIRTIO_ID_NET) {
		verr("virtio device %u is not a network device (DeviceID %u)", slot,
		     n->dev.device_id);
		return false;
	}
	if (!slot_mem[slot])
		slot_mem[slot] = dma_alloc(2ull * VQ_MAX * VNET_BUF + 65536 + VNET_HDR_LEN, 4096);
	if (!slot_mem[slot])
		return false;
	n->rx_bufs = slot_mem[slot];
	n->tx_bufs = n->rx_bufs + (uint64_t)VQ_MAX * VNET_BUF;
	n->frame = n->tx_bufs + (uint64_t)VQ_MAX * VNET_BUF;
	if (!vnet_start(n)) {
		char why[sizeof(virtio_err)];
		memcpy(why, virtio_err, sizeof(why));
		verr("network device at virtio %u: %s", slot, why);
		return false;
	}
	return true;
}

bool vnet_open(struct vnet *n, unsigned nth)
{
	int slot = virtio_nth(VIRTIO_ID_NET, nth);
	if (slot < 0) {
		memset(n, 0, sizeof(*n));
		verr("no network interface %u (%u virtio devices, %u net)", nth,
		     virtio_dev_count, vnet_count());
		return false;
	}
	return vnet_open_slot(n, (unsigned)slot);
}

bool vnet_reopen(struct vnet *n)
{
	return vnet_start(n);
}

void vnet_rx_fill(struct vnet *n)
{
	struct virtq *q = &n->dev.vq[RXQ];
	unsigned s = n->dev.slot, added = 0;
	while (rx_nfree[s] && q->num_free) {
		uint16_t i = rx_free[s][--rx_nfree[s]];
		uint8_t *buf = n->rx_bufs + (uint64_t)i * VNET_BUF;
		struct vbuf v = { dma_addr(buf), n->rx_buf_len, true };
		if (vq_add(q, &v, 1, buf) < 0) {
			rx_nfree[s]++;
			break;
		}
		added++;
	}
	if (added)
		vq_kick(&n->dev, q);
}

static void rx_recycle(struct vnet *n, const uint8_t *buf)
{
	unsigned s = n->dev.slot;
	rx_free[s][rx_nfree[s]++] = (uint16_t)((uint64_t)(buf - n->rx_bufs) / VNET_BUF);
}

const uint8_t *vnet_recv(struct vnet *n, uint32_t *len)
{
	struct virtq *q = &n->dev.vq[RXQ];
	uint32_t l;
	void *tok;
	for (;;) {
		if (!vq_pop(&n->dev, q, &l, &tok))
			return NULL;
		uint8_t *buf = tok;
		rx_recycle(n, buf);
		if (l == 0) { /* the device dropped a frame that did not fit */
			n->rx_dropped++;
			continue;
		}
		if (l < VNET_HDR_LEN || l > VNET_BUF) {
			verr("RX used length %u", l);
			n->rx_frames++; /* counted, but not a frame: skip it */
			continue;
		}
		uint16_t nb = 1;
		if (n->mrg)
			memcpy(&nb, buf + HDR_NUM_BUFFERS, 2);
		if (nb <= 1) {
			n->rx_frames++;
			n->rx_bytes += l - VNET_HDR_LEN;
			*len = l - VNET_HDR_LEN;
			return buf + VNET_HDR_LEN;
		}
		/* Merged buffers: the rest are already in the used ring. */
		uint32_t total = l - VNET_HDR_LEN;
		memcpy(n->frame, buf + VNET_HDR_LEN, total);
		for (uint16_t k = 1; k < nb; k++) {
			if (!vq_pop(&n->dev, q, &l, &tok)) {
				verr("RX frame of %u buffers: only %u used", nb, k);
				break;
			}
			rx_recycle(n, tok);
			if (l > VNET_BUF || total + l > 65536)
				break;
			memcpy(n->frame + total, tok, l);
			total += l;
		}
		n->rx_frames++;
		n->rx_bytes += total;
		*len = total;
		return n->frame;
	}
}

bool vnet_send(struct vnet *n, const void *frame, uint32_t len, bool split, bool kick)
{
	struct virtq *q = &n->dev.vq[TXQ];
	if (!n->tx_nfree || q->num_free < (split ? 2 : 1) || len > VNET_BUF - VNET_HDR_LEN)
		return false;
	uint16_t i = n->tx_free[--n->tx_nfree];
	uint8_t *buf = n->tx_bufs + (uint64_t)i * VNET_BUF;
	memset(buf, 0, VNET_HDR_LEN);
	memcpy(buf + VNET_HDR_LEN, frame, len);
	struct vbuf v[2];
	unsigned k = 0;
	if (split) {
		v[k++] = (struct vbuf){ dma_addr(buf), VNET_HDR_LEN, false };
		v[k++] = (struct vbuf){ dma_addr(buf) + VNET_HDR_LEN, len, false };
	} else {
		v[k++] = (struct vbuf){ dma_addr(buf), VNET_HDR_LEN + len, false };
	}
	if (vq_add(q, v, k, buf) < 0) {
		n->tx_nfree++;
		return false;
	}
	n->tx_frames++;
	n->tx_bytes += len;
	if (kick)
		vq_kick(&n->dev, q);
	return true;
}

unsigned vnet_tx_reap(struct vnet *n)
{
	uint32_t l;
	void *tok;
	unsigned k = 0;
	while (vq_pop(&n->dev, &n->dev.vq[TXQ], &l, &tok)) {
		n->tx_free[n->tx_nfree++] = (uint16_t)((uint64_t)((uint8_t *)tok - n->tx_bufs) / VNET_BUF);
		k++;
	}
	return k;
}
