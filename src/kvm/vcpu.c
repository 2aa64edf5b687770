/* SPDX-License-Identifier: Apache-2.0 */
#include "kvm/vcpu.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "arch/x86_64/vcpu_setup.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "seccomp/seccomp.h"

#define VCPU_CONTINUE (-1)

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to make KVM_RUN return -EINTR */
}

/* Firecracker's number too; the same in glibc (SIGRTMIN+1) and musl
 * (SIGRTMIN), and fixed because the seccomp filters name it. */
#define VCPU_KICK_SIGNAL 35

int vcpu_signal_number(void)
{
	BUG_ON(VCPU_KICK_SIGNAL < SIGRTMIN || VCPU_KICK_SIGNAL > SIGRTMAX);
	return VCPU_KICK_SIGNAL;
}

int vcpu_signals_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return */
	sigemptyset(&sa.sa_mask);
	return sigaction(vcpu_signal_number(), &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct kvm *k, unsigned id, const struct vcpu_env *env, struct vcpu *v)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->env = env;
	pthread_mutex_init(&v->pause_lock, NULL);
	pthread_cond_init(&v->pause_cond, NULL);
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	v->run_size = (size_t)k->run_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		v->run = NULL;
		close_fd(&v->fd);
		return -e;
	}
	return 0;
}

static void log_fatal(struct vcpu *v, const char *what)
{
	char regs[512];
	arch_vcpu_dump(v->fd, regs, sizeof(regs));
	LOG_ERR("vCPU %u: %s; %s", v->id, what, regs);
}

static int handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t size = r->io.size;
	uint64_t total = (uint64_t)size * r->io.count;

	/* KVM's own contract; a violation is a host kernel bug. */
	BUG_ON(size != 1 && size != 2 && size != 4);
	BUG_ON(r->io.data_offset > v->run_size || total > v->run_size - r->io.data_offset);

	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	/* A string instruction (rep ins/outs) arrives as one exit with a count. */
	for (uint32_t i = 0; i < r->io.count; i++, data += size) {
		if (r->io.direction == KVM_EXIT_IO_OUT)
			bus_write(v->env->pio, r->io.port, data, size);
		else
			bus_read(v->env->pio, r->io.port, data, size);
	}
	if (r->io.direction == KVM_EXIT_IO_OUT)
		v->ctr.exit_io_out++;
	else
		v->ctr.exit_io_in++;
	return VCPU_CONTINUE;
}

static int handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t len = r->mmio.len;

	if (len == 0 || len > sizeof(r->mmio.data)) {
		LOG_RL_WARN("vCPU %u: MMIO access of %u bytes at 0x%" PRIx64 " ignored", v->id, len,
			    (uint64_t)r->mmio.phys_addr);
		return VCPU_CONTINUE;
	}
	if (r->mmio.is_write) {
		v->ctr.exit_mmio_write++;
		bus_write(v->env->mmio, r->mmio.phys_addr, r->mmio.data, len);
	} else {
		v->ctr.exit_mmio_read++;
		bus_read(v->env->mmio, r->mmio.phys_addr, r->mmio.data, len);
	}
	return VCPU_CONTINUE;
}

static const char *internal_suberror(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "simultaneous exceptions";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exception during event delivery";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected exit reason";
	default:
		return "unknown";
	}
}

static int handle_internal_error(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	char what[256], hex[3 * 16 + 1] = "";
	uint8_t insn[16];
	unsigned n = 0;

	if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		/* Newer kernels hand over the instruction bytes; otherwise read
		 * them at RIP through the guest's page tables. */
		if (r->emulation_failure.ndata >= 3 &&
		    (r->emulation_failure.flags &
		     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			n = MIN(r->emulation_failure.insn_size, 15u);
			memcpy(insn, r->emulation_failure.insn_bytes, n);
		}
		/* KVM may hand over fewer bytes than the instruction has (only
		 * what it fetched); the guest's memory at RIP tells the rest. */
		uint8_t mem[16];
		unsigned m = arch_vcpu_insn_bytes(v->fd, v->env->gm, mem);
		if (m > n && (!n || !memcmp(mem, insn, n))) {
			memcpy(insn, mem, m);
			n = m;
		}
		size_t pos = 0;
		for (unsigned i = 0; i < n; i++)
			pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, "%s%02x",
						i ? " " : "", insn[i]);
		snprintf(what, sizeof(what),
			 "KVM internal error (KVM_EXIT_INTERNAL_ERROR), suberror %u: %s; "
			 "instruction bytes: %s",
			 r->internal.suberror, internal_suberror(r->internal.suberror),
			 n ? hex : "(unreadable)");
	} else {
		snprintf(what, sizeof(what),
			 "KVM internal error (KVM_EXIT_INTERNAL_ERROR), suberror %u: %s, %u data "
			 "words, first 0x%llx",
			 r->internal.suberror, internal_suberror(r->internal.suberror),
			 r->internal.ndata,
			 r->internal.ndata ? (unsigned long long)r->internal.data[0] : 0ull);
	}
	log_fatal(v, what);
	return EXIT_GENERIC;
}

static int handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		LOG_INFO("vCPU %u: guest shut down (KVM_SYSTEM_EVENT_SHUTDOWN)", v->id);
		return EXIT_OK;
	case KVM_SYSTEM_EVENT_RESET:
		LOG_INFO("vCPU %u: guest reset (KVM_SYSTEM_EVENT_RESET)", v->id);
		return EXIT_OK;
	case KVM_SYSTEM_EVENT_CRASH:
		log_fatal(v, "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
		return EXIT_GENERIC;
	default: {
		char what[96];
		snprintf(what, sizeof(what), "unknown system event %u", v->run->system_event.type);
		log_fatal(v, what);
		return EXIT_GENERIC;
	}
	}
}

static int handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	char what[160];

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		return handle_mmio(v);
	case KVM_EXIT_INTR:
		v->ctr.run_interrupted++;
		return VCPU_CONTINUE;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel irqchip: nothing can wake it. */
		LOG_INFO("vCPU %u halted (KVM_EXIT_HLT); stopping the VM", v->id);
		return EXIT_OK;
	case KVM_EXIT_SHUTDOWN:
		v->ctr.failures++;
		log_fatal(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		return EXIT_GENERIC;
	case KVM_EXIT_FAIL_ENTRY:
		v->ctr.failures++;
		snprintf(what, sizeof(what),
			 "VM entry failed (KVM_EXIT_FAIL_ENTRY), hardware reason 0x%llx on host "
			 "CPU %u",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason,
			 r->fail_entry.cpu);
		log_fatal(v, what);
		return EXIT_GENERIC;
	case KVM_EXIT_INTERNAL_ERROR:
		v->ctr.failures++;
		return handle_internal_error(v);
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(v);
	case KVM_EXIT_UNKNOWN:
		v->ctr.failures++;
		snprintf(what, sizeof(what),
			 "unknown exit (KVM_EXIT_UNKNOWN), hardware reason 0x%llx",
			 (unsigned long long)r->hw.hardware_exit_reason);
		log_fatal(v, what);
		return EXIT_GENERIC;
	default:
		/* EXCEPTION, DEBUG, IRQ_WINDOW_OPEN, NMI, TPR_ACCESS, ... : ember
		 * never asks for these, so one arriving is a bug somewhere. */
		v->ctr.exit_other++;
		v->ctr.failures++;
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u", r->exit_reason);
		log_fatal(v, what);
		return EXIT_GENERIC;
	}
}

/* Parks while a pause is requested. Returns false when the vCPU must stop. */
static bool park_if_paused(struct vcpu *v)
{
	if (!__atomic_load_n(&v->pause_req, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&v->pause_lock);
	v->paused = true;
	pthread_cond_broadcast(&v->pause_cond);
	while (v->pause_req && !__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&v->pause_cond, &v->pause_lock);
	v->paused = false;
	bool go = !__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE);
	if (go)
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&v->pause_lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu %u", v->id);
	pthread_setname_np(pthread_self(), name);
	log_set_thread_name(name);
	/* Before anything the guest can influence. */
	int ret = seccomp_apply(SECCOMP_VCPU);
	if (ret) {
		LOG_ERR("vCPU %u: cannot install its seccomp filter: %s", v->id, strerror(-ret));
		v->env->stop_vm(v->env->opaque, EXIT_GENERIC);
		goto out;
	}
	seccomp_test_violation(SECCOMP_VCPU);

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE) && park_if_paused(v)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				v->ctr.run_interrupted++;
				continue;
			}
			if (errno == EAGAIN)
				continue;
			LOG_ERR("vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			v->env->stop_vm(v->env->opaque, EXIT_GENERIC);
			break;
		}
		int code = handle_exit(v);
		if (code != VCPU_CONTINUE) {
			v->env->stop_vm(v->env->opaque, code);
			break;
		}
	}
out:
	/* A pauser waiting for this thread must not wait for ever. */
	pthread_mutex_lock(&v->pause_lock);
	v->paused = true;
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret)
		return -ret;
	v->thread_started = true;
	return 0;
}

void vcpu_request_stop(struct vcpu *v)
{
	__atomic_store_n(&v->stop, true, __ATOMIC_RELEASE);
	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&v->pause_lock);
	pthread_cond_broadcast(&v->pause_cond); /* a parked thread ends too */
	pthread_mutex_unlock(&v->pause_lock);
	if (v->thread_started)
		pthread_kill(v->thread, vcpu_signal_number());
}

void vcpu_pause(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	pthread_mutex_lock(&v->pause_lock);
	__atomic_store_n(&v->pause_req, true, __ATOMIC_RELEASE);
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, vcpu_signal_number());
	while (!v->paused)
		pthread_cond_wait(&v->pause_cond, &v->pause_lock);
	pthread_mutex_unlock(&v->pause_lock);
}

void vcpu_resume(struct vcpu *v)
{
	pthread_mutex_lock(&v->pause_lock);
	__atomic_store_n(&v->pause_req, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
}

int vcpu_kvmclock_paused(struct vcpu *v)
{
	return ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0) < 0 ? -errno : 0;
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started) {
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->fd >= 0 || v->run) {
		pthread_mutex_destroy(&v->pause_lock);
		pthread_cond_destroy(&v->pause_cond);
	}
	if (v->run)
		munmap(v->run, v->run_size);
	v->run = NULL;
	close_fd(&v->fd);
}

struct vcpu_counters vcpu_counters(const struct vcpu *v)
{
	return v->ctr;
}
