/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for config_parse() (src/vmm/config.c): the input is a
 * whole configuration file. Checked:
 *   - an error is -EINVAL with one message that names the section or field
 *     (or says the JSON is invalid), and nothing leaks;
 *   - an accepted configuration obeys every rule of config.h: a boot source
 *     with a kernel, a valid machine, at most 19 devices with valid, unique
 *     ids, taps and MACs, the root drive (at most one) first, rate-limiter
 *     values that fit a JSON integer;
 *   - config_to_json (what GET /vm/config answers) gives a file that parses
 *     back to the same configuration, and prints the same again.
 *
 *   make fuzz-config FUZZ_SECONDS=180
 */
#include "fz_config.h"

static const char *const err_prefixes[] = {
    "invalid JSON at",
    "the configuration must be a JSON object",
    "unknown top-level key",
    "boot-source",
    "machine-config",
    "logger",
    "drives",
    "network-interfaces",
    "vsock",
    "balloon",
    "entropy",
    "metrics",
    "mmds-config",
    "cpu-config",
    "pmem",
    "memory-hotplug",
    NULL,
};

static void check_config(const struct vm_config *c)
{
	CHECK(c->boot.set);
	fz_check_str(c->boot.kernel_image_path, true);
	fz_check_str(c->boot.boot_args, false);
	fz_check_str(c->boot.initrd_path, false);
	if (c->boot.initrd_path)
		CHECK(c->boot.initrd_path[0]);
	fz_check_machine(&c->machine);
	CHECK(c->ndrives + c->nnets <= CONFIG_MAX_DEVICES);
	for (unsigned i = 0; i < c->ndrives; i++) {
		fz_check_drive(&c->drives[i]);
		CHECK(!c->drives[i].is_root_device || i == 0);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(c->drives[i].drive_id, c->drives[j].drive_id));
	}
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct net_cfg *n = &c->nets[i];
		fz_check_net(n);
		for (unsigned j = 0; j < i; j++) {
			CHECK(strcmp(n->iface_id, c->nets[j].iface_id));
			CHECK(strcmp(n->host_dev_name, c->nets[j].host_dev_name));
			CHECK(!n->has_mac || !c->nets[j].has_mac ||
			      memcmp(n->guest_mac, c->nets[j].guest_mac, 6));
		}
	}
	if (c->logger.set) {
		fz_check_str(c->logger.log_path, false);
		fz_check_str(c->logger.module, false);
		CHECK(!c->logger.has_level || c->logger.level <= LOG_LVL_TRACE);
	}
}

/* What config_to_json keeps (the logger is not part of it). */
static void check_same(const struct vm_config *a, const struct vm_config *b)
{
	CHECK(a->boot.set == b->boot.set);
	CHECK(fz_streq(a->boot.kernel_image_path, b->boot.kernel_image_path));
	CHECK(fz_streq(a->boot.boot_args, b->boot.boot_args));
	CHECK(fz_streq(a->boot.initrd_path, b->boot.initrd_path));
	CHECK(fz_machine_eq(&a->machine, &b->machine));
	CHECK(a->ndrives == b->ndrives && a->nnets == b->nnets);
	for (unsigned i = 0; i < a->ndrives; i++)
		CHECK(fz_drive_eq(&a->drives[i], &b->drives[i]));
	for (unsigned i = 0; i < a->nnets; i++)
		CHECK(fz_net_eq(&a->nets[i], &b->nets[i]));
}

static char *dump(const struct vm_config *c)
{
	json_t *j = config_to_json(c);
	CHECK(j);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK(s);
	json_decref(j);
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config c, back;
	char err[512], err2[512];

	if (size > CONFIG_FILE_MAX_BYTES)
		return 0;
	config_init(&c);
	memset(err, 0, sizeof(err));
	int ret = config_parse((const char *)data, size, &c, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL);
		fz_check_err(err, sizeof(err), err_prefixes);
		config_free(&c);
		return 0;
	}
	check_config(&c);

	/* GET /vm/config, loaded back as a file. */
	char *text = dump(&c);
	config_init(&back);
	ret = config_parse(text, strlen(text), &back, err2, sizeof(err2));
	if (ret)
		fprintf(stderr, "config_to_json gave a file config_parse refuses: %s\n%s\n", err2,
			text);
	CHECK(ret == 0);
	check_same(&c, &back);
	char *again = dump(&back);
	CHECK(!strcmp(text, again));
	free(again);
	free(text);
	config_free(&back);
	config_free(&c);
	return 0;
}
