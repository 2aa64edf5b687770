/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the harness of the hostile-* scenarios (hostile.c).
 *
 * A hostile scenario is a number of rounds. Each round starts with the
 * target device freshly initialised, does one bad thing and checks the
 * outcome docs/virtio.md promises; then the harness checks that every other
 * virtio device still serves a normal request, resets the target,
 * re-initialises it and checks that a normal request works on it again.
 *
 * The target is virtio device dev=N (virtio_devs[] index), by default the
 * first block device (or the first device when there is none). On a block
 * device the "normal request" is a 1-sector read of sector 0; on a network
 * device it is one 60-byte frame sent (EtherType 0x88B5). */
#ifndef TESTGUEST_HOSTILE_H
#define TESTGUEST_HOSTILE_H

#include "virtio.h"

struct tgt {
	unsigned slot;
	bool blk;
	struct vdev *d;
	struct virtq *q;   /* the queue bad things go to: blk 0, net TX (1) */
	struct vblk b;
	struct vnet n;
};

/* A request being built: default buffers from hreq_init(), which the
 * round may change before hreq_add(). */
struct hreq {
	struct blk_slot *s;   /* blk: header + status */
	uint8_t *buf;         /* net: TX buffer (virtio header + frame) */
	uint8_t *data;        /* blk: data buffer (scratch) */
	struct vbuf v[4];
	unsigned n;
	int head;
	uint16_t idx[4];      /* descriptor indices after hreq_add() */
};

#define HOSTILE_BLK_ONLY 1
#define HOSTILE_NET_ONLY 2 /* default target: the first net device */

typedef bool (*hround_fn)(struct tgt *t, unsigned round);

/* Runs rounds 0..rounds-1 of fn with the harness described above and
 * prints the result line. */
void hostile_run(hround_fn fn, unsigned rounds, unsigned flags);

extern const char *hround;     /* name of the current round, for messages */
extern uint8_t *hscratch;      /* 64 KiB of DMA memory for the rounds */
#define HSCRATCH_SIZE 65536
bool hfail(const char *fmt, ...) PRINTF(1, 2); /* sets the reason, false */
void hnote(const char *fmt, ...) PRINTF(1, 2); /* appended to the PASS line */
void hskip(void);                /* this round does not apply to the target */

/* Normal requests. */
bool tgt_check(struct tgt *t);   /* a normal request works (no reset) */
uint32_t queue_count(const struct tgt *t);

/* Bad requests through the normal ring machinery. */
void hreq_init(struct tgt *t, struct hreq *r, uint32_t type);
bool hreq_add(struct tgt *t, struct hreq *r);   /* not yet published */
void hsubmit(struct tgt *t);                    /* publish + notify */
/* Waits for one used element: its used length and (blk) status byte. */
bool hwait_one(struct tgt *t, uint32_t *used_len, uint8_t *status);
/* The request outcome of a bad buffer: a used element with (blk) status
 * want_status (< 0: used length 0 and the status byte untouched; net:
 * used length 0 always), no NEEDS_RESET, and the queue still serving a
 * normal request. */
bool expect_request(struct tgt *t, int want_status);
/* The outcome of a broken queue: NEEDS_RESET within 1 s, InterruptStatus
 * bit 1, and (probe) no further request served on that queue. */
bool expect_broken(struct tgt *t, bool probe);
/* Status has NEEDS_RESET within 1 s (queue set-up failures). */
bool wait_needs_reset(struct vdev *d, uint32_t *status);

/* RAM-edge addresses. */
uint64_t ram_top(void);          /* first byte above the highest RAM */
bool ram_reaches_gap(void);      /* RAM runs up to 3 GiB */

#endif
