/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM thread's epoll loop. Only the VMM thread adds, changes or removes
 * sources; other threads talk to it through eventfds it watches. A source
 * removed by a callback may still be named later in the same batch, so its
 * memory must outlive the batch (sources live in long-lived device state). */
#ifndef EMBER_VMM_EVENT_LOOP_H
#define EMBER_VMM_EVENT_LOOP_H

#include <stdint.h>

#include "common/util.h"

struct evl_source;
typedef void (*evl_cb)(struct evl_source *src, uint32_t events);

struct evl_source {
	int fd;
	uint32_t events; /* EPOLLIN, EPOLLOUT, ... as registered */
	evl_cb cb;
	void *opaque;
	bool registered;
};

struct evl {
	int epfd;
	bool stop;
};

int evl_init(struct evl *e) WUR;
void evl_destroy(struct evl *e);
int evl_add(struct evl *e, struct evl_source *s, int fd, uint32_t events, evl_cb cb,
	    void *opaque) WUR;
int evl_mod(struct evl *e, struct evl_source *s, uint32_t events) WUR;
void evl_del(struct evl *e, struct evl_source *s);
/* Runs until evl_stop(); timeout_ms < 0 waits forever per iteration. */
int evl_run(struct evl *e) WUR;
/* One round of waiting (tests and shutdown drains). */
int evl_run_once(struct evl *e, int timeout_ms) WUR;
void evl_stop(struct evl *e);

#endif
