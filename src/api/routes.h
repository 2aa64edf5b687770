/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_API_ROUTES_H
#define EMBER_API_ROUTES_H

#include "api/api.h"

struct route_error {
	char fault[512];
};

/* 0 with req filled (req->body owned by the caller), or -1 with the fault
 * message of a 400 answer. */
int api_route(const char *method, const char *path, const char *body, size_t body_len,
	      struct api_request *req, struct route_error *e) WUR;

/* The same for a parsed HTTP request: also refuses what Firecracker's
 * server refuses before routing (methods it does not serve, a query). */
struct http_request;
int api_route_http(const struct http_request *hr, struct api_request *req,
		   struct route_error *e) WUR;

#endif
