/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM thread's process-wide state: its event loop, orderly stops, the
 * API mailbox and the metrics timer; booting and shutting down the VM. */
#include "vmm/vmm.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include "api/api.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "seccomp/seccomp.h"
#include "vmm/controller.h"

static void stop_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

int vmm_block_stop_signals(void)
{
	sigset_t set;
	stop_signal_set(&set);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void vmm_request_stop(struct vmm *v, int code)
{
	uint64_t one = 1;
	pthread_mutex_lock(&v->exit_lock);
	if (!v->exit_code_set) {
		v->exit_code = code;
		v->exit_code_set = true;
	}
	pthread_mutex_unlock(&v->exit_lock);
	if (write(v->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		BUG_ON(errno == EBADF);
}

static void vm_stop_cb(void *opaque, int code)
{
	vmm_request_stop(opaque, code);
}

static void on_stop(struct evl_source *s, uint32_t events)
{
	struct vmm *v = s->opaque;
	uint64_t x;
	if (read(v->stop_fd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		LOG_WARN("reading the stop eventfd: %s", strerror(errno));
	evl_stop(&v->evl);
}

static void on_signal(struct evl_source *s, uint32_t events)
{
	struct vmm *v = s->opaque;
	struct signalfd_siginfo si;
	if (read(v->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	/* Firecracker's code for SIGHUP; the shell's 128+n for the others. */
	int code = si.ssi_signo == SIGHUP ? EXIT_SIGHUP : 128 + (int)si.ssi_signo;
	if (si.ssi_signo == SIGHUP)
		v->metrics.signals[5]++;
	LOG_INFO("received %s; stopping", strsignal((int)si.ssi_signo));
	vmm_request_stop(v, code);
}

static void on_metrics(struct evl_source *s, uint32_t events)
{
	struct vmm *v = s->opaque;
	uint64_t x;
	if (read(v->metrics.timer_fd, &x, sizeof(x)) < 0)
		return;
	if (metrics_configured(&v->metrics) && metrics_flush(&v->metrics, v))
		LOG_RL_WARN("writing metrics failed");
}

static void on_api(struct evl_source *s, uint32_t events)
{
	struct vmm *v = s->opaque;
	struct api_request req;
	uint64_t x;
	if (read(api_server_vmm_fd(v->api), &x, sizeof(x)) < 0 && errno != EAGAIN)
		return;
	while (api_server_take(v->api, &req)) {
		struct api_reply rep = {0};
		controller_handle(v, &req, &rep);
		json_decref(req.body);
		if (rep.status >= 400)
			api_server_count_fail(v->api, req.op);
		api_server_reply(v->api, &rep);
	}
}

int vmm_init(struct vmm *v, struct vm_config *cfg, const struct vm_opts *opts,
	     const char *instance_id, uint64_t start_us, uint64_t start_cpu_us)
{
	sigset_t set;
	int ret;

	memset(v, 0, sizeof(*v));
	v->stop_fd = v->signal_fd = -1;
	v->metrics.fd = v->metrics.timer_fd = -1;
	v->evl.epfd = -1;
	pthread_mutex_init(&v->exit_lock, NULL);
	snprintf(v->instance_id, sizeof(v->instance_id), "%s", instance_id);
	v->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* ours now */
	v->vm_opts = *opts;
	v->start_us = start_us;
	v->start_cpu_us = start_cpu_us;

	if ((ret = evl_init(&v->evl)) || (ret = metrics_init(&v->metrics)))
		return ret;
	v->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->stop_fd < 0)
		return -errno;
	stop_signal_set(&set);
	v->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (v->signal_fd < 0)
		return -errno;
	if ((ret = evl_add(&v->evl, &v->src_stop, v->stop_fd, EPOLLIN, on_stop, v)) ||
	    (ret = evl_add(&v->evl, &v->src_signal, v->signal_fd, EPOLLIN, on_signal, v)) ||
	    (ret = evl_add(&v->evl, &v->src_metrics, v->metrics.timer_fd, EPOLLIN, on_metrics, v)))
		return ret;
	return 0;
}

int vmm_attach_api(struct vmm *v, struct api_server *api)
{
	v->api = api;
	return evl_add(&v->evl, &v->src_api, api_server_vmm_fd(api), EPOLLIN, on_api, v);
}

int vmm_boot(struct vmm *v, char *err, size_t errlen)
{
	int ret;

	if (v->vm)
		return EXIT_GENERIC;
	v->vm = calloc(1, sizeof(*v->vm));
	if (!v->vm) {
		snprintf(err, errlen, "out of memory");
		return EXIT_GENERIC;
	}
	ret = vm_build(v->vm, &v->cfg, &v->vm_opts, &v->evl, vm_stop_cb, v, err, errlen);
	if (!ret && vm_start(v->vm)) {
		snprintf(err, errlen, "cannot start the vCPUs");
		ret = EXIT_GENERIC;
	}
	if (ret) {
		vm_stop(v->vm);
		vm_destroy(v->vm);
		free(v->vm);
		v->vm = NULL;
		return ret;
	}
	v->state = VMM_RUNNING;
	/* The VM is built: from here the VMM thread needs only its allowlist. */
	if ((ret = seccomp_apply(SECCOMP_VMM))) {
		snprintf(err, errlen, "cannot install the VMM thread's seccomp filter: %s",
			 strerror(-ret));
		vmm_request_stop(v, EXIT_GENERIC);
		return EXIT_GENERIC;
	}
	seccomp_test_violation(SECCOMP_VMM);
	if (metrics_configured(&v->metrics)) {
		metrics_start_timer(&v->metrics);
		if (metrics_flush(&v->metrics, v))
			LOG_RL_WARN("writing metrics failed");
	}
	return 0;
}

int vmm_run(struct vmm *v)
{
	int ret = evl_run(&v->evl);
	if (ret) {
		LOG_ERR("event loop: %s", strerror(-ret));
		vmm_request_stop(v, EXIT_GENERIC);
	}
	pthread_mutex_lock(&v->exit_lock);
	int code = v->exit_code_set ? v->exit_code : EXIT_UNEXPECTED;
	pthread_mutex_unlock(&v->exit_lock);
	return code;
}

void vmm_shutdown(struct vmm *v)
{
	if (v->vm) {
		vm_stop(v->vm);
		vm_log_counters(v->vm);
	}
	if (metrics_configured(&v->metrics) && metrics_flush(&v->metrics, v))
		LOG_WARN("writing the last metrics failed");
	if (v->api) {
		evl_del(&v->evl, &v->src_api);
		api_server_stop(v->api);
		v->api = NULL;
	}
	if (v->vm) {
		vm_destroy(v->vm);
		free(v->vm);
		v->vm = NULL;
	}
	metrics_destroy(&v->metrics);
	evl_destroy(&v->evl);
	close_fd(&v->signal_fd);
	close_fd(&v->stop_fd);
	config_free(&v->cfg);
	pthread_mutex_destroy(&v->exit_lock);
}
