/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/boot_timer.h"

#include <inttypes.h>
#include <string.h>

#include "common/log.h"

static void bt_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
}

static void bt_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_timer *t = opaque;
	if (len != 1 || off != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	uint64_t us = now_mono_us() - t->start_us;
	uint64_t cpu_us = process_cpu_us() - t->start_cpu_us;
	__atomic_store_n(&t->last_us, us, __ATOMIC_RELAXED);
	/* Guest-triggerable, so rate-limited like every such line. */
	LOG_RL_INFO("Guest-boot-time = %6" PRIu64 " us %" PRIu64 " ms, %6" PRIu64 " CPU us %" PRIu64
		    " CPU ms",
		    us, us / 1000, cpu_us, cpu_us / 1000);
}

const struct bus_ops boot_timer_ops = {.read = bt_read, .write = bt_write};

void boot_timer_init(struct boot_timer *t, uint64_t start_us, uint64_t start_cpu_us)
{
	memset(t, 0, sizeof(*t));
	t->start_us = start_us;
	t->start_cpu_us = start_cpu_us;
}
