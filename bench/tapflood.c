/* SPDX-License-Identifier: Apache-2.0 */
/* tapflood: sends Ethernet frames out of a network device (an AF_PACKET
 * socket) as fast as the device takes them, until stdin closes or a byte
 * arrives on it. For the RX benchmark: the guest counts what it receives.
 *   tapflood DEV DST_MAC SIZE */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: tapflood DEV DST_MAC SIZE\n");
		return 2;
	}
	unsigned char frame[1514] = {0}, mac[6];
	size_t size = (size_t)atoi(argv[3]);
	if (size < 60 || size > sizeof(frame) ||
	    sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6)
		return 2;
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]),
				  .sll_halen = 6};
	if (s < 0 || !sll.sll_ifindex) {
		perror("tapflood");
		return 1;
	}
	memcpy(frame, mac, 6);
	memcpy(frame + 6, "\x0a\x00\x00\x00\x00\x01", 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memcpy(sll.sll_addr, mac, 6);
	unsigned long sent = 0;
	for (;;) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		if ((sent & 255) == 0 && poll(&p, 1, 0) > 0)
			break;
		memcpy(frame + 14, &sent, sizeof(sent));
		if (sendto(s, frame, size, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)size)
			sent++;
		else
			usleep(50); /* the device's queue is full */
	}
	printf("%lu\n", sent);
	return 0;
}
