/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_LINE_MAX 2048

static struct {
	int fd; /* -1: stdout */
	enum log_level level;
	bool show_level;
	bool show_origin;
	char id[65];
	char module[LOG_MODULE_MAX];
	pthread_mutex_t rl_lock;
	uint64_t missed;
	uint64_t rate_limited;
} lg = {
    .fd = -1,
    .level = LOG_LVL_INFO,
    .id = "anonymous-instance",
    .rl_lock = PTHREAD_MUTEX_INITIALIZER,
};

static __thread char thread_name[16] = "main";

static const char *const level_names[] = {
    [LOG_LVL_OFF] = "OFF",   [LOG_LVL_ERROR] = "ERROR", [LOG_LVL_WARN] = "WARN",
    [LOG_LVL_INFO] = "INFO", [LOG_LVL_DEBUG] = "DEBUG", [LOG_LVL_TRACE] = "TRACE",
};

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
	    {"off", LOG_LVL_OFF},     {"error", LOG_LVL_ERROR}, {"warning", LOG_LVL_WARN},
	    {"warn", LOG_LVL_WARN},   {"info", LOG_LVL_INFO},	{"debug", LOG_LVL_DEBUG},
	    {"trace", LOG_LVL_TRACE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

void log_set_instance_id(const char *id)
{
	snprintf(lg.id, sizeof(lg.id), "%s", id);
}

void log_set_level(enum log_level l)
{
	__atomic_store_n(&lg.level, l, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&lg.level, __ATOMIC_RELAXED);
}

void log_set_show_level(bool on)
{
	lg.show_level = on;
}

void log_set_show_origin(bool on)
{
	lg.show_origin = on;
}

int log_set_module(const char *prefix)
{
	if (strlen(prefix) >= sizeof(lg.module))
		return -ENAMETOOLONG;
	snprintf(lg.module, sizeof(lg.module), "%s", prefix);
	return 0;
}

int log_set_path(const char *path)
{
	int fd = open_sink(path);
	if (fd < 0)
		return fd;
	int old = lg.fd;
	__atomic_store_n(&lg.fd, fd, __ATOMIC_RELEASE);
	if (old >= 0)
		close(old);
	return 0;
}

void log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

const char *log_thread_name(void)
{
	return thread_name;
}

void log_close(void)
{
	int fd = __atomic_exchange_n(&lg.fd, -1, __ATOMIC_ACQ_REL);
	if (fd >= 0)
		close(fd);
}

uint64_t log_missed_count(void)
{
	return __atomic_load_n(&lg.missed, __ATOMIC_RELAXED);
}

uint64_t log_rate_limited_count(void)
{
	return __atomic_load_n(&lg.rate_limited, __ATOMIC_RELAXED);
}

static size_t format_prefix(char *buf, size_t cap, enum log_level l, const char *file, int line)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec,
			 lg.id, thread_name);
	if (lg.show_level)
		n += snprintf(buf + n, cap - (size_t)n, ":%s", log_level_name(l));
	if (lg.show_origin)
		n += snprintf(buf + n, cap - (size_t)n, ":%s:%d", file, line);
	n += snprintf(buf + n, cap - (size_t)n, "] ");
	return (size_t)n;
}

void log_msg(enum log_level l, const char *file, int line, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	if (lg.module[0] && strncmp(file, lg.module, strlen(lg.module)) != 0)
		return;
	size_t n = format_prefix(buf, sizeof(buf), l, file, line);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += MIN((size_t)m, sizeof(buf) - n - 2);
	buf[n++] = '\n';

	int fd = __atomic_load_n(&lg.fd, __ATOMIC_ACQUIRE);
	if (fd < 0)
		fd = STDOUT_FILENO;
	/* One write per line so lines from different threads never interleave;
	 * a full pipe drops the line instead of blocking the caller. */
	ssize_t w;
	do
		w = write(fd, buf, n);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)n)
		__atomic_add_fetch(&lg.missed, 1, __ATOMIC_RELAXED);
}

bool log_ratelimit_pass(struct log_ratelimit *rl, enum log_level l, const char *file, int line)
{
	uint64_t now = now_mono_ns();
	uint32_t suppressed = 0;
	bool pass;

	pthread_mutex_lock(&lg.rl_lock);
	if (!rl->window_start_ns || now - rl->window_start_ns >= LOG_RL_WINDOW_NS) {
		suppressed = rl->suppressed;
		rl->window_start_ns = now;
		rl->passed = 0;
		rl->suppressed = 0;
	}
	pass = rl->passed < LOG_RL_BURST;
	if (pass)
		rl->passed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&lg.rl_lock);

	if (!pass)
		__atomic_add_fetch(&lg.rate_limited, 1, __ATOMIC_RELAXED);
	if (suppressed)
		log_msg(l, file, line,
			"%u messages from this place were suppressed by rate limiting", suppressed);
	return pass;
}
