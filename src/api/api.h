/* SPDX-License-Identifier: Apache-2.0 */
/* The API: Firecracker's REST interface over HTTP/1.1 on a Unix socket.
 * The API thread accepts connections, parses requests (http.c), routes
 * them and decodes their JSON; one request at a time is handed to the VMM
 * thread through a mailbox (mutex + eventfd), which answers it; the API
 * thread writes the answer back. A slow client only ever waits for
 * itself: sockets are non-blocking and each connection has its own
 * buffers. */
#ifndef EMBER_API_API_H
#define EMBER_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

typedef struct json_t json_t;

enum api_op {
	API_GET_INSTANCE_INFO,
	API_GET_VERSION,
	API_GET_VM_CONFIG,
	API_PUT_ACTIONS,
	API_GET_MACHINE_CONFIG,
	API_PUT_MACHINE_CONFIG,
	API_PATCH_MACHINE_CONFIG,
	API_PUT_BOOT_SOURCE,
	API_PUT_DRIVE,
	API_PATCH_DRIVE,
	API_PUT_NET,
	API_PATCH_NET,
	API_PUT_LOGGER,
	API_PUT_METRICS,
	API_PATCH_VM,
	API_PUT_SERIAL,
};

struct api_request {
	enum api_op op;
	char id[65];  /* {drive_id} / {iface_id} from the path */
	json_t *body; /* decoded JSON (owned), NULL for GET */
};

struct api_reply {
	int status;	  /* 200, 204, 400, ... */
	char *body;	  /* JSON text (malloc'd), or NULL */
	bool deprecation; /* add "Deprecation: true" */
};

/* Firecracker's request counters (metrics groups get_api_requests,
 * put_api_requests, patch_api_requests), counted by the API thread. */
struct api_counters {
	uint64_t get_instance_info, get_machine_cfg, get_vmm_version, get_vm_config;
	uint64_t put_actions, put_actions_fails, put_boot_source, put_boot_source_fails;
	uint64_t put_drive, put_drive_fails, put_logger, put_logger_fails, put_machine_cfg,
	    put_machine_cfg_fails, put_metrics, put_metrics_fails, put_network, put_network_fails,
	    put_serial, put_serial_fails;
	uint64_t patch_drive, patch_drive_fails, patch_network, patch_network_fails,
	    patch_machine_cfg, patch_machine_cfg_fails, patch_vm, patch_vm_fails;
	uint64_t bad_requests; /* refused before reaching the VMM */
	uint64_t sync_response_fails;
};

struct api_limits {
	size_t max_payload; /* --http-api-max-payload-size */
	unsigned max_conns; /* simultaneous connections */
};

#define API_DEFAULT_MAX_PAYLOAD 51200
#define API_DEFAULT_MAX_CONNS	128

struct api_server;

/* Binds the socket (refusing one that exists) and starts the API thread.
 * 0 or -errno with `err`. */
int api_server_start(struct api_server **out, const char *sock_path, const struct api_limits *lim,
		     char *err, size_t errlen) WUR;
/* VMM thread: an eventfd, readable while a request waits. */
int api_server_vmm_fd(struct api_server *s);
/* VMM thread: takes the waiting request, if any. */
bool api_server_take(struct api_server *s, struct api_request *req);
/* VMM thread: answers the request taken last; takes rep->body. */
void api_server_reply(struct api_server *s, struct api_reply *rep);
/* Stops the thread, closes every connection, removes the socket file. */
void api_server_stop(struct api_server *s);
/* A copy of the counters. */
struct api_counters api_server_counters(struct api_server *s);
/* Counts a request the VMM refused (the *_fails counters). */
void api_server_count_fail(struct api_server *s, enum api_op op);

/* Reply helpers. */
void api_reply_error(struct api_reply *rep, int status, const char *fmt, ...) PRINTF(3, 4);
void api_reply_json(struct api_reply *rep, json_t *body); /* 200; takes body */
void api_reply_empty(struct api_reply *rep);		  /* 204 */

#endif
