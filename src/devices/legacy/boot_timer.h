/* SPDX-License-Identifier: Apache-2.0 */
/* Boot timer (--boot-timer): a guest 1-byte write of 123 at offset 0 of its
 * MMIO page logs the time since the VM build started, in Firecracker's
 * format, so boot-time tooling reads it unchanged. */
#ifndef EMBER_DEVICES_LEGACY_BOOT_TIMER_H
#define EMBER_DEVICES_LEGACY_BOOT_TIMER_H

#include <stdint.h>

#include "bus/bus.h"

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	uint64_t start_us;     /* CLOCK_MONOTONIC at VM build */
	uint64_t start_cpu_us; /* process CPU time at VM build */
	uint64_t last_us;      /* last reported boot time, for metrics/tests */
};

extern const struct bus_ops boot_timer_ops;

void boot_timer_init(struct boot_timer *t, uint64_t start_us, uint64_t start_cpu_us);

#endif
