/* SPDX-License-Identifier: Apache-2.0 */
/* The logger: level names, Firecracker's line format in a file set with
 * log_set_path, level and module filters, the per-call-site rate limiter,
 * and dropped lines on a full FIFO. */
#include "unit.h"

#include <regex.h>
#include <sys/stat.h>

#include "common/log.h"

#define TS "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}"

struct fx {
	char path[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || ut_write_file(f->path, "log", "", 0) || log_set_path(f->path))
		return -1;
	log_set_level(LOG_LVL_INFO);
	log_set_show_level(false);
	log_set_show_origin(false);
	log_set_instance_id("vm-1");
	log_set_thread_name("unit");
	if (log_set_module(""))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	log_close();
	unlink(f->path);
	free(f);
	return 0;
}

/* The log so far (malloc'd) and its number of lines. */
static char *contents(struct fx *f, unsigned *lines)
{
	char *s = ut_slurp(f->path, NULL);
	assert_non_null(s);
	if (lines) {
		*lines = 0;
		for (char *p = s; *p; p++)
			*lines += *p == '\n';
	}
	return s;
}

static void assert_match(const char *text, const char *re)
{
	regex_t r;
	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	int ret = regexec(&r, text, 0, NULL, 0);
	regfree(&r);
	if (ret)
		fail_msg("\"%s\" does not match /%s/", text, re);
}

/* ---------------------------------------------------------------- levels */

static void parse_level(void **state)
{
	static const struct {
		const char *s;
		enum log_level l;
	} ok[] = {
		{"Error", LOG_LVL_ERROR},  {"error", LOG_LVL_ERROR}, {"ERROR", LOG_LVL_ERROR},
		{"Warning", LOG_LVL_WARN}, {"warn", LOG_LVL_WARN},   {"WARN", LOG_LVL_WARN},
		{"Info", LOG_LVL_INFO},    {"debug", LOG_LVL_DEBUG}, {"TrAcE", LOG_LVL_TRACE},
		{"off", LOG_LVL_OFF},      {"Off", LOG_LVL_OFF},
	};
	static const char *const bad[] = {"verbose", "", "warnings", "inf", " info", "info ", "4"};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		enum log_level l = LOG_LVL_TRACE + 1;
		if (log_parse_level(ok[i].s, &l) != 0 || l != ok[i].l)
			fail_msg("\"%s\" parsed as %d", ok[i].s, (int)l);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum log_level l = LOG_LVL_DEBUG;
		assert_errno(log_parse_level(bad[i], &l), -EINVAL);
		assert_int_equal(l, LOG_LVL_DEBUG);
	}
	assert_string_equal(log_level_name(LOG_LVL_OFF), "OFF");
	assert_string_equal(log_level_name(LOG_LVL_ERROR), "ERROR");
	assert_string_equal(log_level_name(LOG_LVL_WARN), "WARN");
	assert_string_equal(log_level_name(LOG_LVL_INFO), "INFO");
	assert_string_equal(log_level_name(LOG_LVL_DEBUG), "DEBUG");
	assert_string_equal(log_level_name(LOG_LVL_TRACE), "TRACE");
	assert_string_equal(log_level_name((enum log_level)99), "?");
}

static void level_filter(void **state)
{
	struct fx *f = *state;
	unsigned n;

	assert_int_equal(log_get_level(), LOG_LVL_INFO);
	LOG_DEBUG("hidden debug");
	LOG_INFO("shown info");
	log_set_level(LOG_LVL_WARN);
	assert_false(log_enabled(LOG_LVL_INFO));
	assert_true(log_enabled(LOG_LVL_ERROR));
	LOG_INFO("hidden info");
	LOG_WARN("shown warn");
	LOG_ERR("shown error");
	log_set_level(LOG_LVL_OFF);
	LOG_ERR("hidden error");
	log_set_level(LOG_LVL_TRACE);
	LOG_TRACE("shown trace");
	char *s = contents(f, &n);
	assert_int_equal(n, 4);
	assert_null(strstr(s, "hidden"));
	assert_substr(s, "] shown info\n");
	assert_substr(s, "] shown warn\n");
	assert_substr(s, "] shown error\n");
	assert_substr(s, "] shown trace\n");
	free(s);
}

/* ---------------------------------------------------------------- format */

static void line_format(void **state)
{
	struct fx *f = *state;
	unsigned n;

	LOG_INFO("hello %d", 42);
	char *s = contents(f, &n);
	assert_int_equal(n, 1);
	assert_match(s, "^" TS " \\[vm-1:unit\\] hello 42\n$");
	free(s);
}

static void line_format_level_and_origin(void **state)
{
	struct fx *f = *state;
	char re[256];
	int line;

	log_set_show_level(true);
	LOG_WARN("with level");
	log_set_show_origin(true);
	line = __LINE__; LOG_ERR("with both");
	log_set_show_level(false);
	LOG_INFO("origin only");
	char *s = contents(f, NULL);
	assert_match(s, "^" TS " \\[vm-1:unit:WARN\\] with level$");
	snprintf(re, sizeof(re),
		 "^" TS " \\[vm-1:unit:ERROR:tests/unit/test_log\\.c:%d\\] with both$", line);
	assert_match(s, re);
	assert_match(s, "^" TS " \\[vm-1:unit:tests/unit/test_log\\.c:[0-9]+\\] origin only$");
	free(s);
}

static void long_names_and_messages(void **state)
{
	struct fx *f = *state;
	char id[100], msg[3000];
	unsigned n;

	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	log_set_instance_id(id);
	log_set_thread_name("a-very-long-thread-name");
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	LOG_INFO("%s", msg);
	char *s = contents(f, &n);
	/* One line, cut to the line limit, still ending in a newline. */
	assert_int_equal(n, 1);
	size_t len = strlen(s);
	assert_true(len <= 2048);
	assert_true(len > 1900);
	assert_int_equal(s[len - 1], '\n');
	assert_int_equal(s[len - 2], 'x');
	/* The id is kept to 64 characters, the thread name to 15. */
	assert_substr(s, " [iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii:"
			 "a-very-long-thr] xxx");
	free(s);
}

static void stdout_until_path_set(void **state)
{
	char path[PATH_MAX];
	int saved = dup(STDOUT_FILENO);

	assert_int_equal(ut_write_file(path, "stdout", "", 0), 0);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(saved >= 0 && fd >= 0);
	fflush(stdout);
	log_close();
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	LOG_INFO("to stdout");
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	close(fd);
	char *s = ut_slurp(path, NULL);
	assert_match(s, "^" TS " \\[vm-1:unit\\] to stdout\n$");
	free(s);
	unlink(path);
}

/* ---------------------------------------------------------------- targets */

static void set_path_errors(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/no/such/dir.log", ut_tmpdir);
	assert_errno(log_set_path(path), -ENOENT);
	LOG_INFO("still to the old file");
	char *s = contents(f, NULL);
	assert_substr(s, "still to the old file");
	free(s);

	/* A new file is created 0600. */
	mode_t old = umask(022);
	snprintf(path, sizeof(path), "%s/new.log", ut_tmpdir);
	assert_int_equal(log_set_path(path), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	LOG_INFO("to the new file");
	s = ut_slurp(path, NULL);
	assert_substr(s, "to the new file");
	free(s);
	unlink(path);
}

static void full_fifo_drops_lines(void **state)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/log.fifo", ut_tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* No reader yet: opening neither blocks nor fails, and a full pipe
	 * drops lines instead of blocking. */
	assert_int_equal(log_set_path(path), 0);
	uint64_t missed = log_missed_count();
	for (int k = 0; k < 100000 && log_missed_count() == missed; k++)
		LOG_INFO("nobody reads line %d", k);
	assert_int_equal(log_missed_count(), missed + 1);

	/* A reader that comes later gets what fits from then on. */
	int rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(log_set_path(path), 0);
	char buf[4096];
	while (read(rfd, buf, sizeof(buf)) > 0) /* what the first phase left */
		;
	missed = log_missed_count();
	int i;
	for (i = 0; i < 100000 && log_missed_count() == missed; i++)
		LOG_INFO("filling the pipe, line %d", i);
	assert_int_equal(log_missed_count(), missed + 1);
	assert_true(i > 10);
	/* Draining lets lines through again. */
	while (read(rfd, buf, sizeof(buf)) > 0)
		;
	LOG_INFO("after draining");
	assert_int_equal(log_missed_count(), missed + 1);
	close(rfd);
	log_close();
	unlink(path);
}

/* ---------------------------------------------------------------- filters */

static void module_filter(void **state)
{
	struct fx *f = *state;
	char prefix[200];
	unsigned n;

	assert_int_equal(log_set_module("src/"), 0);
	LOG_INFO("filtered out");
	log_msg(LOG_LVL_INFO, "src/devices/legacy/serial.c", 7, "from src");
	assert_int_equal(log_set_module("tests/unit/"), 0);
	LOG_INFO("from the test");
	log_msg(LOG_LVL_INFO, "src/bus/bus.c", 1, "filtered too");
	assert_int_equal(log_set_module(""), 0);
	LOG_INFO("everything again");

	memset(prefix, 'm', sizeof(prefix));
	prefix[128] = '\0';
	assert_errno(log_set_module(prefix), -ENAMETOOLONG);
	prefix[127] = '\0';
	assert_int_equal(log_set_module(prefix), 0);
	LOG_INFO("filtered by the long prefix");
	assert_int_equal(log_set_module(""), 0);

	char *s = contents(f, &n);
	assert_int_equal(n, 3);
	assert_null(strstr(s, "filtered"));
	assert_substr(s, "] from src\n");
	assert_substr(s, "] from the test\n");
	assert_substr(s, "] everything again\n");
	free(s);
}

static void rate_limit_macro(void **state)
{
	struct fx *f = *state;
	uint64_t before = log_rate_limited_count();
	unsigned n;

	for (int i = 0; i < 15; i++)
		LOG_RL_INFO("noisy %d", i); /* one call site */
	assert_int_equal(log_rate_limited_count(), before + 5);
	char *s = contents(f, &n);
	assert_int_equal(n, 10);
	assert_substr(s, "] noisy 0\n");
	assert_substr(s, "] noisy 9\n");
	assert_null(strstr(s, "noisy 10"));
	free(s);

	/* Below the level, the limiter is not even consulted. */
	log_set_level(LOG_LVL_WARN);
	for (int i = 0; i < 3; i++)
		LOG_RL_INFO("quiet %d", i);
	assert_int_equal(log_rate_limited_count(), before + 5);
}

static void rate_limit_window(void **state)
{
	struct fx *f = *state;
	struct log_ratelimit rl = {0};
	uint64_t before = log_rate_limited_count();

	for (int i = 0; i < LOG_RL_BURST; i++)
		assert_true(log_ratelimit_pass(&rl, LOG_LVL_INFO, "x.c", 1));
	assert_false(log_ratelimit_pass(&rl, LOG_LVL_INFO, "x.c", 1)); /* the 11th */
	assert_false(log_ratelimit_pass(&rl, LOG_LVL_INFO, "x.c", 1));
	assert_int_equal(rl.passed, 10);
	assert_int_equal(rl.suppressed, 2);
	assert_int_equal(log_rate_limited_count(), before + 2);

	/* A new window: passes again and reports what was suppressed. */
	log_set_show_origin(true);
	rl.window_start_ns -= LOG_RL_WINDOW_NS;
	assert_true(log_ratelimit_pass(&rl, LOG_LVL_WARN, "src/dev.c", 77));
	assert_int_equal(rl.passed, 1);
	assert_int_equal(rl.suppressed, 0);
	char *s = contents(f, NULL);
	assert_substr(s, ":src/dev.c:77] 2 messages from this place were suppressed by "
			 "rate limiting\n");
	free(s);
	assert_int_equal(log_rate_limited_count(), before + 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(parse_level),
	T(level_filter),
	T(line_format),
	T(line_format_level_and_origin),
	T(long_names_and_messages),
	T(stdout_until_path_set),
	T(set_path_errors),
	T(full_fifo_drops_lines),
	T(module_filter),
	T(rate_limit_macro),
	T(rate_limit_window),
};

UT_MAIN(tests, ut_tmpdir_setup, ut_tmpdir_teardown)
