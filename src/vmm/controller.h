/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM thread's side of the API: one routed, decoded request in, one
 * reply out. Pre-boot requests change the configuration being assembled;
 * post-boot requests act on the running VM. Firecracker's phase rules and
 * fault-message shapes ("<Category>: <detail>"). */
#ifndef EMBER_VMM_CONTROLLER_H
#define EMBER_VMM_CONTROLLER_H

#include "api/api.h"

struct vmm;

void controller_handle(struct vmm *v, const struct api_request *req, struct api_reply *rep);

#endif
