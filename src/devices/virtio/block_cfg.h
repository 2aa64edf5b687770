/* SPDX-License-Identifier: Apache-2.0 */
/* What configures a virtio-blk device (kept apart from block.h so that the
 * configuration parser does not depend on the device's internals). */
#ifndef EMBER_DEVICES_VIRTIO_BLOCK_CFG_H
#define EMBER_DEVICES_VIRTIO_BLOCK_CFG_H

#include "devices/rate_limiter.h"

enum blk_cache { BLK_CACHE_UNSAFE, BLK_CACHE_WRITEBACK };
enum blk_engine { BLK_ENGINE_SYNC, BLK_ENGINE_ASYNC };

struct vblk_cfg {
	const char *drive_id;
	const char *path;
	bool read_only;
	enum blk_cache cache;
	enum blk_engine engine;
	struct rate_limiter_cfg rl;
};

#endif
