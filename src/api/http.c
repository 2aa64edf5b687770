/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 request parser and response formatter; see http.h. The parser
 * re-reads the request from its first byte on every call: one pass, left to
 * right, every check tied to a byte position, so that a prefix of the input
 * can only give NEED_MORE or the answer for the whole input. Lines are
 * first delimited (CRLF, limits), then their contents checked. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"

/* Fault-message texts. Those shared with micro_http are its RequestError
 * Display strings, byte for byte. */
#define MSG_INVALID_REQUEST "Invalid request."
#define MSG_METHOD	    "Invalid HTTP Method: Unsupported HTTP method."
#define MSG_VERSION	    "Invalid HTTP Version: Unsupported HTTP version."
#define MSG_URI_EMPTY	    "Invalid URI: Empty URI not allowed."
#define MSG_URI_FORM	    "Invalid URI: Only /path and http://host/path forms are allowed."
#define MSG_URI_CHAR	    "Invalid URI: Invalid character or percent-encoding in URI."
#define MSG_URI_LONG	    "Invalid URI: URI path longer than %u bytes."
#define MSG_CRLF	    "Invalid request: lines must end with CRLF."
#define MSG_HEAD_SIZE	    "Request headers are larger than the limit of %zu bytes allowed by server."
#define MSG_LINE_SIZE                                                                              \
	"Request line or header line is larger than the limit of %zu bytes allowed by server."
#define MSG_HDR_COUNT	 "Request has more headers than the limit of %u allowed by server."
#define MSG_HDR_FOLD	 "Invalid header. Reason: Header line starts with whitespace (obs-fold)."
#define MSG_HDR_FORMAT	 "Invalid header. Reason: Header is incorrectly formatted. Key: %s"
#define MSG_HDR_CHARS	 "Invalid header. Reason: Header contains invalid characters. Key: %s"
#define MSG_HDR_VALUE	 "Invalid header. Reason: Invalid value. Key:%s; Value:%s"
#define MSG_HDR_FEATURE	 "Invalid header. Reason: Unsupported feature. Key: %s; Value: %s"
#define MSG_LENGTH_TWICE "Invalid header. Reason: Content-Length given twice with different values."
#define MSG_HOST_TWICE	 "Invalid header. Reason: Host given more than once."
#define MSG_PAYLOAD                                                                                \
	"Request payload with size %" PRIu64 " is larger than the limit of %zu allowed by server."

/* Bytes of request text echoed in a message, before "...". */
#define ECHO_MAX 64

/* ---------------------------------------------------------------- characters */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	unsigned char l = c | 0x20;
	return is_digit(c) || (l >= 'a' && l <= 'z');
}

static bool is_hex(unsigned char c)
{
	unsigned char l = c | 0x20;
	return is_digit(c) || (l >= 'a' && l <= 'f');
}

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* s[0, n) equals the NUL-terminated lower-case `word`, ignoring case. */
static bool ci_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)word[i])
			return false;
	return true;
}

/* s[0, n) without leading and trailing SP/HTAB. */
static void trim_ows(const char **s, size_t *n)
{
	while (*n && is_ows((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ows((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Request text for a message: at most ECHO_MAX bytes, anything but
 * printable ASCII as '?', "..." when cut. dst holds ECHO_MAX + 4 bytes. */
static const char *echo(char *dst, const char *s, size_t n)
{
	size_t i, m = MIN(n, (size_t)ECHO_MAX);

	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n > m) {
		memcpy(dst + m, "...", 3);
		m += 3;
	}
	dst[m] = '\0';
	return dst;
}

static enum http_parse_result PRINTF(2, 3) fail(struct http_error *err, const char *fmt, ...)
{
	va_list ap;

	err->status = 400;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return HTTP_ERROR;
}

/* ---------------------------------------------------------------- lines */

/* Delimits the line starting at buf[start]: on OK *eol is the index of its
 * CR. Every byte index is checked against the limits before its byte is
 * needed, so the verdict does not depend on how much has arrived. */
static enum http_parse_result scan_line(const char *buf, size_t len, size_t start,
					const struct http_limits *lim, size_t *eol,
					struct http_error *err)
{
	bool cr = false;
	size_t i;

	for (i = start;; i++) {
		if (i >= lim->max_head_bytes)
			return fail(err, MSG_HEAD_SIZE, lim->max_head_bytes);
		if (i - start >= lim->max_line_bytes)
			return fail(err, MSG_LINE_SIZE, lim->max_line_bytes);
		if (i >= len)
			return HTTP_NEED_MORE;
		if (cr) {
			/* micro_http: a CR not before LF became part of the line. */
			if (buf[i] != '\n')
				return fail(err, MSG_CRLF);
			*eol = i - 1;
			return HTTP_OK;
		}
		/* A bare LF: RFC 9112 2.2 allows either; refusing it keeps
		 * every parser on the path agreeing on where lines end. */
		if (buf[i] == '\n')
			return fail(err, MSG_CRLF);
		cr = buf[i] == '\r';
	}
}

/* ---------------------------------------------------------------- request line */

static const struct {
	const char *name;
	enum http_method method;
} methods[] = {
    {"GET", HTTP_GET},	 {"PUT", HTTP_PUT},	    {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
    {"POST", HTTP_POST}, {"OPTIONS", HTTP_OPTIONS}, {"TRACE", HTTP_TRACE},
};

const char *http_method_name(enum http_method m)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(methods); i++)
		if (methods[i].method == m)
			return methods[i].name;
	return "?";
}

/* Methods are case-sensitive (RFC 9110 9.1). */
static bool parse_method(const char *s, size_t n, enum http_method *m)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(methods); i++) {
		if (strlen(methods[i].name) == n && !memcmp(s, methods[i].name, n)) {
			*m = methods[i].method;
			return true;
		}
	}
	return false;
}

/* RFC 3986: pchar and '/' (and '?' in a query), %XX escapes well formed. */
static bool uri_part_ok(const char *s, size_t n, bool query)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 || !is_hex((unsigned char)s[i + 1]) ||
			    !is_hex((unsigned char)s[i + 2]))
				return false;
			i += 2;
		} else if (!is_alnum(c) && !(c && strchr("-._~!$&'()*+,;=:@/", c)) &&
			   !(query && c == '?')) {
			return false;
		}
	}
	return true;
}

/* The authority of an absolute-form target: host[:port] without userinfo. */
static bool authority_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && !(c && strchr("-._~!$&'()*+,;=:[]%", c)))
			return false;
	}
	return true;
}

/* micro_http: any UTF-8 target; "http://host" or a target not starting
 * with '/' became the empty path, i.e. GET / (instance info). */
static enum http_parse_result parse_target(const char *t, size_t n, struct http_request *req,
					   struct http_error *err)
{
	const char *p = t, *end = t + n, *path, *q;

	if (!n)
		return fail(err, MSG_URI_EMPTY);
	req->target = t;
	req->target_len = n;
	if (*p != '/') {
		const char *auth;

		if (n < 7 || !ci_eq(t, 7, "http://"))
			return fail(err, MSG_URI_FORM);
		p += 7;
		auth = p;
		while (p < end && *p != '/' && *p != '?')
			p++;
		if (!authority_ok(auth, (size_t)(p - auth)))
			return fail(err, MSG_URI_CHAR);
	}
	path = p;
	q = memchr(path, '?', (size_t)(end - path));
	req->path_len = (size_t)((q ? q : end) - path);
	if (!uri_part_ok(path, req->path_len, false))
		return fail(err, MSG_URI_CHAR);
	if (q) {
		req->query = q + 1;
		req->query_len = (size_t)(end - req->query);
		if (!uri_part_ok(req->query, req->query_len, true))
			return fail(err, MSG_URI_CHAR);
	}
	if (req->path_len >= HTTP_PATH_MAX)
		return fail(err, MSG_URI_LONG, HTTP_PATH_MAX - 1);
	if (!req->path_len) /* "http://host" or "http://host?q" */
		req->path[req->path_len++] = '/';
	else
		memcpy(req->path, path, req->path_len);
	req->path[req->path_len] = '\0';
	return HTTP_OK;
}

/* METHOD SP request-target SP HTTP-version, single spaces (RFC 9112 3). */
static enum http_parse_result parse_request_line(const char *s, size_t n, struct http_request *req,
						 struct http_error *err)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *ver;
	enum http_parse_result r;

	if (!sp1)
		return fail(err, MSG_INVALID_REQUEST);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(s + n - (sp1 + 1)));
	if (!sp2)
		return fail(err, MSG_INVALID_REQUEST);
	/* micro_http: POST, OPTIONS and TRACE were 400 here too; ember hands
	 * them to the router. HEAD and CONNECT need response framing that
	 * ember does not do, so they stay errors. */
	if (!parse_method(s, (size_t)(sp1 - s), &req->method))
		return fail(err, MSG_METHOD);
	r = parse_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), req, err);
	if (r != HTTP_OK)
		return r;
	ver = sp2 + 1;
	if (s + n - ver != 8 || memcmp(ver, "HTTP/1.", 7) || (ver[7] != '0' && ver[7] != '1'))
		return fail(err, MSG_VERSION);
	req->version_minor = ver[7] - '0';
	return HTTP_OK;
}

/* ---------------------------------------------------------------- headers */

/* What the header lines said, beyond req. */
struct head_state {
	bool have_length;
	uint64_t length;
	bool have_host;
	bool conn_close;
	bool conn_keep_alive;
	bool expect_continue;
};

/* 1*DIGIT that fits 64 bits. micro_http: u32 via Rust's parse, which also
 * took a leading '+'. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]) || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

static enum http_media parse_media(const char *v, size_t n)
{
	const char *semi = memchr(v, ';', n);

	if (!n)
		return HTTP_MEDIA_OTHER;
	if (memchr(v, ',', n))
		return HTTP_MEDIA_OTHER;
	if (semi)
		n = (size_t)(semi - v);
	trim_ows(&v, &n);
	if (ci_eq(v, n, "application/json"))
		return HTTP_MEDIA_JSON;
	if (ci_eq(v, n, "text/plain"))
		return HTTP_MEDIA_TEXT;
	return HTTP_MEDIA_OTHER;
}

/* Connection: a comma-separated list of options (RFC 9110 7.6.1). */
static void parse_connection(const char *v, size_t n, struct head_state *st)
{
	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t k = comma ? (size_t)(comma - v) : n;
		const char *tok = v;
		size_t tn = k;

		trim_ows(&tok, &tn);
		if (ci_eq(tok, tn, "close"))
			st->conn_close = true;
		else if (ci_eq(tok, tn, "keep-alive"))
			st->conn_keep_alive = true;
		v += k;
		n -= k;
		if (n) { /* skip the comma */
			v++;
			n--;
		}
	}
}

static enum http_parse_result content_length(const struct http_header *h, const char *raw,
					     size_t raw_len, const struct http_limits *lim,
					     struct head_state *st, struct http_error *err)
{
	char e1[ECHO_MAX + 4], e2[ECHO_MAX + 4];
	uint64_t v;

	/* micro_http: the last one won. RFC 9110 8.6 lets equal copies pass. */
	if (!parse_u64(h->value, h->value_len, &v))
		return fail(err, MSG_HDR_VALUE, echo(e1, h->name, h->name_len),
			    echo(e2, raw, raw_len));
	if (st->have_length && v != st->length)
		return fail(err, MSG_LENGTH_TWICE);
	if (v > lim->max_body_bytes)
		return fail(err, MSG_PAYLOAD, v, lim->max_body_bytes);
	st->have_length = true;
	st->length = v;
	return HTTP_OK;
}

/* Acts on the headers ember knows; others are only recorded. */
static enum http_parse_result header_semantics(const struct http_header *h, const char *raw,
					       size_t raw_len, const struct http_limits *lim,
					       struct http_request *req, struct head_state *st,
					       struct http_error *err)
{
	char e1[ECHO_MAX + 4], e2[ECHO_MAX + 4];
	const char *n = h->name;
	size_t nl = h->name_len;

	if (ci_eq(n, nl, "content-length"))
		return content_length(h, raw, raw_len, lim, st, err);
	/* micro_http: "chunked" was noted, then the body was read by
	 * Content-Length anyway (a smuggling hazard); other codings ignored. */
	if (ci_eq(n, nl, "transfer-encoding"))
		return fail(err, MSG_HDR_FEATURE, echo(e1, n, nl),
			    echo(e2, h->value, h->value_len));
	if (ci_eq(n, nl, "host")) { /* RFC 9112 3.2: exactly one, if any */
		if (st->have_host)
			return fail(err, MSG_HOST_TWICE);
		st->have_host = true;
	} else if (ci_eq(n, nl, "connection")) {
		parse_connection(h->value, h->value_len, st);
	} else if (ci_eq(n, nl, "expect")) {
		/* Other expectations are ignored, as micro_http does. */
		if (ci_eq(h->value, h->value_len, "100-continue"))
			st->expect_continue = true;
	} else if (ci_eq(n, nl, "content-type")) {
		req->content_type = parse_media(h->value, h->value_len);
	} else if (ci_eq(n, nl, "accept")) {
		req->accept = parse_media(h->value, h->value_len);
	}
	return HTTP_OK;
}

/* name ":" OWS value OWS (RFC 9112 5). */
static enum http_parse_result parse_header(const char *s, size_t n, const struct http_limits *lim,
					   struct http_request *req, struct head_state *st,
					   struct http_error *err)
{
	unsigned max = MIN(lim->max_headers, HTTP_HEADERS_MAX);
	const char *colon, *raw;
	struct http_header h;
	char e[ECHO_MAX + 4];
	size_t i, raw_len;

	/* micro_http: trimmed, so a folded line became a header of its own. */
	if (is_ows((unsigned char)s[0]))
		return fail(err, MSG_HDR_FOLD);
	if (req->n_headers >= max)
		return fail(err, MSG_HDR_COUNT, max);
	colon = memchr(s, ':', n);
	if (!colon)
		return fail(err, MSG_HDR_FORMAT, echo(e, s, n));
	h.name = s;
	h.name_len = (size_t)(colon - s);
	/* micro_http: trimmed the name, so "Name : v" passed (RFC 9112 5.1
	 * says reject). */
	for (i = 0; i < h.name_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			break;
	if (!h.name_len || i < h.name_len)
		return fail(err, MSG_HDR_FORMAT, echo(e, h.name, h.name_len));
	raw = colon + 1;
	raw_len = (size_t)(s + n - raw);
	/* Visible ASCII, SP, HTAB. micro_http: any UTF-8. */
	for (i = 0; i < raw_len; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (!is_ows(c) && (c < 0x21 || c > 0x7e))
			return fail(err, MSG_HDR_CHARS, echo(e, h.name, h.name_len));
	}
	h.value = raw;
	h.value_len = raw_len;
	trim_ows(&h.value, &h.value_len);
	req->headers[req->n_headers++] = h;
	return header_semantics(&h, raw, raw_len, lim, req, st, err);
}

/* ---------------------------------------------------------------- request */

enum http_parse_result http_parse_request(const char *buf, size_t len,
					  const struct http_limits *lim, struct http_request *req,
					  size_t *consumed, struct http_error *err)
{
	struct head_state st = {0};
	enum http_parse_result r;
	size_t pos, eol, head;

	memset(req, 0, sizeof(*req));
	*consumed = 0;
	err->status = 0;
	err->msg[0] = '\0';

	/* micro_http: no empty lines before the request line either. */
	r = scan_line(buf, len, 0, lim, &eol, err);
	if (r != HTTP_OK)
		return r;
	r = parse_request_line(buf, eol, req, err);
	if (r != HTTP_OK)
		return r;
	for (pos = eol + 2;; pos = eol + 2) {
		r = scan_line(buf, len, pos, lim, &eol, err);
		if (r != HTTP_OK)
			return r;
		if (eol == pos)
			break;
		r = parse_header(buf + pos, eol - pos, lim, req, &st, err);
		if (r != HTTP_OK)
			return r;
	}
	head = eol + 2;

	/* RFC 9112 9.3; micro_http always kept the connection open. */
	if (req->version_minor == 1)
		req->keep_alive = !st.conn_close;
	else
		req->keep_alive = st.conn_keep_alive && !st.conn_close;
	/* micro_http also answered 100 to HTTP/1.0 (RFC 9110 10.1.1: ignore). */
	req->expect_continue = req->version_minor == 1 && st.expect_continue && st.length;
	req->content_length = (size_t)st.length; /* <= max_body_bytes */
	req->head_len = head;
	if (len - head < req->content_length)
		return HTTP_NEED_MORE;
	if (req->content_length) {
		req->body = buf + head;
		req->body_len = req->content_length;
	}
	*consumed = head + req->content_length;
	return HTTP_OK;
}

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);
	unsigned i;

	for (i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		size_t k;

		if (h->name_len != n)
			continue;
		for (k = 0; k < n; k++)
			if (lower((unsigned char)h->name[k]) != lower((unsigned char)name[k]))
				break;
		if (k == n)
			return h;
	}
	return NULL;
}

/* ---------------------------------------------------------------- responses */

/* Output that counts what it would need and copies only what fits. */
struct wbuf {
	char *out;
	size_t cap;
	size_t len;
	bool overflow;
};

static void put(struct wbuf *w, const void *p, size_t n)
{
	size_t end;

	if (__builtin_add_overflow(w->len, n, &end)) {
		w->overflow = true;
		return;
	}
	if (n && w->out && end <= w->cap)
		memcpy(w->out + w->len, p, n);
	w->len = end;
}

static void put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(w, d + i, sizeof(d) - i);
}

/* One UTF-8 sequence at s (n > 0, s[0] >= 0x80): true if well formed
 * (RFC 3629: no overlongs, surrogates or > U+10FFFF). *used: its length,
 * or the length of the maximal ill-formed prefix to replace by one U+FFFD
 * (as Rust's from_utf8_lossy). */
static bool utf8_seq(const unsigned char *s, size_t n, size_t *used)
{
	unsigned char lo = 0x80, hi = 0xbf, c = s[0];
	size_t need, i;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		*used = 1;
		return false;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*used = i;
			return false;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*used = need + 1;
	return true;
}

/* A JSON string's contents, escaped as serde_json does. */
static void put_json_chars(struct wbuf *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t used;

		for (run = i; run < n; run++) {
			unsigned char r = (unsigned char)s[run];
			if (r < 0x20 || r == '"' || r == '\\' || r >= 0x80)
				break;
		}
		if (run > i) {
			put(w, s + i, run - i);
			i = run;
			continue;
		}
		if (c >= 0x80) {
			/* Well formed: copied; else one U+FFFD. */
			if (utf8_seq((const unsigned char *)s + i, n - i, &used))
				put(w, s + i, used);
			else
				put_str(w, "\xef\xbf\xbd");
			i += used;
			continue;
		}
		if (c == '"' || c == '\\')
			put(w, (const char[]){'\\', (char)c}, 2);
		else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			put(w, (const char[]){'\\', "btnvfr"[c - '\b']}, 2); /* from 8; no \\v */
		else
			put(w, (const char[]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}, 6);
		i++;
	}
}

static void put_fault(struct wbuf *w, const char *msg)
{
	put_str(w, "{\"fault_message\":\"");
	put_json_chars(w, msg, strlen(msg));
	put_str(w, "\"}");
}

static bool printable_ascii(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* RFC 9110 6.4.1/8.6: 1xx, 204 and 304 carry no content (and, as in
 * micro_http, no Content-Type or Content-Length). */
static bool bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

int http_format_response(char *out, size_t cap, const struct http_response *rsp, size_t *len)
{
	const char *ctype = rsp->content_type ? rsp->content_type : "application/json";
	struct wbuf w = {.out = out, .cap = out ? cap : 0};
	size_t body_len = rsp->body_len;

	*len = 0;
	if (rsp->status < 100 || rsp->status > 599 || !printable_ascii(ctype))
		return -EINVAL;
	if ((body_len && !rsp->body) || (rsp->fault && (rsp->body || body_len)))
		return -EINVAL;
	if (rsp->fault) {
		struct wbuf count = {0};

		put_fault(&count, rsp->fault);
		if (count.overflow)
			return -EOVERFLOW;
		body_len = count.len;
	}
	if (bodiless(rsp->status) && body_len)
		return -EINVAL;

	put_str(&w, "HTTP/1.1 ");
	put_u64(&w, (uint64_t)rsp->status);
	put_str(&w, " \r\nServer: " HTTP_SERVER_NAME "\r\n");
	put_str(&w, rsp->keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
	if (rsp->deprecation)
		put_str(&w, "Deprecation: true\r\n");
	if (!bodiless(rsp->status)) {
		put_str(&w, "Content-Type: ");
		put_str(&w, ctype);
		put_str(&w, "\r\nContent-Length: ");
		put_u64(&w, body_len);
		put_str(&w, "\r\n");
	}
	put_str(&w, "\r\n");
	if (rsp->fault)
		put_fault(&w, rsp->fault);
	else
		put(&w, rsp->body, body_len);
	if (w.overflow)
		return -EOVERFLOW;
	*len = w.len;
	return w.len > w.cap ? -ENOSPC : 0;
}

int http_format_error(char *out, size_t cap, const struct http_error *err, size_t *len)
{
	struct http_response rsp = {.status = err->status, .fault = err->msg};

	return http_format_response(out, cap, &rsp, len);
}

int http_fault_json(char *out, size_t cap, const char *msg, size_t *len)
{
	struct wbuf w = {.out = out, .cap = out ? cap : 0};

	put_fault(&w, msg);
	*len = w.len;
	if (w.overflow)
		return -EOVERFLOW;
	return w.len > w.cap ? -ENOSPC : 0;
}
