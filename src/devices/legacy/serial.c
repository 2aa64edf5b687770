/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/serial.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
	REG_DATA = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7
};

#define LCR_DLAB    0x80
#define IER_RDA	    0x01 /* received data available */
#define IER_THRE    0x02 /* transmitter holding register empty */
#define IER_MASK    0x0f
#define IIR_NONE    0x01
#define IIR_THRE    0x02
#define IIR_RDA	    0x04
#define IIR_FIFO    0xc0 /* FIFOs enabled (16550A) */
#define LSR_DR	    0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MCR_DTR	    0x01
#define MCR_RTS	    0x02
#define MCR_OUT1    0x04
#define MCR_OUT2    0x08
#define MCR_LOOP    0x10
#define MSR_CTS	    0x10
#define MSR_DSR	    0x20
#define MSR_RI	    0x40
#define MSR_DCD	    0x80
#define MSR_DEFAULT (MSR_DCD | MSR_DSR | MSR_CTS)
#define MCR_DEFAULT MCR_OUT2

static void notify(struct uart *u)
{
	uint64_t one = 1;
	if (write(u->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		u->st.error_count++;
}

static bool rx_irq_pending(const struct uart *u)
{
	return (u->ier & IER_RDA) && u->rx_len;
}

/* Called with the lock held after any state change that may raise one. */
static void update_irq(struct uart *u, bool new_event)
{
	if (new_event && (rx_irq_pending(u) || ((u->ier & IER_THRE) && u->thre_pending)))
		irq_line_raise(&u->irq);
}

static void rx_push(struct uart *u, uint8_t b)
{
	if (u->rx_len == UART_RX_FIFO) {
		u->st.missed_read_count++;
		return;
	}
	u->rx[(u->rx_head + u->rx_len) % UART_RX_FIFO] = b;
	u->rx_len++;
}

static void out_push(struct uart *u, uint8_t b)
{
	u->st.write_count++;
	if (u->out_len == UART_OUT_RING) {
		u->st.missed_write_count++;
		return;
	}
	u->out[(u->out_head + u->out_len) % UART_OUT_RING] = b;
	if (u->out_len++ == 0)
		notify(u);
}

static void write_thr(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP)
		rx_push(u, b);
	else
		out_push(u, b);
	/* The transmitter is infinitely fast: THR is empty again at once. */
	u->thre_pending = true;
	update_irq(u, true);
}

static uint8_t read_rbr(struct uart *u)
{
	if (!u->rx_len)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
	u->rx_len--;
	u->st.read_count++;
	if (u->rx_len)
		update_irq(u, true);
	else if (u->rx_starved) {
		u->rx_starved = false;
		notify(u);
	}
	return b;
}

static uint8_t read_iir(struct uart *u)
{
	if (rx_irq_pending(u))
		return IIR_FIFO | IIR_RDA;
	if ((u->ier & IER_THRE) && u->thre_pending) {
		u->thre_pending = false; /* reading IIR acknowledges THRE */
		return IIR_FIFO | IIR_THRE;
	}
	return IIR_FIFO | IIR_NONE;
}

static uint8_t read_msr(const struct uart *u)
{
	if (!(u->mcr & MCR_LOOP))
		return u->msr;
	/* Loopback: the modem outputs drive the modem inputs (Linux's 8250
	 * probe checks this). */
	uint8_t m = 0;
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint8_t reg_read(struct uart *u, uint64_t off)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (off) {
	case REG_DATA:
		return dlab ? u->dll : read_rbr(u);
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		return read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
	case REG_MSR:
		return read_msr(u);
	case REG_SCR:
		return u->scr;
	}
	return 0xff;
}

static void reg_write(struct uart *u, uint64_t off, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (off) {
	case REG_DATA:
		if (dlab)
			u->dll = v;
		else
			write_thr(u, v);
		break;
	case REG_IER:
		if (dlab) {
			u->dlm = v;
		} else {
			bool thre_on = !(u->ier & IER_THRE) && (v & IER_THRE);
			u->ier = v & IER_MASK;
			if (thre_on)
				u->thre_pending = true;
			update_irq(u, true);
		}
		break;
	case REG_IIR_FCR:
		/* FCR: FIFOs are always on; "clear RX FIFO" is honoured. */
		if (v & 0x02) {
			u->rx_len = 0;
			if (u->rx_starved) {
				u->rx_starved = false;
				notify(u);
			}
		}
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & 0x1f;
		break;
	case REG_SCR:
		u->scr = v;
		break;
	default: /* LSR, MSR: read-only */
		break;
	}
}

static void uart_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;
	pthread_mutex_lock(&u->lock);
	/* Byte registers: a wider access reads consecutive registers. */
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < UART_NREGS ? reg_read(u, off + i) : 0xff;
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		if (off + i < UART_NREGS)
			reg_write(u, off + i, data[i]);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart_ops = {.read = uart_read, .write = uart_write};

int uart_init(struct uart *u, int sink_fd, uint32_t gsi)
{
	int ret;

	memset(u, 0, sizeof(*u));
	u->notify_fd = -1;
	u->irq.fd = -1;
	u->sink_fd = sink_fd;
	u->msr = MSR_DEFAULT;
	u->mcr = MCR_DEFAULT;
	u->out = malloc(UART_OUT_RING);
	if (!u->out)
		return -ENOMEM;
	u->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->notify_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	if ((ret = irq_line_init(&u->irq, gsi)))
		goto err_notify;
	pthread_mutex_init(&u->lock, NULL);
	return 0;
err_notify:
	close_fd(&u->notify_fd);
err_free:
	free(u->out);
	u->out = NULL;
	return ret;
}

void uart_destroy(struct uart *u)
{
	if (!u->out)
		return;
	irq_line_destroy(&u->irq);
	close_fd(&u->notify_fd);
	free(u->out);
	u->out = NULL;
	pthread_mutex_destroy(&u->lock);
}

int uart_drain(struct uart *u)
{
	int ret = 0;

	pthread_mutex_lock(&u->lock);
	while (u->out_len) {
		/* The contiguous part from head; the ring wraps at most once. */
		unsigned chunk = MIN(u->out_len, UART_OUT_RING - u->out_head);
		ssize_t n = write(u->sink_fd, u->out + u->out_head, chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			if (ret != -EAGAIN) {
				u->st.error_count++;
				u->st.missed_write_count += u->out_len;
				u->out_len = 0;
				u->out_head = 0;
			}
			break;
		}
		u->st.flush_count++;
		u->out_head = (u->out_head + (unsigned)n) % UART_OUT_RING;
		u->out_len -= (unsigned)n;
	}
	if (!u->out_len)
		u->out_head = 0;
	pthread_mutex_unlock(&u->lock);
	return ret;
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t taken;

	pthread_mutex_lock(&u->lock);
	taken = MIN(n, (size_t)(UART_RX_FIFO - u->rx_len));
	for (size_t i = 0; i < taken; i++)
		rx_push(u, buf[i]);
	if (taken < n)
		u->rx_starved = true;
	update_irq(u, taken > 0);
	pthread_mutex_unlock(&u->lock);
	return taken;
}

size_t uart_rx_room(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	size_t room = UART_RX_FIFO - u->rx_len;
	if (!room)
		u->rx_starved = true;
	pthread_mutex_unlock(&u->lock);
	return room;
}

struct uart_stats uart_stats(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	struct uart_stats s = u->st;
	pthread_mutex_unlock(&u->lock);
	return s;
}
