/* SPDX-License-Identifier: Apache-2.0 */
/* Metrics: one JSON object per line, with Firecracker's group and field
 * names, to a file or a named pipe (non-blocking: a full pipe loses the
 * line and counts it). Written right after boot, every 60 s, on
 * FlushMetrics and at exit. Counters are emitted as the change since the
 * last line (Firecracker's "inc" metrics); times and sizes as values. */
#ifndef EMBER_VMM_METRICS_H
#define EMBER_VMM_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

#define METRICS_PERIOD_S 60

struct vmm;
typedef struct json_t json_t;

struct metrics {
	int fd; /* -1 until configured */
	int timer_fd;
	bool emit_id;
	json_t *properties; /* user-given string pairs, or NULL */
	json_t *prev;	    /* last emitted absolute value of each counter */
	uint64_t missed_metrics_count, metrics_fails;
	/* Absolute values set by the VMM thread. */
	uint64_t pause_vm_us, resume_vm_us;
	uint64_t signals[8];
};

int metrics_init(struct metrics *m) WUR;
void metrics_destroy(struct metrics *m);
bool metrics_configured(const struct metrics *m);
/* Opens the target (created 0600 when missing). -EALREADY once set. */
int metrics_set_path(struct metrics *m, const char *path, bool emit_id, json_t *properties) WUR;
/* Arms the periodic timer (after boot). */
void metrics_start_timer(struct metrics *m);
/* Writes one line; 0, or -errno when it could not be written whole. */
int metrics_flush(struct metrics *m, struct vmm *v) WUR;
/* The line itself (for tests): a new JSON object. */
json_t *metrics_build(struct metrics *m, struct vmm *v);

#endif
