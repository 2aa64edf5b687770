/* SPDX-License-Identifier: Apache-2.0 */
/* apilat: API latency. Sends N requests, one at a time, over one
 * keep-alive connection to a Unix socket and prints the p50, p90, p99 and
 * max round trip in microseconds (request written -> whole answer read).
 *   apilat SOCKET N METHOD PATH [BODY] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Reads one answer: the head, then Content-Length bytes. */
static int read_answer(int fd)
{
	char buf[65536];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		size_t body = 0;
		char *cl = strcasestr(buf, "Content-Length:");
		if (cl && cl < end)
			body = strtoul(cl + 15, NULL, 10);
		if (len >= (size_t)(end + 4 - buf) + body)
			return atoi(buf + 9);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int n = atoi(argv[2]);
	const char *body = argc > 5 ? argv[5] : "";
	char req[4096];
	int rl = snprintf(req, sizeof(req),
			  "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n%s",
			  argv[3], argv[4], strlen(body), body);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("apilat: connect");
		return 1;
	}
	double *t = malloc(sizeof(double) * (size_t)n);
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (write(fd, req, (size_t)rl) != rl || read_answer(fd) < 200) {
			fprintf(stderr, "apilat: request %d failed\n", i);
			return 1;
		}
		t[i] = now_us() - t0;
	}
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("{\"n\": %d, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       n, t[n / 2], t[n * 9 / 10], t[n * 99 / 100], t[n - 1]);
	return 0;
}
