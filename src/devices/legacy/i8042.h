/* SPDX-License-Identifier: Apache-2.0 */
/* i8042 keyboard controller, reduced to what a microVM needs (as
 * Firecracker's): the CPU-reset command (0xFE on port 0x64) ends the VM with
 * exit code 0, and the host can inject Ctrl-Alt-Del as set-2 scancodes. */
#ifndef EMBER_DEVICES_LEGACY_I8042_H
#define EMBER_DEVICES_LEGACY_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "bus/bus.h"
#include "devices/irq.h"

#define I8042_BASE 0x60
#define I8042_LEN  5 /* 0x60 data ... 0x64 status/command */
#define I8042_BUF  16

struct i8042_stats {
	uint64_t read_count, write_count, reset_count, missed_read_count, missed_write_count,
	    error_count;
};

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status, control, outp, cmd;
	uint8_t buf[I8042_BUF];
	unsigned head, len;
	struct irq_line irq;
	/* Called (from a vCPU thread) when the guest pulses the CPU reset line. */
	void (*on_reset)(void *opaque);
	void *opaque;
	struct i8042_stats st;
};

extern const struct bus_ops i8042_ops;

int i8042_init(struct i8042 *k, uint32_t gsi, void (*on_reset)(void *), void *opaque) WUR;
void i8042_destroy(struct i8042 *k);
/* Queues Ctrl, Alt, Del (set-2: 0x14, 0x11, 0xE0 0x71) and raises IRQ 1 when
 * the guest enabled keyboard interrupts. -ENOSPC when the buffer is full. */
int i8042_send_ctrl_alt_del(struct i8042 *k) WUR;
struct i8042_stats i8042_stats(struct i8042 *k);

#endif
