/* SPDX-License-Identifier: Apache-2.0 */
/* firstbyte: runs a command once and reports, as one JSON object,
 *   first_byte_us  exec -> the first byte on its stdout
 *   match_us       exec -> the first line containing MATCH (if -m given)
 *   exit_us        exec -> exit
 *   cpu_us         user + system CPU of the command (and its children)
 *   max_rss_kib    peak RSS
 *   status         exit status
 * Output of the command is discarded. Used by bench/run to compare ember
 * and QEMU on the same guest, interleaved. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	const char *match = NULL;
	int timeout_ms = 30000, opt;
	while ((opt = getopt(argc, argv, "+m:t:")) != -1) {
		if (opt == 'm')
			match = optarg;
		else if (opt == 't')
			timeout_ms = atoi(optarg);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: firstbyte [-m MATCH] [-t TIMEOUT_MS] -- command...\n");
		return 2;
	}
	int p[2];
	if (pipe(p) < 0)
		return 2;
	unsigned long long t0 = now_us();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		int devnull = open("/dev/null", 0);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(p[1]);
	unsigned long long first = 0, matched = 0;
	char buf[65536], line[8192];
	size_t llen = 0;
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		long left = timeout_ms - (long)((now_us() - t0) / 1000);
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (!first)
			first = now_us() - t0;
		for (ssize_t i = 0; match && !matched && i < n; i++) {
			if (buf[i] == '\n' || llen == sizeof(line) - 1) {
				line[llen] = '\0';
				if (strstr(line, match))
					matched = now_us() - t0;
				llen = 0;
			} else {
				line[llen++] = buf[i];
			}
		}
	}
	int status;
	struct rusage ru;
	wait4(pid, &status, 0, &ru);
	unsigned long long end = now_us() - t0;
	unsigned long long cpu = (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
					 1000000ull +
				 (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	printf("{\"first_byte_us\": %llu, \"match_us\": %llu, \"exit_us\": %llu, \"cpu_us\": %llu, "
	       "\"max_rss_kib\": %ld, \"status\": %d}\n",
	       first, matched, end, cpu, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
