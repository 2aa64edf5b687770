/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/metrics.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "api/api.h"
#include "common/log.h"
#include "vmm/vmm.h"

int metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->prev = json_object();
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!m->prev || m->timer_fd < 0)
		return -ENOMEM;
	return 0;
}

void metrics_destroy(struct metrics *m)
{
	close_fd(&m->fd);
	close_fd(&m->timer_fd);
	json_decref(m->prev);
	json_decref(m->properties);
	m->prev = m->properties = NULL;
}

bool metrics_configured(const struct metrics *m)
{
	return m->fd >= 0;
}

int metrics_set_path(struct metrics *m, const char *path, bool emit_id, json_t *properties)
{
	if (m->fd >= 0)
		return -EALREADY;
	int fd = open_sink(path);
	if (fd < 0)
		return fd;
	m->fd = fd;
	m->emit_id = emit_id;
	m->properties = properties ? json_incref(properties) : NULL;
	return 0;
}

void metrics_start_timer(struct metrics *m)
{
	struct itimerspec its = {.it_interval = {METRICS_PERIOD_S, 0},
				 .it_value = {METRICS_PERIOD_S, 0}};
	if (timerfd_settime(m->timer_fd, 0, &its, NULL) < 0)
		LOG_WARN("cannot arm the metrics timer: %s", strerror(errno));
}

/* A counter: emitted as the change since the previous line. */
static void inc(struct metrics *m, json_t *g, const char *gname, const char *field, uint64_t abs)
{
	char key[160];
	snprintf(key, sizeof(key), "%s.%s", gname, field);
	json_t *p = json_object_get(m->prev, key);
	uint64_t prev = p ? (uint64_t)json_integer_value(p) : 0;
	json_object_set_new(g, field, json_integer((json_int_t)(abs - prev)));
	json_object_set_new(m->prev, key, json_integer((json_int_t)abs));
}

/* A value: emitted as it is. */
static void store(json_t *g, const char *field, uint64_t v)
{
	json_object_set_new(g, field, json_integer((json_int_t)v));
}

static json_t *group(json_t *root, const char *name)
{
	json_t *g = json_object();
	json_object_set_new(root, name, g);
	return g;
}

#define INC(g, gname, field, v) inc(m, g, gname, field, v)

static void block_group(struct metrics *m, json_t *root, const char *name,
			const struct vblk_stats *s, uint64_t faults)
{
	json_t *g = group(root, name);
	INC(g, name, "activate_fails", s->activate_fails);
	INC(g, name, "cfg_fails", s->cfg_fails);
	INC(g, name, "no_avail_buffer", s->no_avail_buffer);
	INC(g, name, "event_fails", s->event_fails + faults);
	INC(g, name, "execute_fails", s->execute_fails);
	INC(g, name, "invalid_reqs_count", s->invalid_reqs_count);
	INC(g, name, "flush_count", s->flush_count);
	INC(g, name, "queue_event_count", s->queue_event_count);
	INC(g, name, "rate_limiter_event_count", s->rate_limiter_event_count);
	INC(g, name, "update_count", s->update_count);
	INC(g, name, "update_fails", s->update_fails);
	INC(g, name, "read_bytes", s->read_bytes);
	INC(g, name, "write_bytes", s->write_bytes);
	INC(g, name, "read_count", s->read_count);
	INC(g, name, "write_count", s->write_count);
	INC(g, name, "rate_limiter_throttled_events", s->rate_limiter_throttled_events);
	INC(g, name, "io_engine_throttled_events", s->io_engine_throttled_events);
	INC(g, name, "remaining_reqs_count", s->remaining_reqs_count);
}

static void add_blk(struct vblk_stats *a, const struct vblk_stats *b)
{
	const uint64_t *src = (const uint64_t *)b;
	uint64_t *dst = (uint64_t *)a;
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static void net_group(struct metrics *m, json_t *root, const char *name, const struct vnet_stats *s,
		      uint64_t faults)
{
	json_t *g = group(root, name);
	INC(g, name, "activate_fails", s->activate_fails);
	INC(g, name, "cfg_fails", s->cfg_fails);
	INC(g, name, "event_fails", s->event_fails + faults);
	INC(g, name, "rx_queue_event_count", s->rx_queue_event_count);
	INC(g, name, "rx_event_rate_limiter_count", s->rx_event_rate_limiter_count);
	INC(g, name, "rx_tap_event_count", s->rx_tap_event_count);
	INC(g, name, "rx_bytes_count", s->rx_bytes_count);
	INC(g, name, "rx_packets_count", s->rx_packets_count);
	INC(g, name, "rx_fails", s->rx_fails);
	INC(g, name, "rx_count", s->rx_count);
	INC(g, name, "rx_rate_limiter_throttled", s->rx_rate_limiter_throttled);
	INC(g, name, "no_rx_avail_buffer", s->no_rx_avail_buffer);
	INC(g, name, "tap_read_fails", s->tap_read_fails);
	INC(g, name, "tap_write_fails", s->tap_write_fails);
	INC(g, name, "tx_bytes_count", s->tx_bytes_count);
	INC(g, name, "tx_malformed_frames", s->tx_malformed_frames);
	INC(g, name, "tx_fails", s->tx_fails);
	INC(g, name, "tx_count", s->tx_count);
	INC(g, name, "tx_packets_count", s->tx_packets_count);
	INC(g, name, "tx_queue_event_count", s->tx_queue_event_count);
	INC(g, name, "tx_rate_limiter_event_count", s->tx_rate_limiter_event_count);
	INC(g, name, "tx_rate_limiter_throttled", s->tx_rate_limiter_throttled);
	INC(g, name, "tx_spoofed_mac_count", s->tx_spoofed_mac_count);
	INC(g, name, "no_tx_avail_buffer", s->no_tx_avail_buffer);
}

static void add_net(struct vnet_stats *a, const struct vnet_stats *b)
{
	const uint64_t *src = (const uint64_t *)b;
	uint64_t *dst = (uint64_t *)a;
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static void api_groups(struct metrics *m, json_t *root, struct vmm *v)
{
	struct api_counters c = {0};
	if (v->api)
		c = api_server_counters(v->api);
	json_t *g = group(root, "api_server");
	store(g, "process_startup_time_us", v->api_ready_us);
	store(g, "process_startup_time_cpu_us", v->api_ready_cpu_us);
	INC(g, "api_server", "sync_response_fails", c.sync_response_fails);
	INC(g, "api_server", "sync_vmm_send_timeout_count", 0);
	g = group(root, "get_api_requests");
	INC(g, "get", "instance_info_count", c.get_instance_info);
	INC(g, "get", "machine_cfg_count", c.get_machine_cfg);
	INC(g, "get", "mmds_count", 0);
	INC(g, "get", "vmm_version_count", c.get_vmm_version);
	g = group(root, "put_api_requests");
	INC(g, "put", "actions_count", c.put_actions);
	INC(g, "put", "actions_fails", c.put_actions_fails);
	INC(g, "put", "boot_source_count", c.put_boot_source);
	INC(g, "put", "boot_source_fails", c.put_boot_source_fails);
	INC(g, "put", "drive_count", c.put_drive);
	INC(g, "put", "drive_fails", c.put_drive_fails);
	INC(g, "put", "logger_count", c.put_logger);
	INC(g, "put", "logger_fails", c.put_logger_fails);
	INC(g, "put", "machine_cfg_count", c.put_machine_cfg);
	INC(g, "put", "machine_cfg_fails", c.put_machine_cfg_fails);
	INC(g, "put", "metrics_count", c.put_metrics);
	INC(g, "put", "metrics_fails", c.put_metrics_fails);
	INC(g, "put", "network_count", c.put_network);
	INC(g, "put", "network_fails", c.put_network_fails);
	INC(g, "put", "serial_count", c.put_serial);
	INC(g, "put", "serial_fails", c.put_serial_fails);
	g = group(root, "patch_api_requests");
	INC(g, "patch", "drive_count", c.patch_drive);
	INC(g, "patch", "drive_fails", c.patch_drive_fails);
	INC(g, "patch", "network_count", c.patch_network);
	INC(g, "patch", "network_fails", c.patch_network_fails);
	INC(g, "patch", "machine_cfg_count", c.patch_machine_cfg);
	INC(g, "patch", "machine_cfg_fails", c.patch_machine_cfg_fails);
	INC(g, "patch", "vm_count", c.patch_vm);
	INC(g, "patch", "vm_fails", c.patch_vm_fails);
	g = group(root, "deprecated_api");
	INC(g, "deprecated_api", "deprecated_http_api_calls", 0);
	INC(g, "deprecated_api", "deprecated_cmd_line_api_calls", 0);
}

static void device_groups(struct metrics *m, json_t *root, struct vm *vm)
{
	struct vblk_stats bt = {0};
	struct vnet_stats nt = {0};
	uint64_t bf = 0, nf = 0;
	char name[96];

	for (unsigned i = 0; vm && i < vm->cfg.ndrives; i++) {
		const struct vblk *b = &vm->blks[i];
		snprintf(name, sizeof(name), "block_%s", b->id);
		block_group(m, root, name, &b->st, b->t.st.queue_faults);
		add_blk(&bt, &b->st);
		bf += b->t.st.queue_faults;
	}
	block_group(m, root, "block", &bt, bf);
	for (unsigned i = 0; vm && i < vm->cfg.nnets; i++) {
		const struct vnet *n = &vm->nets[i];
		snprintf(name, sizeof(name), "net_%s", n->id);
		net_group(m, root, name, &n->st, n->t.st.queue_faults);
		add_net(&nt, &n->st);
		nf += n->t.st.queue_faults;
	}
	net_group(m, root, "net", &nt, nf);
}

static void legacy_groups(struct metrics *m, json_t *root, struct vm *vm)
{
	struct uart_stats u = {0};
	struct i8042_stats k = {0};
	struct vcpu_counters c = {0};
	if (vm) {
		u = uart_stats(&vm->uart);
		k = i8042_stats(&vm->i8042);
		c = vm_vcpu_totals(vm);
	}
	json_t *g = group(root, "uart");
	INC(g, "uart", "error_count", u.error_count);
	INC(g, "uart", "flush_count", u.flush_count);
	INC(g, "uart", "missed_read_count", u.missed_read_count);
	INC(g, "uart", "missed_write_count", u.missed_write_count);
	INC(g, "uart", "read_count", u.read_count);
	INC(g, "uart", "write_count", u.write_count);
	g = group(root, "i8042");
	INC(g, "i8042", "error_count", k.error_count + (vm ? vm->ctrl_alt_del_fails : 0));
	INC(g, "i8042", "missed_read_count", k.missed_read_count);
	INC(g, "i8042", "missed_write_count", k.missed_write_count);
	INC(g, "i8042", "read_count", k.read_count);
	INC(g, "i8042", "reset_count", k.reset_count);
	INC(g, "i8042", "write_count", k.write_count);
	g = group(root, "vcpu");
	INC(g, "vcpu", "exit_io_in", c.exit_io_in);
	INC(g, "vcpu", "exit_io_out", c.exit_io_out);
	INC(g, "vcpu", "exit_mmio_read", c.exit_mmio_read);
	INC(g, "vcpu", "exit_mmio_write", c.exit_mmio_write);
	INC(g, "vcpu", "failures", c.failures);
	INC(g, "vcpu", "kvmclock_ctrl_fails", vm ? vm->kvmclock_ctrl_fails : 0);
}

/* Firecracker emits every group, a device's even when the VM has none
 * (all zeros); tools that read the metrics expect the keys. These are the
 * devices ember does not have yet. */
static void absent_groups(struct metrics *m, json_t *root)
{
	static const struct {
		const char *group;
		const char *const fields[24];
	} absent[] = {
	    {"mmds",
	     {"rx_accepted", "rx_accepted_err", "rx_accepted_unusual", "rx_bad_eth",
	      "rx_invalid_token", "rx_no_token", "rx_count", "tx_bytes", "tx_count", "tx_errors",
	      "tx_frames", "connections_created", "connections_destroyed"}},
	    {"vsock", {"activate_fails",       "cfg_fails",
		       "rx_queue_event_fails", "tx_queue_event_fails",
		       "ev_queue_event_fails", "muxer_event_fails",
		       "conn_event_fails",     "rx_queue_event_count",
		       "tx_queue_event_count", "rx_bytes_count",
		       "tx_bytes_count",       "rx_packets_count",
		       "tx_packets_count",     "conns_added",
		       "conns_killed",	       "conns_removed",
		       "killq_resync",	       "tx_flush_fails",
		       "tx_write_fails",       "rx_read_fails"}},
	    {"balloon",
	     {"activate_fails", "inflate_count", "stats_updates_count", "stats_update_fails",
	      "deflate_count", "event_fails", "free_page_report_count", "free_page_report_freed",
	      "free_page_report_fails", "free_page_hint_count", "free_page_hint_freed",
	      "free_page_hint_fails"}},
	    {"entropy",
	     {"activate_fails", "entropy_event_fails", "entropy_event_count", "entropy_bytes",
	      "host_rng_fails", "entropy_rate_limiter_throttled", "rate_limiter_event_count"}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
		json_t *g = group(root, absent[i].group);
		for (size_t k = 0; k < ARRAY_SIZE(absent[i].fields) && absent[i].fields[k]; k++)
			INC(g, absent[i].group, absent[i].fields[k], 0);
	}
}

json_t *metrics_build(struct metrics *m, struct vmm *v)
{
	struct timespec ts;
	json_t *root = json_object();
	clock_gettime(CLOCK_REALTIME, &ts);
	store(root, "utc_timestamp_ms",
	      (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	if (m->emit_id)
		json_object_set_new(root, "id", json_string(v->instance_id));
	if (m->properties)
		json_object_set(root, "properties", m->properties);
	api_groups(m, root, v);
	device_groups(m, root, v->vm);
	legacy_groups(m, root, v->vm);
	json_t *g = group(root, "latencies_us");
	store(g, "pause_vm", m->pause_vm_us);
	store(g, "resume_vm", m->resume_vm_us);
	g = group(root, "logger");
	INC(g, "logger", "missed_metrics_count", m->missed_metrics_count);
	INC(g, "logger", "metrics_fails", m->metrics_fails);
	INC(g, "logger", "missed_log_count", log_missed_count());
	INC(g, "logger", "rate_limited_log_count", log_rate_limited_count());
	absent_groups(m, root);
	uint64_t raised = 0;
	for (unsigned i = 0; v->vm && i < v->vm->cfg.ndrives; i++)
		raised += __atomic_load_n(&v->vm->blks[i].t.irq.raised, __ATOMIC_RELAXED);
	for (unsigned i = 0; v->vm && i < v->vm->cfg.nnets; i++)
		raised += __atomic_load_n(&v->vm->nets[i].t.irq.raised, __ATOMIC_RELAXED);
	if (v->vm)
		raised += __atomic_load_n(&v->vm->uart.irq.raised, __ATOMIC_RELAXED) +
			  __atomic_load_n(&v->vm->i8042.irq.raised, __ATOMIC_RELAXED);
	g = group(root, "interrupts");
	INC(g, "interrupts", "triggers", raised);
	INC(g, "interrupts", "config_updates", 0); /* routing is fixed at boot */
	g = group(root, "seccomp");
	INC(g, "seccomp", "num_faults", 0);
	static const char *const sig[] = {"sigbus",  "sigsegv", "sigxfsz", "sigxcpu",
					  "sigpipe", "sighup",	"sigill"};
	g = group(root, "signals");
	for (size_t i = 0; i < ARRAY_SIZE(sig); i++)
		INC(g, "signals", sig[i], m->signals[i]);
	g = group(root, "vmm");
	INC(g, "vmm", "panic_count", 0);
	return root;
}

int metrics_flush(struct metrics *m, struct vmm *v)
{
	if (m->fd < 0)
		return -EBADF;
	json_t *root = metrics_build(m, v);
	char *line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!line) {
		m->metrics_fails++;
		return -ENOMEM;
	}
	size_t n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the line end */
	ssize_t w;
	do
		w = write(m->fd, line, n + 1);
	while (w < 0 && errno == EINTR);
	free(line);
	if (w != (ssize_t)(n + 1)) {
		/* A full pipe or a broken file: the line is lost and counted. */
		m->missed_metrics_count++;
		m->metrics_fails++;
		return w < 0 ? -errno : -EIO;
	}
	return 0;
}
