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
void scenario_fault(void);
void scenario_flood(void);
void scenario_echo(void);

/* scen_smp.c: an AP's ring-3 entry (boot.S). */
void ap_main(unsigned slot);

#endif
