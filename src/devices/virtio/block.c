/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/virtio/block.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "common/log.h"

#define BLK_DO_IO	 0xff
#define BLK_CONFIG_LEN	 16 /* capacity u64, size_max u32, seg_max u32 */
#define BLK_RING_ENTRIES VIRTIO_QUEUE_MAX_SIZE

void blk_parse(const struct guest_mem *gm, const struct vq_chain *c, uint64_t capacity,
	       bool read_only, bool flush_offered, struct blk_req *r)
{
	memset(r, 0, sizeof(*r));
	r->head = c->head;
	r->early = VIRTIO_BLK_S_IOERR;
	r->malformed = true;

	/* The status byte: the last byte of the last, device-writable
	 * descriptor, which must lie wholly in RAM. */
	const struct virtq_desc *last = &c->d[c->n - 1];
	if (c->n >= 2 && (last->flags & VIRTQ_DESC_F_WRITE) && last->len >= 1) {
		uint8_t *p = gm_ptr(gm, last->addr, last->len);
		r->status = p ? p + (last->len - 1) : NULL;
	}
	/* A request that cannot be answered is not carried out either. */
	if (!r->status)
		return;

	const struct virtq_desc *hdr = &c->d[0];
	const uint8_t *h =
	    (hdr->flags & VIRTQ_DESC_F_WRITE) || hdr->len < 16 ? NULL : gm_ptr(gm, hdr->addr, 16);
	if (!h)
		return;
	memcpy(&r->type, h, 4); /* copied once; the guest may change it */
	memcpy(&r->sector, h + 8, 8);
	r->data_first = 1;
	r->data_count = c->n - 2u;

	bool want_writable;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		want_writable = true;
		break;
	case VIRTIO_BLK_T_OUT:
		want_writable = false;
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* FLUSH moves no data: any descriptors between the header and
		 * the status byte are not looked at, wherever they point. */
		r->data_count = 0;
		r->malformed = false;
		r->early = flush_offered ? BLK_DO_IO : VIRTIO_BLK_S_UNSUPP;
		return;
	default:
		r->malformed = false;
		r->early = VIRTIO_BLK_S_UNSUPP;
		return;
	}
	for (unsigned i = 0; i < r->data_count; i++) {
		const struct virtq_desc *d = &c->d[r->data_first + i];
		if (!!(d->flags & VIRTQ_DESC_F_WRITE) != want_writable ||
		    !gm_ptr(gm, d->addr, d->len))
			return;
		r->data_len += d->len; /* at most 256 x 4 GiB: no overflow */
	}
	if (!r->data_len)
		return; /* data is needed: a zero length is a bad buffer */
	r->malformed = false;
	if (r->type == VIRTIO_BLK_T_GET_ID) {
		r->early = BLK_DO_IO;
		return;
	}
	uint64_t end;
	if (r->data_len % VIRTIO_BLK_SECTOR ||
	    add_overflows(r->sector, r->data_len / VIRTIO_BLK_SECTOR, &end) || end > capacity)
		return;
	if (r->type == VIRTIO_BLK_T_OUT && read_only)
		return;
	r->early = BLK_DO_IO;
}

static void complete(struct vblk *b, uint16_t head, uint8_t *status, uint8_t s, uint32_t bytes)
{
	uint32_t used_len = 0;
	if (status) {
		*status = s;
		used_len = (s == VIRTIO_BLK_S_OK ? bytes : 0) + 1;
	}
	vq_add_used(&b->t.queues[0], head, used_len);
}

static void count_io(struct vblk *b, uint32_t type, uint64_t len, uint8_t s)
{
	if (s != VIRTIO_BLK_S_OK) {
		b->st.execute_fails++;
		return;
	}
	if (type == VIRTIO_BLK_T_IN) {
		b->st.read_count++;
		b->st.read_bytes += len;
	} else if (type == VIRTIO_BLK_T_OUT) {
		b->st.write_count++;
		b->st.write_bytes += len;
	} else if (type == VIRTIO_BLK_T_FLUSH) {
		b->st.flush_count++;
	}
}

static void io_error(struct vblk *b, const char *what, int err)
{
	LOG_RL_WARN("virtio-block %s: %s: %s; the guest gets an I/O error", b->id, what,
		    err ? strerror(err) : "short transfer");
}

/* GET_ID: the drive id, NUL-padded to 20 bytes, into the data buffers. */
static uint32_t write_id(struct vblk *b, const struct iovec *iov, unsigned n)
{
	char id[VIRTIO_BLK_ID_BYTES] = {0};
	memcpy(id, b->id, MIN(strlen(b->id), sizeof(id)));
	uint32_t done = 0;
	for (unsigned i = 0; i < n && done < sizeof(id); i++) {
		size_t k = MIN(iov[i].iov_len, sizeof(id) - done);
		memcpy(iov[i].iov_base, id + done, k);
		done += (uint32_t)k;
	}
	return done;
}

/* Advances an iovec array past `n` bytes. */
static void iov_advance(struct iovec **iov, unsigned *cnt, uint64_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

static uint8_t exec_sync(struct vblk *b, const struct blk_req *r, struct iovec *iov,
			 uint32_t *bytes)
{
	if (r->type == VIRTIO_BLK_T_FLUSH) {
		if (fdatasync(b->fd) == 0)
			return VIRTIO_BLK_S_OK;
		io_error(b, "flush", errno);
		return VIRTIO_BLK_S_IOERR;
	}
	unsigned cnt = r->data_count;
	struct iovec *v = iov;
	uint64_t left = r->data_len;
	off_t off = (off_t)(r->sector * VIRTIO_BLK_SECTOR);
	while (left) {
		ssize_t n = r->type == VIRTIO_BLK_T_IN ? preadv(b->fd, v, (int)cnt, off)
						       : pwritev(b->fd, v, (int)cnt, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			io_error(b, r->type == VIRTIO_BLK_T_IN ? "read" : "write",
				 n < 0 ? errno : 0);
			return VIRTIO_BLK_S_IOERR;
		}
		iov_advance(&v, &cnt, (uint64_t)n);
		left -= (uint64_t)n;
		off += n;
	}
	*bytes = r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->data_len : 0;
	return VIRTIO_BLK_S_OK;
}

/* ---------------------------------------------------------------- async */

static struct blk_inflight *slot_get(struct vblk *b, unsigned *idx)
{
	for (unsigned i = 0; i < BLK_RING_ENTRIES; i++) {
		if (!b->inflight[i].used) {
			*idx = i;
			return &b->inflight[i];
		}
	}
	return NULL;
}

static void slot_put(struct vblk *b, struct blk_inflight *s)
{
	free(s->iov_alloc);
	memset(s, 0, sizeof(*s));
	b->ninflight--;
}

static void prep(struct vblk *b, struct blk_inflight *s, unsigned idx)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	BUG_ON(!sqe); /* one SQE per slot, as many slots as ring entries */
	if (s->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, b->fd, s->iov, s->niov, s->offset + s->done);
	else if (s->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, b->fd, s->iov, s->niov, s->offset + s->done);
	else {
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		sqe->flags |= IOSQE_IO_DRAIN; /* after every write before it */
	}
	io_uring_sqe_set_data64(sqe, idx);
}

/* Returns false when the request completed at once (the caller publishes).
 * The slot owns the iovec array until slot_put(), which gcc's analyzer
 * cannot follow through the slot table. */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static bool submit_async(struct vblk *b, const struct blk_req *r, const struct iovec *iov)
{
	unsigned idx;
	struct blk_inflight *s = slot_get(b, &idx);
	BUG_ON(!s); /* process_queue checks for a free slot first */
	s->iov = s->iov_alloc = r->data_count ? malloc(r->data_count * sizeof(*iov)) : NULL;
	if (r->data_count && !s->iov) {
		complete(b, r->head, r->status, VIRTIO_BLK_S_IOERR, 0);
		return false;
	}
	if (r->data_count)
		memcpy(s->iov, iov, r->data_count * sizeof(*iov));
	s->used = true;
	s->head = r->head;
	s->status = r->status;
	s->type = r->type;
	s->niov = r->data_count;
	s->expect = r->type == VIRTIO_BLK_T_FLUSH ? 0 : r->data_len;
	s->offset = r->sector * VIRTIO_BLK_SECTOR;
	b->ninflight++;
	prep(b, s, idx);
	return true;
}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif

static void finish_slot(struct vblk *b, struct blk_inflight *s, uint8_t st)
{
	count_io(b, s->type, s->expect, st);
	complete(b, s->head, s->status, st,
		 s->type == VIRTIO_BLK_T_IN && st == VIRTIO_BLK_S_OK ? (uint32_t)s->expect : 0);
	slot_put(b, s);
}

/* Lock held. Returns true when used buffers were added. */
static bool reap(struct vblk *b)
{
	struct io_uring_cqe *cqe;
	bool any = false, resubmit = false;

	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		uint64_t idx = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		BUG_ON(idx >= BLK_RING_ENTRIES || !b->inflight[idx].used);
		struct blk_inflight *s = &b->inflight[idx];
		if (res < 0 || (res == 0 && s->expect)) {
			io_error(b,
				 s->type == VIRTIO_BLK_T_IN    ? "read"
				 : s->type == VIRTIO_BLK_T_OUT ? "write"
							       : "flush",
				 res < 0 ? -res : 0);
			finish_slot(b, s, VIRTIO_BLK_S_IOERR);
			any = true;
			continue;
		}
		s->done += (uint64_t)res;
		if (s->done < s->expect) { /* short: submit the rest */
			iov_advance(&s->iov, &s->niov, (uint64_t)res);
			prep(b, s, (unsigned)idx);
			resubmit = true;
			continue;
		}
		finish_slot(b, s, VIRTIO_BLK_S_OK);
		any = true;
	}
	if (resubmit)
		io_uring_submit(&b->ring);
	return any;
}

/* ---------------------------------------------------------------- queue */

static bool rate_limited(struct vblk *b, const struct blk_req *r)
{
	if (!rl_active(&b->rl))
		return false;
	if (!rl_consume(&b->rl, 1, RL_OPS))
		goto throttled;
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
	    !rl_consume(&b->rl, r->data_len, RL_BYTES)) {
		rl_replenish(&b->rl, 1, RL_OPS);
		goto throttled;
	}
	return false;
throttled:
	b->throttled = true;
	b->st.rate_limiter_throttled_events++;
	return true;
}

/* Lock held, VMM thread. */
static void process_queue(struct vblk *b)
{
	struct vq *q = &b->t.queues[0];
	struct iovec iov[VIRTIO_QUEUE_MAX_SIZE];
	bool used = false, submitted = false;

	if (b->throttled || !q->active)
		return;
	for (;;) {
		/* A driver may make a chain available again while it is still in
		 * flight: with every slot busy, wait for completions. */
		if (b->engine == BLK_ENGINE_ASYNC && b->ninflight == BLK_RING_ENTRIES) {
			if (vq_has_avail(q)) {
				b->engine_full = true;
				b->st.io_engine_throttled_events++;
			}
			break;
		}
		int got = vq_pop(q, &b->chain);
		if (got < 0) {
			vmmio_queue_fault(&b->t, 0);
			break;
		}
		if (got == 0) {
			if (vq_enable_notify(q))
				continue;
			break;
		}
		struct blk_req r;
		blk_parse(b->t.gm, &b->chain, b->capacity, b->read_only,
			  vmmio_has_feature(&b->t, VIRTIO_BLK_F_FLUSH), &r);
		if (rate_limited(b, &r)) {
			vq_unpop(q);
			break;
		}
		if (r.early != BLK_DO_IO) {
			if (r.malformed) {
				b->st.invalid_reqs_count++;
				LOG_RL_INFO("virtio-block %s: malformed request%s", b->id,
					    r.status ? " refused"
						     : " without a usable status byte dropped");
			} else {
				b->st.execute_fails++;
			}
			complete(b, r.head, r.status, r.early, 0);
			used = true;
			continue;
		}
		if (vq_chain_iov(b->t.gm, &b->chain, r.data_first, r.data_count, iov)) {
			/* blk_parse checked every data buffer: not reached, but a
			 * guest must never get to abort the VMM. */
			b->st.invalid_reqs_count++;
			complete(b, r.head, r.status, VIRTIO_BLK_S_IOERR, 0);
			used = true;
			continue;
		}
		if (r.type == VIRTIO_BLK_T_GET_ID) {
			uint32_t n = write_id(b, iov, r.data_count);
			complete(b, r.head, r.status, VIRTIO_BLK_S_OK, n);
			used = true;
		} else if (b->engine == BLK_ENGINE_ASYNC) {
			bool queued = submit_async(b, &r, iov);
			submitted |= queued;
			used |= !queued;
		} else {
			uint32_t bytes = 0;
			uint8_t s = exec_sync(b, &r, iov, &bytes);
			count_io(b, r.type, r.data_len, s);
			complete(b, r.head, r.status, s, bytes);
			used = true;
		}
	}
	if (submitted)
		io_uring_submit(&b->ring);
	if (used)
		vmmio_publish_used(&b->t, 0);
}

static void blk_queue_notify(void *dev, unsigned qi)
{
	struct vblk *b = dev;
	b->st.queue_event_count++;
	process_queue(b);
}

void vblk_handle_completions(struct vblk *b)
{
	uint64_t v;
	if (read(b->ring_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		b->st.event_fails++;
	pthread_mutex_lock(&b->t.lock);
	if (b->ring_ready && reap(b) && b->t.queues[0].active)
		vmmio_publish_used(&b->t, 0);
	if (b->engine_full && b->ninflight < BLK_RING_ENTRIES) {
		b->engine_full = false;
		if (b->t.active)
			process_queue(b);
	}
	pthread_mutex_unlock(&b->t.lock);
}

void vblk_handle_rate_limiter(struct vblk *b)
{
	pthread_mutex_lock(&b->t.lock);
	b->st.rate_limiter_event_count++;
	if (rl_timer_fired(&b->rl)) {
		b->throttled = false;
		if (b->t.active)
			process_queue(b);
	}
	pthread_mutex_unlock(&b->t.lock);
}

static void blk_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vblk *b = dev;
	uint8_t cfg[BLK_CONFIG_LEN] = {0};
	uint32_t seg_max = VBLK_SEG_MAX;
	memcpy(cfg, &b->capacity, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(data, cfg + off, len); /* the transport bounds off + len */
}

static int blk_activate(void *dev)
{
	return 0;
}

static void blk_reset(void *dev)
{
	struct vblk *b = dev;
	/* In-flight reads still write into guest memory: wait for every one
	 * before the guest gets its memory back, and drop the results. */
	while (b->ring_ready && b->ninflight) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
			break;
		uint64_t idx = io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&b->ring, cqe);
		if (idx < BLK_RING_ENTRIES && b->inflight[idx].used)
			slot_put(b, &b->inflight[idx]);
	}
	b->throttled = false;
	b->engine_full = false;
}

static const struct virtio_dev_ops blk_ops = {
    .kind = "block",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .config_read = blk_config_read,
    .activate = blk_activate,
    .queue_notify = blk_queue_notify,
    .reset = blk_reset,
};

/* Opens path and reads its size in sectors. */
static int open_backing(const char *path, bool ro, int *fd, uint64_t *sectors, char *err,
			size_t errlen)
{
	struct stat st;
	uint64_t bytes;

	*fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(*fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "'%s' is not a regular file or a block device", path);
		close_fd(fd);
		return -EINVAL;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(*fd, BLKGETSIZE64, &bytes) < 0) {
			snprintf(err, errlen, "'%s': BLKGETSIZE64: %s", path, strerror(errno));
			close_fd(fd);
			return -EINVAL;
		}
	} else {
		bytes = (uint64_t)st.st_size;
	}
	if (bytes % VIRTIO_BLK_SECTOR)
		LOG_WARN("'%s': size %" PRIu64 " is not a multiple of 512; the last %" PRIu64
			 " bytes are not visible to the guest",
			 path, bytes, bytes % VIRTIO_BLK_SECTOR);
	*sectors = bytes / VIRTIO_BLK_SECTOR;
	return 0;
}

static int setup_async(struct vblk *b, char *err, size_t errlen)
{
	int ret;
	b->inflight = calloc(BLK_RING_ENTRIES, sizeof(*b->inflight));
	if (!b->inflight)
		return -ENOMEM;
	if ((ret = io_uring_queue_init(BLK_RING_ENTRIES, &b->ring, 0))) {
		snprintf(err, errlen, "io_engine Async: io_uring unavailable: %s", strerror(-ret));
		return ret;
	}
	b->ring_ready = true;
	b->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->ring_efd < 0 || (ret = io_uring_register_eventfd(&b->ring, b->ring_efd))) {
		snprintf(err, errlen, "io_engine Async: cannot register the completion eventfd");
		return b->ring_efd < 0 ? -errno : ret;
	}
	return 0;
}

int vblk_init(struct vblk *b, const struct vblk_cfg *cfg, const struct guest_mem *gm, gpa_t base,
	      uint32_t gsi, char *err, size_t errlen)
{
	int ret;
	uint64_t features = BIT_ULL(VIRTIO_F_RING_EVENT_IDX) | BIT_ULL(VIRTIO_BLK_F_SEG_MAX);

	memset(b, 0, sizeof(*b));
	vmmio_preinit(&b->t);
	b->fd = b->ring_efd = -1;
	b->rl.timer_fd = -1;
	snprintf(b->id, sizeof(b->id), "%s", cfg->drive_id);
	b->read_only = cfg->read_only;
	b->cache = cfg->cache;
	b->engine = cfg->engine;
	if (!(b->path = strdup(cfg->path)))
		return -ENOMEM;
	if ((ret = open_backing(cfg->path, cfg->read_only, &b->fd, &b->capacity, err, errlen)))
		goto err;
	if (b->read_only)
		features |= BIT_ULL(VIRTIO_BLK_F_RO);
	if (b->cache == BLK_CACHE_WRITEBACK)
		features |= BIT_ULL(VIRTIO_BLK_F_FLUSH);
	if ((ret = rl_init(&b->rl, &cfg->rl))) {
		snprintf(err, errlen, "rate limiter timer: %s", strerror(-ret));
		goto err;
	}
	if (b->engine == BLK_ENGINE_ASYNC && (ret = setup_async(b, err, errlen)))
		goto err;
	if ((ret =
		 vmmio_init(&b->t, &blk_ops, b, gm, b->id, base, gsi, features, BLK_CONFIG_LEN))) {
		snprintf(err, errlen, "virtio transport: %s", strerror(-ret));
		goto err;
	}
	return 0;
err:
	vblk_destroy(b);
	return ret;
}

void vblk_destroy(struct vblk *b)
{
	if (b->ring_ready) {
		blk_reset(b);
		io_uring_queue_exit(&b->ring);
		b->ring_ready = false;
	}
	free(b->inflight);
	b->inflight = NULL;
	close_fd(&b->ring_efd);
	rl_destroy(&b->rl);
	close_fd(&b->fd);
	free(b->path);
	b->path = NULL;
	vmmio_destroy(&b->t);
}

int vblk_update_path(struct vblk *b, const char *path, char *err, size_t errlen)
{
	int fd;
	uint64_t sectors;
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	int ret = open_backing(path, b->read_only, &fd, &sectors, err, errlen);
	if (ret) {
		free(p);
		b->st.update_fails++;
		return ret;
	}
	pthread_mutex_lock(&b->t.lock);
	/* Requests in flight finish on the old file first. */
	while (b->ring_ready && b->ninflight) {
		if (reap(b) && b->t.queues[0].active)
			vmmio_publish_used(&b->t, 0);
		if (b->ninflight) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
				break;
		}
	}
	close_fd(&b->fd);
	b->fd = fd;
	free(b->path);
	b->path = p;
	b->capacity = sectors;
	b->st.update_count++;
	vmmio_config_changed(&b->t);
	pthread_mutex_unlock(&b->t.lock);
	return 0;
}

void vblk_update_rate_limiter(struct vblk *b, const struct rate_limiter_cfg *cfg)
{
	pthread_mutex_lock(&b->t.lock);
	rl_update(&b->rl, cfg);
	pthread_mutex_unlock(&b->t.lock);
}
