/* SPDX-License-Identifier: Apache-2.0 */
#include "bus/bus.h"

#include <inttypes.h>
#include <string.h>

#include "common/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int bus_insert(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
	       void *opaque, const char *name)
{
	uint64_t end;
	unsigned i;

	if (!len || add_overflows(base, len - 1, &end) || !ops)
		return -EINVAL;
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->range[i];
		if (ranges_overlap(base, len, r->base, r->len))
			return -EEXIST;
		if (r->base > base)
			break;
	}
	memmove(&bus->range[i + 1], &bus->range[i], (bus->n - i) * sizeof(bus->range[0]));
	bus->range[i] = (struct bus_range){base, len, ops, opaque, name};
	bus->n++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint64_t len)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->range[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* The whole access must fit: an access that starts in
			 * one range and runs past its end is unclaimed. */
			return len <= r->len - (addr - r->base) ? r : NULL;
		}
	}
	return NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (r && len >= 1 && len <= 8) {
		r->ops->read(r->opaque, addr - r->base, data, len);
		return true;
	}
	memset(data, 0xff, len);
	__atomic_add_fetch(&bus->unclaimed_reads, 1, __ATOMIC_RELAXED);
	LOG_RL_INFO("%s: read of %u bytes at 0x%" PRIx64 " hits no device; returning all ones",
		    bus->name, len, addr);
	return false;
}

bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);
	if (r && len >= 1 && len <= 8) {
		r->ops->write(r->opaque, addr - r->base, data, len);
		return true;
	}
	__atomic_add_fetch(&bus->unclaimed_writes, 1, __ATOMIC_RELAXED);
	LOG_RL_INFO("%s: write of %u bytes at 0x%" PRIx64 " hits no device; ignored", bus->name,
		    len, addr);
	return false;
}
