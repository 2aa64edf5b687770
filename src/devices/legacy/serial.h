/* SPDX-License-Identifier: Apache-2.0 */
/* 8250/16550A UART (COM1, port 0x3f8, IRQ 4).
 *
 * Output: a vCPU's THR write lands in a bounded ring and the VMM thread is
 * told (once per empty->non-empty transition) to drain it to the sink with
 * non-blocking writes. A vCPU never blocks on the sink; when the ring is
 * full, bytes are dropped and counted.
 * Input: the VMM thread feeds the 64-byte receive FIFO from stdin; when the
 * FIFO is full it stops reading (the host keeps the bytes), and the UART asks
 * for more once the guest has emptied it. */
#ifndef EMBER_DEVICES_LEGACY_SERIAL_H
#define EMBER_DEVICES_LEGACY_SERIAL_H

#include <pthread.h>
#include <stdint.h>

#include "bus/bus.h"
#include "devices/irq.h"

#define UART_COM1_BASE 0x3f8
#define UART_NREGS     8
#define UART_RX_FIFO   64
#define UART_OUT_RING  (64u * 1024)

struct uart_stats {
	uint64_t write_count;	     /* bytes the guest wrote */
	uint64_t flush_count;	     /* sink writes */
	uint64_t missed_write_count; /* bytes dropped: ring full or sink failed */
	uint64_t read_count;	     /* bytes the guest read */
	uint64_t missed_read_count;  /* host bytes refused: FIFO full */
	uint64_t error_count;	     /* sink write errors */
};

struct uart {
	pthread_mutex_t lock;
	/* Registers (16550A). */
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
	bool thre_pending; /* THR-empty interrupt not yet acknowledged */
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_len;
	/* Output ring and sink. */
	uint8_t *out;
	unsigned out_head, out_len;
	int sink_fd;
	int notify_fd;	 /* eventfd: output to drain, or room in the RX FIFO */
	bool rx_starved; /* the VMM stopped feeding input; wake it on room */
	struct irq_line irq;
	struct uart_stats st;
};

extern const struct bus_ops uart_ops;

/* sink_fd: where output goes (not owned). Creates the IRQ eventfd and the
 * notify eventfd. */
int uart_init(struct uart *u, int sink_fd, uint32_t gsi) WUR;
void uart_destroy(struct uart *u);

/* VMM thread: writes buffered output. Returns 0 when the ring is empty,
 * -EAGAIN when the sink is full (wait for POLLOUT), another -errno when the
 * sink failed (the pending bytes are dropped and counted). */
int uart_drain(struct uart *u) WUR;
/* VMM thread: offers host input; returns how many bytes were taken (fewer
 * than n only when the FIFO filled: stop reading until notify_fd fires). */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t n);
/* Free bytes in the receive FIFO. When 0, the UART notifies once the guest
 * makes room. Only the VMM thread adds input, so the room it sees can only
 * grow until it calls uart_input. */
size_t uart_rx_room(struct uart *u);
/* Copy of the counters. */
struct uart_stats uart_stats(struct uart *u);

#endif
