/* SPDX-License-Identifier: Apache-2.0 */
/* churn: the creation-rate harness. For DURATION seconds it keeps PARALLEL
 * copies of a command running: each one must print MATCH on its stdout and
 * exit 0; as soon as one ends, the next starts. "%n" in an argument becomes
 * the cycle's number (for per-VM socket paths). One JSON object on stdout:
 *   completed, failed        cycles that ended within the window
 *   per_second               completed cycles in each second of the window
 *   match_us, exit_us        start -> MATCH, start -> exit: p50 p90 p99 max
 *   exit_us_all              every completed cycle's start -> exit
 *   cpu_user_us, cpu_sys_us  CPU of all the cycles (their rusage)
 *   failures                 the first few failures, with their reason
 * stdout and stderr of a cycle go to the same pipe; only MATCH is looked
 * for. A cycle that has not ended TIMEOUT_MS after its start is killed and
 * counted as failed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAR	     64
#define MAX_ARGS     128
#define MAX_CYCLES   (1 << 20)
#define MAX_FAILURES 8

extern char **environ;

struct slot {
	pid_t pid;
	int fd;
	unsigned long long t0, t_match;
	unsigned long n;
	char tail[256]; /* the last bytes read, for a MATCH split across reads */
	size_t tail_len;
	int matched;
};

static unsigned long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

static unsigned long long pct(unsigned long long *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static const char *match;
static char **tmpl;
static int tmpl_n;

static int start(struct slot *s, unsigned long n)
{
	static char bufs[MAX_ARGS][512];
	char *argv[MAX_ARGS + 1];
	for (int i = 0; i < tmpl_n; i++) {
		const char *t = tmpl[i], *p = strstr(t, "%n");
		if (p)
			snprintf(bufs[i], sizeof(bufs[i]), "%.*s%lu%s", (int)(p - t), t, n, p + 2);
		else
			snprintf(bufs[i], sizeof(bufs[i]), "%s", t);
		argv[i] = bufs[i];
	}
	argv[tmpl_n] = NULL;

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	s->t0 = now_us();
	int ret = posix_spawn(&s->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (ret) {
		close(p[0]);
		return -ret;
	}
	s->fd = p[0];
	s->n = n;
	s->t_match = 0;
	s->tail_len = 0;
	s->matched = 0;
	return 0;
}

#define READ_MAX 65536

static void scan(struct slot *s, const char *buf, size_t len)
{
	static char w[sizeof(s->tail) + READ_MAX];
	size_t mlen = strlen(match);
	if (s->matched)
		return;
	/* What is kept of the last read, then this one. */
	memcpy(w, s->tail, s->tail_len);
	memcpy(w + s->tail_len, buf, len);
	size_t total = s->tail_len + len;
	if (memmem(w, total, match, mlen)) {
		s->matched = 1;
		s->t_match = now_us();
		return;
	}
	size_t k = mlen - 1 < total ? mlen - 1 : total;
	memcpy(s->tail, w + total - k, k);
	s->tail_len = k;
}

int main(int argc, char **argv)
{
	int duration_s = 60, par = 4, timeout_ms = 10000, opt;
	while ((opt = getopt(argc, argv, "+d:j:m:t:")) != -1) {
		if (opt == 'd')
			duration_s = atoi(optarg);
		else if (opt == 'j')
			par = atoi(optarg);
		else if (opt == 'm')
			match = optarg;
		else if (opt == 't')
			timeout_ms = atoi(optarg);
		else
			return 2;
	}
	if (optind >= argc || !match || par < 1 || par > MAX_PAR || duration_s < 1 ||
	    argc - optind > MAX_ARGS || strlen(match) >= sizeof(((struct slot *)0)->tail)) {
		fprintf(stderr, "usage: churn -m MATCH [-d SECONDS] [-j PARALLEL] [-t TIMEOUT_MS] "
				"-- command...\n");
		return 2;
	}
	tmpl = argv + optind;
	tmpl_n = argc - optind;
	signal(SIGPIPE, SIG_IGN);

	static unsigned long long match_us[MAX_CYCLES], exit_us[MAX_CYCLES];
	unsigned long *per_second = calloc((size_t)duration_s, sizeof(*per_second));
	char failures[MAX_FAILURES][160];
	unsigned long completed = 0, failed = 0, next = 0;
	struct slot slots[MAX_PAR];
	struct pollfd pfd[MAX_PAR];
	unsigned long long t_start = now_us(), t_end = t_start + (unsigned long long)duration_s * 1000000;
	struct rusage ru0;
	getrusage(RUSAGE_CHILDREN, &ru0);

	for (int i = 0; i < par; i++) {
		int ret = start(&slots[i], next++);
		if (ret) {
			fprintf(stderr, "churn: cannot start %s: %s\n", tmpl[0], strerror(-ret));
			return 2;
		}
	}
	int running = par;
	while (running) {
		for (int i = 0; i < par; i++) {
			pfd[i].fd = slots[i].pid ? slots[i].fd : -1;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)par, 50) < 0 && errno != EINTR)
			return 2;
		unsigned long long now = now_us();
		for (int i = 0; i < par; i++) {
			struct slot *s = &slots[i];
			if (!s->pid)
				continue;
			int ended = 0;
			if (pfd[i].revents) {
				char buf[READ_MAX];
				ssize_t r = read(s->fd, buf, sizeof(buf));
				if (r > 0)
					scan(s, buf, (size_t)r);
				else if (r == 0 || errno != EINTR)
					ended = 1;
			}
			const char *why = NULL;
			if (!ended && now - s->t0 > (unsigned long long)timeout_ms * 1000) {
				kill(s->pid, SIGKILL);
				why = "timed out";
				ended = 1;
			}
			if (!ended)
				continue;
			int st;
			while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
				;
			unsigned long long t = now_us();
			close(s->fd);
			s->pid = 0;
			running--;
			if (!why && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				why = "bad exit";
			else if (!why && !s->matched)
				why = "no match";
			if (t <= t_end) {
				if (why) {
					if (failed < MAX_FAILURES)
						snprintf(failures[failed], sizeof(failures[failed]),
							 "cycle %lu: %s (status 0x%x)", s->n, why, st);
					failed++;
				} else if (completed < MAX_CYCLES) {
					match_us[completed] = s->t_match - s->t0;
					exit_us[completed] = t - s->t0;
					per_second[(t - t_start) / 1000000 < (unsigned)duration_s
						       ? (t - t_start) / 1000000
						       : (unsigned)duration_s - 1]++;
					completed++;
				}
			} else if (why) {
				/* Past the window a failure still counts: it is one. */
				if (failed < MAX_FAILURES)
					snprintf(failures[failed], sizeof(failures[failed]),
						 "cycle %lu (after the window): %s (status 0x%x)", s->n,
						 why, st);
				failed++;
			}
			if (t < t_end) {
				int ret = start(s, next++);
				if (ret) {
					fprintf(stderr, "churn: cannot start: %s\n", strerror(-ret));
					return 2;
				}
				running++;
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	long long user = (ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000ll +
			 (ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec);
	long long sys = (ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000ll +
			(ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec);

	printf("{\"duration_s\": %d, \"parallel\": %d, \"completed\": %lu, \"failed\": %lu, "
	       "\"started\": %lu, \"cpu_user_us\": %lld, \"cpu_sys_us\": %lld, \"per_second\": [",
	       duration_s, par, completed, failed, next, user, sys);
	for (int i = 0; i < duration_s; i++)
		printf("%s%lu", i ? ", " : "", per_second[i]);
	printf("], \"exit_us_all\": [");
	for (unsigned long i = 0; i < completed; i++)
		printf("%s%llu", i ? ", " : "", exit_us[i]);
	printf("]");
	qsort(match_us, completed, sizeof(match_us[0]), cmp_ull);
	qsort(exit_us, completed, sizeof(exit_us[0]), cmp_ull);
	const char *names[] = {"match_us", "exit_us"};
	unsigned long long *arrs[] = {match_us, exit_us};
	for (int k = 0; k < 2; k++)
		printf(", \"%s\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, \"max\": %llu}",
		       names[k], pct(arrs[k], completed, 0.5), pct(arrs[k], completed, 0.9),
		       pct(arrs[k], completed, 0.99), completed ? arrs[k][completed - 1] : 0);
	printf(", \"failures\": [");
	for (unsigned long i = 0; i < failed && i < MAX_FAILURES; i++)
		printf("%s\"%s\"", i ? ", " : "", failures[i]);
	printf("]}\n");
	free(per_second);
	return 0;
}
