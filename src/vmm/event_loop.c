/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/event_loop.h"

#include <string.h>
#include <sys/epoll.h>

#define EVL_BATCH 32

int evl_init(struct evl *e)
{
	e->stop = false;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	return e->epfd < 0 ? -errno : 0;
}

void evl_destroy(struct evl *e)
{
	close_fd(&e->epfd);
}

int evl_add(struct evl *e, struct evl_source *s, int fd, uint32_t events, evl_cb cb, void *opaque)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};
	s->fd = fd;
	s->events = events;
	s->cb = cb;
	s->opaque = opaque;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->registered = true;
	return 0;
}

int evl_mod(struct evl *e, struct evl_source *s, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (!s->registered)
		return -ENOENT;
	if (s->events == events)
		return 0;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	s->events = events;
	return 0;
}

void evl_del(struct evl *e, struct evl_source *s)
{
	if (!s->registered)
		return;
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->registered = false;
}

int evl_run_once(struct evl *e, int timeout_ms)
{
	struct epoll_event evs[EVL_BATCH];
	int n = epoll_wait(e->epfd, evs, EVL_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct evl_source *s = evs[i].data.ptr;
		/* A callback earlier in this batch may have removed it. */
		if (s->registered)
			s->cb(s, evs[i].events);
	}
	return n;
}

int evl_run(struct evl *e)
{
	while (!e->stop) {
		int ret = evl_run_once(e, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void evl_stop(struct evl *e)
{
	e->stop = true;
}
