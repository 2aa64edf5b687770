/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net (virtio spec v1.2 §5.1) on a host tap device. RX and TX
 * queues, the offloads Firecracker offers, mergeable RX buffers. When the
 * guest has no RX buffer, ember stops reading the tap (the host kernel
 * queues the frames) and resumes when buffers arrive; a frame read but not
 * yet delivered waits in the device, never dropped for lack of buffers. */
#ifndef EMBER_DEVICES_VIRTIO_NET_H
#define EMBER_DEVICES_VIRTIO_NET_H

#include <net/if.h>
#include <stdint.h>

#include "devices/rate_limiter.h"
#include "devices/virtio/mmio.h"
#include "vmm/event_loop.h"

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15

#define VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */
#define VNET_RXQ     0
#define VNET_TXQ     1
/* Largest frame (with TSO) plus the header, as Firecracker sizes it. */
#define VNET_MAX_FRAME (65562u)
#define VNET_ID_MAX    64

struct vnet_cfg {
	const char *iface_id;
	const char *host_dev_name;
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu; /* 0: not offered */
	struct rate_limiter_cfg rx_rl, tx_rl;
};

/* Firecracker's "net" metric fields. */
struct vnet_stats {
	uint64_t activate_fails, cfg_fails, event_fails;
	uint64_t rx_queue_event_count, rx_event_rate_limiter_count, rx_tap_event_count;
	uint64_t rx_bytes_count, rx_packets_count, rx_fails, rx_count;
	uint64_t rx_rate_limiter_throttled, no_rx_avail_buffer;
	uint64_t tx_queue_event_count, tx_rate_limiter_event_count, tx_bytes_count,
	    tx_packets_count, tx_fails, tx_count, tx_malformed_frames, tx_spoofed_mac_count,
	    tx_rate_limiter_throttled, no_tx_avail_buffer;
	uint64_t tap_read_fails, tap_write_fails;
};

struct vnet {
	struct virtio_mmio t;
	char id[VNET_ID_MAX + 1];
	char tap_name[IFNAMSIZ];
	int tap_fd;
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu;
	struct rate_limiter rx_rl, tx_rl;
	struct vnet_stats st;
	struct vq_chain chain; /* scratch */

	/* The tap's place in the VMM thread's event loop. */
	struct evl *evl;
	struct evl_source tap_src;
	bool tap_broken;

	/* RX: a frame read from the tap and not yet delivered. */
	uint8_t *rx_buf;
	size_t rx_len;
	bool rx_pending;
	bool rx_throttled, tx_throttled;
};

int vnet_init(struct vnet *n, const struct vnet_cfg *cfg, const struct guest_mem *gm, gpa_t base,
	      uint32_t gsi, char *err, size_t errlen) WUR;
void vnet_destroy(struct vnet *n);
/* Registers the tap with the event loop (VMM thread, once). */
int vnet_attach(struct vnet *n, struct evl *evl) WUR;
void vnet_handle_rx_rate_limiter(struct vnet *n);
void vnet_handle_tx_rate_limiter(struct vnet *n);
void vnet_update_rate_limiters(struct vnet *n, const struct rate_limiter_cfg *rx,
			       const struct rate_limiter_cfg *tx);

/* Opens tap `name` with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte
 * vnet header. 0 or -errno with `err`. */
int tap_open(const char *name, int *fd, char *err, size_t errlen) WUR;
/* TUNSETOFFLOAD from the features the driver acknowledged. */
int tap_set_offload(int fd, uint64_t driver_features) WUR;

#endif
