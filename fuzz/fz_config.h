/* SPDX-License-Identifier: Apache-2.0 */
/* Checks on parsed configuration sections, shared by config_fuzz and
 * api_json_fuzz: what every accepted section must satisfy (the rules of
 * src/vmm/config.h and Firecracker's), equality for round trips through
 * config_to_json, and the shape of error messages. */
#ifndef EMBER_FUZZ_FZ_CONFIG_H
#define EMBER_FUZZ_FZ_CONFIG_H

#include <jansson.h>

#include "arch/x86_64/layout.h"
#include "fuzz.h"
#include "vmm/config.h"

static inline bool fz_streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static inline bool fz_bucket_eq(const struct bucket_cfg *a, const struct bucket_cfg *b)
{
	return a->set == b->set && a->size == b->size && a->one_time_burst == b->one_time_burst &&
	       a->refill_time_ms == b->refill_time_ms;
}

static inline bool fz_rl_eq(const struct rate_limiter_cfg *a, const struct rate_limiter_cfg *b)
{
	return fz_bucket_eq(&a->bandwidth, &b->bandwidth) && fz_bucket_eq(&a->ops, &b->ops);
}

static inline bool fz_machine_eq(const struct machine_cfg *a, const struct machine_cfg *b)
{
	return a->vcpu_count == b->vcpu_count && a->mem_size_mib == b->mem_size_mib &&
	       a->smt == b->smt && a->track_dirty_pages == b->track_dirty_pages &&
	       a->huge_pages == b->huge_pages;
}

static inline bool fz_drive_eq(const struct drive_cfg *a, const struct drive_cfg *b)
{
	return fz_streq(a->drive_id, b->drive_id) && fz_streq(a->path_on_host, b->path_on_host) &&
	       a->is_root_device == b->is_root_device && a->is_read_only == b->is_read_only &&
	       fz_streq(a->partuuid, b->partuuid) && a->cache_type == b->cache_type &&
	       a->io_engine == b->io_engine && fz_rl_eq(&a->rate_limiter, &b->rate_limiter);
}

static inline bool fz_net_eq(const struct net_cfg *a, const struct net_cfg *b)
{
	return fz_streq(a->iface_id, b->iface_id) && fz_streq(a->host_dev_name, b->host_dev_name) &&
	       a->has_mac == b->has_mac && !memcmp(a->guest_mac, b->guest_mac, 6) &&
	       a->mtu == b->mtu && fz_rl_eq(&a->rx_rate_limiter, &b->rx_rate_limiter) &&
	       fz_rl_eq(&a->tx_rate_limiter, &b->tx_rate_limiter);
}

static inline void fz_check_bucket(const struct bucket_cfg *b)
{
	if (!b->set)
		CHECK(!b->size && !b->one_time_burst && !b->refill_time_ms);
	/* config_to_json writes them as JSON integers. */
	CHECK(b->size <= INT64_MAX && b->one_time_burst <= INT64_MAX &&
	      b->refill_time_ms <= INT64_MAX);
}

static inline void fz_check_rl(const struct rate_limiter_cfg *rl)
{
	fz_check_bucket(&rl->bandwidth);
	fz_check_bucket(&rl->ops);
}

/* An accepted string field: no longer than the limit (so no NUL could
 * have hidden anything after it: the parser refuses those). */
static inline void fz_check_str(const char *s, bool required)
{
	if (!s) {
		CHECK(!required);
		return;
	}
	CHECK(strlen(s) <= CONFIG_PATH_MAX);
	if (required)
		CHECK(s[0]);
}

static inline void fz_check_machine(const struct machine_cfg *m)
{
	char err[256];
	CHECK(m->vcpu_count >= 1 && m->vcpu_count <= CONFIG_MAX_VCPUS);
	CHECK(m->mem_size_mib >= CONFIG_MIN_MEM_MIB && m->mem_size_mib <= LAYOUT_MEM_MAX_MIB);
	CHECK(m->huge_pages == HUGE_PAGES_NONE || m->huge_pages == HUGE_PAGES_2M);
	CHECK(config_validate_machine(m, err, sizeof(err)) == 0);
}

static inline void fz_check_drive(const struct drive_cfg *d)
{
	CHECK(d->drive_id && config_valid_id(d->drive_id));
	fz_check_str(d->path_on_host, true);
	fz_check_str(d->partuuid, false);
	if (d->partuuid)
		CHECK(d->partuuid[0] && !strpbrk(d->partuuid, " \t\n\""));
	CHECK(d->cache_type == BLK_CACHE_UNSAFE || d->cache_type == BLK_CACHE_WRITEBACK);
	CHECK(d->io_engine == BLK_ENGINE_SYNC || d->io_engine == BLK_ENGINE_ASYNC);
	fz_check_rl(&d->rate_limiter);
}

static inline void fz_check_net(const struct net_cfg *n)
{
	CHECK(n->iface_id && config_valid_id(n->iface_id));
	CHECK(n->host_dev_name && n->host_dev_name[0] && strlen(n->host_dev_name) <= 15);
	CHECK(n->mtu == 0 || n->mtu >= 68);
	fz_check_rl(&n->rx_rate_limiter);
	fz_check_rl(&n->tx_rate_limiter);
}

/* An error message: one non-empty string that starts with one of the
 * NULL-terminated prefixes (the section or field it names). */
static inline void fz_check_err(const char *err, size_t errlen, const char *const *prefixes)
{
	CHECK(memchr(err, '\0', errlen) && err[0]);
	if (!strcmp(err, "out of memory"))
		return;
	for (const char *const *p = prefixes; *p; p++)
		if (!strncmp(err, *p, strlen(*p)))
			return;
	fprintf(stderr, "error message names no field: \"%s\"\n", err);
	CHECK(!"error message names no field");
}

#endif
