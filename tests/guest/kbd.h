/* SPDX-License-Identifier: Apache-2.0 */
/* ember test guest: the i8042 keyboard as the scenarios that wait for the
 * host's Ctrl-Alt-Del use it (idle, spin, hostile-doorbell). */
#ifndef TESTGUEST_KBD_H
#define TESTGUEST_KBD_H

#include "guest.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64 /* read: status; write: command */
#define I8042_OBF 0x01    /* status: output buffer full */
#define I8042_IRQ 1
#define VEC_KBD (IRQ_VECTOR_BASE + I8042_IRQ)

/* Set-2 scancodes of Ctrl-Alt-Del as they arrive, one byte at a time. */
struct cad_matcher { bool e0, brk, ctrl, alt, del; };
void cad_feed(struct cad_matcher *m, uint8_t b);
bool cad_done(const struct cad_matcher *m);

bool kbd_present(void);                    /* the status port does not float */
/* Keyboard interrupt on, set-1 translation off (a no-op on ember). */
void kbd_setup(void);
/* Reads what the output buffer holds (at most 64 bytes) into m (may be
 * NULL); how many bytes. */
unsigned kbd_drain(struct cad_matcher *m);

#endif
