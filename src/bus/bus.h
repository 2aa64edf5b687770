/* SPDX-License-Identifier: Apache-2.0 */
/* PIO and MMIO dispatch. A bus is a sorted array of non-overlapping ranges,
 * each owned by one device with one handler signature for both buses. The
 * bus is filled while the VM is built and read-only once vCPUs run, so
 * dispatch takes no lock; each device serialises its own state.
 *
 * An access no device claims reads as all ones and ignores writes, with a
 * rate-limited log line. */
#ifndef EMBER_BUS_BUS_H
#define EMBER_BUS_BUS_H

#include <stdint.h>

#include "common/util.h"

struct bus_ops {
	/* offset is relative to the range base; 1 <= len <= 8 and the access
	 * lies inside the range. `data` is little-endian guest data. */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name; /* "pio" or "mmio" */
	struct bus_range range[BUS_MAX_RANGES];
	unsigned n;
	uint64_t unclaimed_reads;
	uint64_t unclaimed_writes;
};

void bus_init(struct bus *bus, const char *name);
/* -EINVAL for an empty or wrapping range, -EEXIST when it overlaps another,
 * -ENOSPC when the bus is full. */
int bus_insert(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
	       void *opaque, const char *name) WUR;
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint64_t len);
/* Return true when a device claimed the access. */
bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
