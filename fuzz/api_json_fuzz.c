/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the API's request path after HTTP: api_route()
 * (src/api/routes.c) on a fuzzed method, path and body, then the
 * controller's JSON parsers (src/vmm/config.c) on the body, as
 * src/vmm/controller.c calls them before boot. The input is text:
 *
 *   METHOD SP PATH LF BODY
 *
 * Checked:
 *   - api_route accepts exactly Firecracker's routes (a table written here
 *     from the swagger file, not from routes.c): the operation matches the
 *     method and path, a path id is 1-64 characters of [A-Za-z0-9_] and
 *     copied whole, a body is a decoded JSON object exactly when the route
 *     takes one; a refusal leaves no body behind and has a fault message
 *     that the HTTP layer can put in JSON;
 *   - every parser, on this body and on each of its object members: an
 *     error names its section and leaves a machine configuration unchanged
 *     (PUT and PATCH); an accepted section obeys config.h's rules; machine,
 *     drive and network sections come back the same through config_to_json
 *     (GET /vm/config) and a second parse; nothing leaks.
 *
 *   make fuzz-api_json FUZZ_SECONDS=180
 */
#include "api/http.h"
#include "api/routes.h"
#include "fz_config.h"

/* Firecracker's API (v1.16 swagger) as ember serves it. */
static const struct {
	const char *method, *path; /* a path ending in '/' takes an id */
	enum api_op op;
	bool body;
} api[] = {
    {"GET", "/", API_GET_INSTANCE_INFO, false},
    {"GET", "/version", API_GET_VERSION, false},
    {"GET", "/vm/config", API_GET_VM_CONFIG, false},
    {"GET", "/machine-config", API_GET_MACHINE_CONFIG, false},
    {"PUT", "/actions", API_PUT_ACTIONS, true},
    {"PUT", "/machine-config", API_PUT_MACHINE_CONFIG, true},
    {"PATCH", "/machine-config", API_PATCH_MACHINE_CONFIG, true},
    {"PUT", "/boot-source", API_PUT_BOOT_SOURCE, true},
    {"PUT", "/drives/", API_PUT_DRIVE, true},
    {"PATCH", "/drives/", API_PATCH_DRIVE, true},
    {"PUT", "/network-interfaces/", API_PUT_NET, true},
    {"PATCH", "/network-interfaces/", API_PATCH_NET, true},
    {"PUT", "/logger", API_PUT_LOGGER, true},
    {"PUT", "/metrics", API_PUT_METRICS, true},
    {"PATCH", "/vm", API_PATCH_VM, true},
    {"PUT", "/serial", API_PUT_SERIAL, true},
};

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Which route (method, path) names, -1 for none; *id is the path's id. */
static int lookup(const char *method, const char *path, const char **id)
{
	for (size_t i = 0; i < ARRAY_SIZE(api); i++) {
		size_t n = strlen(api[i].path);
		if (strcmp(api[i].method, method))
			continue;
		if (api[i].path[n - 1] == '/' && n > 1) {
			if (!strncmp(path, api[i].path, n) && !strchr(path + n, '/')) {
				*id = path + n;
				return (int)i;
			}
		} else if (!strcmp(path, api[i].path)) {
			*id = NULL;
			return (int)i;
		}
	}
	return -1;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	for (size_t i = 0; i < n; i++)
		if (!id_char(id[i]))
			return false;
	return n >= 1 && n <= 64;
}

static void check_route(const char *method, const char *path, const char *body, size_t body_len)
{
	struct api_request req;
	struct route_error e;
	const char *id = NULL;
	int r = lookup(method, path, &id);
	bool want = r >= 0 && (!id || valid_id(id));

	memset(&e, 0, sizeof(e));
	if (want && api[r].body) {
		json_t *j =
		    body_len ? json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
		want = json_is_object(j);
		json_decref(j);
	} else if (want) {
		want = body_len == 0;
	}

	int ret = api_route(method, path, body, body_len, &req, &e);
	CHECK(ret == 0 || ret == -1);
	CHECK((ret == 0) == want);
	if (ret) {
		size_t need;
		CHECK(!req.body);
		CHECK(memchr(e.fault, '\0', sizeof(e.fault)) && e.fault[0]);
		CHECK(http_fault_json(NULL, 0, e.fault, &need) == -ENOSPC && need > 0);
		return;
	}
	CHECK(req.op == api[r].op);
	CHECK(id ? !strcmp(req.id, id) : !req.id[0]);
	CHECK(api[r].body ? json_is_object(req.body) : !req.body);
	json_decref(req.body);
}

/* ---------------------------------------------------------------- parsers */

static void machine(json_t *o, bool patch)
{
	static const char *const pre[] = {"machine-config", NULL};
	struct machine_cfg m = {.vcpu_count = 2, .mem_size_mib = 256, .smt = true}, before = m;
	char err[512];

	if (config_parse_machine(o, &m, patch, err, sizeof(err))) {
		fz_check_err(err, sizeof(err), pre);
		CHECK(fz_machine_eq(&m, &before));
		return;
	}
	fz_check_machine(&m);
	if (patch) {
		/* PATCH keeps what the body does not name. */
		if (!json_object_get(o, "vcpu_count") ||
		    json_is_null(json_object_get(o, "vcpu_count")))
			CHECK(m.vcpu_count == before.vcpu_count);
		if (!json_object_get(o, "smt") || json_is_null(json_object_get(o, "smt")))
			CHECK(m.smt == before.smt);
	}
	/* GET /machine-config, PUT back. */
	struct machine_cfg back = {0};
	json_t *j = config_machine_to_json(&m);
	CHECK(config_parse_machine(j, &back, false, err, sizeof(err)) == 0);
	CHECK(fz_machine_eq(&m, &back));
	json_decref(j);
}

static void boot_source(json_t *o)
{
	static const char *const pre[] = {"boot-source", NULL};
	struct boot_source_cfg b = {0};
	char err[512];

	if (config_parse_boot_source(o, &b, err, sizeof(err))) {
		fz_check_err(err, sizeof(err), pre);
		CHECK(!b.set);
	} else {
		CHECK(b.set);
		fz_check_str(b.kernel_image_path, true);
		fz_check_str(b.boot_args, false);
		fz_check_str(b.initrd_path, false);
	}
	free(b.kernel_image_path);
	free(b.boot_args);
	free(b.initrd_path);
}

/* The section back through config_to_json, as GET /vm/config shows it. */
static json_t *vm_config_member(struct drive_cfg *d, struct net_cfg *n, const char *key)
{
	struct vm_config c;
	config_init(&c);
	c.drives = d;
	c.ndrives = d ? 1 : 0;
	c.nets = n;
	c.nnets = n ? 1 : 0;
	json_t *j = config_to_json(&c);
	json_t *m = json_incref(json_array_get(json_object_get(j, key), 0));
	json_decref(j);
	CHECK(m);
	return m;
}

static void drive(json_t *o)
{
	static const char *const pre[] = {"drive", NULL};
	struct drive_cfg d, back;
	char err[512];

	if (config_parse_drive(o, "drive", &d, err, sizeof(err))) {
		fz_check_err(err, sizeof(err), pre);
		drive_cfg_free(&d);
		return;
	}
	fz_check_drive(&d);
	json_t *j = vm_config_member(&d, NULL, "drives");
	CHECK(config_parse_drive(j, "drive", &back, err, sizeof(err)) == 0);
	CHECK(fz_drive_eq(&d, &back));
	json_decref(j);
	drive_cfg_free(&back);
	drive_cfg_free(&d);
}

static void net(json_t *o)
{
	static const char *const pre[] = {"network-interface", NULL};
	struct net_cfg n, back;
	char err[512];

	if (config_parse_net(o, "network-interface", &n, err, sizeof(err))) {
		fz_check_err(err, sizeof(err), pre);
		net_cfg_free(&n);
		return;
	}
	fz_check_net(&n);
	json_t *j = vm_config_member(NULL, &n, "network-interfaces");
	CHECK(config_parse_net(j, "network-interface", &back, err, sizeof(err)) == 0);
	CHECK(fz_net_eq(&n, &back));
	json_decref(j);
	net_cfg_free(&back);
	net_cfg_free(&n);
}

static void logger(json_t *o)
{
	static const char *const pre[] = {"logger", NULL};
	struct logger_cfg l = {0};
	char err[512];

	if (config_parse_logger(o, &l, err, sizeof(err))) {
		fz_check_err(err, sizeof(err), pre);
		CHECK(!l.set);
	} else {
		CHECK(l.set && (!l.has_level || l.level <= LOG_LVL_TRACE));
	}
	free(l.log_path);
	free(l.module);
}

static void rate_limiter(json_t *o)
{
	static const char *const pre[] = {"drive.rate_limiter", NULL};
	struct rate_limiter_cfg rl;
	char err[512];

	if (config_parse_rate_limiter(o, "drive.rate_limiter", &rl, err, sizeof(err)))
		fz_check_err(err, sizeof(err), pre);
	else
		fz_check_rl(&rl);
}

static void all_parsers(json_t *o)
{
	machine(o, false);
	machine(o, true);
	boot_source(o);
	drive(o);
	net(o);
	logger(o);
	rate_limiter(o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char method[17] = "", path[HTTP_PATH_MAX + 1] = "";
	const uint8_t *sp = memchr(data, ' ', MIN(size, sizeof(method)));
	const uint8_t *lf;
	size_t k;

	if (!sp)
		return 0;
	k = (size_t)(sp - data);
	memcpy(method, data, k);
	method[k] = '\0';
	data += k + 1;
	size -= k + 1;
	lf = memchr(data, '\n', MIN(size, (size_t)HTTP_PATH_MAX));
	k = lf ? (size_t)(lf - data) : MIN(size, (size_t)HTTP_PATH_MAX);
	memcpy(path, data, k);
	path[k] = '\0';
	data += lf ? k + 1 : k;
	size -= lf ? k + 1 : k;

	/* A heap copy of exactly the body, so that ASan sees over-reads. */
	char *body = malloc(size ? size : 1);
	CHECK(body);
	memcpy(body, data, size);
	check_route(method, path, body, size);

	json_t *j = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
	if (j) {
		const char *key;
		json_t *v;
		all_parsers(j);
		/* Sections nested one level down, as in a config file. */
		json_object_foreach (j, key, v) {
			all_parsers(v);
			rate_limiter(json_object_get(v, "rate_limiter"));
			rate_limiter(json_object_get(v, "rx_rate_limiter"));
		}
		json_decref(j);
	}
	free(body);
	return 0;
}
