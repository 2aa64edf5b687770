/* SPDX-License-Identifier: Apache-2.0 */
/* virtio constants shared by the transport, the queues and the devices
 * (virtio spec v1.2). */
#ifndef EMBER_DEVICES_VIRTIO_VIRTIO_H
#define EMBER_DEVICES_VIRTIO_VIRTIO_H

/* Device IDs (§5). */
#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLOCK 2

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* Reserved feature bits (§6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

/* Interrupt status bits (§4.2.2, InterruptStatus). */
#define VIRTIO_MMIO_INT_VRING  0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

/* Every queue of every ember device (Firecracker's maximum). */
#define VIRTIO_QUEUE_MAX_SIZE 256

#define BIT_ULL(n) (1ull << (n))

#endif
