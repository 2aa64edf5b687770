/* SPDX-License-Identifier: Apache-2.0 */
/* The API thread: a Unix socket, non-blocking connections, one request at
 * a time handed to the VMM thread. */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/api.h"
#include "api/http.h"
#include "api/routes.h"
#include "common/log.h"
#include "seccomp/seccomp.h"

/* An answer can be large (GET /vm/config); requests are bounded by the
 * limits. Each connection's buffers are sized for one request plus one
 * answer, so a client that stops reading only ever blocks itself. */
#define API_OUT_MAX (256u * 1024)

struct conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool waiting; /* its request is queued for or at the VMM */
	bool dead;    /* the client went away while waiting */
	bool closing; /* close once the output is written */
	bool keep_alive;
	bool eof;	 /* the client sent its FIN: answer what came, then close */
	bool gone;	 /* the client hung up entirely: answers go nowhere */
	uint32_t events; /* the epoll interest registered for fd */
	bool queued;	 /* in the wait queue */
	bool continued;	 /* "100 Continue" sent for the request being received */
	struct conn *next;
};

struct api_server {
	int listen_fd, epfd, stop_fd, vmm_fd, reply_fd, ready_fd;
	int start_status; /* the API thread's seccomp result, before ready_fd */
	char *sock_path;
	pthread_t thread;
	bool thread_started;
	struct api_limits lim;
	struct http_limits hlim;
	struct conn **conns;
	unsigned nconns;

	/* Requests waiting for the VMM, in arrival order, and the one at it. */
	struct conn *wait_head, *wait_tail;
	struct conn *at_vmm;

	pthread_mutex_t lock; /* the mailbox below, shared with the VMM thread */
	struct api_request mbox_req;
	bool mbox_full; /* a request waits to be taken */
	struct api_reply mbox_rep;
	bool mbox_reply; /* an answer waits to be written */
	struct api_counters ctr;
};

/* Tags for epoll data: pointers to these, or to a struct conn. */
static int tag_listen, tag_stop, tag_reply;

/* ---------------------------------------------------------------- replies */

void api_reply_error(struct api_reply *rep, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	rep->status = status;
	rep->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
}

void api_reply_json(struct api_reply *rep, json_t *body)
{
	rep->status = 200;
	rep->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
}

void api_reply_empty(struct api_reply *rep)
{
	rep->status = 204;
	rep->body = NULL;
}

/* ---------------------------------------------------------------- counters */

static void count(struct api_server *s, enum api_op op)
{
	uint64_t *c = NULL;
	switch (op) {
	case API_GET_INSTANCE_INFO:
		c = &s->ctr.get_instance_info;
		break;
	case API_GET_VERSION:
		c = &s->ctr.get_vmm_version;
		break;
	case API_GET_VM_CONFIG:
		c = &s->ctr.get_vm_config;
		break;
	case API_GET_MACHINE_CONFIG:
		c = &s->ctr.get_machine_cfg;
		break;
	case API_PUT_ACTIONS:
		c = &s->ctr.put_actions;
		break;
	case API_PUT_MACHINE_CONFIG:
		c = &s->ctr.put_machine_cfg;
		break;
	case API_PATCH_MACHINE_CONFIG:
		c = &s->ctr.patch_machine_cfg;
		break;
	case API_PUT_BOOT_SOURCE:
		c = &s->ctr.put_boot_source;
		break;
	case API_PUT_DRIVE:
		c = &s->ctr.put_drive;
		break;
	case API_PATCH_DRIVE:
		c = &s->ctr.patch_drive;
		break;
	case API_PUT_NET:
		c = &s->ctr.put_network;
		break;
	case API_PATCH_NET:
		c = &s->ctr.patch_network;
		break;
	case API_PUT_LOGGER:
		c = &s->ctr.put_logger;
		break;
	case API_PUT_METRICS:
		c = &s->ctr.put_metrics;
		break;
	case API_PATCH_VM:
		c = &s->ctr.patch_vm;
		break;
	case API_PUT_SERIAL:
		c = &s->ctr.put_serial;
		break;
	}
	if (c)
		__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void api_server_count_fail(struct api_server *s, enum api_op op)
{
	uint64_t *c = NULL;
	switch (op) {
	case API_PUT_ACTIONS:
		c = &s->ctr.put_actions_fails;
		break;
	case API_PUT_MACHINE_CONFIG:
		c = &s->ctr.put_machine_cfg_fails;
		break;
	case API_PATCH_MACHINE_CONFIG:
		c = &s->ctr.patch_machine_cfg_fails;
		break;
	case API_PUT_BOOT_SOURCE:
		c = &s->ctr.put_boot_source_fails;
		break;
	case API_PUT_DRIVE:
		c = &s->ctr.put_drive_fails;
		break;
	case API_PATCH_DRIVE:
		c = &s->ctr.patch_drive_fails;
		break;
	case API_PUT_NET:
		c = &s->ctr.put_network_fails;
		break;
	case API_PATCH_NET:
		c = &s->ctr.patch_network_fails;
		break;
	case API_PUT_LOGGER:
		c = &s->ctr.put_logger_fails;
		break;
	case API_PUT_METRICS:
		c = &s->ctr.put_metrics_fails;
		break;
	case API_PATCH_VM:
		c = &s->ctr.patch_vm_fails;
		break;
	case API_PUT_SERIAL:
		c = &s->ctr.put_serial_fails;
		break;
	default:
		break;
	}
	if (c)
		__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

struct api_counters api_server_counters(struct api_server *s)
{
	struct api_counters c = {0};
	const uint64_t *src = (const uint64_t *)&s->ctr;
	uint64_t *dst = (uint64_t *)&c;
	for (size_t i = 0; i < sizeof(c) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return c;
}

/* ---------------------------------------------------------------- mailbox */

int api_server_vmm_fd(struct api_server *s)
{
	return s->vmm_fd;
}

bool api_server_take(struct api_server *s, struct api_request *req)
{
	pthread_mutex_lock(&s->lock);
	bool got = s->mbox_full;
	if (got) {
		*req = s->mbox_req;
		s->mbox_full = false;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

void api_server_reply(struct api_server *s, struct api_reply *rep)
{
	uint64_t one = 1;
	pthread_mutex_lock(&s->lock);
	s->mbox_rep = *rep;
	s->mbox_reply = true;
	pthread_mutex_unlock(&s->lock);
	rep->body = NULL;
	if (write(s->reply_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		BUG_ON(errno == EBADF);
}

/* ---------------------------------------------------------------- connections */

static void conn_free(struct api_server *s, struct conn *c)
{
	for (unsigned i = 0; i < s->nconns; i++) {
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	}
	free(c->in);
	free(c->out);
	free(c);
}

static void wait_remove(struct api_server *s, struct conn *c)
{
	struct conn **pp = &s->wait_head, *prev = NULL;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = c->next;
		if (s->wait_tail == c)
			s->wait_tail = prev;
	}
	c->next = NULL;
	c->queued = false;
}

/* Closes the socket now; the struct stays while the VMM holds its request. */
static void conn_close(struct api_server *s, struct conn *c)
{
	if (c->queued)
		wait_remove(s, c);
	if (c->fd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->waiting)
		c->dead = true;
	else
		conn_free(s, c);
}

/* The epoll interest follows the connection's state: input only while
 * there is room for it and the client has not finished sending, output
 * only while an answer waits. Level-triggered, so an interest that cannot
 * make progress must be off, or the thread spins. */
static void conn_update_events(struct api_server *s, struct conn *c)
{
	if (c->fd < 0 || c->gone)
		return;
	uint32_t ev = 0;
	if (!c->eof && c->in_len < c->in_cap)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->out_len)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = c};
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* The client hung up entirely (EPOLLHUP, EPIPE). Requests it sent in full
 * are still carried out, in order, as if it had only sent its FIN; their
 * answers are dropped. Off epoll: a hung-up socket always polls ready. */
static void conn_gone(struct api_server *s, struct conn *c)
{
	if (c->gone || c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->gone = c->eof = true;
	c->events = 0;
	c->out_len = c->out_off = 0;
}

/* Writes what it can; false when the connection is closed. */
static bool conn_flush(struct api_server *s, struct conn *c)
{
	while (!c->gone && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true; /* the rest on EPOLLOUT */
			if (c->waiting || c->queued || c->in_len) {
				conn_gone(s, c);
				break;
			}
			conn_close(s, c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->closing) {
		if (!c->gone)
			shutdown(c->fd, SHUT_WR);
		conn_close(s, c);
		return false;
	}
	return true;
}

static void conn_queue_response(struct api_server *s, struct conn *c, const struct http_response *r)
{
	size_t need;
	if (c->gone)
		return;
	int ret = http_format_response(c->out + c->out_len, API_OUT_MAX - c->out_len, r, &need);
	if (ret == 0) {
		c->out_len += need;
		return;
	}
	/* Too large or malformed: a plain 500 instead, and close. */
	static const char fallback[] = "HTTP/1.1 500 \r\nServer: " HTTP_SERVER_NAME
				       "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	LOG_RL_ERR("API answer of %zu bytes could not be formatted (%s)", need, strerror(-ret));
	if (API_OUT_MAX - c->out_len >= sizeof(fallback) - 1) {
		memcpy(c->out + c->out_len, fallback, sizeof(fallback) - 1);
		c->out_len += sizeof(fallback) - 1;
	}
	c->closing = true;
}

/* Client bytes in a log line: printable ASCII only, so a line stays one
 * line; at most LOG_BODY_MAX of them. */
#define LOG_BODY_MAX 1024

static void printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 4 < cap; i++)
		dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	if (len && n < len && n + 4 <= cap) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = 0;
}

/* Like Firecracker: every request at Info, every refusal at Error. */
static void log_request(const struct http_request *hr)
{
	if (log_get_level() < LOG_LVL_INFO)
		return;
	char path[256], body[LOG_BODY_MAX + 4];
	printable(path, sizeof(path), hr->path, strlen(hr->path));
	if (!hr->body_len) {
		LOG_INFO("The API server received a %s request on \"%s\".",
			 http_method_name(hr->method), path);
		return;
	}
	printable(body, sizeof(body), hr->body, hr->body_len);
	LOG_INFO("The API server received a %s request on \"%s\" with body \"%s\".",
		 http_method_name(hr->method), path, body);
}

static void log_refusal(int status, const char *msg)
{
	if (log_get_level() < LOG_LVL_ERROR)
		return;
	char m[LOG_BODY_MAX + 4];
	printable(m, sizeof(m), msg, strlen(msg));
	LOG_ERR("Received Error. Status code: %d. Message: %s", status, m);
}

static void queue_error(struct api_server *s, struct conn *c, int status, const char *fault,
			bool close_after)
{
	log_refusal(status, fault);
	struct http_response r = {.status = status, .fault = fault, .keep_alive = !close_after};
	s->ctr.bad_requests++;
	conn_queue_response(s, c, &r);
	if (close_after)
		c->closing = true;
}

static void wait_push(struct api_server *s, struct conn *c)
{
	if (c->queued)
		return;
	c->queued = true;
	c->next = NULL;
	if (s->wait_tail)
		s->wait_tail->next = c;
	else
		s->wait_head = c;
	s->wait_tail = c;
}

static struct conn *wait_pop(struct api_server *s)
{
	struct conn *c = s->wait_head;
	if (c)
		wait_remove(s, c);
	return c;
}

/* Hands req to the VMM thread; c waits for the answer. */
static void dispatch(struct api_server *s, struct conn *c, struct api_request *req)
{
	uint64_t one = 1;
	s->at_vmm = c;
	c->waiting = true;
	pthread_mutex_lock(&s->lock);
	s->mbox_req = *req;
	s->mbox_full = true;
	pthread_mutex_unlock(&s->lock);
	if (write(s->vmm_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		BUG_ON(errno == EBADF);
}

/* Answers what is buffered on c, as far as it can go. Requests the VMM
 * must see go one at a time, in arrival order across connections; those
 * refused before the VMM are answered at once. A connection's next request
 * is parsed only once the answers before it are written: a client that
 * pipelines without reading holds up only itself (back-pressure through
 * its socket), and no answer ever has to be dropped for want of room. */
static void conn_run(struct api_server *s, struct conn *c)
{
	bool partial = false; /* what is left of the input is not a whole request */

	while (c->fd >= 0) {
		if (c->out_len && !conn_flush(s, c))
			return; /* closed */
		if (c->out_len || c->waiting || c->queued || c->closing || !c->in_len)
			break;
		struct http_request hr;
		struct http_error he;
		size_t used;
		enum http_parse_result res =
		    http_parse_request(c->in, c->in_len, &s->hlim, &hr, &used, &he);
		if (res == HTTP_NEED_MORE) {
			/* A client that asked first gets its go-ahead for the body. */
			if (hr.head_len && hr.expect_continue && !c->continued && !c->eof) {
				struct http_response r = {.status = 100, .keep_alive = true};
				conn_queue_response(s, c, &r);
				c->continued = true;
				continue;
			}
			partial = true;
			break;
		}
		if (res == HTTP_ERROR) {
			queue_error(s, c, he.status, he.msg, true);
			continue;
		}
		if (s->at_vmm) {
			wait_push(s, c); /* parsed again when its turn comes */
			break;
		}
		struct api_request req;
		struct route_error re = {0};
		log_request(&hr);
		int rr = api_route_http(&hr, &req, &re);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		/* After the FIN, the last whole request's answer says close. */
		c->keep_alive = hr.keep_alive && !(c->eof && !c->in_len);
		c->continued = false;
		if (rr) {
			queue_error(s, c, 400, re.fault, !c->keep_alive);
			continue;
		}
		count(s, req.op);
		dispatch(s, c, &req);
	}
	if (c->fd < 0)
		return;
	/* Everything the client sent before its FIN is answered: close, after
	 * saying so if what is left is a request cut short. */
	if (c->eof && partial && !c->gone && !c->closing && !c->out_len) {
		queue_error(s, c, 400,
			    "The client closed its side before the request was complete.", true);
		/* Closing after the answer frees c: only the result says so. */
		if (!conn_flush(s, c))
			return;
	}
	if (c->eof && !c->waiting && !c->queued && !c->out_len && (!c->in_len || partial)) {
		if (!c->gone)
			shutdown(c->fd, SHUT_WR);
		conn_close(s, c);
		return;
	}
	conn_update_events(s, c);
}

static void on_reply(struct api_server *s)
{
	uint64_t x;
	struct api_reply rep;

	if (read(s->reply_fd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&s->lock);
	bool have = s->mbox_reply;
	rep = s->mbox_rep;
	s->mbox_reply = false;
	pthread_mutex_unlock(&s->lock);
	if (!have)
		return;
	struct conn *c = s->at_vmm;
	s->at_vmm = NULL;
	BUG_ON(!c);
	c->waiting = false;
	if (c->dead || c->gone)
		s->ctr.sync_response_fails++; /* nobody to give the answer to */
	if (c->dead) {
		conn_free(s, c);
		c = NULL;
	} else {
		if (rep.status >= 400)
			log_refusal(rep.status, rep.body ? rep.body : "");
		struct http_response r = {.status = rep.status,
					  .body = rep.body,
					  .body_len = rep.body ? strlen(rep.body) : 0,
					  .keep_alive = c->keep_alive,
					  .deprecation = rep.deprecation};
		conn_queue_response(s, c, &r);
		if (!c->keep_alive)
			c->closing = true;
	}
	free(rep.body);
	/* Waiting connections first, in order; then this one's next request. */
	struct conn *w;
	while (!s->at_vmm && (w = wait_pop(s)))
		conn_run(s, w);
	if (c)
		conn_run(s, c);
}

static void on_readable(struct api_server *s, struct conn *c, uint32_t events)
{
	/* A head plus the largest body fit in c->in; a client that pipelines
	 * further ahead waits (conn_update_events stops reading). */
	while (!c->eof && c->in_len < c->in_cap) {
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				conn_gone(s, c);
				break;
			}
			break;
		}
		if (n == 0)
			c->eof = true;
		c->in_len += (size_t)n;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		conn_gone(s, c);
	conn_run(s, c);
}

static void on_accept(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				LOG_RL_WARN("API: accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= s->lim.max_conns) {
			char busy[HTTP_ERROR_RESPONSE_MAX];
			size_t len;
			struct http_error e = {.status = 503};
			snprintf(e.msg, sizeof(e.msg),
				 "Too many API connections (%u); try again later.",
				 s->lim.max_conns);
			if (http_format_error(busy, sizeof(busy), &e, &len) == 0) {
				ssize_t unused = send(fd, busy, len, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)unused;
			}
			close(fd);
			LOG_RL_WARN("API: connection refused: %u connections open", s->nconns);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (c) {
			c->in_cap = s->hlim.max_head_bytes + s->hlim.max_body_bytes;
			c->in = malloc(c->in_cap);
			c->out = malloc(API_OUT_MAX);
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (c)
			c->events = ev.events;
		if (!c || !c->in || !c->out || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c) {
				free(c->in);
				free(c->out);
			}
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		s->conns[s->nconns++] = c;
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	struct epoll_event evs[32];

	pthread_setname_np(pthread_self(), "api");
	log_set_thread_name("api");
	/* The filter goes on before the first client byte is read; the
	 * starter waits to hear that it did. */
	int ret = seccomp_apply(SECCOMP_API);
	uint64_t one = 1;
	s->start_status = ret;
	if (write(s->ready_fd, &one, sizeof(one)) < 0 || ret)
		return NULL;
	seccomp_test_violation(SECCOMP_API);
	for (;;) {
		int n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			LOG_ERR("API: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &tag_stop)
				return NULL;
			if (p == &tag_listen) {
				on_accept(s);
			} else if (p == &tag_reply) {
				on_reply(s);
			} else {
				struct conn *c = p;
				/* A connection closed earlier in this batch may be
				 * freed: only touch ones still listed. */
				bool live = false;
				for (unsigned k = 0; k < s->nconns && !live; k++)
					live = s->conns[k] == c;
				if (!live || c->fd < 0)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					on_readable(s, c, evs[i].events);
				else if (evs[i].events & EPOLLOUT)
					conn_run(s, c); /* writes, then parses what waited */
			}
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- life */

static int bind_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "--api-sock: '%s' is longer than %zu bytes", path,
			 sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "API socket: %s", strerror(errno));
		return -errno;
	}
	/* Like Firecracker, refuse a path that exists: it may be another
	 * instance's live socket. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		snprintf(err, errlen, "Failed to bind socket '%s': %s%s", path, strerror(e),
			 e == EADDRINUSE ? " (remove it if no other instance uses it)" : "");
		close(fd);
		return -e;
	}
	return fd;
}

static int add_tag(struct api_server *s, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void server_free(struct api_server *s)
{
	for (unsigned i = s->nconns; i-- > 0;) {
		struct conn *c = s->conns[i];
		if (c->fd >= 0)
			close(c->fd);
		free(c->in);
		free(c->out);
		free(c);
	}
	free(s->conns);
	if (s->mbox_full)
		json_decref(s->mbox_req.body);
	if (s->mbox_reply)
		free(s->mbox_rep.body);
	close_fd(&s->listen_fd);
	close_fd(&s->epfd);
	close_fd(&s->stop_fd);
	close_fd(&s->vmm_fd);
	close_fd(&s->reply_fd);
	close_fd(&s->ready_fd);
	free(s->sock_path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int api_server_start(struct api_server **out, const char *sock_path, const struct api_limits *lim,
		     char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->listen_fd = s->epfd = s->stop_fd = s->vmm_fd = s->reply_fd = s->ready_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->lim = *lim;
	if (!s->lim.max_conns)
		s->lim.max_conns = API_DEFAULT_MAX_CONNS;
	struct http_limits hl = HTTP_LIMITS_DEFAULT;
	hl.max_body_bytes = lim->max_payload;
	s->hlim = hl;
	s->conns = calloc(s->lim.max_conns, sizeof(*s->conns));
	s->sock_path = strdup(sock_path);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->vmm_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->reply_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->ready_fd = eventfd(0, EFD_CLOEXEC); /* blocking: the starter waits on it */
	if (!s->conns || !s->sock_path || s->epfd < 0 || s->stop_fd < 0 || s->vmm_fd < 0 ||
	    s->reply_fd < 0 || s->ready_fd < 0) {
		snprintf(err, errlen, "API server: %s", strerror(errno ? errno : ENOMEM));
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = bind_socket(sock_path, err, errlen)) < 0)
		goto fail;
	s->listen_fd = ret;
	if ((ret = add_tag(s, s->listen_fd, &tag_listen)) ||
	    (ret = add_tag(s, s->stop_fd, &tag_stop)) ||
	    (ret = add_tag(s, s->reply_fd, &tag_reply))) {
		snprintf(err, errlen, "API server: epoll: %s", strerror(-ret));
		goto fail_unlink;
	}
	if ((ret = -pthread_create(&s->thread, NULL, api_thread, s))) {
		snprintf(err, errlen, "API thread: %s", strerror(-ret));
		goto fail_unlink;
	}
	s->thread_started = true;
	uint64_t x;
	if (read(s->ready_fd, &x, sizeof(x)) != sizeof(x) || s->start_status) {
		ret = s->start_status ? s->start_status : -EIO;
		snprintf(err, errlen, "API thread: cannot install its seccomp filter: %s",
			 strerror(-ret));
		pthread_join(s->thread, NULL);
		s->thread_started = false;
		goto fail_unlink;
	}
	*out = s;
	return 0;
fail_unlink:
	unlink(sock_path);
fail:
	server_free(s);
	return ret;
}

void api_server_stop(struct api_server *s)
{
	uint64_t one = 1;
	if (s->thread_started) {
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			LOG_WARN("API: cannot wake the API thread: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	unlink(s->sock_path);
	server_free(s);
}
