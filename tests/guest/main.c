/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: ring-3 main program. Reads the boot information, runs
 * the scenario named by test=<name>, prints TESTGUEST DONE and resets. */
#include "guest.h"
#include "scenarios.h"

static const struct scenario scenarios[] = {
	{ "hello", scenario_hello },
	{ "memory", scenario_memory },
	{ "smp", scenario_smp },
	{ "boottimer", scenario_boottimer },
	{ "triplefault", scenario_triplefault },
	{ "unmapped", scenario_unmapped },
	{ "initrd", scenario_initrd },
	{ "idle", scenario_idle },
	{ "spin", scenario_spin },
	{ "reset-storm", scenario_reset_storm },
	{ "fault", scenario_fault },
	{ "flood", scenario_flood },
	{ "echo", scenario_echo },
	{ "blk-read", scenario_blk_read },
	{ "blk-write", scenario_blk_write },
	{ "blk-ro", scenario_blk_ro },
	{ "blk-multi", scenario_blk_multi },
	{ "blk-id", scenario_blk_id },
	{ "blk-stream", scenario_blk_stream },
	{ "blk-capacity", scenario_blk_capacity },
	{ "net-echo", scenario_net_echo },
	{ "net-send", scenario_net_send },
	{ "net-stream", scenario_net_stream },
	{ "hostile-desc-loop", scenario_hostile_desc_loop },
	{ "hostile-next-oob", scenario_hostile_next_oob },
	{ "hostile-head-oob", scenario_hostile_head_oob },
	{ "hostile-buf-outside-ram", scenario_hostile_buf_outside_ram },
	{ "hostile-buf-gap", scenario_hostile_buf_gap },
	{ "hostile-len-overflow", scenario_hostile_len_overflow },
	{ "hostile-avail-jump", scenario_hostile_avail_jump },
	{ "hostile-qsize", scenario_hostile_qsize },
	{ "hostile-ring-addr", scenario_hostile_ring_addr },
	{ "hostile-queue-sel", scenario_hostile_queue_sel },
	{ "hostile-notify-early", scenario_hostile_notify_early },
	{ "hostile-reset-io", scenario_hostile_reset_io },
	{ "hostile-blk-short-header", scenario_hostile_blk_short_header },
	{ "hostile-blk-request", scenario_hostile_blk_request },
	{ "hostile-net-short", scenario_hostile_net_short },
	{ "hostile-blk-ro-status", scenario_hostile_blk_ro_status },
	{ "hostile-indirect", scenario_hostile_indirect },
	{ "hostile-features", scenario_hostile_features },
	{ "hostile-mmio-width", scenario_hostile_mmio_width },
	{ "hostile-doorbell", scenario_hostile_doorbell },
	{ "hostile-ring-overlap", scenario_hostile_ring_overlap },
	{ "hostile-zero-len", scenario_hostile_zero_len },
};

const char *test_name = "boot";

NORETURN void guest_main(void);
NORETURN void fault_entry(uint64_t vec, uint64_t err, uint64_t rip,
			  uint64_t cs, uint64_t cr2);

/* ---------------------------------------------------------------- results */
static void result(const char *verdict, const char *detail)
{
	say("TEST %s %s%s%s", test_name, verdict, detail[0] ? " " : "", detail);
}

void test_passed(void)
{
	result("PASS", "");
}

void test_pass(const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	result("PASS", detail);
}

void test_fail(const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	result("FAIL", detail);
}

/* ---------------------------------------------------------------- reset */
void triple_fault(void)
{
	svc(SVC_TRIPLE_FAULT, 0, 0, 0);
	__builtin_unreachable();
}

/* i8042 reset (0xFE to port 0x64) where there is an i8042 (its status
 * port does not float to 0xFF); otherwise, or if that does not take within
 * half a second, a triple fault. */
void machine_reset(void)
{
	if (inb(0x64) != 0xff) {
		svc(SVC_RESET, 0, 0, 0);
		delay_us(500000);
	}
	triple_fault();
}

void guest_finish(void)
{
	say("TESTGUEST DONE");
	machine_reset();
}

/* Entered from exc_common (ring0.S) on top of the faulting CPU's ring-3
 * stack, for any exception in ring 3 or inside a ring-0 service. */
void fault_entry(uint64_t vec, uint64_t err, uint64_t rip, uint64_t cs, uint64_t cr2)
{
	static volatile uint32_t faults;
	char extra[48] = "";
	if (__atomic_fetch_add(&faults, 1, __ATOMIC_RELAXED) > 2)
		triple_fault(); /* faulting while reporting faults */
	console_unlock();
	if (vec == 14)
		snprintf(extra, sizeof(extra), " cr2 0x%lx", cr2);
	say("TEST %s FAIL exception %lu err 0x%lx rip 0x%lx%s%s", test_name, vec,
	    err, rip, extra, (cs & 3) ? "" : " (in ring 0)");
	guest_finish();
}

/* ---------------------------------------------------------------- main */
static const char *boot_path_name(void)
{
	return boot.path == BOOT_PVH ? "pvh" : boot.path == BOOT_LINUX ? "linux" : "?";
}

static void print_banner(void)
{
	char cpus[16] = "?", proto[24] = "";
	if (mp.found)
		snprintf(cpus, sizeof(cpus), "%u", mp.cpus_listed);
	if (boot.protocol)
		snprintf(proto, sizeof(proto), " protocol=%u.%02u",
			 boot.protocol >> 8, boot.protocol & 0xff);
	say("testguest: boot=%s%s cpus=%s ram=%luMiB initrd=%lu virtio=%u test=%s",
	    boot_path_name(), proto, cpus, ram_total() >> 20, boot.initrd_size,
	    virtio_dev_count, test_name);
}

void guest_main(void)
{
	idt_init(); /* first: nothing may fault before this */
	page0_map(true);
	bootinfo_read();
	mptable_read();
	page0_map(false);
	cmdline_parse(boot.cmdline);
	const char *t = param_get("test");
	test_name = t && *t ? t : "hello";
	paging_map_ram_to(ram_end());
	print_banner();

	const struct scenario *s = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(scenarios[i].name, test_name))
			s = &scenarios[i];
	if (s)
		s->run();
	else
		test_fail("unknown scenario");
	guest_finish();
}
