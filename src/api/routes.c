/* SPDX-License-Identifier: Apache-2.0 */
/* Method + path -> operation, the path's resource id, and the request
 * rules Firecracker applies before the VMM sees anything: bodies on the
 * right methods only, ids of [A-Za-z0-9_]+, JSON objects. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/routes.h"

struct route {
	const char *method;
	const char *path; /* "/drives/": a path ending with '/' takes an id */
	enum api_op op;
	bool body; /* PUT/PATCH: a body is required */
};

static const struct route routes[] = {
    {"GET", "/", API_GET_INSTANCE_INFO, false},
    {"GET", "/version", API_GET_VERSION, false},
    {"GET", "/vm/config", API_GET_VM_CONFIG, false},
    {"PUT", "/actions", API_PUT_ACTIONS, true},
    {"GET", "/machine-config", API_GET_MACHINE_CONFIG, false},
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

/* Firecracker's paths that ember does not serve yet (method, path prefix). */
static const struct {
	const char *method, *path;
} not_yet[] = {
    {"GET", "/balloon"},
    {"PUT", "/balloon"},
    {"PATCH", "/balloon"},
    {"GET", "/balloon/statistics"},
    {"PATCH", "/balloon/statistics"},
    {"PATCH", "/balloon/hinting/start"},
    {"GET", "/balloon/hinting/status"},
    {"PATCH", "/balloon/hinting/stop"},
    {"PUT", "/cpu-config"},
    {"PUT", "/pmem/"},
    {"PATCH", "/pmem/"},
    {"GET", "/mmds"},
    {"PUT", "/mmds"},
    {"PATCH", "/mmds"},
    {"PUT", "/mmds/config"},
    {"PUT", "/entropy"},
    {"PUT", "/hotplug/memory"},
    {"PATCH", "/hotplug/memory"},
    {"GET", "/hotplug/memory"},
    {"PUT", "/snapshot/create"},
    {"PUT", "/snapshot/load"},
    {"PUT", "/vsock"},
    {"DELETE", "/drives/"},
    {"DELETE", "/network-interfaces/"},
    {"DELETE", "/pmem/"},
};

static int refuse(struct route_error *e, const char *fmt, ...) PRINTF(2, 3);
static int refuse(struct route_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->fault, sizeof(e->fault), fmt, ap);
	va_end(ap);
	return -1;
}

static bool prefix_match(const char *pattern, const char *path, const char **id)
{
	size_t n = strlen(pattern);
	if (n > 1 && pattern[n - 1] == '/') { /* "/drives/": an id follows */
		if (strncmp(path, pattern, n))
			return false;
		*id = path + n;
		return !strchr(*id, '/');
	}
	*id = NULL;
	return !strcmp(pattern, path);
}

/* jansson parses recursively and allows 2048 levels, more than a small
 * thread stack holds; refuse anything deeper than a real request could be
 * before it is parsed. Brackets inside strings do not count. */
#define API_JSON_MAX_DEPTH 128

static bool json_too_deep(const char *s, size_t len)
{
	unsigned depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > API_JSON_MAX_DEPTH)
				return true;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return false;
}

static bool valid_id(const char *id)
{
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int api_route(const char *method, const char *path, const char *body, size_t body_len,
	      struct api_request *req, struct route_error *e)
{
	const struct route *r = NULL;
	const char *id = NULL;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i < ARRAY_SIZE(routes) && !r; i++)
		if (!strcmp(routes[i].method, method) && prefix_match(routes[i].path, path, &id))
			r = &routes[i];
	if (!r) {
		for (size_t i = 0; i < ARRAY_SIZE(not_yet); i++)
			if (!strcmp(not_yet[i].method, method) &&
			    prefix_match(not_yet[i].path, path, &id))
				return refuse(e, "%s %s is not supported by this version of ember.",
					      method, path);
		return refuse(e, "Invalid request method and/or path: %s %s.", method, path);
	}
	req->op = r->op;
	if (id) {
		if (!*id)
			return refuse(e, "The ID cannot be empty.");
		if (strlen(id) >= sizeof(req->id))
			return refuse(e, "API Resource IDs can be at most %zu characters long.",
				      sizeof(req->id) - 1);
		if (!valid_id(id))
			return refuse(e,
				      "API Resource IDs can only contain alphanumeric characters "
				      "and underscores.");
		snprintf(req->id, sizeof(req->id), "%s", id);
	}
	if (!r->body) {
		if (body_len)
			return refuse(e, "GET request cannot have a body.");
		return 0;
	}
	if (!body_len)
		return refuse(e, "Empty %s request.", method);
	if (json_too_deep(body, body_len))
		return refuse(e,
			      "An error occurred when deserializing the json body of a request: "
			      "nested deeper than %d levels.",
			      API_JSON_MAX_DEPTH);
	json_error_t je;
	req->body = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
	if (!req->body)
		return refuse(e,
			      "An error occurred when deserializing the json body of a request: %s "
			      "at line %d column %d.",
			      je.text, je.line, je.column);
	if (!json_is_object(req->body)) {
		json_decref(req->body);
		req->body = NULL;
		return refuse(e, "An error occurred when deserializing the json body of a request: "
				 "expected a JSON object.");
	}
	return 0;
}

int api_route_http(const struct http_request *hr, struct api_request *req, struct route_error *e)
{
	memset(req, 0, sizeof(*req));
	switch (hr->method) {
	case HTTP_GET:
	case HTTP_PUT:
	case HTTP_PATCH:
	case HTTP_DELETE:
		break;
	default:
		return refuse(e, "Invalid HTTP Method: Unsupported HTTP method.");
	}
	if (hr->query)
		return refuse(e, "Invalid request method and/or path: %s %.*s.",
			      http_method_name(hr->method), (int)MIN(hr->target_len, 256u),
			      hr->target);
	return api_route(http_method_name(hr->method), hr->path, hr->body, hr->body_len, req, e);
}
