/* SPDX-License-Identifier: Apache-2.0 */
/* ember: flags -> configuration -> VM -> run -> exit code. Only this file
 * (and the VM builder, through its return value) turns an error into a
 * process exit. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <time.h>

#include "api/api.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/version.h"
#include "seccomp/seccomp.h"
#include "vmm/config.h"
#include "vmm/term.h"
#include "vmm/vmm.h"

#define DEFAULT_API_SOCK "/run/firecracker.socket"
#define ID_MAX		 64

struct args {
	const char *api_sock;
	const char *id;
	const char *config_file;
	const char *log_path;
	const char *level;
	const char *module;
	const char *boot_protocol;
	const char *metrics_path;
	const char *max_payload, *mmds_size_limit;
	const char *start_time_us, *start_time_cpu_us, *parent_cpu_time_us;
	const char *seccomp_filter, *metadata, *describe_snapshot;
	bool no_api, show_level, show_log_origin, boot_timer, help, version, no_seccomp, enable_pci,
	    snapshot_version;
};

enum {
	OPT_API_SOCK = 1,
	OPT_ID,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_LOG_PATH,
	OPT_LEVEL,
	OPT_MODULE,
	OPT_SHOW_LEVEL,
	OPT_SHOW_LOG_ORIGIN,
	OPT_BOOT_TIMER,
	OPT_VERSION,
	OPT_HELP,
	OPT_BOOT_PROTOCOL,
	OPT_METRICS_PATH,
	OPT_MAX_PAYLOAD,
	OPT_MMDS_SIZE_LIMIT,
	OPT_START_TIME_US,
	OPT_START_TIME_CPU_US,
	OPT_PARENT_CPU_TIME_US,
	OPT_SECCOMP_FILTER,
	OPT_NO_SECCOMP,
	OPT_METADATA,
	OPT_ENABLE_PCI,
	OPT_SNAPSHOT_VERSION,
	OPT_DESCRIBE_SNAPSHOT,
	OPT_COUNT
};

static const struct option long_opts[] = {
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"id", required_argument, NULL, OPT_ID},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"module", required_argument, NULL, OPT_MODULE},
    {"show-level", no_argument, NULL, OPT_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, OPT_SHOW_LOG_ORIGIN},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {"boot-protocol", required_argument, NULL, OPT_BOOT_PROTOCOL},
    {"metrics-path", required_argument, NULL, OPT_METRICS_PATH},
    {"http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD},
    {"mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT},
    {"start-time-us", required_argument, NULL, OPT_START_TIME_US},
    {"start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US},
    {"parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_TIME_US},
    {"seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"enable-pci", no_argument, NULL, OPT_ENABLE_PCI},
    {"snapshot-version", no_argument, NULL, OPT_SNAPSHOT_VERSION},
    {"describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT},
    {NULL, 0, NULL, 0},
};

static const char usage[] =
    "ember v" EMBER_VERSION " (Firecracker API " EMBER_FC_API_VERSION ")\n"
    "\n"
    "Usage: ember [OPTIONS]\n"
    "\n"
    "A KVM virtual machine monitor for microVMs, driven like Firecracker.\n"
    "\n"
    "  --config-file PATH        boot the VM described by this Firecracker-style JSON file\n"
    "  --no-api                  run without the API socket (needs --config-file)\n"
    "  --api-sock PATH           API socket path (default " DEFAULT_API_SOCK ")\n"
    "  --http-api-max-payload-size N  largest API request body (default 51200)\n"
    "  --metrics-path PATH       write metrics (JSON lines) to this file or named pipe\n"
    "  --id ID                   instance id, 1-64 of [A-Za-z0-9-] (default "
    "anonymous-instance)\n"
    "  --log-path PATH           log to this file or named pipe instead of stdout\n"
    "  --level LEVEL             Error, Warning, Info (default), Debug, Trace or Off\n"
    "  --module PREFIX           only log messages from source files with this prefix\n"
    "  --show-level              add the level to each log line\n"
    "  --show-log-origin         add file:line to each log line\n"
    "  --boot-timer              add the boot-timer device (guest writes 123 to 0xc0000000)\n"
    "  --boot-protocol P         auto (default: PVH when the kernel has a PVH note),\n"
    "                            linux (64-bit Linux boot protocol) or pvh\n"
    "  --no-seccomp              run without the seccomp filters (debugging only)\n"
    "  --seccomp-filter FILE     use the filters in FILE (docs/seccomp.md)\n"
    "  --mmds-size-limit N, --start-time-us T, --start-time-cpu-us T,\n"
    "  --parent-cpu-time-us T    Firecracker's, see README.md\n"
    "  --version                 print the Firecracker API version (as Firecracker does)\n"
    "  --help                    print this help and exit\n"
    "\n"
    "Exit codes: 0 the guest stopped (reset or shutdown), 1 runtime error, 2 unexpected\n"
    "error, 152 bad configuration, 153 bad arguments; see README.md.\n";

static bool log_to_file;

/* One clear line on stderr, and in the log when it goes to a file. */
static void report(const char *fmt, ...) PRINTF(1, 2);
static void report(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ember: %s\n", msg);
	if (log_to_file)
		LOG_ERR("%s", msg);
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return false;
	return true;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	bool seen[OPT_COUNT] = {false};
	int c;

	memset(a, 0, sizeof(*a));
	a->api_sock = DEFAULT_API_SOCK;
	a->id = "anonymous-instance";
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			report("unknown or incomplete argument '%s' (see --help)",
			       argv[optind - 1]);
			return -1;
		}
		if (seen[c]) {
			report("argument '%s' given more than once", argv[optind - 1]);
			return -1;
		}
		seen[c] = true;
		switch (c) {
		case OPT_API_SOCK:
			a->api_sock = optarg;
			break;
		case OPT_ID:
			a->id = optarg;
			break;
		case OPT_CONFIG_FILE:
			a->config_file = optarg;
			break;
		case OPT_NO_API:
			a->no_api = true;
			break;
		case OPT_LOG_PATH:
			a->log_path = optarg;
			break;
		case OPT_LEVEL:
			a->level = optarg;
			break;
		case OPT_MODULE:
			a->module = optarg;
			break;
		case OPT_SHOW_LEVEL:
			a->show_level = true;
			break;
		case OPT_SHOW_LOG_ORIGIN:
			a->show_log_origin = true;
			break;
		case OPT_BOOT_TIMER:
			a->boot_timer = true;
			break;
		case OPT_VERSION:
			a->version = true;
			break;
		case OPT_HELP:
			a->help = true;
			break;
		case OPT_BOOT_PROTOCOL:
			a->boot_protocol = optarg;
			break;
		case OPT_METRICS_PATH:
			a->metrics_path = optarg;
			break;
		case OPT_MAX_PAYLOAD:
			a->max_payload = optarg;
			break;
		case OPT_MMDS_SIZE_LIMIT:
			a->mmds_size_limit = optarg;
			break;
		case OPT_START_TIME_US:
			a->start_time_us = optarg;
			break;
		case OPT_START_TIME_CPU_US:
			a->start_time_cpu_us = optarg;
			break;
		case OPT_PARENT_CPU_TIME_US:
			a->parent_cpu_time_us = optarg;
			break;
		case OPT_SECCOMP_FILTER:
			a->seccomp_filter = optarg;
			break;
		case OPT_NO_SECCOMP:
			a->no_seccomp = true;
			break;
		case OPT_METADATA:
			a->metadata = optarg;
			break;
		case OPT_ENABLE_PCI:
			a->enable_pci = true;
			break;
		case OPT_SNAPSHOT_VERSION:
			a->snapshot_version = true;
			break;
		case OPT_DESCRIBE_SNAPSHOT:
			a->describe_snapshot = optarg;
			break;
		}
	}
	if (optind < argc) {
		report("unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (!valid_id(a->id)) {
		report("--id: '%s' must be 1 to %d characters of [A-Za-z0-9-]", a->id, ID_MAX);
		return -1;
	}
	if (a->no_api && !a->config_file && !a->help && !a->version) {
		report("--no-api needs --config-file");
		return -1;
	}
	if (a->seccomp_filter && a->no_seccomp) {
		report("--seccomp-filter and --no-seccomp exclude each other");
		return -1;
	}
	/* Firecracker's flags for what ember does not have: refused by name. */
	const char *missing = a->enable_pci	     ? "--enable-pci (PCI devices)"
			      : a->metadata	     ? "--metadata (MMDS)"
			      : a->snapshot_version  ? "--snapshot-version (snapshots)"
			      : a->describe_snapshot ? "--describe-snapshot (snapshots)"
						     : NULL;
	if (missing) {
		report("%s is not supported by this version of ember", missing);
		return -1;
	}
	return 0;
}

/* A decimal u64 flag value; false when malformed. */
static bool parse_u64_arg(const char *flag, const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-') {
		report("%s: '%s' is not a non-negative integer", flag, s);
		return false;
	}
	*out = v;
	return true;
}

static int setup_logger(const struct args *a, const struct logger_cfg *l)
{
	const char *path = l->log_path ? l->log_path : a->log_path;
	enum log_level level;
	int ret;

	log_set_instance_id(a->id);
	if (a->level) {
		if (log_parse_level(a->level, &level)) {
			report(
			    "--level: '%s' is not one of Error, Warning, Info, Debug, Trace, Off",
			    a->level);
			return EXIT_ARG_PARSING;
		}
		log_set_level(level);
	}
	if (l->has_level)
		log_set_level(l->level);
	log_set_show_level(a->show_level || l->show_level);
	log_set_show_origin(a->show_log_origin || l->show_log_origin);
	const char *module = l->module ? l->module : a->module;
	if (module && log_set_module(module)) {
		report("log module filter '%s' is too long", module);
		return EXIT_ARG_PARSING;
	}
	if (path) {
		if ((ret = log_set_path(path))) {
			report("cannot open the log file '%s': %s", path, strerror(-ret));
			return l->log_path ? EXIT_BAD_CONFIG : EXIT_GENERIC;
		}
		log_to_file = true;
	}
	return 0;
}

/* Fatal signals: restore the terminal and leave with Firecracker's code. */
static void fatal_signal(int sig)
{
	static const struct {
		int sig, code;
		const char *msg;
	} map[] = {
	    {SIGBUS, EXIT_SIGBUS, "ember: fatal signal SIGBUS\n"},
	    {SIGSEGV, EXIT_SIGSEGV, "ember: fatal signal SIGSEGV\n"},
	    {SIGXFSZ, EXIT_SIGXFSZ, "ember: fatal signal SIGXFSZ\n"},
	    {SIGXCPU, EXIT_SIGXCPU, "ember: fatal signal SIGXCPU\n"},
	    {SIGILL, EXIT_SIGILL, "ember: fatal signal SIGILL\n"},
	};
	term_restore();
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i].sig == sig) {
			ssize_t unused = write(STDERR_FILENO, map[i].msg, strlen(map[i].msg));
			(void)unused;
			_exit(map[i].code);
		}
	}
	_exit(EXIT_UNEXPECTED);
}

static void abort_signal(int sig)
{
	term_restore();
	signal(SIGABRT, SIG_DFL);
	raise(sig);
}

static void install_signal_handlers(void)
{
	static uint8_t altstack[64 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa;
	const int fatal[] = {SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGILL};

	(void)sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_ONSTACK;
	sa.sa_handler = fatal_signal;
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		sigaction(fatal[i], &sa, NULL);
	sa.sa_handler = abort_signal;
	sigaction(SIGABRT, &sa, NULL);
	/* A closed console pipe is a failed write, counted, not a death. */
	signal(SIGPIPE, SIG_IGN);
}

static int parse_boot_pref(const char *s, enum boot_pref *p)
{
	if (!s || !strcmp(s, "auto"))
		*p = BOOT_PREF_AUTO;
	else if (!strcmp(s, "linux"))
		*p = BOOT_PREF_LINUX;
	else if (!strcmp(s, "pvh"))
		*p = BOOT_PREF_PVH;
	else
		return -EINVAL;
	return 0;
}

/* Firecracker's startup-time metrics start at the jailer's clock when it
 * passes one, else at ours. */
static int start_times(const struct args *a, uint64_t *us, uint64_t *cpu_us)
{
	uint64_t parent = 0;
	*us = now_mono_us();
	*cpu_us = process_cpu_us();
	if ((a->start_time_us && !parse_u64_arg("--start-time-us", a->start_time_us, us)) ||
	    (a->start_time_cpu_us &&
	     !parse_u64_arg("--start-time-cpu-us", a->start_time_cpu_us, cpu_us)) ||
	    (a->parent_cpu_time_us &&
	     !parse_u64_arg("--parent-cpu-time-us", a->parent_cpu_time_us, &parent)))
		return -1;
	if (a->start_time_cpu_us)
		*cpu_us -= MIN(parent, *cpu_us);
	return 0;
}

static int start_api(struct vmm *v, const struct args *a, char *err, size_t errlen)
{
	struct api_limits lim = {.max_payload = API_DEFAULT_MAX_PAYLOAD,
				 .max_conns = API_DEFAULT_MAX_CONNS};
	struct api_server *api;
	uint64_t n;
	int ret;

	if (a->max_payload) {
		if (!parse_u64_arg("--http-api-max-payload-size", a->max_payload, &n))
			return EXIT_ARG_PARSING;
		lim.max_payload = n;
	}
	if ((ret = api_server_start(&api, a->api_sock, &lim, err, errlen)))
		return EXIT_GENERIC;
	if ((ret = vmm_attach_api(v, api))) {
		api_server_stop(api);
		snprintf(err, errlen, "API mailbox: %s", strerror(-ret));
		return EXIT_GENERIC;
	}
	v->api_ready_us = now_mono_us() - v->start_us;
	v->api_ready_cpu_us = process_cpu_us() - v->start_cpu_us;
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	struct vm_config cfg;
	struct vm_opts opts = {
	    .kvm_path = "/dev/kvm", .console_in = STDIN_FILENO, .console_out = STDOUT_FILENO};
	struct vmm vmm;
	uint64_t start_us, start_cpu_us, n;
	char err[1024];
	int code;

	if (parse_args(argc, argv, &a))
		return EXIT_ARG_PARSING;
	if (a.help) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (a.version) {
		/* Exactly Firecracker's shape: tools split it on spaces. */
		printf("Firecracker v%s\n\n", EMBER_FC_API_VERSION);
		return EXIT_OK;
	}
	if (parse_boot_pref(a.boot_protocol, &opts.boot_pref)) {
		report("--boot-protocol: '%s' is not one of auto, linux, pvh", a.boot_protocol);
		return EXIT_ARG_PARSING;
	}
	if (start_times(&a, &start_us, &start_cpu_us) ||
	    (a.mmds_size_limit && !parse_u64_arg("--mmds-size-limit", a.mmds_size_limit, &n)))
		return EXIT_ARG_PARSING;
	opts.boot_timer = a.boot_timer;
	install_signal_handlers();
	/* What the filtered threads must not need to do later: read the
	 * timezone, seed jansson's hash tables. */
	tzset();
	json_object_seed(0);
	seccomp_prepare_sanitizers();
	if (a.no_seccomp) {
		seccomp_disable();
	} else if (a.seccomp_filter && seccomp_load_file(a.seccomp_filter, err, sizeof(err))) {
		report("--seccomp-filter: %s", err);
		return EXIT_BAD_CONFIG;
	}
	if (seccomp_enabled() && seccomp_install_sigsys()) {
		report("cannot install the SIGSYS handler");
		return EXIT_GENERIC;
	}
	if (vmm_block_stop_signals()) {
		report("cannot block the stop signals");
		return EXIT_GENERIC;
	}

	config_init(&cfg);
	if (a.config_file && config_load_file(a.config_file, &cfg, err, sizeof(err))) {
		log_set_instance_id(a.id);
		report("%s: %s", a.config_file, err);
		config_free(&cfg);
		return EXIT_BAD_CONFIG;
	}
	if ((code = setup_logger(&a, &cfg.logger))) {
		config_free(&cfg);
		return code;
	}
	LOG_INFO("Running ember v%s", EMBER_VERSION);

	if (vmm_init(&vmm, &cfg, &opts, a.id, start_us, start_cpu_us)) {
		report("cannot set up the VMM's event loop: %s", strerror(errno));
		config_free(&cfg);
		return EXIT_GENERIC;
	}
	if (a.metrics_path &&
	    (code = metrics_set_path(&vmm.metrics, a.metrics_path, false, NULL))) {
		report("--metrics-path: cannot open '%s': %s", a.metrics_path, strerror(-code));
		code = EXIT_GENERIC;
		goto out;
	}
	if (!a.no_api && (code = start_api(&vmm, &a, err, sizeof(err)))) {
		report("%s", err);
		goto out;
	}
	if (a.config_file && (code = vmm_boot(&vmm, err, sizeof(err)))) {
		report("%s", err);
		goto out;
	}
	code = vmm_run(&vmm);
	LOG_INFO("%s; exit code %d", vmm.vm ? "VM stopped" : "stopping", code);
out:
	vmm_shutdown(&vmm);
	log_close();
	return code;
}
