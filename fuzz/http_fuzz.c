/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for src/api/http.c. The input is the byte stream a
 * client sends on one connection. Under three sets of limits (default,
 * tight, tiny) it is parsed as a server would, request after request, and
 * every result is checked against the parser's contract: outputs inside
 * the input, limits honoured, paths and header fields well formed, the
 * prefix property (fed in pieces = fed whole), and the responses built
 * from what was parsed formatted within bounds. The input is also used as
 * a fault message and the JSON must come out valid. Any violation aborts.
 *
 *   make fuzz-http FUZZ_SECONDS=180
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const struct http_limits limit_sets[] = {
    HTTP_LIMITS_DEFAULT,
    {.max_head_bytes = 96, .max_line_bytes = 40, .max_body_bytes = 20, .max_headers = 3},
    {.max_head_bytes = 24, .max_line_bytes = 12, .max_body_bytes = 2, .max_headers = 1},
};

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && (size_t)(p - buf) <= len && n <= len - (size_t)(p - buf);
}

/* Parses a heap copy of exactly n bytes, so that ASan sees over-reads. */
static enum http_parse_result parse_copy(const uint8_t *s, size_t n, const struct http_limits *lim,
					 struct http_request *req, size_t *consumed,
					 struct http_error *err, char **copy)
{
	*copy = malloc(n ? n : 1);
	CHECK(*copy);
	if (n)
		memcpy(*copy, s, n);
	return http_parse_request(*copy, n, lim, req, consumed, err);
}

/* A JSON string body: no raw control characters, valid escapes, valid
 * UTF-8 (the formatter must never produce anything else). */
static void check_json_string(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];

		CHECK(c >= 0x20 && c != '"');
		if (c == '\\') {
			CHECK(i + 1 < n);
			if (s[i + 1] == 'u') {
				CHECK(i + 5 < n && s[i + 2] == '0' && s[i + 3] == '0');
				i += 6;
			} else {
				CHECK(s[i + 1] && strchr("\"\\bfnrt", s[i + 1]));
				i += 2;
			}
		} else if (c < 0x80) {
			i++;
		} else {
			size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			uint32_t cp = c & (k == 4 ? 0x07 : k == 3 ? 0x0f : 0x1f);

			CHECK(c >= 0xc2 && c <= 0xf4 && i + k <= n);
			for (size_t j = 1; j < k; j++) {
				CHECK((s[i + j] & 0xc0) == 0x80);
				cp = cp << 6 | (s[i + j] & 0x3f);
			}
			CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
			CHECK(cp >= (k == 2 ? 0x80u : k == 3 ? 0x800u : 0x10000u));
			i += k;
		}
	}
}

static void check_fault_json(const char *msg)
{
	static const char pre[] = "{\"fault_message\":\"";
	size_t need, len;
	char *out;

	int ret = http_fault_json(NULL, 0, msg, &need);

	CHECK(ret == -ENOSPC && need >= 20);
	out = malloc(need);
	CHECK(out);
	CHECK(http_fault_json(out, need, msg, &len) == 0 && len == need);
	CHECK(len >= sizeof(pre) + 1 && !memcmp(out, pre, sizeof(pre) - 1));
	CHECK(!memcmp(out + len - 2, "\"}", 2));
	check_json_string((const unsigned char *)out + sizeof(pre) - 1, len - sizeof(pre) - 1);
	free(out);
}

/* Formats rsp into exactly the needed size; -ENOSPC one byte short. */
static void check_format(const struct http_response *rsp)
{
	size_t need, len;
	char *out;
	int ret = http_format_response(NULL, 0, rsp, &need);

	CHECK(ret == -ENOSPC && need > 0);
	out = malloc(need);
	CHECK(out);
	CHECK(http_format_response(out, need - 1, rsp, &len) == -ENOSPC && len == need);
	CHECK(http_format_response(out, need, rsp, &len) == 0 && len == need);
	CHECK(!memcmp(out, "HTTP/1.1 ", 9));
	free(out);
}

static void check_request(const struct http_request *req, const char *buf, size_t len,
			  size_t consumed, const struct http_limits *lim)
{
	CHECK(strcmp(http_method_name(req->method), "?"));
	CHECK(req->version_minor == 0 || req->version_minor == 1);
	CHECK(req->head_len >= 18 && req->head_len <= lim->max_head_bytes);
	CHECK(req->content_length <= lim->max_body_bytes);
	CHECK(consumed == req->head_len + req->content_length && consumed <= len);
	CHECK(req->body_len == req->content_length);
	CHECK(req->content_length ? req->body == buf + req->head_len : !req->body);
	CHECK(req->path_len > 0 && req->path_len < HTTP_PATH_MAX);
	CHECK(req->path[0] == '/' && strlen(req->path) == req->path_len);
	for (size_t i = 0; i < req->path_len; i++) {
		unsigned char c = (unsigned char)req->path[i];
		CHECK(c > 0x20 && c < 0x7f && c != '?' && c != '#');
	}
	CHECK(inside(req->target, req->target_len, buf, req->head_len));
	if (req->query)
		CHECK(inside(req->query, req->query_len, req->target, req->target_len));
	CHECK(req->n_headers <= HTTP_HEADERS_MAX && req->n_headers <= lim->max_headers);
	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];

		CHECK(h->name_len > 0 && inside(h->name, h->name_len, buf, req->head_len));
		CHECK(inside(h->value, h->value_len, buf, req->head_len));
		CHECK(!memchr(h->name, ':', h->name_len));
		for (size_t k = 0; k < h->value_len; k++) {
			unsigned char c = (unsigned char)h->value[k];
			CHECK(c == '\t' || (c >= 0x20 && c < 0x7f));
		}
		if (h->name_len < 64) {
			char name[64];
			const struct http_header *f;

			memcpy(name, h->name, h->name_len);
			name[h->name_len] = '\0';
			f = http_find_header(req, name);
			CHECK(f && f <= h && f->name_len == h->name_len);
		}
	}
	CHECK(!req->expect_continue || (req->version_minor == 1 && req->content_length));
}

/* Reproduces the answers a server would get, bytes arriving `chunk` at a
 * time (0: all at once); returns a digest of the OK and ERROR answers and
 * of the bytes left over. */
static uint64_t run_stream(const uint8_t *s, size_t n, const struct http_limits *lim, size_t chunk)
{
	uint64_t digest = 1469598103934665603ull;
	size_t start = 0, have = chunk ? 0 : n;
	static struct http_request req;
	struct http_error err;
	size_t consumed;

	for (;;) {
		enum http_parse_result r;
		char *copy;

		r = parse_copy(s + start, have - start, lim, &req, &consumed, &err, &copy);
		if (r == HTTP_OK) {
			struct http_response rsp = {.status = 200,
						    .body = req.body,
						    .body_len = req.body_len,
						    .keep_alive = req.keep_alive};

			check_request(&req, copy, have - start, consumed, lim);
			check_format(&rsp);
			rsp = (struct http_response){
			    .status = 400, .fault = req.path, .deprecation = true};
			check_format(&rsp);
			digest = (digest ^ consumed ^ 0x100) * 1099511628211ull;
			start += consumed;
		} else if (r == HTTP_ERROR) {
			char out[HTTP_ERROR_RESPONSE_MAX];
			size_t len;

			CHECK(consumed == 0 && err.status == 400 && err.msg[0]);
			CHECK(strlen(err.msg) < sizeof(err.msg));
			for (const char *m = err.msg; *m; m++)
				CHECK(*m >= 0x20 && *m < 0x7f);
			CHECK(http_format_error(out, sizeof(out), &err, &len) == 0);
			for (const char *m = err.msg; *m; m++)
				digest = (digest ^ (unsigned char)*m) * 1099511628211ull;
			free(copy);
			return digest;
		} else {
			CHECK(consumed == 0 && err.status == 0);
			if (req.head_len)
				CHECK(req.head_len <= have - start &&
				      req.content_length > have - start - req.head_len);
			if (have == n) {
				free(copy);
				return digest ^ (n - start);
			}
			have = chunk ? (n - have < chunk ? n : have + chunk) : n;
		}
		free(copy);
	}
}

/* The first request's answer, for every cut of the input at `cuts`
 * points: NEED_MORE or the same answer as for the whole input. */
static void check_prefixes(const uint8_t *s, size_t n, const struct http_limits *lim)
{
	static struct http_request whole, req;
	struct http_error werr, err;
	size_t wcons, consumed;
	enum http_parse_result wr;
	char *copy;

	wr = parse_copy(s, n, lim, &whole, &wcons, &werr, &copy);
	free(copy);
	for (size_t j = 1; j <= 9; j++) {
		size_t k = j == 9 ? (n ? n - 1 : 0) : n * j / 9;
		enum http_parse_result r = parse_copy(s, k, lim, &req, &consumed, &err, &copy);

		free(copy);
		if (r == HTTP_NEED_MORE) {
			CHECK(wr != HTTP_OK || k < wcons);
			continue;
		}
		CHECK(r == wr);
		if (r == HTTP_ERROR)
			CHECK(!strcmp(err.msg, werr.msg));
		else
			CHECK(consumed == wcons && !strcmp(req.path, whole.path));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg;

	for (size_t i = 0; i < sizeof(limit_sets) / sizeof(limit_sets[0]); i++) {
		const struct http_limits *lim = &limit_sets[i];
		uint64_t whole = run_stream(data, size, lim, 0);

		CHECK(run_stream(data, size, lim, size <= 512 ? 1 : 1 + size % 61) == whole);
		check_prefixes(data, size, lim);
	}

	/* The input as a fault message (up to its first NUL). */
	msg = malloc(size + 1);
	CHECK(msg);
	memcpy(msg, data, size);
	msg[size] = '\0';
	check_fault_json(msg);
	free(msg);
	return 0;
}
