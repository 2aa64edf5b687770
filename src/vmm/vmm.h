/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM: the one process-wide object the VMM thread runs. It owns the
 * event loop, the stop request (eventfd) and stop signals (signalfd), the
 * configuration being assembled before boot, the VM once booted, the API
 * mailbox and the metrics. */
#ifndef EMBER_VMM_VMM_H
#define EMBER_VMM_VMM_H

#include <pthread.h>

#include "vmm/config.h"
#include "vmm/event_loop.h"
#include "vmm/metrics.h"
#include "vmm/vm.h"

struct api_server;

enum vmm_state { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };

struct vmm {
	char instance_id[65];
	struct vm_config cfg; /* pre-boot: assembled by the file or the API */
	struct vm_opts vm_opts;
	uint64_t start_us, start_cpu_us;	 /* process start (or the jailer's) */
	uint64_t api_ready_us, api_ready_cpu_us; /* start -> API socket ready */

	struct evl evl;
	int stop_fd, signal_fd;
	struct evl_source src_stop, src_signal, src_api, src_metrics;
	pthread_mutex_t exit_lock;
	int exit_code;
	bool exit_code_set;

	struct vm *vm; /* after InstanceStart */
	enum vmm_state state;
	struct api_server *api; /* NULL with --no-api */
	struct metrics metrics;
};

/* The signals that stop the VMM in an orderly way (SIGINT, SIGTERM,
 * SIGHUP). main() blocks them before any thread starts; the VMM thread
 * reads them from a signalfd. */
int vmm_block_stop_signals(void) WUR;

/* Takes ownership of cfg. 0 or -errno. */
int vmm_init(struct vmm *v, struct vm_config *cfg, const struct vm_opts *opts,
	     const char *instance_id, uint64_t start_us, uint64_t start_cpu_us) WUR;
/* Builds and starts the VM from v->cfg. 0, or an exit code with `err`. */
int vmm_boot(struct vmm *v, char *err, size_t errlen) WUR;
/* Serves events until a stop; returns the exit code. */
int vmm_run(struct vmm *v) WUR;
/* Stops the VM, writes the last metrics, releases everything. */
void vmm_shutdown(struct vmm *v);
/* Any thread. */
void vmm_request_stop(struct vmm *v, int code);
/* Wires the API server's mailbox into the loop. */
int vmm_attach_api(struct vmm *v, struct api_server *api) WUR;

#endif
