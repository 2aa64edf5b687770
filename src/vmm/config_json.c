/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration back to JSON, in the config file's shape: what
 * GET /vm/config and GET /machine-config answer. */
#include <jansson.h>
#include <stdio.h>

#include "vmm/config.h"

static json_t *bucket_json(const struct bucket_cfg *b)
{
	json_t *o = json_object();
	json_object_set_new(o, "size", json_integer((json_int_t)b->size));
	if (b->one_time_burst)
		json_object_set_new(o, "one_time_burst",
				    json_integer((json_int_t)b->one_time_burst));
	json_object_set_new(o, "refill_time", json_integer((json_int_t)b->refill_time_ms));
	return o;
}

static json_t *rate_limiter_json(const struct rate_limiter_cfg *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return NULL;
	json_t *o = json_object();
	if (rl->bandwidth.set)
		json_object_set_new(o, "bandwidth", bucket_json(&rl->bandwidth));
	if (rl->ops.set)
		json_object_set_new(o, "ops", bucket_json(&rl->ops));
	return o;
}

json_t *config_machine_to_json(const struct machine_cfg *m)
{
	return json_pack("{s:i, s:I, s:b, s:b, s:s}", "vcpu_count", (int)m->vcpu_count,
			 "mem_size_mib", (json_int_t)m->mem_size_mib, "smt", m->smt,
			 "track_dirty_pages", m->track_dirty_pages, "huge_pages",
			 huge_pages_name(m->huge_pages));
}

static json_t *drive_json(const struct drive_cfg *d)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "drive_id", d->drive_id,
			      "path_on_host", d->path_on_host, "is_root_device", d->is_root_device,
			      "is_read_only", d->is_read_only, "cache_type",
			      d->cache_type == BLK_CACHE_WRITEBACK ? "Writeback" : "Unsafe",
			      "io_engine", d->io_engine == BLK_ENGINE_ASYNC ? "Async" : "Sync");
	if (d->partuuid)
		json_object_set_new(o, "partuuid", json_string(d->partuuid));
	json_t *rl = rate_limiter_json(&d->rate_limiter);
	if (rl)
		json_object_set_new(o, "rate_limiter", rl);
	return o;
}

static json_t *net_json(const struct net_cfg *n)
{
	json_t *o =
	    json_pack("{s:s, s:s}", "iface_id", n->iface_id, "host_dev_name", n->host_dev_name);
	if (n->has_mac) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
			 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
			 n->guest_mac[5]);
		json_object_set_new(o, "guest_mac", json_string(mac));
	}
	if (n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	json_t *rl = rate_limiter_json(&n->rx_rate_limiter);
	if (rl)
		json_object_set_new(o, "rx_rate_limiter", rl);
	if ((rl = rate_limiter_json(&n->tx_rate_limiter)))
		json_object_set_new(o, "tx_rate_limiter", rl);
	return o;
}

json_t *config_to_json(const struct vm_config *c)
{
	json_t *root = json_object();
	if (c->boot.set) {
		json_t *b = json_pack("{s:s}", "kernel_image_path", c->boot.kernel_image_path);
		json_object_set_new(b, "boot_args",
				    c->boot.boot_args ? json_string(c->boot.boot_args)
						      : json_null());
		json_object_set_new(b, "initrd_path",
				    c->boot.initrd_path ? json_string(c->boot.initrd_path)
							: json_null());
		json_object_set_new(root, "boot-source", b);
	}
	json_object_set_new(root, "machine-config", config_machine_to_json(&c->machine));
	json_t *drives = json_array();
	for (unsigned i = 0; i < c->ndrives; i++)
		json_array_append_new(drives, drive_json(&c->drives[i]));
	json_object_set_new(root, "drives", drives);
	json_t *nets = json_array();
	for (unsigned i = 0; i < c->nnets; i++)
		json_array_append_new(nets, net_json(&c->nets[i]));
	json_object_set_new(root, "network-interfaces", nets);
	return root;
}
