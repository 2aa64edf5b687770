/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/virtio/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "common/log.h"

#define NET_CONFIG_LEN	12 /* mac[6], status u16, max_virtqueue_pairs u16, mtu u16 */
#define HDR_NUM_BUFFERS 10 /* offset of num_buffers in virtio_net_hdr_v1 */
#define ETH_HLEN	14

/* ---------------------------------------------------------------- TX */

static bool tx_rate_limited(struct vnet *n, uint64_t bytes)
{
	if (!rl_active(&n->tx_rl))
		return false;
	if (!rl_consume(&n->tx_rl, 1, RL_OPS))
		goto throttled;
	if (!rl_consume(&n->tx_rl, bytes, RL_BYTES)) {
		rl_replenish(&n->tx_rl, 1, RL_OPS);
		goto throttled;
	}
	return false;
throttled:
	n->tx_throttled = true;
	n->st.tx_rate_limiter_throttled++;
	return true;
}

/* One TX chain: the header and the frame, device-readable, to the tap as
 * one packet. Returns false when the rate limiter stopped the queue. */
static bool tx_one(struct vnet *n, struct vq *q)
{
	struct iovec iov[VIRTIO_QUEUE_MAX_SIZE];
	uint64_t len = 0;
	bool malformed = false;

	for (unsigned i = 0; i < n->chain.n; i++) {
		malformed |= (n->chain.d[i].flags & VIRTQ_DESC_F_WRITE) != 0;
		len += n->chain.d[i].len;
	}
	if (malformed || len < VNET_HDR_LEN || len > VNET_MAX_FRAME + VNET_HDR_LEN ||
	    vq_chain_iov(n->t.gm, &n->chain, 0, n->chain.n, iov)) {
		n->st.tx_malformed_frames++;
		LOG_RL_INFO("virtio-net %s: malformed TX chain dropped", n->id);
		vq_add_used(q, n->chain.head, 0);
		return true;
	}
	if (tx_rate_limited(n, len - VNET_HDR_LEN)) {
		vq_unpop(q);
		return false;
	}
	/* The source MAC is checked on a copy, never re-read. */
	uint8_t head[VNET_HDR_LEN + ETH_HLEN];
	if (n->has_mac && len >= sizeof(head)) {
		size_t got = 0;
		for (unsigned i = 0; i < n->chain.n && got < sizeof(head); i++) {
			size_t k = MIN(iov[i].iov_len, sizeof(head) - got);
			memcpy(head + got, iov[i].iov_base, k);
			got += k;
		}
		if (memcmp(head + VNET_HDR_LEN + 6, n->mac, 6))
			n->st.tx_spoofed_mac_count++;
	}
	ssize_t w = n->tap_broken ? -1 : writev(n->tap_fd, iov, (int)n->chain.n);
	if (w < 0) {
		n->st.tap_write_fails++;
		n->st.tx_fails++;
		LOG_RL_WARN("virtio-net %s: writing to tap %s failed: %s; frame dropped", n->id,
			    n->tap_name, n->tap_broken ? "tap unusable" : strerror(errno));
	} else {
		n->st.tx_packets_count++;
		n->st.tx_bytes_count += len - VNET_HDR_LEN;
	}
	n->st.tx_count++;
	vq_add_used(q, n->chain.head, 0);
	return true;
}

static void tx_process(struct vnet *n)
{
	struct vq *q = &n->t.queues[VNET_TXQ];
	bool used = false;

	if (n->tx_throttled || !q->active)
		return;
	for (;;) {
		int got = vq_pop(q, &n->chain);
		if (got < 0) {
			vmmio_queue_fault(&n->t, VNET_TXQ);
			break;
		}
		if (got == 0) {
			if (vq_enable_notify(q))
				continue;
			break;
		}
		if (!tx_one(n, q))
			break;
		used = true;
	}
	if (used)
		vmmio_publish_used(&n->t, VNET_TXQ);
}

/* ---------------------------------------------------------------- RX */

static void tap_poll(struct vnet *n, bool on)
{
	if (!n->tap_src.registered || n->tap_broken)
		return;
	if (evl_mod(n->evl, &n->tap_src, on ? EPOLLIN : 0))
		LOG_RL_WARN("virtio-net %s: cannot change the tap's epoll interest", n->id);
}

/* Copies the pending frame into chain c (from byte `from` of the frame);
 * returns the bytes written, or -1 if a buffer is not usable. */
static long copy_into_chain(struct vnet *n, const struct vq_chain *c, size_t from)
{
	size_t done = 0;
	for (unsigned i = 0; i < c->n && from + done < n->rx_len; i++) {
		const struct virtq_desc *d = &c->d[i];
		if (!(d->flags & VIRTQ_DESC_F_WRITE))
			return -1;
		uint8_t *p = gm_ptr(n->t.gm, d->addr, d->len);
		if (!p)
			return -1;
		size_t k = MIN((size_t)d->len, n->rx_len - from - done);
		memcpy(p, n->rx_buf + from + done, k);
		done += k;
	}
	return (long)done;
}

/* Writes num_buffers (header bytes 10-11) into the first chain, which may
 * split the header across descriptors. */
static void set_num_buffers(struct vnet *n, const struct virtq_desc *d, unsigned nd, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	size_t pos = 0;
	for (unsigned i = 0; i < nd; i++) {
		for (unsigned j = 0; j < 2; j++) {
			size_t at = HDR_NUM_BUFFERS + j;
			/* The chain was checked when the frame was copied. */
			if (at >= pos && at < pos + d[i].len &&
			    gm_write(n->t.gm, d[i].addr + (at - pos), &b[j], 1))
				BUG_ON(1);
		}
		pos += d[i].len;
	}
}

enum rx_result { RX_DELIVERED, RX_DROPPED, RX_NO_BUFFERS, RX_BROKEN };

/* Delivers the pending frame into one chain or, with MRG_RXBUF, several.
 * On RX_NO_BUFFERS, *given_back says how many chains were too few. */
static enum rx_result rx_deliver(struct vnet *n, struct vq *q, uint16_t *given_back)
{
	bool mrg = vmmio_has_feature(&n->t, VIRTIO_NET_F_MRG_RXBUF);
	uint16_t heads[VIRTIO_QUEUE_MAX_SIZE];
	uint32_t lens[VIRTIO_QUEUE_MAX_SIZE];
	struct virtq_desc first[VNET_HDR_LEN]; /* where the header went */
	unsigned nfirst = 0, k = 0;
	size_t done = 0;

	while (done < n->rx_len) {
		int got = k < VIRTIO_QUEUE_MAX_SIZE ? vq_pop(q, &n->chain) : 0;
		if (got < 0)
			return RX_BROKEN;
		if (got == 0 && k > 0 && (k >= q->size || k >= VIRTIO_QUEUE_MAX_SIZE)) {
			/* The whole ring is not enough: no driver can ever post
			 * more, so waiting would stall RX for good. Dropped. */
			for (unsigned i = 0; i < k; i++)
				vq_add_used(q, heads[i], 0);
			n->st.rx_fails++;
			LOG_RL_INFO("virtio-net %s: frame of %zu bytes larger than the whole RX "
				    "ring (%u buffers); dropped",
				    n->id, n->rx_len - VNET_HDR_LEN, k);
			return RX_DROPPED;
		}
		if (got == 0) {
			/* Not enough buffers yet: give them back, keep the frame. */
			*given_back = (uint16_t)k;
			while (k--)
				vq_unpop(q);
			return RX_NO_BUFFERS;
		}
		long w = copy_into_chain(n, &n->chain, done);
		if (w <= 0 || (!mrg && (size_t)w < n->rx_len)) {
			/* A chain that cannot hold its part: the frame is lost. */
			for (unsigned i = 0; i < k; i++)
				vq_add_used(q, heads[i], 0);
			vq_add_used(q, n->chain.head, 0);
			n->st.rx_fails++;
			LOG_RL_INFO("virtio-net %s: RX buffer %s; frame of %zu bytes dropped",
				    n->id, w < 0 ? "not in guest RAM or not writable" : "too small",
				    n->rx_len - VNET_HDR_LEN);
			return RX_DROPPED;
		}
		if (k == 0) {
			nfirst = MIN((unsigned)n->chain.n, (unsigned)VNET_HDR_LEN);
			memcpy(first, n->chain.d, nfirst * sizeof(first[0]));
		}
		heads[k] = n->chain.head;
		lens[k++] = (uint32_t)w;
		done += (size_t)w;
	}
	if (k > 1)
		set_num_buffers(n, first, nfirst, (uint16_t)k);
	for (unsigned i = 0; i < k; i++)
		vq_add_used(q, heads[i], lens[i]);
	return RX_DELIVERED;
}

static bool rx_rate_limited(struct vnet *n)
{
	if (!rl_active(&n->rx_rl))
		return false;
	if (!rl_consume(&n->rx_rl, 1, RL_OPS))
		goto throttled;
	if (!rl_consume(&n->rx_rl, n->rx_len - VNET_HDR_LEN, RL_BYTES)) {
		rl_replenish(&n->rx_rl, 1, RL_OPS);
		goto throttled;
	}
	return false;
throttled:
	n->rx_throttled = true;
	n->st.rx_rate_limiter_throttled++;
	return true;
}

/* Reads one frame from the tap into rx_buf. false: nothing to read. */
static bool rx_read_tap(struct vnet *n)
{
	ssize_t len = read(n->tap_fd, n->rx_buf, VNET_MAX_FRAME + VNET_HDR_LEN);
	if (len < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			tap_poll(n, true);
			return false;
		}
		n->st.tap_read_fails++;
		LOG_RL_WARN("virtio-net %s: reading tap %s failed: %s; no more frames from it",
			    n->id, n->tap_name, strerror(errno));
		/* A deleted tap reports an error forever: stop polling it. */
		evl_del(n->evl, &n->tap_src);
		n->tap_broken = true;
		return false;
	}
	if (len < VNET_HDR_LEN) {
		n->st.rx_fails++;
		return true; /* nothing useful; look for the next one */
	}
	/* Without MRG_RXBUF num_buffers is 1 all the same (§5.1.6.4). */
	n->rx_buf[HDR_NUM_BUFFERS] = 1;
	n->rx_buf[HDR_NUM_BUFFERS + 1] = 0;
	n->rx_len = (size_t)len;
	n->rx_pending = true;
	return true;
}

static void rx_process(struct vnet *n)
{
	struct vq *q = &n->t.queues[VNET_RXQ];
	bool used = false;

	if (!q->active || n->rx_throttled)
		return;
	for (;;) {
		if (!n->rx_pending) {
			if (n->tap_broken)
				break;
			if (!vq_has_avail(q)) {
				/* No buffers: let the host queue frames for us. */
				n->st.no_rx_avail_buffer++;
				tap_poll(n, false);
				if (vq_enable_notify(q))
					continue;
				break;
			}
			if (!rx_read_tap(n))
				break;
			if (!n->rx_pending)
				continue;
		}
		if (rx_rate_limited(n)) {
			tap_poll(n, false);
			break;
		}
		uint16_t too_few = 0;
		enum rx_result r = rx_deliver(n, q, &too_few);
		if (r == RX_BROKEN) {
			vmmio_queue_fault(&n->t, VNET_RXQ);
			break;
		}
		if (r == RX_NO_BUFFERS) {
			/* Go on only when more chains than the too-few arrived. */
			n->st.no_rx_avail_buffer++;
			tap_poll(n, false);
			if (vq_enable_notify_beyond(q, too_few))
				continue;
			break;
		}
		if (r == RX_DELIVERED) {
			n->st.rx_packets_count++;
			n->st.rx_bytes_count += n->rx_len - VNET_HDR_LEN;
		}
		n->st.rx_count++;
		n->rx_pending = false;
		used = true;
	}
	if (used)
		vmmio_publish_used(&n->t, VNET_RXQ);
}

/* ---------------------------------------------------------------- events */

static void on_tap(struct evl_source *s, uint32_t events)
{
	struct vnet *n = s->opaque;
	pthread_mutex_lock(&n->t.lock);
	n->st.rx_tap_event_count++;
	if (n->t.active)
		rx_process(n);
	else
		tap_poll(n, false); /* nobody to deliver to until activation */
	pthread_mutex_unlock(&n->t.lock);
}

static void net_queue_notify(void *dev, unsigned q)
{
	struct vnet *n = dev;
	if (q == VNET_RXQ) {
		n->st.rx_queue_event_count++;
		rx_process(n);
	} else {
		n->st.tx_queue_event_count++;
		tx_process(n);
	}
}

void vnet_handle_rx_rate_limiter(struct vnet *n)
{
	pthread_mutex_lock(&n->t.lock);
	n->st.rx_event_rate_limiter_count++;
	if (rl_timer_fired(&n->rx_rl)) {
		n->rx_throttled = false;
		if (n->t.active)
			rx_process(n);
	}
	pthread_mutex_unlock(&n->t.lock);
}

void vnet_handle_tx_rate_limiter(struct vnet *n)
{
	pthread_mutex_lock(&n->t.lock);
	n->st.tx_rate_limiter_event_count++;
	if (rl_timer_fired(&n->tx_rl)) {
		n->tx_throttled = false;
		if (n->t.active)
			tx_process(n);
	}
	pthread_mutex_unlock(&n->t.lock);
}

void vnet_update_rate_limiters(struct vnet *n, const struct rate_limiter_cfg *rx,
			       const struct rate_limiter_cfg *tx)
{
	pthread_mutex_lock(&n->t.lock);
	if (rx)
		rl_update(&n->rx_rl, rx);
	if (tx)
		rl_update(&n->tx_rl, tx);
	pthread_mutex_unlock(&n->t.lock);
}

static void net_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vnet *n = dev;
	uint8_t cfg[NET_CONFIG_LEN] = {0};
	if (n->has_mac)
		memcpy(cfg, n->mac, 6);
	memcpy(cfg + 10, &n->mtu, 2);
	memcpy(data, cfg + off, len);
}

static int net_activate(void *dev)
{
	struct vnet *n = dev;
	int ret = tap_set_offload(n->tap_fd, n->t.driver_features);
	if (ret)
		LOG_RL_WARN("virtio-net %s: TUNSETOFFLOAD on %s: %s", n->id, n->tap_name,
			    strerror(-ret));
	tap_poll(n, true);
	return ret;
}

static void net_reset(void *dev)
{
	struct vnet *n = dev;
	n->rx_pending = false; /* the frame is lost with the device's state */
	n->rx_throttled = n->tx_throttled = false;
	tap_poll(n, false);
}

static const struct virtio_dev_ops net_ops = {
    .kind = "net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .config_read = net_config_read,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

int vnet_init(struct vnet *n, const struct vnet_cfg *cfg, const struct guest_mem *gm, gpa_t base,
	      uint32_t gsi, char *err, size_t errlen)
{
	uint64_t f = BIT_ULL(VIRTIO_F_RING_EVENT_IDX) | BIT_ULL(VIRTIO_NET_F_CSUM) |
		     BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) | BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) |
		     BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) | BIT_ULL(VIRTIO_NET_F_GUEST_UFO) |
		     BIT_ULL(VIRTIO_NET_F_HOST_TSO4) | BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |
		     BIT_ULL(VIRTIO_NET_F_HOST_UFO) | BIT_ULL(VIRTIO_NET_F_MRG_RXBUF);
	int ret;

	memset(n, 0, sizeof(*n));
	vmmio_preinit(&n->t);
	n->tap_fd = -1;
	n->rx_rl.timer_fd = n->tx_rl.timer_fd = -1;
	snprintf(n->id, sizeof(n->id), "%s", cfg->iface_id);
	snprintf(n->tap_name, sizeof(n->tap_name), "%s", cfg->host_dev_name);
	n->has_mac = cfg->has_mac;
	memcpy(n->mac, cfg->mac, 6);
	n->mtu = cfg->mtu;
	if (n->has_mac)
		f |= BIT_ULL(VIRTIO_NET_F_MAC);
	if (n->mtu)
		f |= BIT_ULL(VIRTIO_NET_F_MTU);
	n->rx_buf = malloc(VNET_MAX_FRAME + VNET_HDR_LEN);
	if (!n->rx_buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((ret = tap_open(cfg->host_dev_name, &n->tap_fd, err, errlen)))
		goto err;
	if ((ret = rl_init(&n->rx_rl, &cfg->rx_rl)) || (ret = rl_init(&n->tx_rl, &cfg->tx_rl))) {
		snprintf(err, errlen, "rate limiter timer: %s", strerror(-ret));
		goto err;
	}
	if ((ret = vmmio_init(&n->t, &net_ops, n, gm, n->id, base, gsi, f, NET_CONFIG_LEN))) {
		snprintf(err, errlen, "virtio transport: %s", strerror(-ret));
		goto err;
	}
	return 0;
err:
	vnet_destroy(n);
	return ret;
}

int vnet_attach(struct vnet *n, struct evl *evl)
{
	n->evl = evl;
	/* Interest starts off: nothing is read before the guest is ready. */
	return evl_add(evl, &n->tap_src, n->tap_fd, 0, on_tap, n);
}

void vnet_destroy(struct vnet *n)
{
	if (n->evl)
		evl_del(n->evl, &n->tap_src);
	rl_destroy(&n->rx_rl);
	rl_destroy(&n->tx_rl);
	close_fd(&n->tap_fd);
	free(n->rx_buf);
	n->rx_buf = NULL;
	vmmio_destroy(&n->t);
}
