/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for virtio-net (src/devices/virtio/net.c), TX and RX,
 * through the real MMIO transport. The tap is a socketpair(AF_UNIX,
 * SOCK_DGRAM): this file defines tap_open() and tap_set_offload() (the
 * link-time seam: src/devices/virtio/tap.c is then not linked), so the
 * device is built by vnet_init() as in production and its "tap" is one end
 * of the pair; the harness sends host frames into the other end and reads
 * the guest's frames from it. The tap is attached to a real event loop
 * (vnet_attach), so EPOLLIN interest and on_tap run as they do in ember.
 *
 * Input: device flags (MAC, MTU, MRG_RXBUF, EVENT_IDX, offload failure),
 * queue sizes, then steps: TX chains, RX buffer chains, host frames,
 * notifications of either queue, an event-loop turn, resets, config reads.
 * Checked against a reference of docs/virtio.md:
 *   - TX: each chain either becomes exactly one datagram with its bytes
 *     (header + frame), or, when malformed (a device-writable buffer, a
 *     bad buffer, shorter than the header, longer than the largest frame),
 *     none, counted; used length 0; spoofed source MACs are counted; a
 *     full tap drops and counts;
 *   - RX: frames reach the guest in order, each into one chain (with
 *     MRG_RXBUF possibly several, num_buffers set); used lengths are the
 *     bytes written; a chain that cannot hold its part drops the frame
 *     (counted); with no buffer the frame waits in the device and
 *     nothing is read from the tap; runts are counted and skipped;
 *   - the device writes guest RAM only in the used rings and the RX
 *     buffers it was given; the TAP offloads follow the acknowledged
 *     features; config space holds the MAC and MTU.
 *
 *   make fuzz-net FUZZ_SECONDS=600
 */
#include <sys/socket.h>

#include "devices/virtio/net.h"
#include "fz_virtio.h"

#define HDR  VNET_HDR_LEN
#define MAXF (VNET_MAX_FRAME + VNET_HDR_LEN)

/* ---------------------------------------------------------------- the tap seam */

static int tap_peer = -1;
static int offload_ret;
static uint64_t offload_features;

int tap_open(const char *name, int *fd, char *err, size_t errlen)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	*fd = sv[0];
	tap_peer = sv[1];
	return 0;
}

int tap_set_offload(int fd, uint64_t driver_features)
{
	offload_features = driver_features;
	return offload_ret;
}

/* ---------------------------------------------------------------- state */

static struct guest_mem gm;
static uint8_t *snap;
static struct vnet n;
static struct evl evl;
static struct fv_q rxq, txq;
static struct {
	bool mrg, live, exact;
	uint64_t features;
	uint16_t rx_used, tx_used;   /* used->idx seen */
	uint16_t rx_taken, tx_taken; /* avail entries consumed */
	/* Frames in the socket, oldest first (lengths; bytes are a pattern). */
	uint32_t q[64];
	unsigned nq;
	uint8_t seed[64];
} s;
static uint8_t frame[MAXF + 64], buf[MAXF + 64];
static bool rx_clean; /* no two RX buffers overlap, none overlaps a ring */

static void frame_bytes(uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 8));
}

/* ---------------------------------------------------------------- TX */

static void tx_chain(struct fin *in)
{
	uint8_t k = fin_u8(in);
	unsigned nd = 1 + k % 5;
	uint16_t head = txq.next_desc;

	for (unsigned i = 0; i < nd; i++) {
		uint16_t cur = txq.next_desc;
		uint8_t f = fin_u8(in);
		uint64_t addr = fv_addr(in);
		uint32_t len = f & 1 ? fv_len(in) : i == 0 ? HDR : 14 + f % 200;
		/* Frame bytes, except where the buffer points into the rings
		 * (the driver does not scribble over its own rings here). */
		uint8_t *p =
		    len <= FV_RSZ && !fv_in_rings(addr, len) ? gm_ptr(&gm, addr, len) : NULL;
		if (p)
			frame_bytes(p, len, (uint8_t)(f + i));
		if (p && i == 1 && len >= 12 && (k & 0x80)) /* our own source MAC */
			memcpy(p + 6, n.mac, 6);
		txq.next_desc = (uint16_t)((txq.next_desc + 1) % txq.size);
		fv_desc(&txq, cur, addr, len,
			(uint16_t)((f & 0x80 ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < nd ? VIRTQ_DESC_F_NEXT : 0)),
			txq.next_desc);
	}
	fv_push(&txq, head);
}

/* Notifies TX and checks every consumed chain. */
static void tx_kick(void)
{
	static struct vq_chain c[VIRTIO_QUEUE_MAX_SIZE];
	static uint8_t want[VIRTIO_QUEUE_MAX_SIZE][64];
	static uint32_t want_len[VIRTIO_QUEUE_MAX_SIZE];
	uint16_t pending = (uint16_t)(txq.avail_idx - s.tx_taken);
	bool faulted = n.t.queues[VNET_TXQ].fault, breaks = pending > txq.size;
	unsigned nc = 0, good = 0, spoofed = 0;
	struct vnet_stats st0 = n.st;

	for (uint16_t i = 0; !faulted && !breaks && i < pending; i++, nc++) {
		if (fv_walk(&txq, (uint16_t)(s.tx_taken + i), &c[nc])) {
			breaks = true;
			break;
		}
		uint64_t len = 0;
		bool bad = false;
		for (unsigned j = 0; j < c[nc].n; j++) {
			const struct virtq_desc *d = &c[nc].d[j];
			bad |= (d->flags & VIRTQ_DESC_F_WRITE) ||
			       !fz_in_ram(&fv_layout, d->addr, d->len);
			len += d->len;
			if (fv_in_rings(d->addr, d->len))
				s.exact = false;
		}
		if (bad || len < HDR || len > MAXF) {
			want_len[nc] = UINT32_MAX;
			continue;
		}
		want_len[nc] = (uint32_t)len;
		good++;
		uint64_t at = 0;
		for (unsigned j = 0; j < c[nc].n && at < sizeof(want[0]); j++) {
			uint64_t k = MIN((uint64_t)c[nc].d[j].len, sizeof(want[0]) - at);
			memcpy(want[nc] + at, fz_ptr(&gm, c[nc].d[j].addr, k), k);
			at += k;
		}
		if (n.has_mac && len >= HDR + 14 && memcmp(want[nc] + HDR + 6, n.mac, 6))
			spoofed++;
	}

	fz_snap(&gm, snap);
	fv_kick(&n.t, VNET_TXQ);
	struct fz_ranges *rs = calloc(1, sizeof(*rs));
	CHECK(rs);
	fv_allow_used(rs, &txq);
	fz_diff(&gm, snap, rs);
	free(rs);

	uint16_t used = fv_used_idx(&txq);
	if (!s.exact) {
		/* RX data may have landed on the TX rings: resynchronise. */
		while (recv(tap_peer, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			;
		s.tx_taken = (uint16_t)(s.tx_taken + (uint16_t)(used - s.tx_used));
		s.tx_used = used;
		return;
	}
	if (faulted) {
		CHECK(used == s.tx_used);
		return;
	}
	CHECK((uint16_t)(used - s.tx_used) == nc);
	CHECK(!!n.t.queues[VNET_TXQ].fault == breaks);
	/* Datagrams: the well-formed chains, in order, less those the tap
	 * refused (full); each chain's bytes, exactly. */
	unsigned got = 0, i = 0;
	for (unsigned u2 = 0; u2 < nc; u2++) {
		CHECK(fv_used_id(&txq, (uint16_t)(s.tx_used + u2)) == c[u2].head);
		CHECK(fv_used_len(&txq, (uint16_t)(s.tx_used + u2)) == 0);
	}
	for (;;) {
		ssize_t r = recv(tap_peer, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0)
			break;
		got++;
		if (!s.exact)
			continue;
		while (i < nc && (want_len[i] == UINT32_MAX || (uint32_t)r != want_len[i] ||
				  memcmp(buf, want[i], MIN((size_t)r, sizeof(want[0])))))
			i++;
		CHECK(i < nc); /* a datagram no chain asked for */
		i++;
	}
	CHECK(n.st.tx_malformed_frames - st0.tx_malformed_frames == nc - good);
	CHECK(n.st.tx_packets_count - st0.tx_packets_count == got);
	CHECK(n.st.tap_write_fails - st0.tap_write_fails == good - got);
	if (s.exact)
		CHECK(n.st.tx_spoofed_mac_count - st0.tx_spoofed_mac_count == spoofed);
	s.tx_used = used;
	s.tx_taken = (uint16_t)(s.tx_taken + nc);
}

/* ---------------------------------------------------------------- RX */

static void rx_chain(struct fin *in)
{
	uint8_t k = fin_u8(in);
	unsigned nd = 1 + k % 3;
	uint16_t head = rxq.next_desc;

	for (unsigned i = 0; i < nd; i++) {
		uint16_t cur = rxq.next_desc;
		uint8_t f = fin_u8(in);
		static const uint32_t sizes[] = {HDR, 64, 1526, 4096};
		uint32_t len = f & 1 ? fv_len(in) : sizes[(f >> 1) % 4];
		rxq.next_desc = (uint16_t)((rxq.next_desc + 1) % rxq.size);
		fv_desc(&rxq, cur, fv_addr(in), len,
			(uint16_t)((f & 0x80 ? 0 : VIRTQ_DESC_F_WRITE) |
				   (i + 1 < nd ? VIRTQ_DESC_F_NEXT : 0)),
			rxq.next_desc);
	}
	fv_push(&rxq, head);
}

static void host_frame(struct fin *in)
{
	uint8_t k = fin_u8(in);
	static const uint32_t lens[] = {0, 5, HDR, HDR + 14, HDR + 60, HDR + 1514, 3000, MAXF};
	uint32_t len = k & 0x80 ? fin_u16(in) % (MAXF + 1) : lens[k % 8];

	frame_bytes(frame, len, k);
	if (s.nq == ARRAY_SIZE(s.q) || send(tap_peer, frame, len, MSG_DONTWAIT) != (ssize_t)len)
		return; /* the socket is full: the host drops it, not ember */
	s.seed[s.nq] = k;
	s.q[s.nq++] = len;
}

/* copy_into_chain as docs/virtio.md describes it: the frame's bytes from
 * `from` into the chain's buffers, each device-writable and in RAM. */
static long ref_copy(const struct vq_chain *c, uint32_t from, uint32_t len)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < c->n && from + done < len; i++) {
		if (!(c->d[i].flags & VIRTQ_DESC_F_WRITE) ||
		    !fz_in_ram(&fv_layout, c->d[i].addr, c->d[i].len))
			return -1;
		done += MIN((uint64_t)c->d[i].len, len - from - done);
	}
	return (long)done;
}

/* The RX queue was served (notification or tap event): replays what the
 * device must have done with the frames and buffers, and checks it. */
static void rx_check(const struct vnet_stats *st0, bool pending0, uint32_t plen0, uint8_t pseed0,
		     bool faulted0)
{
	static struct vq_chain c[VIRTIO_QUEUE_MAX_SIZE];
	uint16_t avail = rxq.avail_idx, used = fv_used_idx(&rxq);
	uint16_t slot = s.rx_taken, u = s.rx_used;
	unsigned drops = 0, delivered = 0, runts = 0;
	bool have = pending0;
	uint32_t len = plen0;
	uint8_t seed = pseed0;

	if (faulted0 || !s.exact) {
		/* Resynchronise from what the device did: one used element
		 * per chain it kept. */
		s.rx_taken = (uint16_t)(s.rx_taken + (uint16_t)(used - s.rx_used));
		s.rx_used = used;
		s.exact = false;
		return;
	}
	for (;;) {
		if (!have) {
			if (slot == avail || !s.nq)
				break;
			len = s.q[0];
			seed = s.seed[0];
			memmove(s.q, s.q + 1, --s.nq * sizeof(s.q[0]));
			memmove(s.seed, s.seed + 1, s.nq);
			if (len < HDR) {
				runts++;
				continue;
			}
			have = true;
		}
		/* Deliver into one chain, or several with MRG_RXBUF. */
		unsigned k = 0;
		uint32_t done = 0;
		bool dropped = false;
		while (done < len) {
			if (k == VIRTIO_QUEUE_MAX_SIZE || (uint16_t)(slot + k) == avail)
				break;
			if ((uint16_t)(avail - slot) > rxq.size ||
			    fv_walk(&rxq, (uint16_t)(slot + k), &c[k])) {
				CHECK(n.t.queues[VNET_RXQ].fault);
				s.exact = false;
				return;
			}
			long w = ref_copy(&c[k], done, len);
			k++;
			if (w <= 0 || (!s.mrg && (uint32_t)w < len)) {
				dropped = true;
				break;
			}
			done += (uint32_t)w;
		}
		if (!dropped && done < len) {
			/* Too few buffers: the frame waits in the device, unless
			 * a full ring is too few, which no driver can ever add
			 * to: then it is dropped. */
			if (k == rxq.size || k == VIRTIO_QUEUE_MAX_SIZE)
				dropped = true;
			else
				break;
		}
		/* k chains used: check them. num_buffers (header bytes 10-11)
		 * is 1, or k when the first chain holds the whole header; a
		 * first chain shorter than the header (which §5.1.6.3.1 forbids
		 * the driver) keeps 1 there, see fuzz/README.md. */
		frame_bytes(frame, len, seed);
		frame[10] = 1;
		frame[11] = 0;
		if (!dropped && k > 1 && ref_copy(&c[0], 0, len) >= HDR) {
			frame[10] = (uint8_t)k;
			frame[11] = (uint8_t)(k >> 8);
		}
		uint32_t at = 0;
		for (unsigned i = 0; i < k; i++, u++) {
			CHECK(u != used);
			CHECK(fv_used_id(&rxq, u) == c[i].head);
			uint32_t ul = fv_used_len(&rxq, u);
			if (dropped) {
				CHECK(ul == 0);
				continue;
			}
			long w = ref_copy(&c[i], at, len);
			CHECK(ul == (uint32_t)w);
			/* The bytes, when no two buffers of the frame overlap. */
			uint32_t off = at;
			for (unsigned j = 0; j < c[i].n && off < at + ul; j++) {
				uint32_t kk = (uint32_t)MIN((uint64_t)c[i].d[j].len,
							    (uint64_t)(at + ul - off));
				const uint8_t *p = fz_ptr(&gm, c[i].d[j].addr, kk);
				bool alone = true;
				for (unsigned i2 = 0; i2 < k; i2++)
					for (unsigned j2 = 0; j2 < c[i2].n; j2++)
						if ((i2 != i || j2 != j) && kk && c[i2].d[j2].len &&
						    ranges_overlap(c[i].d[j].addr, kk,
								   c[i2].d[j2].addr,
								   c[i2].d[j2].len))
							alone = false;
				if (alone && rx_clean)
					CHECK(fz_same(p, frame + off, kk));
				off += kk;
			}
			at += ul;
		}
		slot = (uint16_t)(slot + k);
		drops += dropped;
		delivered += !dropped;
		have = false;
	}
	CHECK(u == used);
	CHECK(n.rx_pending == have);
	if (have)
		CHECK(n.rx_len == len);
	CHECK(n.st.rx_fails - st0->rx_fails == drops + runts);
	CHECK(n.st.rx_packets_count - st0->rx_packets_count == delivered);
	s.rx_used = used;
	s.rx_taken = slot;
	if (have) { /* the frame stays with the device */
		memmove(s.q + 1, s.q, s.nq * sizeof(s.q[0]));
		memmove(s.seed + 1, s.seed, s.nq);
		s.q[0] = len;
		s.seed[0] = seed;
		s.nq++;
	}
}

/* Runs `step` (a notification or an event-loop turn) with the checks. */
static void rx_step(bool kick)
{
	struct vnet_stats st0 = n.st;
	bool pending0 = n.rx_pending, faulted0 = n.t.queues[VNET_RXQ].fault;
	uint32_t plen0 = pending0 ? s.q[0] : 0;
	uint8_t pseed0 = pending0 ? s.seed[0] : 0;

	if (pending0 && s.exact) { /* the device holds the head of the queue */
		memmove(s.q, s.q + 1, --s.nq * sizeof(s.q[0]));
		memmove(s.seed, s.seed + 1, s.nq);
	}
	/* What the device may write: decided before it runs (its writes may
	 * land in the rings and change what a walk finds afterwards). */
	struct fz_ranges *rs = calloc(1, sizeof(*rs));
	CHECK(rs);
	fv_allow_used(rs, &rxq);
	rx_clean = true;
	for (uint16_t i = s.rx_taken; i != (uint16_t)(s.rx_taken + rxq.size) && i != rxq.avail_idx;
	     i++) {
		struct vq_chain c;
		if (fv_walk(&rxq, i, &c))
			break;
		for (unsigned j = 0; j < c.n; j++) {
			uint64_t a = c.d[j].addr, l = c.d[j].len;
			if (fv_in_rings(a, l) && (c.d[j].flags & VIRTQ_DESC_F_WRITE))
				s.exact = false; /* frames may rewrite the rings */
			for (unsigned r = 0; r < rs->n; r++)
				if (l && ranges_overlap(a, l, rs->r[r].a, rs->r[r].len))
					rx_clean = false;
			if (c.d[j].flags & VIRTQ_DESC_F_WRITE)
				fz_ranges_add(rs, a, l);
		}
	}
	fz_snap(&gm, snap);
	if (kick)
		fv_kick(&n.t, VNET_RXQ);
	else
		CHECK(evl_run_once(&evl, 0) >= 0);

	bool exact = s.exact;
	if (exact)
		fz_diff(&gm, snap, rs);
	free(rs);
	if (!kick && n.st.rx_tap_event_count == st0.rx_tap_event_count) {
		/* No tap event: nothing may have happened. */
		CHECK(fv_used_idx(&rxq) == s.rx_used && n.rx_pending == pending0);
		goto hold;
	}
	if (!kick && !n.t.active)
		goto hold;
	rx_check(&st0, pending0, plen0, pseed0, faulted0);
	return;
hold: /* the device still holds the frame it held */
	if (pending0 && s.exact) {
		memmove(s.q + 1, s.q, s.nq * sizeof(s.q[0]));
		memmove(s.seed + 1, s.seed, s.nq);
		s.q[0] = plen0;
		s.seed[0] = pseed0;
		s.nq++;
	}
}

/* ---------------------------------------------------------------- set-up */

static void setup(struct fin *in)
{
	uint8_t f = fin_u8(in);

	s.features =
	    BIT_ULL(VIRTIO_F_VERSION_1) | (f & 1 ? BIT_ULL(VIRTIO_F_RING_EVENT_IDX) : 0) |
	    (f & 2 ? BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) : 0) |
	    (f & 4 ? BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) | BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) : 0) |
	    (n.has_mac ? BIT_ULL(VIRTIO_NET_F_MAC) : 0);
	s.mrg = f & 2;
	offload_ret = f & 8 ? -EINVAL : 0;
	CHECK(fv_negotiate(&n.t, s.features) == (FV_ACK | FV_DRV | FV_FOK));
	fv_q_init(&rxq, &gm, 0, (uint16_t)(1u << (fin_u8(in) % 9)));
	fv_q_init(&txq, &gm, 1, (uint16_t)(1u << (fin_u8(in) % 9)));
	memset(fz_ptr(&gm, FV_DESC(0), FV_BUF - FV_DESC(0)), 0, FV_BUF - FV_DESC(0));
	CHECK(fv_queue(&n.t, 0, &rxq) == 1 && fv_queue(&n.t, 1, &txq) == 1);
	fv_driver_ok(&n.t);
	s.live = !offload_ret;
	CHECK(n.t.active == s.live);
	if (s.live)
		CHECK(offload_features == s.features);
	else
		CHECK(n.t.status & FV_NR);
	s.rx_used = s.tx_used = s.rx_taken = s.tx_taken = 0;
}

static void config_read(struct fin *in)
{
	uint8_t off = fin_u8(in) % 16, len = (uint8_t[]){1, 2, 4, 8}[fin_u8(in) % 4];
	uint8_t got[8], want[16] = {0};

	if (n.has_mac)
		memcpy(want, n.mac, 6);
	memcpy(want + 10, &n.mtu, 2);
	virtio_mmio_ops.read(&n.t, FV_CONFIG + off, got, len);
	for (unsigned i = 0; i < len; i++)
		CHECK(got[i] == (off + i < 12 ? want[off + i] : 0));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	fz_gm_init(&gm, &fv_layout);
	snap = malloc(gm.mapping_len);
	CHECK(snap);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	uint8_t h = fin_u8(&in);
	struct vnet_cfg cfg = {.iface_id = "eth0", .host_dev_name = "tap0"};
	char err[256];

	fz_gm_clear(&gm);
	memset(&s, 0, sizeof(s));
	s.exact = true;
	cfg.has_mac = h & 1;
	memcpy(cfg.mac, (uint8_t[]){0x06, 0, 0xac, 0x10, 0, 2}, 6);
	cfg.mtu = h & 2 ? 1500 : 0;
	CHECK(evl_init(&evl) == 0);
	CHECK(vnet_init(&n, &cfg, &gm, 0xc0001000, 6, err, sizeof(err)) == 0);
	CHECK(vnet_attach(&n, &evl) == 0);
	setup(&in);

	while (in.n) {
		uint8_t op = fin_u8(&in);
		switch (op % 10) {
		case 0:
		case 1:
			tx_chain(&in);
			break;
		case 2:
			if (s.live)
				tx_kick();
			break;
		case 3:
		case 4:
			rx_chain(&in);
			break;
		case 5:
			host_frame(&in);
			break;
		case 6:
			if (s.live)
				rx_step(true);
			break;
		case 7:
			if (s.live)
				rx_step(false);
			break;
		case 8:
			config_read(&in);
			break;
		default:
			if (op & 0x80) {
				/* Reset: a frame held by the device is lost. */
				if (n.rx_pending && s.nq) {
					memmove(s.q, s.q + 1, --s.nq * sizeof(s.q[0]));
					memmove(s.seed, s.seed + 1, s.nq);
				}
				fv_wr(&n.t, FV_STATUS, 0);
				CHECK(!n.rx_pending && !n.t.active);
				setup(&in);
			} else {
				fv_set_avail_idx(&rxq,
						 (uint16_t)(rxq.avail_idx + (int8_t)fin_u8(&in)));
				s.exact = false;
			}
			break;
		}
	}
	vnet_destroy(&n);
	pthread_mutex_destroy(&n.t.lock);
	evl_destroy(&evl);
	close_fd(&tap_peer);
	return 0;
}
