/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: virtio-net scenarios. Interfaces are the net devices in
 * command-line order. See README.md for parameters and what each expects of
 * the host. */
#include "scenarios.h"
#include "virtio.h"

#define STALL_US 5000000
#define SEND_PAYLOAD 64
#define TX_BATCH 32

static struct vnet nic NOINIT; /* vnet_open() clears */
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
/* Source MAC when the device has none (locally administered). */
static const uint8_t default_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static bool open_nic(void)
{
	if (!vnet_open(&nic, 0)) {
		test_fail("%s", virtio_err);
		return false;
	}
	return true;
}

static uint16_t frame_type(const uint8_t *f)
{
	return (uint16_t)(f[12] << 8 | f[13]);
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
}

/* Queues a frame, reaping (and waiting for) TX completions while the ring
 * is full; false on a stall. */
static bool send_frame(const uint8_t *f, uint32_t len, bool split, bool kick)
{
	deadline_t dl = deadline_in_us(STALL_US);
	while (!vnet_send(&nic, f, len, split, kick)) {
		vq_kick(&nic.dev, &nic.dev.vq[1]); /* whatever was batched */
		if (vnet_tx_reap(&nic))
			continue;
		if (vq_broken || !vdev_wait(&nic.dev, dl)) {
			if (!vq_broken)
				verr("TX ring full for %u s (%u in flight, Status 0x%x)",
				     STALL_US / 1000000, vnet_tx_inflight(&nic), vdev_status(&nic.dev));
			return false;
		}
	}
	return true;
}

/* Until every queued TX chain is used. */
static bool tx_drain(void)
{
	deadline_t dl = deadline_in_us(STALL_US);
	vq_kick(&nic.dev, &nic.dev.vq[1]);
	while (vnet_tx_inflight(&nic)) {
		if (vnet_tx_reap(&nic))
			continue;
		if (vq_broken)
			return false;
		if (!vdev_wait(&nic.dev, dl)) {
			verr("%u TX chains not used after %u s (Status 0x%x)", vnet_tx_inflight(&nic),
			     STALL_US / 1000000, vdev_status(&nic.dev));
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- net-echo */
void scenario_net_echo(void)
{
	static uint8_t out[VNET_BUF];
	uint64_t count = param_u64("count", 100), ethertype = param_u64("ethertype", 0);
	uint64_t ignored = 0, echoed = 0, timeout_s = param_u64("timeout_s", 30);
	if (!open_nic())
		return;
	vnet_rx_fill(&nic);
	say("TEST %s READY", test_name);
	deadline_t dl = deadline_in_us(timeout_s * 1000000);
	while (echoed < count) {
		uint32_t len;
		const uint8_t *f = vnet_recv(&nic, &len);
		if (vq_broken) {
			test_fail("%s", virtio_err);
			return;
		}
		if (!f) {
			vnet_tx_reap(&nic);
			vnet_rx_fill(&nic);
			if (!vdev_wait(&nic.dev, dl)) {
				test_fail("timeout after %lu s: echoed %lu of %lu frames (ignored %lu)",
					  timeout_s, echoed, count, ignored);
				return;
			}
			continue;
		}
		if (len < ETH_HLEN || len > sizeof(out) - VNET_HDR_LEN ||
		    (ethertype && frame_type(f) != ethertype)) {
			ignored++;
			continue;
		}
		memcpy(out, f + 6, 6);       /* destination = their source */
		memcpy(out + 6, f, 6);       /* source = their destination */
		memcpy(out + 12, f + 12, len - 12);
		if (!send_frame(out, len, echoed & 1, true)) {
			test_fail("echo %lu: %s", echoed, virtio_err);
			return;
		}
		echoed++;
	}
	if (!tx_drain()) {
		test_fail("%s", virtio_err);
		return;
	}
	if (nic.dev.irq_mode)
		test_pass("echoed=%lu ignored=%lu dropped=%lu interrupts=%u", echoed, ignored,
			  nic.rx_dropped, nic.dev.isr_vring);
	else
		test_pass("echoed=%lu ignored=%lu dropped=%lu", echoed, ignored, nic.rx_dropped);
}

/* ---------------------------------------------------------------- net-send */
void scenario_net_send(void)
{
	uint8_t f[ETH_HLEN + SEND_PAYLOAD];
	uint64_t count = param_u64("count", 10);
	if (!open_nic())
		return;
	if (!nic.has_mac) {
		test_fail("VIRTIO_NET_F_MAC not offered (features 0x%lx)", nic.dev.offered);
		return;
	}
	const uint8_t *m = nic.mac;
	say("TEST %s MAC %02x:%02x:%02x:%02x:%02x:%02x", test_name, m[0], m[1], m[2], m[3],
	    m[4], m[5]);
	for (uint64_t i = 0; i < count; i++) {
		memset(f, 0, sizeof(f));
		eth_header(f, broadcast, m);
		snprintf((char *)f + ETH_HLEN, SEND_PAYLOAD, "ember-net-send %lu", i);
		if (!send_frame(f, sizeof(f), i & 1, true)) {
			test_fail("frame %lu: %s", i, virtio_err);
			return;
		}
	}
	if (!tx_drain()) {
		test_fail("%s", virtio_err);
		return;
	}
	test_pass("frames=%lu", count);
}

/* ---------------------------------------------------------------- net-stream */
static void stream_rx(uint64_t count)
{
	uint64_t ethertype = param_u64("ethertype", 0), timeout_s = param_u64("timeout_s", 30);
	uint64_t frames = 0, bytes = 0, ignored = 0;
	vnet_rx_fill(&nic);
	say("TEST %s START", test_name);
	deadline_t dl = deadline_in_us(timeout_s * 1000000);
	while (frames < count) {
		uint32_t len;
		const uint8_t *f = vnet_recv(&nic, &len);
		if (vq_broken) {
			test_fail("%s", virtio_err);
			return;
		}
		if (!f) {
			vnet_rx_fill(&nic);
			if (!vdev_wait(&nic.dev, dl)) {
				test_fail("timeout after %lu s: %lu of %lu frames", timeout_s, frames,
					  count);
				return;
			}
			continue;
		}
		if (ethertype && (len < ETH_HLEN || frame_type(f) != ethertype)) {
			ignored++;
			continue;
		}
		frames++;
		bytes += len;
		if (nic.dev.vq[0].num_free > nic.dev.vq[0].size / 2)
			vnet_rx_fill(&nic);
	}
	test_pass("frames=%lu bytes=%lu ignored=%lu", frames, bytes, ignored);
}

void scenario_net_stream(void)
{
	static uint8_t f[ETH_MAX_FRAME];
	uint64_t count = param_u64("count", 10000), size = param_u64("size", 1500);
	if (!open_nic())
		return;
	if (param_u64("rx", 0)) {
		stream_rx(count);
		return;
	}
	if (size < 60)
		size = 60;
	if (size > ETH_MAX_FRAME)
		size = ETH_MAX_FRAME;
	eth_header(f, broadcast, nic.has_mac ? nic.mac : default_mac);
	for (uint64_t i = ETH_HLEN; i < size; i++)
		f[i] = (uint8_t)i;
	say("TEST %s START", test_name);
	uint64_t bytes = 0;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t seq = (uint32_t)i;
		memcpy(f + ETH_HLEN, &seq, 4);
		bool kick = (i % TX_BATCH) == TX_BATCH - 1 || i + 1 == count;
		if (!send_frame(f, (uint32_t)size, false, kick)) {
			test_fail("frame %lu: %s", i, virtio_err);
			return;
		}
		bytes += size;
		if (nic.dev.vq[1].inflight > nic.dev.vq[1].size / 2)
			vnet_tx_reap(&nic);
	}
	if (!tx_drain()) {
		test_fail("%s", virtio_err);
		return;
	}
	test_pass("frames=%lu bytes=%lu", count, bytes);
}
