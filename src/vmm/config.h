/* SPDX-License-Identifier: Apache-2.0 */
/* The VM's configuration: Firecracker's config-file JSON (and, later, the
 * API bodies, which use the same section parsers). Parsing is strict:
 * unknown keys, wrong types, out-of-range numbers and duplicate keys are
 * rejected with an error that names the field. */
#ifndef EMBER_VMM_CONFIG_H
#define EMBER_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/rate_limiter.h"
#include "devices/virtio/block_cfg.h"

#define CONFIG_MAX_VCPUS       32
#define CONFIG_MIN_MEM_MIB     2
#define CONFIG_DEFAULT_VCPUS   1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_FILE_MAX_BYTES  (1u << 20)
#define CONFIG_PATH_MAX	       4096

/* Firecracker's default when boot_args is absent (v1.13+). */
#define CONFIG_DEFAULT_BOOT_ARGS                                                                   \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd "         \
	"swiotlb=noforce"

enum huge_pages { HUGE_PAGES_NONE, HUGE_PAGES_2M };

struct boot_source_cfg {
	bool set;
	char *kernel_image_path;
	char *boot_args; /* NULL: the default */
	char *initrd_path;
};

struct machine_cfg {
	unsigned vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
};

struct logger_cfg {
	bool set;
	char *log_path;
	bool has_level;
	enum log_level level;
	bool show_level, show_log_origin;
	char *module;
};

/* GSIs 5-23: at most 19 virtio devices. */
#define CONFIG_MAX_DEVICES 19
#define CONFIG_ID_MAX	   64

struct drive_cfg {
	char *drive_id;
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *partuuid;
	enum blk_cache cache_type;
	enum blk_engine io_engine;
	struct rate_limiter_cfg rate_limiter;
};

struct net_cfg {
	char *iface_id;
	char *host_dev_name;
	bool has_mac;
	uint8_t guest_mac[6];
	uint16_t mtu; /* 0: unset */
	struct rate_limiter_cfg rx_rate_limiter, tx_rate_limiter;
};

struct vm_config {
	struct boot_source_cfg boot;
	struct machine_cfg machine;
	struct logger_cfg logger;
	/* Drives in device order: the root device first. */
	struct drive_cfg *drives;
	unsigned ndrives;
	struct net_cfg *nets;
	unsigned nnets;
};

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);

/* Parses a whole config file held in `text`. 0, or -EINVAL with `err`. */
int config_parse(const char *text, size_t len, struct vm_config *c, char *err, size_t errlen) WUR;
/* Reads and parses `path` (at most CONFIG_FILE_MAX_BYTES). */
int config_load_file(const char *path, struct vm_config *c, char *err, size_t errlen) WUR;

/* Checks that hold across sections (e.g. SMT and vcpu_count). */
int config_validate_machine(const struct machine_cfg *m, char *err, size_t errlen) WUR;

const char *huge_pages_name(enum huge_pages h);

/* Firecracker's resource-id rule: [A-Za-z0-9_]+, here at most 64 long. */
bool config_valid_id(const char *id);
/* "aa:bb:cc:dd:ee:ff" (hex, either case) -> 6 bytes. */
int config_parse_mac(const char *s, uint8_t mac[6]) WUR;
void drive_cfg_free(struct drive_cfg *d);
int config_validate_devices(const struct vm_config *c, char *err, size_t errlen) WUR;
/* Puts the root drive first (after validation, so errors name the file's
 * order). */
void config_order_devices(struct vm_config *c);
/* Section parsers shared with the API (json_t from jansson). */
typedef struct json_t json_t;
int config_parse_rate_limiter(json_t *o, const char *sect, struct rate_limiter_cfg *rl, char *err,
			      size_t errlen) WUR;
int config_parse_drive(json_t *o, const char *sect, struct drive_cfg *d, char *err,
		       size_t errlen) WUR;
int config_parse_net(json_t *o, const char *sect, struct net_cfg *n, char *err, size_t errlen) WUR;
int config_parse_machine(json_t *o, struct machine_cfg *m, bool patch, char *err,
			 size_t errlen) WUR;
int config_parse_boot_source(json_t *o, struct boot_source_cfg *b, char *err, size_t errlen) WUR;
int config_parse_logger(json_t *o, struct logger_cfg *l, char *err, size_t errlen) WUR;
/* The configuration in the config file's shape (GET /vm/config). */
json_t *config_to_json(const struct vm_config *c);
json_t *config_machine_to_json(const struct machine_cfg *m);
void net_cfg_free(struct net_cfg *n);

#endif
