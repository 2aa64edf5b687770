/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the small scenarios (hello, boottimer, triplefault,
 * unmapped, initrd, fault). */
#include "guest.h"
#include "scenarios.h"

/* Firecracker boot-timer pseudo device: a 1-byte write of 123 at offset 0
 * makes the VMM log the guest boot time. */
#define BOOT_TIMER_ADDR 0xc0000000ull
#define BOOT_TIMER_MAGIC 123

void scenario_hello(void)
{
	test_passed();
}

void scenario_boottimer(void)
{
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
	test_passed();
}

void scenario_triplefault(void)
{
	say("testguest: triplefault: triple-faulting now, expect KVM_EXIT_SHUTDOWN");
	triple_fault();
}

/* ---------------------------------------------------------------- unmapped */
/* Addresses in the MMIO gap and ports that no device claims on ember:
 * reads must float to all ones, writes must be dropped. */
static const uint64_t unmapped_mmio[] = { 0xc0800000ull, 0xd0000000ull };
static const uint16_t unmapped_ports[] = { 0x80, 0x2f8, 0x500 };

static unsigned unmapped_errors;
static char unmapped_first[96];

static void expect_ones(const char *what, uint64_t where, uint64_t got, uint64_t ones)
{
	if (got == ones)
		return;
	if (!unmapped_errors++)
		snprintf(unmapped_first, sizeof(unmapped_first),
			 "%s 0x%lx read 0x%lx", what, where, got);
}

static void probe_mmio(uint64_t a)
{
	for (int pass = 0; pass < 2; pass++) { /* read, write, read again */
		expect_ones("mmio8", a, mmio_read8(a), 0xff);
		expect_ones("mmio16", a + 2, mmio_read16(a + 2), 0xffff);
		expect_ones("mmio32", a + 4, mmio_read32(a + 4), 0xffffffffull);
		expect_ones("mmio64", a + 8, mmio_read64(a + 8), ~0ull);
		if (pass)
			break;
		mmio_write8(a, 0x5a);
		mmio_write16(a + 2, 0x5a5a);
		mmio_write32(a + 4, 0x5a5a5a5a);
		mmio_write64(a + 8, 0x5a5a5a5a5a5a5a5aull);
	}
}

static void probe_port(uint16_t p)
{
	expect_ones("inb", p, inb(p), 0xff);
	expect_ones("inw", p, inw(p), 0xffff);
	expect_ones("inl", p, inl(p), 0xffffffffull);
	outb(p, 0x5a);
	outw(p, 0x5a5a);
	outl(p, 0x5a5a5a5a);
	expect_ones("inb", p, inb(p), 0xff);
}

void scenario_unmapped(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(unmapped_mmio); i++)
		probe_mmio(unmapped_mmio[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(unmapped_ports); i++)
		probe_port(unmapped_ports[i]);
	if (unmapped_errors)
		test_fail("%u reads not all ones, first: %s", unmapped_errors,
			  unmapped_first);
	else
		test_passed();
}

/* ---------------------------------------------------------------- initrd */
/* 64-bit FNV-1a: offset basis 0xcbf29ce484222325, prime 0x100000001b3. */
static uint64_t fnv1a64(const uint8_t *p, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

void scenario_initrd(void)
{
	if (!boot.initrd_size) {
		test_fail("no initrd");
		return;
	}
	if (boot.initrd_base + boot.initrd_size > ((uint64_t)MAP_MAX_GIB << 30)) {
		test_fail("initrd at 0x%lx above the mapped range", boot.initrd_base);
		return;
	}
	uint64_t h = fnv1a64((const uint8_t *)phys(boot.initrd_base), boot.initrd_size);
	test_pass("size=%lu fnv1a=%016lx", boot.initrd_size, h);
}

/* ---------------------------------------------------------------- fault */
/* Exercises the guest's own exception path. fault=pf (default): NULL write
 * in ring 3; fault=svc: bad buffer handed to a ring-0 service (the #PF is
 * in ring 0); fault=ud: an undefined opcode that is not ud2; fault=gp: hlt
 * in ring 3. Expected: TEST fault FAIL exception <vec> ..., TESTGUEST DONE,
 * reset. */
void scenario_fault(void)
{
	const char *kind = param_get("fault");
	if (!kind || !*kind)
		kind = "pf";
	say("testguest: fault: causing fault=%s", kind);
	if (!strcmp(kind, "svc"))
		svc(SVC_WRITE, 0x3f8, 0x10, 4); /* page 0 is not mapped */
	else if (!strcmp(kind, "ud"))
		__asm__ __volatile__(".byte 0x0f, 0xff"); /* ud0 */
	else if (!strcmp(kind, "gp"))
		__asm__ __volatile__("hlt");
	else
		*(volatile uint32_t *)phys(0) = 1;
	test_fail("no fault");
}

/* ---------------------------------------------------------------- reset-storm */
/* The i8042 reset command (0xFE to port 0x64) count times in a row, 4 KiB
 * per `rep outsb`: the VMM stops the VM at the first one, and must neither
 * log each of the others that arrive before the vCPU stops nor let the
 * guest run on. */
void scenario_reset_storm(void)
{
	static uint8_t fe[SVC_MAX_LEN];
	uint64_t count = param_u64("count", 65536);
	memset(fe, 0xfe, sizeof(fe));
	say("testguest: reset-storm: %lu reset commands", count);
	for (uint64_t done = 0; done < count; done += SVC_MAX_LEN) {
		uint64_t n = count - done < SVC_MAX_LEN ? count - done : SVC_MAX_LEN;
		svc(SVC_WRITE, 0x64, (uint64_t)(uintptr_t)fe, n);
	}
	test_fail("still running after %lu reset commands", count);
}
