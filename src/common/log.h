/* SPDX-License-Identifier: Apache-2.0 */
/* The logger. One line per message, Firecracker's format:
 *   2026-01-02T03:04:05.123456789 [<id>:<thread>[:<LEVEL>][:<file>:<line>]] <message>
 * Target: stdout until a path is set (a file or a FIFO, opened non-blocking;
 * a write that would block is dropped and counted). Messages a guest or a
 * client can trigger go through LOG_RL*, which allows 10 per call site per
 * 5 s and counts the rest. */
#ifndef EMBER_COMMON_LOG_H
#define EMBER_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

enum log_level {
	LOG_LVL_OFF = 0,
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

struct log_ratelimit {
	uint64_t window_start_ns;
	uint32_t passed;
	uint32_t suppressed;
};

#define LOG_RL_BURST	 10
#define LOG_RL_WINDOW_NS (5ull * 1000 * 1000 * 1000)

/* Parses Error|Warning|Warn|Info|Debug|Trace|Off, case-insensitively. */
int log_parse_level(const char *s, enum log_level *out) WUR;
const char *log_level_name(enum log_level l);

void log_set_instance_id(const char *id);
void log_set_level(enum log_level l);
enum log_level log_get_level(void);
void log_set_show_level(bool on);
void log_set_show_origin(bool on);
/* Keep only messages whose source file starts with this prefix ("" = all). */
#define LOG_MODULE_MAX 128 /* bytes of a module filter, with its NUL */
int log_set_module(const char *prefix) WUR;
/* Opens path for appending (created 0600 if missing), O_NONBLOCK so that a
 * FIFO without a reader never blocks ember. 0 or -errno. */
int log_set_path(const char *path) WUR;
/* The name shown for the calling thread: "main", "api", "vcpu 0". */
void log_set_thread_name(const char *name);
/* That name (async-signal-safe: a thread-local buffer). */
const char *log_thread_name(void);
/* Flush and close the target (at exit). */
void log_close(void);

uint64_t log_missed_count(void);
uint64_t log_rate_limited_count(void);

static inline bool log_enabled(enum log_level l)
{
	return l <= log_get_level();
}

void log_msg(enum log_level l, const char *file, int line, const char *fmt, ...) PRINTF(4, 5);
/* True when the call site may log now; counts the message otherwise. */
bool log_ratelimit_pass(struct log_ratelimit *rl, enum log_level l, const char *file, int line);

#define LOG_AT(l, ...)                                                                             \
	do {                                                                                       \
		if (log_enabled(l))                                                                \
			log_msg(l, __FILE__, __LINE__, __VA_ARGS__);                               \
	} while (0)

#define LOG_ERR(...)   LOG_AT(LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(...)  LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)
#define LOG_TRACE(...) LOG_AT(LOG_LVL_TRACE, __VA_ARGS__)

#define LOG_RL(l, ...)                                                                             \
	do {                                                                                       \
		static struct log_ratelimit rl__;                                                  \
		if (log_enabled(l) && log_ratelimit_pass(&rl__, l, __FILE__, __LINE__))            \
			log_msg(l, __FILE__, __LINE__, __VA_ARGS__);                               \
	} while (0)

#define LOG_RL_ERR(...)	  LOG_RL(LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_RL_WARN(...)  LOG_RL(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_RL_INFO(...)  LOG_RL(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_RL_DEBUG(...) LOG_RL(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
