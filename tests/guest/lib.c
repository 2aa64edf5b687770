/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the little of libc it needs (ring 3). */
#include "guest.h"

/* The compiler may emit calls to these; string instructions keep them
 * from being "optimised" back into calls to themselves. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

uint64_t parse_u64(const char *s, const char **end)
{
	unsigned base = 10;
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit_value(s[2]) < 16) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (int d; (d = digit_value(*s)) < (int)base; s++)
		v = v * base + (unsigned)d;
	if (end)
		*end = s;
	return v;
}

uint64_t parse_size(const char *s, const char **end)
{
	const char *p;
	uint64_t v = parse_u64(s, &p);
	switch (*p) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; p++; break;
	default: break;
	}
	if (end)
		*end = p;
	return v;
}

/* ---------------------------------------------------------------- format */
struct out { char *buf; size_t size, len; };

static void out_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

struct spec { bool zero, left; unsigned width; };

static void out_padded(struct out *o, const char *s, size_t n, struct spec sp)
{
	size_t pad = sp.width > n ? sp.width - n : 0;
	char fill = sp.zero && !sp.left ? '0' : ' ';
	if (!sp.left)
		while (pad--)
			out_char(o, fill);
	while (n--)
		out_char(o, *s++);
	if (sp.left)
		while (pad--)
			out_char(o, ' ');
}

static void out_number(struct out *o, uint64_t v, bool neg, unsigned base,
		       bool upper, struct spec sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg) {
		if (sp.zero && sp.width)
			sp.width--, out_char(o, '-');
		else
			tmp[sizeof(tmp) - 1 - n++] = '-';
	}
	out_padded(o, tmp + sizeof(tmp) - n, n, sp);
}

/* Fetches an integer argument of the given length (0 int, 1 long, 2 long
 * long / size_t), signed or not. */
static uint64_t arg_int(va_list *ap, int len, bool is_signed, bool *neg)
{
	int64_t s;
	*neg = false;
	if (!is_signed)
		return len == 0 ? va_arg(*ap, unsigned) : va_arg(*ap, unsigned long);
	s = len == 0 ? va_arg(*ap, int) : va_arg(*ap, long);
	if (s < 0) {
		*neg = true;
		return (uint64_t)0 - (uint64_t)s;
	}
	return (uint64_t)s;
}

static const char *format_one(struct out *o, const char *f, va_list *ap)
{
	struct spec sp = { false, false, 0 };
	int len = 0;
	bool neg;
	for (;; f++) {
		if (*f == '0')
			sp.zero = true;
		else if (*f == '-')
			sp.left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp.width = sp.width * 10 + (unsigned)(*f++ - '0');
	while (*f == 'l' || *f == 'z')
		len++, f++;
	switch (*f) {
	case 'd': case 'i': {
		uint64_t v = arg_int(ap, len, true, &neg);
		out_number(o, v, neg, 10, false, sp);
		break;
	}
	case 'u': out_number(o, arg_int(ap, len, false, &neg), false, 10, false, sp); break;
	case 'x': out_number(o, arg_int(ap, len, false, &neg), false, 16, false, sp); break;
	case 'X': out_number(o, arg_int(ap, len, false, &neg), false, 16, true, sp); break;
	case 'p':
		out_char(o, '0'), out_char(o, 'x');
		out_number(o, (uintptr_t)va_arg(*ap, void *), false, 16, false, sp);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);
		out_padded(o, &c, 1, sp);
		break;
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		out_padded(o, s, strlen(s), sp);
		break;
	}
	case '%': out_char(o, '%'); break;
	default: return f; /* unknown: stop at it */
	}
	return f + 1;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list cp;
	va_copy(cp, ap);
	while (*fmt) {
		if (*fmt != '%')
			out_char(&o, *fmt++);
		else
			fmt = format_one(&o, fmt + 1, &cp);
	}
	va_end(cp);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
