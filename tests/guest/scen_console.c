/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: console scenarios.
 *   flood  writes flood_kib KiB of console output as fast as it can, to show
 *          that a slow or absent reader never stalls the guest;
 *   echo   reads console input by polling the UART and reports what it got,
 *          to show that input is delivered in order and nothing is lost. */
#include "guest.h"
#include "scenarios.h"

#define COM1 0x3f8
#define UART_RBR 0
#define UART_LSR 5
#define LSR_DR 0x01

void scenario_flood(void)
{
	uint64_t total = param_u64("flood_kib", 256) * 1024;
	uint64_t sent = 0;
	unsigned line = 0;
	char buf[64];

	while (sent < total) {
		int n = snprintf(buf, sizeof(buf), "flood %08u ", line++);
		while (n < (int)sizeof(buf) - 1)
			buf[n++] = 'a' + (char)(line % 26);
		buf[n++] = '\n';
		console_write(buf, (size_t)n);
		sent += (uint64_t)n;
	}
	test_pass("bytes=%lu", (unsigned long)sent);
}

static uint64_t fnv1a(uint64_t h, uint8_t b)
{
	return (h ^ b) * 0x100000001b3ull;
}

/* Reads echo_bytes bytes (or, when 0, up to and including a newline) within
 * echo_timeout_s seconds. */
void scenario_echo(void)
{
	uint64_t want = param_u64("echo_bytes", 0);
	deadline_t d = deadline_in_us(param_u64("echo_timeout_s", 10) * 1000000);
	uint64_t h = 0xcbf29ce484222325ull, got = 0;
	char line[128];
	size_t llen = 0;

	say("TEST echo READY");
	for (;;) {
		if (want ? got == want : (llen && line[llen - 1] == '\n'))
			break;
		if (deadline_passed(d)) {
			test_fail("timeout after %lu bytes", (unsigned long)got);
			return;
		}
		if (!(inb(COM1 + UART_LSR) & LSR_DR))
			continue;
		uint8_t c = inb(COM1 + UART_RBR);
		h = fnv1a(h, c);
		got++;
		if (llen < sizeof(line) - 1)
			line[llen++] = (char)c;
	}
	if (want) {
		test_pass("bytes=%lu fnv1a=%016lx", (unsigned long)got, (unsigned long)h);
	} else {
		line[llen - 1] = '\0';
		test_pass("got=%s", line);
	}
}
