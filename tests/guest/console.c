/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: console on the COM1 16550 at 0x3f8. One ring-0 trip
 * (one `rep outsb`) per line; a spinlock keeps lines from different CPUs
 * whole. No UART set-up: transmit works from reset on ember and QEMU. */
#include "guest.h"

#define COM1 0x3f8
#define LINE_MAX 512

static volatile uint32_t console_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void unlock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

/* For the fault path: the faulting CPU may have held the lock. */
void console_unlock(void)
{
	unlock();
}

void console_write(const char *s, size_t n)
{
	lock();
	while (n) {
		size_t chunk = n < SVC_MAX_LEN ? n : SVC_MAX_LEN;
		svc(SVC_WRITE, COM1, (uintptr_t)s, chunk);
		s += chunk;
		n -= chunk;
	}
	unlock();
}

void say(const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	console_write(line, (size_t)n);
}
