/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/term.h"

#include <termios.h>

static struct termios saved;
static volatile int saved_fd = -1;

int term_raw(int fd)
{
	struct termios t;
	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &saved) < 0)
		return -errno;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	t.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	saved_fd = fd;
	return 0;
}

void term_restore(void)
{
	int fd = saved_fd;
	if (fd >= 0) {
		tcsetattr(fd, TCSANOW, &saved);
		saved_fd = -1;
	}
}
