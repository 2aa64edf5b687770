/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's config-file JSON: a full valid file, nulls, defaults, and
 * every rejection, each checked for the field its message names; then
 * config_load_file's file checks. */
#include "config_fx.h"

#define MC(body) "{" BOOT ", \"machine-config\": {" body "}}"
#define MC_OK "\"vcpu_count\": 2, \"mem_size_mib\": 256"

/* ---------------------------------------------------------------- accepted */

static void full_config(void **state)
{
	struct fx *f = *state;
	static const char json[] =
		"{\n"
		"  \"boot-source\": {\n"
		"    \"kernel_image_path\": \"/k/vmlinux\",\n"
		"    \"boot_args\": \"console=ttyS0 reboot=k panic=1\",\n"
		"    \"initrd_path\": \"/k/initrd.img\"\n"
		"  },\n"
		"  \"machine-config\": {\n"
		"    \"vcpu_count\": 4,\n"
		"    \"mem_size_mib\": 1024,\n"
		"    \"smt\": true,\n"
		"    \"track_dirty_pages\": true,\n"
		"    \"huge_pages\": \"2M\",\n"
		"    \"cpu_template\": \"None\"\n"
		"  },\n"
		"  \"logger\": {\n"
		"    \"log_path\": \"/tmp/fc.log\",\n"
		"    \"level\": \"Debug\",\n"
		"    \"show_level\": true,\n"
		"    \"show_log_origin\": true,\n"
		"    \"module\": \"src/devices\"\n"
		"  },\n"
		"  \"drives\": [],\n"
		"  \"network-interfaces\": [],\n"
		"  \"vsock\": null,\n"
		"  \"balloon\": null\n"
		"}\n";

	assert_int_equal(parse(f, json), 0);
	assert_true(f->c.boot.set);
	assert_string_equal(f->c.boot.kernel_image_path, "/k/vmlinux");
	assert_string_equal(f->c.boot.boot_args, "console=ttyS0 reboot=k panic=1");
	assert_string_equal(f->c.boot.initrd_path, "/k/initrd.img");
	assert_int_equal(f->c.machine.vcpu_count, 4);
	assert_int_equal(f->c.machine.mem_size_mib, 1024);
	assert_true(f->c.machine.smt);
	assert_true(f->c.machine.track_dirty_pages);
	assert_int_equal(f->c.machine.huge_pages, HUGE_PAGES_2M);
	assert_true(f->c.logger.set);
	assert_string_equal(f->c.logger.log_path, "/tmp/fc.log");
	assert_true(f->c.logger.has_level);
	assert_int_equal(f->c.logger.level, LOG_LVL_DEBUG);
	assert_true(f->c.logger.show_level);
	assert_true(f->c.logger.show_log_origin);
	assert_string_equal(f->c.logger.module, "src/devices");
}

static void nulls_are_absent(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, "{\"boot-source\": {\"kernel_image_path\": \"/k\", "
				  "\"boot_args\": null, \"initrd_path\": null},"
				  "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64, "
				  "\"smt\": null, \"track_dirty_pages\": null, "
				  "\"huge_pages\": null, "
				  "\"cpu_template\": null},"
				  "\"logger\": {\"log_path\": null, \"level\": null, "
				  "\"show_level\": null, \"module\": null}}"),
			 0);
	assert_null(f->c.boot.boot_args);
	assert_null(f->c.boot.initrd_path);
	assert_int_equal(f->c.machine.mem_size_mib, 64);
	assert_false(f->c.machine.smt);
	assert_false(f->c.machine.track_dirty_pages);
	assert_int_equal(f->c.machine.huge_pages, HUGE_PAGES_NONE);
	assert_true(f->c.logger.set);
	assert_null(f->c.logger.log_path);
	assert_false(f->c.logger.has_level);
	assert_null(f->c.logger.module);
}

static void defaults_without_machine_config(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, "{" BOOT "}"), 0);
	assert_int_equal(f->c.machine.vcpu_count, 1);
	assert_int_equal(f->c.machine.mem_size_mib, 128);
	assert_false(f->c.machine.smt);
	assert_false(f->c.machine.track_dirty_pages);
	assert_int_equal(f->c.machine.huge_pages, HUGE_PAGES_NONE);
	assert_null(f->c.boot.boot_args);
	assert_null(f->c.boot.initrd_path);
	assert_false(f->c.logger.set);
}

static void accepted_edges(void **state)
{
	struct fx *f = *state;
	static const char *const ok[] = {
		MC("\"vcpu_count\": 1, \"mem_size_mib\": 2"),
		MC("\"vcpu_count\": 32, \"mem_size_mib\": 1048576"),
		MC("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true"),
		MC("\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true"),
		MC("\"vcpu_count\": 3, \"mem_size_mib\": 129, \"smt\": false"),
		MC("\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"None\""),
		MC("\"vcpu_count\": 1, \"mem_size_mib\": 130, \"huge_pages\": \"2M\""),
		"{" BOOT ", \"drives\": [], \"network-interfaces\": null, \"pmem\": [], "
		"\"metrics\": null, \"vsock\": null, \"balloon\": [], \"memory-hotplug\": null}",
		"{" BOOT ", \"logger\": {\"level\": \"warn\"}}",
		"{" BOOT ", \"logger\": {\"level\": \"OFF\"}}",
		"{" BOOT ", \"logger\": {}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int ret = parse(f, ok[i]);
		if (ret)
			fail_msg("case %zu (%s) rejected: %s", i, ok[i], f->err);
	}
	assert_int_equal(f->c.logger.has_level, false);
	assert_int_equal(parse(f, "{" BOOT ", \"logger\": {\"level\": \"warn\"}}"), 0);
	assert_int_equal(f->c.logger.level, LOG_LVL_WARN);
	assert_int_equal(parse(f, MC("\"vcpu_count\": 1, \"mem_size_mib\": 130, "
				     "\"huge_pages\": \"2M\"")),
			 0);
	assert_int_equal(f->c.machine.huge_pages, HUGE_PAGES_2M);
	/* Firecracker's enum has no "Transparent": THP is not a choice. */
	assert_int_not_equal(parse(f, MC("\"vcpu_count\": 1, \"mem_size_mib\": 130, "
					 "\"huge_pages\": \"Transparent\"")),
			     0);
	assert_string_equal(huge_pages_name(HUGE_PAGES_2M), "2M");
	assert_string_equal(huge_pages_name(HUGE_PAGES_NONE), "None");
}

static void string_limits(void **state)
{
	struct fx *f = *state;
	size_t n = CONFIG_PATH_MAX;
	char *json = malloc(n + 200), *path = malloc(n + 2);

	memset(path, 'p', n + 1);
	path[n] = '\0'; /* exactly the limit */
	snprintf(json, n + 200, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}", path);
	assert_int_equal(parse(f, json), 0);
	assert_int_equal(strlen(f->c.boot.kernel_image_path), n);
	path[n] = 'p';
	path[n + 1] = '\0'; /* one more */
	snprintf(json, n + 200, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}", path);
	assert_errno(parse(f, json), -EINVAL);
	assert_substr(f->err, "boot-source.kernel_image_path: longer than 4096 bytes");
	free(json);
	free(path);
}

/* ---------------------------------------------------------------- rejected */

static void unknown_keys(void **state)
{
	static const struct reject r[] = {
		{"{" BOOT ", \"foo\": 1}", "unknown top-level key 'foo'"},
		{"{" BOOT ", \"machine_config\": {}}", "unknown top-level key 'machine_config'"},
		{MC(MC_OK ", \"foo\": 1"), "machine-config: unknown field 'foo'"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"kernel\": \"x\"}}",
		 "boot-source: unknown field 'kernel'"},
		{"{" BOOT ", \"logger\": {\"path\": \"/x\"}}", "logger: unknown field 'path'"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void wrong_types(void **state)
{
	static const struct reject r[] = {
		{MC("\"vcpu_count\": \"2\", \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: expected an integer, got a string"},
		{MC("\"vcpu_count\": 1.5, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: expected an integer, got a number with a fraction"},
		{MC("\"vcpu_count\": 2, \"mem_size_mib\": 256.0"),
		 "machine-config.mem_size_mib: expected an integer, got a number with a fraction"},
		{MC("\"vcpu_count\": true, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: expected an integer, got a boolean"},
		{MC(MC_OK ", \"smt\": 1"),
		 "machine-config.smt: expected a boolean, got an integer"},
		{MC(MC_OK ", \"track_dirty_pages\": \"yes\""),
		 "machine-config.track_dirty_pages: expected a boolean, got a string"},
		{MC(MC_OK ", \"huge_pages\": 2"),
		 "machine-config.huge_pages: expected a string, got an integer"},
		{"{" BOOT ", \"machine-config\": [1, 2]}",
		 "machine-config: expected an object, got an array"},
		{"{" BOOT ", \"machine-config\": null}",
		 "machine-config: expected an object, got null"},
		{"{\"boot-source\": []}", "boot-source: expected an object, got an array"},
		{"{\"boot-source\": \"/k\"}", "boot-source: expected an object, got a string"},
		{"{\"boot-source\": {\"kernel_image_path\": 5}}",
		 "boot-source.kernel_image_path: expected a string, got an integer"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": true}}",
		 "boot-source.boot_args: expected a string, got a boolean"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": {}}}",
		 "boot-source.initrd_path: expected a string, got an object"},
		{"{" BOOT ", \"logger\": \"x\"}", "logger: expected an object, got a string"},
		{"{" BOOT ", \"logger\": {\"show_level\": 1}}",
		 "logger.show_level: expected a boolean, got an integer"},
		{"{" BOOT ", \"logger\": {\"level\": 3}}", "logger.level: expected a string"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void vcpu_count_range(void **state)
{
	static const struct reject r[] = {
		{MC("\"vcpu_count\": 0, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: 0 is out of range [1, 32]"},
		{MC("\"vcpu_count\": 33, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: 33 is out of range [1, 32]"},
		{MC("\"vcpu_count\": -1, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: -1 is out of range"},
		{MC("\"vcpu_count\": 4294967297, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: 4294967297 is out of range"},
		{MC("\"vcpu_count\": 3, \"mem_size_mib\": 256, \"smt\": true"),
		 "machine-config.vcpu_count: 3 vCPUs"},
		{MC("\"vcpu_count\": 31, \"mem_size_mib\": 256, \"smt\": true"),
		 "1 or even when smt is enabled"},
		{MC("\"mem_size_mib\": 256"), "machine-config.vcpu_count: missing required field"},
		{MC("\"vcpu_count\": null, \"mem_size_mib\": 256"),
		 "machine-config.vcpu_count: missing required field"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void mem_size_range(void **state)
{
	static const struct reject r[] = {
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 0"),
		 "machine-config.mem_size_mib: 0 is out of range [2, 1048576]"},
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 1"),
		 "machine-config.mem_size_mib: 1 is out of range"},
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 1048577"),
		 "machine-config.mem_size_mib: 1048577 is out of range"},
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": -128"),
		 "machine-config.mem_size_mib: -128 is out of range"},
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807"),
		 "machine-config.mem_size_mib: 9223372036854775807 is out of range"},
		/* Beyond int64: jansson refuses the number itself. */
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999"),
		 "too big integer"},
		{MC("\"vcpu_count\": 1"), "machine-config.mem_size_mib: missing required field"},
		{MC("\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\""),
		 "machine-config.mem_size_mib: 129 MiB must be a multiple of 2 MiB "
		 "with huge_pages 2M"},
		{MC(MC_OK ", \"huge_pages\": \"1G\""),
		 "machine-config.huge_pages: '1G' is not one of None, 2M"},
		{MC(MC_OK ", \"huge_pages\": \"2m\""), "machine-config.huge_pages: '2m'"},
		{MC(MC_OK ", \"cpu_template\": \"T2\""), "machine-config.cpu_template: 'T2'"},
		{MC(MC_OK ", \"cpu_template\": \"\""), "machine-config.cpu_template: ''"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void boot_source_rejects(void **state)
{
	static const struct reject r[] = {
		{"{\"boot-source\": {\"kernel_image_path\": \"\"}}",
		 "boot-source.kernel_image_path: must not be empty"},
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"\"}}",
		 "boot-source.initrd_path: must not be empty"},
		{"{\"boot-source\": {\"boot_args\": \"console=ttyS0\"}}",
		 "boot-source.kernel_image_path: missing required field"},
		{"{\"boot-source\": {\"kernel_image_path\": null}}",
		 "boot-source.kernel_image_path: missing required field"},
		/* jansson refuses an escaped NUL before ember sees the string. */
		{"{\"boot-source\": {\"kernel_image_path\": \"/k\\u0000/x\"}}",
		 "\\u0000 is not allowed"},
		{"{\"machine-config\": {" MC_OK "}}", "boot-source: missing required section"},
		{"{}", "boot-source: missing required section"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void malformed_json(void **state)
{
	static const struct reject r[] = {
		{"{", "invalid JSON at line 1"},
		{"", "invalid JSON"},
		{"{" BOOT ",}", "invalid JSON"},
		{"{" BOOT "} trailing", "invalid JSON"},
		{"{\n" BOOT ",\n\"machine-config\": {\"vcpu_count\": 1 \"mem_size_mib\": 2}}",
		 "invalid JSON at line 3"},
		{"{" BOOT ", \"boot-source\": {\"kernel_image_path\": \"/k2\"}}",
		 "duplicate object key"},
		{MC("\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 2"),
		 "duplicate object key"},
		{"[]", "the configuration must be a JSON object, not an array"},
		{"[" "{" BOOT "}" "]", "the configuration must be a JSON object, not an array"},
		{"\"boot-source\"", "invalid JSON"},
		{"null", "invalid JSON"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void unsupported_sections(void **state)
{
	/* Sections of Firecracker's file that ember does not implement: named
	 * in the refusal when they hold anything, accepted when empty or null
	 * (see accepted_edges). */
	static const struct reject r[] = {
		{"{" BOOT ", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v.sock\"}}",
		 "vsock: not supported by this version of ember"},
		{"{" BOOT ", \"balloon\": {}}", "balloon: not supported"},
		{"{" BOOT ", \"entropy\": {\"rate_limiter\": null}}", "entropy: not supported"},
		{"{" BOOT ", \"mmds-config\": 1}", "mmds-config: not supported"},
		{"{" BOOT ", \"pmem\": [{\"id\": \"p0\"}]}", "pmem: not supported"},
		{"{" BOOT ", \"cpu-config\": \"x\"}", "cpu-config: not supported"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void logger_rejects(void **state)
{
	static const struct reject r[] = {
		{"{" BOOT ", \"logger\": {\"level\": \"Verbose\"}}",
		 "logger.level: 'Verbose' is not one of Error, Warning, Info, Debug, Trace, Off"},
		{"{" BOOT ", \"logger\": {\"level\": \"\"}}", "logger.level: ''"},
		{"{" BOOT ", \"logger\": {\"module\": 7}}", "logger.module: expected a string"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void validate_machine(void **state)
{
	char err[256];
	struct machine_cfg m = {.vcpu_count = 2, .mem_size_mib = 128};

	assert_int_equal(config_validate_machine(&m, err, sizeof(err)), 0);
	m.vcpu_count = 0;
	assert_errno(config_validate_machine(&m, err, sizeof(err)), -EINVAL);
	assert_substr(err, "machine-config.vcpu_count: 0 vCPUs");
	m.vcpu_count = 3;
	m.smt = true;
	assert_errno(config_validate_machine(&m, err, sizeof(err)), -EINVAL);
	m.smt = false;
	m.mem_size_mib = 1;
	assert_errno(config_validate_machine(&m, err, sizeof(err)), -EINVAL);
	assert_substr(err, "machine-config.mem_size_mib: 1 MiB is out of range [2, 1048576]");
	m.mem_size_mib = 127;
	m.huge_pages = HUGE_PAGES_2M;
	assert_errno(config_validate_machine(&m, err, sizeof(err)), -EINVAL);
	assert_substr(err, "127 MiB must be a multiple of 2 MiB");
}

/* ---------------------------------------------------------------- files */

static void load_file(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	static const char json[] = "{" BOOT ", \"machine-config\": {" MC_OK "}}";

	assert_int_equal(ut_write_file(path, "cfg", json, strlen(json)), 0);
	assert_int_equal(config_load_file(path, &f->c, f->err, sizeof(f->err)), 0);
	assert_string_equal(f->c.boot.kernel_image_path, "/k/vmlinux");
	assert_int_equal(f->c.machine.vcpu_count, 2);
	unlink(path);

	/* Errors inside the file come through. */
	assert_int_equal(ut_write_file(path, "cfg", "{\"x\": 1}", 8), 0);
	assert_errno(config_load_file(path, &f->c, f->err, sizeof(f->err)), -EINVAL);
	assert_substr(f->err, "unknown top-level key 'x'");
	unlink(path);
}

static void load_file_errors(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/does-not-exist.json", ut_tmpdir);
	assert_errno(config_load_file(path, &f->c, f->err, sizeof(f->err)), -EINVAL);
	assert_substr(f->err, "cannot open");
	assert_substr(f->err, "does-not-exist.json");
	assert_substr(f->err, "No such file or directory");

	assert_errno(config_load_file(ut_tmpdir, &f->c, f->err, sizeof(f->err)), -EINVAL);
	assert_substr(f->err, "not a regular file");
	assert_substr(f->err, ut_tmpdir);
}

static void load_file_size_limit(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	size_t n = CONFIG_FILE_MAX_BYTES;
	char *buf = malloc(n + 1);
	static const char json[] = "{" BOOT "}";

	/* Exactly 1 MiB (a valid file padded with spaces) is accepted. */
	memset(buf, ' ', n + 1);
	memcpy(buf, json, strlen(json));
	assert_int_equal(ut_write_file(path, "big", buf, n), 0);
	assert_int_equal(config_load_file(path, &f->c, f->err, sizeof(f->err)), 0);
	unlink(path);

	/* One byte more is not, and the message says why. */
	assert_int_equal(ut_write_file(path, "big", buf, n + 1), 0);
	assert_errno(config_load_file(path, &f->c, f->err, sizeof(f->err)), -EINVAL);
	assert_substr(f->err, "1048577 bytes is larger than the 1048576-byte limit");
	unlink(path);
	free(buf);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(full_config),
	T(nulls_are_absent),
	T(defaults_without_machine_config),
	T(accepted_edges),
	T(string_limits),
	T(unknown_keys),
	T(wrong_types),
	T(vcpu_count_range),
	T(mem_size_range),
	T(boot_source_rejects),
	T(malformed_json),
	T(unsupported_sections),
	T(logger_rejects),
	cmocka_unit_test(validate_machine),
	T(load_file),
	T(load_file_errors),
	T(load_file_size_limit),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
