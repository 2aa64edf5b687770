/* SPDX-License-Identifier: Apache-2.0 */
/* vCPU threads: KVM_RUN, decode the exit, dispatch PIO/MMIO on the bus,
 * repeat. Every exit reason is handled on purpose; anything unexpected
 * stops the VM loudly. A vCPU is stopped by a flag plus KVM's
 * immediate_exit plus a signal that interrupts KVM_RUN. */
#ifndef EMBER_KVM_VCPU_H
#define EMBER_KVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

#include "bus/bus.h"
#include "common/util.h"
#include "kvm/kvm.h"
#include "mem/guest_mem.h"

struct vcpu_env {
	struct bus *pio;
	struct bus *mmio;
	const struct guest_mem *gm;
	/* Asks the VMM to stop the VM with `code`; the first request wins. */
	void (*stop_vm)(void *opaque, int code);
	void *opaque;
};

/* Exit counters, for metrics ("vcpu" group) and the exit summary. */
struct vcpu_counters {
	uint64_t exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write;
	uint64_t exit_other, failures, run_interrupted;
};

struct vcpu {
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	bool stop; /* accessed atomically */
	const struct vcpu_env *env;
	struct vcpu_counters ctr; /* written by the vCPU thread only */
	/* Pause: the VMM sets pause_req and kicks; the thread parks and says
	 * so through `paused` until pause_req is cleared (or stop is set). */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req, paused;
};

/* Process-wide: the kick signal's handler. Call once before any vCPU runs. */
int vcpu_signals_init(void) WUR;
int vcpu_signal_number(void);

int vcpu_create(struct kvm *k, unsigned id, const struct vcpu_env *env, struct vcpu *v) WUR;
/* Spawns the thread "vcpu N". */
int vcpu_start(struct vcpu *v) WUR;
/* Asks the vCPU to leave KVM_RUN and its thread to end; does not wait. */
void vcpu_request_stop(struct vcpu *v);
/* Parks the vCPU outside KVM_RUN and waits until it is parked (or its
 * thread has ended). */
void vcpu_pause(struct vcpu *v);
void vcpu_resume(struct vcpu *v);
/* Tells the guest's kvmclock that the vCPU was paused (KVM_KVMCLOCK_CTRL);
 * -errno when the guest does not use kvmclock or KVM lacks it. */
int vcpu_kvmclock_paused(struct vcpu *v) WUR;
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* A snapshot of the counters (racy reads of monotonic counters are fine). */
struct vcpu_counters vcpu_counters(const struct vcpu *v);

#endif
