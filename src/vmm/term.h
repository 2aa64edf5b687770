/* SPDX-License-Identifier: Apache-2.0 */
/* The controlling terminal: raw-ish mode for the guest console on stdin,
 * restored on every exit path, including fatal signals (term_restore is
 * async-signal-safe). */
#ifndef EMBER_VMM_TERM_H
#define EMBER_VMM_TERM_H

#include "common/util.h"

/* If fd is a terminal, saves its mode and switches off canonical input,
 * echo and signal keys (Ctrl-C goes to the guest). Output processing stays
 * on. 0 when fd is not a terminal. */
int term_raw(int fd) WUR;
void term_restore(void);

#endif
