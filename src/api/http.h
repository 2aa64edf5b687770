/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 for the API socket: a strict request parser and a response
 * formatter (RFC 9112). Pure code: no sockets, threads, allocation or
 * globals. Observable behaviour follows Firecracker's micro_http where a
 * client can see it (status line, headers, limits, status codes, message
 * texts) and is stricter where micro_http is lax (marked "micro_http:").
 *
 * Parsing is stateless and incremental: call http_parse_request on every
 * byte received so far for the current request. It answers NEED_MORE,
 * OK (one whole request; *consumed bytes belong to it, any rest is the next
 * pipelined request) or ERROR (answer with http_format_error, then close:
 * after a framing error the stream cannot be resynchronised). The answer
 * for a prefix of the input is always NEED_MORE or the answer for the whole
 * input, so feeding one byte at a time and all at once agree.
 *
 * What is accepted:
 *  - request line `METHOD SP request-target SP HTTP/1.0|HTTP/1.1 CRLF` with
 *    single spaces; methods GET PUT PATCH DELETE POST OPTIONS TRACE (HEAD
 *    and CONNECT have special response framing and are refused);
 *  - request-target in origin form (`/path[?query]`) or absolute form
 *    (`http://authority/path[?query]`); characters of RFC 3986 only, valid
 *    %XX escapes (not decoded); no fragment;
 *  - lines end in CRLF: a bare LF or a bare CR is an error, as are empty
 *    lines before the request line, obs-fold and whitespace before a colon;
 *  - header values of visible ASCII, SP and HTAB (no NUL, no other control
 *    characters, no bytes >= 0x80); names are tokens, case-insensitive;
 *  - a body only through Content-Length (1*DIGIT, no sign, fits 64 bits;
 *    repeated only with the same value); any Transfer-Encoding is refused;
 *    a Content-Length above max_body_bytes is refused as soon as the
 *    header line arrives, before any of the body.
 *
 * For the server:
 *  - an input buffer of max_head_bytes + max_body_bytes holds any request
 *    that can be OK: a head that is not complete within max_head_bytes is
 *    an ERROR as soon as that many bytes are there, so a full buffer never
 *    meets NEED_MORE;
 *  - NEED_MORE with head_len > 0: the head is valid and the body is on its
 *    way; send "100 Continue" once if expect_continue (curl otherwise
 *    waits a second before sending the body), and there is no need to
 *    parse again before head_len + content_length bytes are buffered;
 *  - answer an OK request with keep_alive = req.keep_alive, and close after
 *    the answer when it is false;
 *  - Firecracker routed on the whole target: with a query, no route
 *    matched. Route on `path`, and refuse `query != NULL` as an unknown
 *    route to keep that.
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Defaults. Lines: micro_http reads through a 1024-byte buffer, so no line
 * (CRLF included) longer than 1024 bytes ever reached Firecracker. Body:
 * Firecracker's --http-api-max-payload-size default. */
#define HTTP_DEFAULT_MAX_HEAD_BYTES 8192u
#define HTTP_DEFAULT_MAX_LINE_BYTES 1024u
#define HTTP_DEFAULT_MAX_BODY_BYTES 51200u
#define HTTP_DEFAULT_MAX_HEADERS    32u

#define HTTP_HEADERS_MAX   64u	 /* capacity of http_request.headers */
#define HTTP_PATH_MAX	   1024u /* http_request.path, NUL included */
#define HTTP_ERROR_MSG_MAX 256u	 /* http_error.msg, NUL included */
/* Enough for any http_format_error() answer (checked by the unit tests). */
#define HTTP_ERROR_RESPONSE_MAX 1024u

/* The Server header of every response, as Firecracker's. */
#define HTTP_SERVER_NAME "Firecracker API"

struct http_limits {
	size_t max_head_bytes; /* request line + header lines + empty line */
	size_t max_line_bytes; /* any one of those lines, CRLF included */
	size_t max_body_bytes; /* largest Content-Length accepted */
	unsigned max_headers;  /* header lines; clamped to HTTP_HEADERS_MAX */
};

/* An initializer: struct http_limits lim = HTTP_LIMITS_DEFAULT; */
#define HTTP_LIMITS_DEFAULT                                                                        \
	{                                                                                          \
		.max_head_bytes = HTTP_DEFAULT_MAX_HEAD_BYTES,                                     \
		.max_line_bytes = HTTP_DEFAULT_MAX_LINE_BYTES,                                     \
		.max_body_bytes = HTTP_DEFAULT_MAX_BODY_BYTES,                                     \
		.max_headers = HTTP_DEFAULT_MAX_HEADERS,                                           \
	}

enum http_method {
	HTTP_GET = 1,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_POST,
	HTTP_OPTIONS,
	HTTP_TRACE,
};

/* Media type of Content-Type / Accept: the type before any ';' parameter,
 * compared case-insensitively. A list (a ',') is OTHER. */
enum http_media {
	HTTP_MEDIA_NONE, /* header absent */
	HTTP_MEDIA_JSON, /* application/json */
	HTTP_MEDIA_TEXT, /* text/plain */
	HTTP_MEDIA_OTHER,
};

/* A header line as received, the value without surrounding SP/HTAB. Both
 * point into the caller's buffer and are not NUL-terminated. */
struct http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct http_request {
	enum http_method method;
	int version_minor;	  /* HTTP/1.<version_minor>: 0 or 1 */
	char path[HTTP_PATH_MAX]; /* "/..." without query, NUL-terminated, not %-decoded */
	size_t path_len;
	const char *target; /* the request-target as sent (into the buffer) */
	size_t target_len;
	const char *query; /* after '?', into the buffer; NULL when there is no '?' */
	size_t query_len;
	/* HTTP/1.1: unless "Connection: close"; HTTP/1.0: only with
	 * "Connection: keep-alive" (and no "close"). */
	bool keep_alive;
	/* "Expect: 100-continue" on an HTTP/1.1 request with Content-Length > 0;
	 * ignored otherwise (RFC 9110 10.1.1). */
	bool expect_continue;
	enum http_media content_type;
	enum http_media accept;
	struct http_header headers[HTTP_HEADERS_MAX];
	unsigned n_headers;
	/* Bytes of the head (request line to the empty line, inclusive). 0
	 * until the head is complete; once it is, the fields above are valid
	 * even when the result is NEED_MORE (waiting for the body). */
	size_t head_len;
	size_t content_length; /* 0 without a Content-Length */
	const char *body;      /* into the buffer; NULL when content_length is 0 */
	size_t body_len;       /* == content_length on OK */
};

enum http_parse_result {
	HTTP_NEED_MORE,
	HTTP_OK,
	HTTP_ERROR,
};

/* Why a request was refused: the status to answer with (always 400 today,
 * as micro_http) and the fault message (printable ASCII; bytes from the
 * request are echoed sanitised and shortened). */
struct http_error {
	int status;
	char msg[HTTP_ERROR_MSG_MAX];
};

/* Parses the request at the start of buf[0, len). lim: the limits; req,
 * consumed, err: outputs (req is rewritten on every call; on OK *consumed
 * is head_len + content_length, else 0; err is set on ERROR only, cleared
 * otherwise). Pointers in req point into buf. */
enum http_parse_result http_parse_request(const char *buf, size_t len,
					  const struct http_limits *lim, struct http_request *req,
					  size_t *consumed, struct http_error *err) WUR;

/* The first header named `name` (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

/* "GET", "PUT", ...; "?" for a value outside the enum. */
const char *http_method_name(enum http_method m);

struct http_response {
	int status; /* 100..599 */
	/* NULL: "application/json". Not sent with 1xx, 204 and 304. */
	const char *content_type;
	const char *body; /* body_len bytes; none with 1xx, 204 and 304 */
	size_t body_len;
	/* When non-NULL, the body is {"fault_message":"<fault>"} (JSON-escaped)
	 * and body/body_len must be NULL/0. */
	const char *fault;
	bool keep_alive;  /* "Connection: keep-alive", else "Connection: close" */
	bool deprecation; /* "Deprecation: true" */
};

/* Formats a whole response into out[0, cap) (no NUL is added): the status
 * line without reason phrase, Server, Connection, [Deprecation],
 * Content-Type, Content-Length, empty line, body -- micro_http's order and
 * spelling. Returns 0 with *len = the bytes written; -ENOSPC with *len = the
 * bytes needed (out holds nothing useful; out may be NULL when cap is 0);
 * -EINVAL for a bad status, a body where none is allowed, or a
 * content_type that is not printable ASCII; -EOVERFLOW if the size does not
 * fit size_t. */
int http_format_response(char *out, size_t cap, const struct http_response *rsp, size_t *len) WUR;

/* The answer to a parse error: err->status, "Connection: close", fault body.
 * HTTP_ERROR_RESPONSE_MAX bytes always suffice. Same returns as above. */
int http_format_error(char *out, size_t cap, const struct http_error *err, size_t *len) WUR;

/* {"fault_message":"<msg>"} with msg escaped as serde_json does (", \,
 * \b \f \n \r \t, other controls as \u00xx), valid UTF-8 copied, each
 * invalid UTF-8 sequence replaced by U+FFFD. Returns as above. */
int http_fault_json(char *out, size_t cap, const char *msg, size_t *len) WUR;

#endif
