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

#define CONFIG_MAX_VCPUS 32
#define CONFIG_MIN_MEM_MIB 2
#define CONFIG_DEFAULT_VCPUS 1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_FILE_MAX_BYTES (1u << 20)
#define CONFIG_PATH_MAX 4096

/* Firecracker's default when boot_args is absent (v1.13+). */
#define CONFIG_DEFAULT_BOOT_ARGS                                                                   \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd "        \
	"swiotlb=noforce"

enum huge_pages { HUGE_PAGES_NONE, HUGE_PAGES_2M, HUGE_PAGES_TRANSPARENT };

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

struct vm_config {
	struct boot_source_cfg boot;
	struct machine_cfg machine;
	struct logger_cfg logger;
};

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);

/* Parses a whole config file held in `text`. 0, or -EINVAL with `err`. */
int config_parse(const char *text, size_t len, struct vm_config *c, char *err,
		 size_t errlen) WUR;
/* Reads and parses `path` (at most CONFIG_FILE_MAX_BYTES). */
int config_load_file(const char *path, struct vm_config *c, char *err, size_t errlen) WUR;

/* Checks that hold across sections (e.g. SMT and vcpu_count). */
int config_validate_machine(const struct machine_cfg *m, char *err, size_t errlen) WUR;

const char *huge_pages_name(enum huge_pages h);

#endif
