/* SPDX-License-Identifier: Apache-2.0 */
/* A microVM: KVM, guest memory, buses, legacy devices, vCPUs, and the VMM
 * thread's event loop that owns them. vm_build turns a configuration into a
 * VM ready to run; vm_run starts the vCPUs and serves events until the VM
 * stops; vm_destroy releases everything. */
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

	/* The event loop and its sources. */
	struct evl evl;
	int stop_fd; /* eventfd: a vCPU or device asks the VM to stop */
	int exit_code;
	bool exit_code_set;
	pthread_mutex_t exit_lock;
	struct evl_source src_stop, src_signal, src_uart_notify, src_uart_out, src_stdin;
	int signal_fd;
	bool stdin_paused;
	bool console_out_pollable;
	int console_out_flags; /* restored at exit */
};

/* Loads the configuration into a new VM; `err` names the failure. Returns 0,
 * or an exit code: EXIT_BAD_CONFIG for bad resources the configuration
 * names (kernel, initrd, sizes), EXIT_GENERIC for host failures. */
int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts, char *err,
	     size_t errlen) WUR;
/* Starts the vCPUs and runs the event loop until the VM stops; returns the
 * process exit code. */
int vm_run(struct vm *vm) WUR;
void vm_destroy(struct vm *vm);

/* devices.c: virtio devices. Create (before KVM: opens drives and taps),
 * announce on the command line, wire to KVM, the bus and the event loop. */
int vm_create_virtio(struct vm *vm, char *err, size_t errlen) WUR;
int vm_cmdline_virtio(struct vm *vm, struct cmdline *c) WUR;
int vm_wire_virtio(struct vm *vm, char *err, size_t errlen) WUR;
void vm_destroy_virtio(struct vm *vm);

/* Any thread: stop the VM with this exit code (the first request wins). */
void vm_request_stop(struct vm *vm, int code);

/* The signals that stop the VM in an orderly way (SIGINT, SIGTERM, SIGHUP).
 * main() blocks them before any thread starts; the VMM thread reads them
 * from a signalfd. */
int vm_block_stop_signals(void) WUR;

#endif
