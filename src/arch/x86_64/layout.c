/* SPDX-License-Identifier: Apache-2.0 */
#include "arch/x86_64/layout.h"

#include <string.h>

void layout_ram(uint64_t mem_bytes, struct gm_layout *out)
{
	memset(out, 0, sizeof(*out));
	out->base[0] = 0;
	out->size[0] = MIN(mem_bytes, LAYOUT_MMIO_GAP_START);
	out->n = 1;
	if (mem_bytes > LAYOUT_MMIO_GAP_START) {
		out->base[1] = LAYOUT_MMIO_GAP_END;
		out->size[1] = mem_bytes - LAYOUT_MMIO_GAP_START;
		out->n = 2;
	}
}
