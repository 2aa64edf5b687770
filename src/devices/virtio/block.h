/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk (virtio spec v1.2 §5.2) on a raw image file. The front end
 * parses and checks a whole request before any I/O (blk_parse is pure, for
 * tests and fuzzing); the back end is "Sync" (preadv/pwritev on the VMM
 * thread) or "Async" (io_uring, completions through an eventfd). */
#ifndef EMBER_DEVICES_VIRTIO_BLOCK_H
#define EMBER_DEVICES_VIRTIO_BLOCK_H

#include <liburing.h>
#include <stdint.h>

#include "devices/rate_limiter.h"
#include "devices/virtio/block_cfg.h"
#include "devices/virtio/mmio.h"

/* Request types and status values (§5.2.6). */
#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO	     5
#define VIRTIO_BLK_F_FLUSH   9

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR   512
#define VBLK_SEG_MAX	    (VIRTIO_QUEUE_MAX_SIZE - 2)
#define VBLK_ID_MAX	    64

/* Firecracker's "block" metric fields. */
struct vblk_stats {
	uint64_t activate_fails, cfg_fails, event_fails, execute_fails, invalid_reqs_count;
	uint64_t flush_count, queue_event_count, rate_limiter_event_count, update_count,
	    update_fails;
	uint64_t read_bytes, write_bytes, read_count, write_count;
	uint64_t rate_limiter_throttled_events, io_engine_throttled_events, remaining_reqs_count;
	uint64_t no_avail_buffer;
};

/* A parsed request: everything I/O needs, checked. */
struct blk_req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	unsigned data_first, data_count; /* descriptor indices of the data */
	uint64_t data_len;
	uint8_t *status; /* host pointer to the status byte, NULL if unusable */
	uint8_t early;	 /* a status decided while parsing, or 0xff: do the I/O */
	bool malformed;	 /* the chain itself is wrong (counted as invalid) */
};

/* Parses chain c for a device of `capacity` sectors. Always fills r (the
 * head, and status when usable); r->early is the status when the request
 * must not reach the back end. */
void blk_parse(const struct guest_mem *gm, const struct vq_chain *c, uint64_t capacity,
	       bool read_only, bool flush_offered, struct blk_req *r);

struct blk_inflight {
	bool used;
	uint16_t head;
	uint8_t *status;
	uint32_t used_len;
	uint64_t expect; /* bytes the operation must move */
	uint64_t done;
	uint32_t type;
	uint64_t offset;
	unsigned niov;
	struct iovec *iov;	 /* advanced on short transfers */
	struct iovec *iov_alloc; /* what iov started as: the allocation */
};

struct vblk {
	struct virtio_mmio t;
	char id[VBLK_ID_MAX + 1];
	char *path;
	int fd;
	uint64_t capacity; /* sectors */
	bool read_only;
	enum blk_cache cache;
	enum blk_engine engine;
	struct rate_limiter rl;
	struct vblk_stats st;
	struct vq_chain chain; /* scratch */
	/* Async engine. */
	struct io_uring ring;
	bool ring_ready;
	int ring_efd;
	struct blk_inflight *inflight; /* VIRTIO_QUEUE_MAX_SIZE slots */
	unsigned ninflight;
	bool throttled;	  /* a request waits for the rate limiter */
	bool engine_full; /* every io_uring slot is busy: wait for completions */
};

/* Opens the file and sets up the device at `base`/`gsi`; `err` names the
 * problem on failure. */
int vblk_init(struct vblk *b, const struct vblk_cfg *cfg, const struct guest_mem *gm, gpa_t base,
	      uint32_t gsi, char *err, size_t errlen) WUR;
void vblk_destroy(struct vblk *b);
/* VMM thread: io_uring completions are ready. */
void vblk_handle_completions(struct vblk *b);
/* VMM thread: the rate limiter's timer fired. */
void vblk_handle_rate_limiter(struct vblk *b);
/* Replaces the backing file (PATCH path_on_host): new capacity, config
 * interrupt. */
int vblk_update_path(struct vblk *b, const char *path, char *err, size_t errlen) WUR;
void vblk_update_rate_limiter(struct vblk *b, const struct rate_limiter_cfg *cfg);

#endif
