/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/i8042.h"

#include <string.h>

#include "common/log.h"

#define OFS_DATA   0
#define OFS_STATUS 4

#define SB_OUT_DATA_AVAIL 0x01
#define SB_I8042_CMD_DATA 0x08
#define SB_KBD_ENABLED	  0x10

#define CB_KBD_INT 0x01
#define CB_POST_OK 0x04

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_RESET_CPU  0xfe

#define KBD_ACK 0xfa

static const uint8_t ctrl_alt_del[] = {0x14, 0x11, 0xe0, 0x71};

static int push(struct i8042 *k, uint8_t b)
{
	if (k->len == I8042_BUF) {
		k->st.missed_read_count++;
		return -ENOSPC;
	}
	k->buf[(k->head + k->len) % I8042_BUF] = b;
	k->len++;
	k->status |= SB_OUT_DATA_AVAIL;
	return 0;
}

static uint8_t pop(struct i8042 *k)
{
	if (!k->len)
		return 0;
	uint8_t b = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF;
	if (--k->len == 0)
		k->status &= (uint8_t)~SB_OUT_DATA_AVAIL;
	return b;
}

static void raise_kbd(struct i8042 *k)
{
	if (k->control & CB_KBD_INT)
		irq_line_raise(&k->irq);
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;
	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	k->st.read_count++;
	if (off == OFS_STATUS)
		data[0] = k->status;
	else if (off == OFS_DATA)
		data[0] = pop(k);
	else
		k->st.missed_read_count++;
	pthread_mutex_unlock(&k->lock);
}

static void write_command(struct i8042 *k, uint8_t cmd, bool *reset)
{
	k->status |= SB_I8042_CMD_DATA;
	switch (cmd) {
	case CMD_RESET_CPU:
		k->st.reset_count++;
		*reset = true;
		break;
	case CMD_READ_CTR:
		(void)push(k, k->control);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->cmd = cmd; /* the next data byte is the operand */
		break;
	case CMD_READ_OUTP:
		(void)push(k, k->outp);
		break;
	default:
		break;
	}
}

static void write_data(struct i8042 *k, uint8_t v)
{
	k->status &= (uint8_t)~SB_I8042_CMD_DATA;
	switch (k->cmd) {
	case CMD_WRITE_CTR:
		k->control = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		break;
	default:
		/* A byte for the keyboard: acknowledge it. */
		k->head = k->len = 0;
		(void)push(k, KBD_ACK);
		raise_kbd(k);
		break;
	}
	k->cmd = 0;
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;
	bool reset = false, first = false;

	pthread_mutex_lock(&k->lock);
	k->st.write_count++;
	if (len != 1)
		k->st.missed_write_count++;
	else if (off == OFS_STATUS)
		write_command(k, data[0], &reset);
	else if (off == OFS_DATA)
		write_data(k, data[0]);
	else
		k->st.missed_write_count++;
	first = reset && k->st.reset_count == 1;
	pthread_mutex_unlock(&k->lock);

	if (reset) {
		/* The first one stops the VM; any the guest sends before its
		 * vCPU stops are only counted. */
		if (first)
			LOG_INFO("guest requested a reset through the i8042");
		k->on_reset(k->opaque);
	}
}

const struct bus_ops i8042_ops = {.read = i8042_read, .write = i8042_write};

int i8042_init(struct i8042 *k, uint32_t gsi, void (*on_reset)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->status = SB_KBD_ENABLED;
	k->control = CB_POST_OK | CB_KBD_INT;
	k->on_reset = on_reset;
	k->opaque = opaque;
	pthread_mutex_init(&k->lock, NULL);
	return irq_line_init(&k->irq, gsi);
}

void i8042_destroy(struct i8042 *k)
{
	irq_line_destroy(&k->irq);
	pthread_mutex_destroy(&k->lock);
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	int ret = 0;
	pthread_mutex_lock(&k->lock);
	if (k->len + ARRAY_SIZE(ctrl_alt_del) > I8042_BUF) {
		ret = -ENOSPC;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(ctrl_alt_del); i++)
			(void)push(k, ctrl_alt_del[i]);
		raise_kbd(k);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

struct i8042_stats i8042_stats(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	struct i8042_stats s = k->st;
	pthread_mutex_unlock(&k->lock);
	return s;
}
