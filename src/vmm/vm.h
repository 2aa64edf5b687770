/* SPDX-License-Identifier: Apache-2.0 */
/* A microVM: KVM, guest memory, buses, legacy and virtio devices, vCPUs.
 * vm_build turns a configuration into a VM ready to run, with its event
 * sources in the VMM thread's loop (struct vmm owns the loop); vm_start
 * starts the vCPUs; vm_stop stops and joins them; vm_destroy releases
 * everything. */
#ifndef EMBER_VMM_VM_H
#define EMBER_VMM_VM_H

#include <signal.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "bus/bus.h"
#include "devices/legacy/boot_timer.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/block.h"
#include "devices/virtio/net.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "loader/loader.h"
#include "mem/guest_mem.h"
#include "vmm/config.h"
#include "vmm/event_loop.h"

struct vm_opts {
	bool boot_timer;
	enum boot_pref boot_pref;
	const char *kvm_path; /* "/dev/kvm" */
	int console_in;	      /* stdin, or -1 for none */
	int console_out;      /* stdout */
};

/* A virtio device and its event sources in the VMM thread's loop. */
struct vm_vdev;
struct vm_vdev_queue {
	struct vm_vdev *owner;
	unsigned q;
};
struct vm_vdev {
	struct virtio_mmio *t;
	struct vblk *blk; /* exactly one of blk, net */
	struct vnet *net;
	struct evl_source notify[VIRTIO_MMIO_MAX_QUEUES];
	struct vm_vdev_queue qctx[VIRTIO_MMIO_MAX_QUEUES];
	struct evl_source control, completions, rl[2];
};

struct vm {
	struct vm_config cfg;
	struct vm_opts opts;
	uint64_t start_us, start_cpu_us; /* when the build began */

	struct kvm kvm;
	struct guest_mem gm;
	struct bus pio, mmio;
	struct boot_info boot;
	char cmdline[LAYOUT_CMDLINE_MAX];

	struct uart uart;
	struct i8042 i8042;
	struct boot_timer boot_timer;

	/* virtio devices in placement order: drives (root first), then nets. */
	struct vblk *blks;
	struct vnet *nets;
	struct vm_vdev *vdevs;
	unsigned nvdevs;

	unsigned nvcpus;
	struct vcpu *vcpus;
	struct vcpu_env vcpu_env;

	/* The VMM thread's event loop (not owned) and the VM's sources in it. */
	struct evl *evl;
	struct evl_source src_uart_notify, src_uart_out, src_stdin;
	bool stdin_paused;
	/* Called, from any thread, when the VM must stop (first code wins). */
	void (*on_stop)(void *opaque, int code);
	void *stop_opaque;
	bool started, paused;
	uint64_t ctrl_alt_del_fails, kvmclock_ctrl_fails;
	bool console_out_pollable;
	int console_out_flags; /* restored at exit */
};

/* Loads the configuration into a new VM whose event sources go into `evl`;
 * `err` names the failure. Returns 0, or an exit code: EXIT_BAD_CONFIG for
 * bad resources the configuration names (kernel, initrd, drives, taps,
 * sizes), EXIT_GENERIC for host failures. `cfg` is borrowed: it must outlive
 * the VM. */
int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
	     struct evl *evl, void (*on_stop)(void *opaque, int code), void *stop_opaque, char *err,
	     size_t errlen) WUR;
/* Takes the console (raw terminal, non-blocking output) and starts the
 * vCPUs. 0 or -errno. */
int vm_start(struct vm *vm) WUR;
/* Stops and joins the vCPUs, drains the console, restores the terminal. */
void vm_stop(struct vm *vm);
/* Parks every vCPU (and tells kvmclock); resume lets them go on. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Queues Ctrl-Alt-Del on the i8042. -ENOSPC when its buffer is full. */
int vm_send_ctrl_alt_del(struct vm *vm) WUR;
/* The exit counters and device counters, at debug level. */
void vm_log_counters(struct vm *vm);
struct vcpu_counters vm_vcpu_totals(struct vm *vm);
void vm_destroy(struct vm *vm);

/* devices.c: virtio devices. Create (before KVM: opens drives and taps),
 * announce on the command line, wire to KVM, the bus and the event loop. */
int vm_create_virtio(struct vm *vm, char *err, size_t errlen) WUR;
int vm_cmdline_virtio(struct vm *vm, struct cmdline *c) WUR;
int vm_wire_virtio(struct vm *vm, char *err, size_t errlen) WUR;
void vm_destroy_virtio(struct vm *vm);

/* Any thread: stop the VM with this exit code (the first request wins). */
void vm_request_stop(struct vm *vm, int code);

#endif
