/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM thread's epoll loop with eventfds: add/mod/del, callbacks, a
 * callback removing another source of the same batch, evl_stop. */
#include "unit.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "vmm/event_loop.h"

struct src {
	struct evl_source s;
	struct evl *e;
	int fd;
	unsigned calls;
	uint32_t last_events;
	struct src *victim; /* deleted by this source's callback */
	unsigned stop_after;
	bool consume; /* read the eventfd in the callback */
};

struct fx {
	struct evl e;
	struct src a, b;
};

static void cb(struct evl_source *s, uint32_t events)
{
	struct src *x = s->opaque;
	assert_ptr_equal(&x->s, s);
	x->calls++;
	x->last_events = events;
	if (x->consume)
		ut_efd_take(x->fd);
	if (x->victim)
		evl_del(x->e, &x->victim->s);
	if (x->stop_after && x->calls == x->stop_after)
		evl_stop(x->e);
}

static void src_init(struct fx *f, struct src *x)
{
	memset(x, 0, sizeof(*x));
	x->e = &f->e;
	x->consume = true;
	x->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(x->fd >= 0);
}

static void kick(struct src *x)
{
	uint64_t one = 1;
	assert_int_equal(write(x->fd, &one, sizeof(one)), sizeof(one));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || evl_init(&f->e))
		return -1;
	src_init(f, &f->a);
	src_init(f, &f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	evl_del(&f->e, &f->a.s);
	evl_del(&f->e, &f->b.s);
	close(f->a.fd);
	close(f->b.fd);
	evl_destroy(&f->e);
	free(f);
	return 0;
}

static void add_and_fire(void **state)
{
	struct fx *f = *state;

	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	assert_true(f->a.s.registered);
	assert_int_equal(f->a.s.fd, f->a.fd);
	assert_int_equal(f->a.s.events, EPOLLIN);
	assert_int_equal(evl_run_once(&f->e, 0), 0); /* nothing yet */
	assert_int_equal(f->a.calls, 0);

	kick(&f->a);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(f->a.calls, 1);
	assert_int_equal(f->a.last_events, EPOLLIN);
	/* The callback read the eventfd: quiet again. */
	assert_int_equal(evl_run_once(&f->e, 0), 0);
	assert_int_equal(f->a.calls, 1);

	/* Level-triggered: not consumed, it fires every round. */
	f->a.consume = false;
	kick(&f->a);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(f->a.calls, 3);
}

static void add_errors(void **state)
{
	struct fx *f = *state;

	assert_errno(evl_add(&f->e, &f->a.s, -1, EPOLLIN, cb, &f->a), -EBADF);
	assert_false(f->a.s.registered);
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	/* The same fd twice. */
	assert_errno(evl_add(&f->e, &f->b.s, f->a.fd, EPOLLIN, cb, &f->b), -EEXIST);
	assert_false(f->b.s.registered);
	/* A regular file cannot be polled. */
	char path[PATH_MAX];
	assert_int_equal(ut_write_file(path, "f", "x", 1), 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_errno(evl_add(&f->e, &f->b.s, fd, EPOLLIN, cb, &f->b), -EPERM);
	close(fd);
	unlink(path);
}

static void mod(void **state)
{
	struct fx *f = *state;

	/* Not registered yet. */
	assert_errno(evl_mod(&f->e, &f->a.s, EPOLLOUT), -ENOENT);
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	assert_int_equal(evl_run_once(&f->e, 0), 0);
	/* An eventfd is always writable. */
	assert_int_equal(evl_mod(&f->e, &f->a.s, EPOLLOUT), 0);
	assert_int_equal(f->a.s.events, EPOLLOUT);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(f->a.last_events, EPOLLOUT);
	assert_int_equal(evl_mod(&f->e, &f->a.s, EPOLLOUT), 0); /* unchanged: a no-op */
	assert_int_equal(evl_mod(&f->e, &f->a.s, EPOLLIN), 0);
	assert_int_equal(evl_run_once(&f->e, 0), 0);
	kick(&f->a);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(f->a.last_events, EPOLLIN);
	assert_int_equal(f->a.calls, 2);
}

static void del(void **state)
{
	struct fx *f = *state;

	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	evl_del(&f->e, &f->a.s);
	assert_false(f->a.s.registered);
	kick(&f->a);
	assert_int_equal(evl_run_once(&f->e, 0), 0);
	assert_int_equal(f->a.calls, 0);
	evl_del(&f->e, &f->a.s); /* twice is harmless */
	assert_errno(evl_mod(&f->e, &f->a.s, EPOLLIN), -ENOENT);
	/* And it can come back. */
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(f->a.calls, 1);
}

static void callback_removes_other_in_same_batch(void **state)
{
	struct fx *f = *state;

	/* Both ready in one epoll_wait; whichever runs first removes the
	 * other, whose event is then skipped. */
	f->a.victim = &f->b;
	f->b.victim = &f->a;
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	assert_int_equal(evl_add(&f->e, &f->b.s, f->b.fd, EPOLLIN, cb, &f->b), 0);
	kick(&f->a);
	kick(&f->b);
	assert_int_equal(evl_run_once(&f->e, 0), 2);
	assert_int_equal(f->a.calls + f->b.calls, 1);
	assert_true(f->a.s.registered != f->b.s.registered);
}

static void callback_removes_itself(void **state)
{
	struct fx *f = *state;

	f->a.victim = &f->a;
	f->a.consume = false;
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	kick(&f->a);
	assert_int_equal(evl_run_once(&f->e, 0), 1);
	assert_int_equal(evl_run_once(&f->e, 0), 0);
	assert_int_equal(f->a.calls, 1);
}

static void run_until_stop(void **state)
{
	struct fx *f = *state;

	/* A always ready (not consumed); it stops the loop on its 3rd call. */
	f->a.consume = false;
	f->a.stop_after = 3;
	assert_int_equal(evl_add(&f->e, &f->a.s, f->a.fd, EPOLLIN, cb, &f->a), 0);
	kick(&f->a);
	assert_int_equal(evl_run(&f->e), 0);
	assert_int_equal(f->a.calls, 3);
	assert_true(f->e.stop);
	/* Once stopped, evl_run returns at once. */
	assert_int_equal(evl_run(&f->e), 0);
	assert_int_equal(f->a.calls, 3);
}

static void run_once_timeout_and_destroy(void **state)
{
	struct evl e;
	uint64_t t0 = now_mono_us();

	assert_int_equal(evl_init(&e), 0);
	assert_false(e.stop);
	assert_true(e.epfd >= 0);
	assert_int_equal(evl_run_once(&e, 20), 0);
	assert_true(now_mono_us() - t0 >= 15000);
	evl_destroy(&e);
	assert_int_equal(e.epfd, -1);
	evl_destroy(&e); /* twice is harmless */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(add_and_fire),
	T(add_errors),
	T(mod),
	T(del),
	T(callback_removes_other_in_same_batch),
	T(callback_removes_itself),
	T(run_until_stop),
	cmocka_unit_test(run_once_timeout_and_destroy),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
