/* SPDX-License-Identifier: Apache-2.0 */
/* The host side of virtio-net: a tap device opened by name. ember never
 * creates or configures the tap itself (no addresses, no bridges). */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devices/virtio/net.h"

int tap_open(const char *name, int *fd, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = VNET_HDR_LEN;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap name '%s' is longer than %d characters", name,
			 IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	/* TUNSETIFF would create a missing tap on the fly (with
	 * CAP_NET_ADMIN); ember only ever attaches to one its user made. */
	if (!if_nametoindex(name)) {
		snprintf(err, errlen,
			 "no network device named '%s' (create the tap first; ember never "
			 "creates one)",
			 name);
		return -ENODEV;
	}
	*fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot attach to tap '%s': %s%s", name, strerror(e),
			 e == EBUSY   ? " (another process holds it)"
			 : e == EPERM ? " (create it first, owned by this user)"
				      : "");
		close_fd(fd);
		return -e;
	}
	if (ioctl(*fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		snprintf(err, errlen, "tap '%s': TUNSETVNETHDRSZ: %s", name, strerror(e));
		close_fd(fd);
		return -e;
	}
	return 0;
}

int tap_set_offload(int fd, uint64_t f)
{
	unsigned flags = 0;
	/* What the tap may hand us for the guest (RX): what the guest takes. */
	if (f & BIT_ULL(VIRTIO_NET_F_GUEST_CSUM)) {
		flags |= TUN_F_CSUM;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_TSO4))
			flags |= TUN_F_TSO4;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_TSO6))
			flags |= TUN_F_TSO6;
		if (f & BIT_ULL(VIRTIO_NET_F_GUEST_UFO))
			flags |= TUN_F_UFO;
	}
	if (ioctl(fd, TUNSETOFFLOAD, flags) == 0)
		return 0;
	/* Kernels without UFO refuse the whole set: retry without it. */
	if (flags & TUN_F_UFO && ioctl(fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO) == 0)
		return 0;
	return -errno;
}
