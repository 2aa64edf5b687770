/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: scenarios, selected with test=<name>. Each prints its
 * TEST lines through test_pass()/test_fail() and returns; main.c then
 * prints TESTGUEST DONE and resets. See README.md for what each expects
 * of the host. */
#ifndef TESTGUEST_SCENARIOS_H
#define TESTGUEST_SCENARIOS_H

struct scenario {
	const char *name;
	void (*run)(void);
};

void scenario_hello(void);
void scenario_boottimer(void);
void scenario_triplefault(void);
void scenario_unmapped(void);
void scenario_initrd(void);
void scenario_memory(void);
void scenario_smp(void);
void scenario_idle(void);
void scenario_spin(void);
void scenario_reset_storm(void);
void scenario_fault(void);
void scenario_flood(void);
void scenario_echo(void);
/* scen_blk.c */
void scenario_blk_read(void);
void scenario_blk_write(void);
void scenario_blk_ro(void);
void scenario_blk_multi(void);
void scenario_blk_id(void);
void scenario_blk_stream(void);
void scenario_blk_capacity(void);
/* scen_net.c */
void scenario_net_echo(void);
void scenario_net_send(void);
void scenario_net_stream(void);
/* scen_hostile.c, scen_hostile_mmio.c */
void scenario_hostile_desc_loop(void);
void scenario_hostile_next_oob(void);
void scenario_hostile_head_oob(void);
void scenario_hostile_buf_outside_ram(void);
void scenario_hostile_buf_gap(void);
void scenario_hostile_len_overflow(void);
void scenario_hostile_avail_jump(void);
void scenario_hostile_qsize(void);
void scenario_hostile_ring_addr(void);
void scenario_hostile_queue_sel(void);
void scenario_hostile_notify_early(void);
void scenario_hostile_reset_io(void);
void scenario_hostile_blk_short_header(void);
void scenario_hostile_blk_request(void);
void scenario_hostile_net_short(void);
void scenario_hostile_blk_ro_status(void);
void scenario_hostile_indirect(void);
void scenario_hostile_features(void);
void scenario_hostile_mmio_width(void);
void scenario_hostile_doorbell(void);
void scenario_hostile_ring_overlap(void);
void scenario_hostile_zero_len(void);

/* scen_smp.c: an AP's ring-3 entry (boot.S). */
void ap_main(unsigned slot);

#endif
