/* SPDX-License-Identifier: Apache-2.0 */
/* Running a built VM: its console sources in the VMM thread's loop, vCPU
 * start, pause and resume, and an orderly stop that joins every vCPU,
 * drains the console and restores the terminal. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "common/exit_codes.h"
#include "common/log.h"
#include "vmm/term.h"
#include "vmm/vm.h"

#define CONSOLE_DRAIN_TIMEOUT_MS 2000

static void console_out_want_pollout(struct vm *vm, bool on)
{
	if (!vm->console_out_pollable)
		return;
	if (evl_mod(vm->evl, &vm->src_uart_out, on ? EPOLLOUT : 0))
		LOG_RL_WARN("console output: cannot change its epoll registration");
}

static void drain_console(struct vm *vm)
{
	int ret = uart_drain(&vm->uart);
	if (ret == -EAGAIN) {
		console_out_want_pollout(vm, true);
		return;
	}
	if (ret)
		LOG_RL_WARN("console output failed (%s); output is being dropped", strerror(-ret));
	console_out_want_pollout(vm, false);
}

static void stdin_set_paused(struct vm *vm, bool paused)
{
	if (!vm->src_stdin.registered || vm->stdin_paused == paused)
		return;
	if (evl_mod(vm->evl, &vm->src_stdin, paused ? 0 : EPOLLIN) == 0)
		vm->stdin_paused = paused;
}

static void on_uart_notify(struct evl_source *s, uint32_t events)
{
	struct vm *vm = s->opaque;
	uint64_t v;
	if (read(vm->uart.notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	drain_console(vm);
	if (vm->stdin_paused && uart_rx_room(&vm->uart))
		stdin_set_paused(vm, false);
}

static void on_console_writable(struct evl_source *s, uint32_t events)
{
	drain_console(s->opaque);
}

static void on_stdin(struct evl_source *s, uint32_t events)
{
	struct vm *vm = s->opaque;
	uint8_t buf[UART_RX_FIFO];
	size_t room = uart_rx_room(&vm->uart);

	if (!room) {
		/* The host keeps the bytes; the UART tells us when it has room. */
		stdin_set_paused(vm, true);
		return;
	}
	ssize_t n = read(s->fd, buf, MIN(room, sizeof(buf)));
	if (n > 0) {
		size_t taken = uart_input(&vm->uart, buf, (size_t)n);
		BUG_ON(taken != (size_t)n); /* only this thread adds input */
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* End of input or an error: the guest simply gets no more input. */
	LOG_DEBUG("console input closed (%s)", n == 0 ? "end of file" : strerror(errno));
	evl_del(vm->evl, s);
}

static bool is_pollable(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode);
}

static int setup_console(struct vm *vm)
{
	int ret;

	if ((ret = evl_add(vm->evl, &vm->src_uart_notify, vm->uart.notify_fd, EPOLLIN,
			   on_uart_notify, vm)))
		return ret;

	/* Console output: non-blocking when the sink can be polled, so the
	 * VMM thread never blocks on a slow reader; a regular file is written
	 * directly. */
	int out = vm->opts.console_out;
	vm->console_out_flags = fcntl(out, F_GETFL);
	if (is_pollable(out) && vm->console_out_flags >= 0 &&
	    evl_add(vm->evl, &vm->src_uart_out, out, 0, on_console_writable, vm) == 0) {
		vm->console_out_pollable = true;
		if (fcntl(out, F_SETFL, vm->console_out_flags | O_NONBLOCK) < 0)
			LOG_WARN("console output: cannot make it non-blocking: %s",
				 strerror(errno));
	}

	/* Console input from a terminal, a pipe or a socket only. */
	int in = vm->opts.console_in;
	if (in >= 0 && is_pollable(in)) {
		if (term_raw(in))
			LOG_WARN("cannot switch the terminal to raw mode: %s", strerror(errno));
		if (evl_add(vm->evl, &vm->src_stdin, in, EPOLLIN, on_stdin, vm))
			LOG_DEBUG("console input is not pollable; the guest gets no input");
	}
	return 0;
}

/* Writes what the guest printed before it stopped, waiting for a slow
 * reader at most CONSOLE_DRAIN_TIMEOUT_MS. */
static void final_console_drain(struct vm *vm)
{
	uint64_t deadline = now_mono_us() + CONSOLE_DRAIN_TIMEOUT_MS * 1000ull;
	for (;;) {
		int ret = uart_drain(&vm->uart);
		if (ret != -EAGAIN)
			return;
		uint64_t now = now_mono_us();
		if (now >= deadline) {
			LOG_WARN("console reader too slow; dropping the rest of the output");
			return;
		}
		struct pollfd p = {.fd = vm->opts.console_out, .events = POLLOUT};
		(void)poll(&p, 1, (int)((deadline - now) / 1000) + 1);
	}
}

struct vcpu_counters vm_vcpu_totals(struct vm *vm)
{
	struct vcpu_counters t = {0};
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu_counters c = vcpu_counters(&vm->vcpus[i]);
		t.exit_io_in += c.exit_io_in;
		t.exit_io_out += c.exit_io_out;
		t.exit_mmio_read += c.exit_mmio_read;
		t.exit_mmio_write += c.exit_mmio_write;
		t.exit_other += c.exit_other;
		t.failures += c.failures;
		t.run_interrupted += c.run_interrupted;
	}
	return t;
}

void vm_log_counters(struct vm *vm)
{
	struct vcpu_counters t = vm_vcpu_totals(vm);
	struct uart_stats u = uart_stats(&vm->uart);
	LOG_DEBUG("exits to user space: io_in=%" PRIu64 " io_out=%" PRIu64 " mmio_read=%" PRIu64
		  " mmio_write=%" PRIu64 " other=%" PRIu64 " interrupted=%" PRIu64
		  "; console: %" PRIu64 " bytes out, %" PRIu64 " dropped",
		  t.exit_io_in, t.exit_io_out, t.exit_mmio_read, t.exit_mmio_write, t.exit_other,
		  t.run_interrupted, u.write_count, u.missed_write_count);
	for (unsigned i = 0; i < vm->cfg.ndrives; i++) {
		const struct vblk *b = &vm->blks[i];
		LOG_DEBUG("block %s: reads=%" PRIu64 " (%" PRIu64 " bytes) writes=%" PRIu64
			  " (%" PRIu64 " bytes) flushes=%" PRIu64 " execute_fails=%" PRIu64
			  " invalid_reqs=%" PRIu64 " throttled=%" PRIu64 " queue_events=%" PRIu64
			  " queue_faults=%" PRIu64 " bad_accesses=%" PRIu64,
			  b->id, b->st.read_count, b->st.read_bytes, b->st.write_count,
			  b->st.write_bytes, b->st.flush_count, b->st.execute_fails,
			  b->st.invalid_reqs_count, b->st.rate_limiter_throttled_events,
			  b->st.queue_event_count, b->t.st.queue_faults, b->t.st.bad_accesses);
	}
	for (unsigned i = 0; i < vm->cfg.nnets; i++) {
		const struct vnet *n = &vm->nets[i];
		LOG_DEBUG("net %s: rx_packets=%" PRIu64 " rx_bytes=%" PRIu64 " rx_fails=%" PRIu64
			  " tx_packets=%" PRIu64 " tx_bytes=%" PRIu64 " tx_malformed=%" PRIu64
			  " tx_spoofed_mac=%" PRIu64 " tap_read_fails=%" PRIu64
			  " tap_write_fails=%" PRIu64 " rx_throttled=%" PRIu64
			  " tx_throttled=%" PRIu64 " no_rx_avail_buffer=%" PRIu64
			  " queue_faults=%" PRIu64,
			  n->id, n->st.rx_packets_count, n->st.rx_bytes_count, n->st.rx_fails,
			  n->st.tx_packets_count, n->st.tx_bytes_count, n->st.tx_malformed_frames,
			  n->st.tx_spoofed_mac_count, n->st.tap_read_fails, n->st.tap_write_fails,
			  n->st.rx_rate_limiter_throttled, n->st.tx_rate_limiter_throttled,
			  n->st.no_rx_avail_buffer, n->t.st.queue_faults);
	}
}

int vm_start(struct vm *vm)
{
	int ret;

	if ((ret = setup_console(vm))) {
		LOG_ERR("setting up the console: %s", strerror(-ret));
		return ret;
	}
	if ((ret = vcpu_signals_init())) {
		LOG_ERR("installing the vCPU kick signal: %s", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if ((ret = vcpu_start(&vm->vcpus[i]))) {
			LOG_ERR("starting vCPU %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	vm->started = true;
	LOG_INFO("VM started");
	return 0;
}

void vm_stop(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_request_stop(&vm->vcpus[i]);
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (vm->uart.out)
		final_console_drain(vm);
	term_restore();
	if (vm->console_out_pollable) {
		(void)fcntl(vm->opts.console_out, F_SETFL, vm->console_out_flags);
		vm->console_out_pollable = false;
	}
	vm->started = false;
}

void vm_pause(struct vm *vm)
{
	if (vm->paused)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_pause(&vm->vcpus[i]);
	/* Keep the guest's soft-lockup watchdog quiet about the gap. */
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vcpu_kvmclock_paused(&vm->vcpus[i]))
			vm->kvmclock_ctrl_fails++;
	vm->paused = true;
}

void vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_resume(&vm->vcpus[i]);
	vm->paused = false;
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	int ret = i8042_send_ctrl_alt_del(&vm->i8042);
	if (ret)
		vm->ctrl_alt_del_fails++;
	return ret;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm_destroy_virtio(vm);
	if (vm->evl) {
		evl_del(vm->evl, &vm->src_uart_notify);
		evl_del(vm->evl, &vm->src_uart_out);
		evl_del(vm->evl, &vm->src_stdin);
	}
	uart_destroy(&vm->uart);
	if (vm->i8042.irq.fd >= 0)
		i8042_destroy(&vm->i8042);
	kvm_close(&vm->kvm);
	gm_destroy(&vm->gm);
}
