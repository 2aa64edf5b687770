/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/controller.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch/x86_64/layout.h"
#include "common/log.h"
#include "common/version.h"
#include "devices/virtio/net.h"
#include "vmm/vmm.h"

#define MSG_AFTER_START	 "The requested operation is not supported after starting the microVM."
#define MSG_BEFORE_START "The requested operation is not supported before starting the microVM."
#define DESER		 "An error occurred when deserializing the json body of a request: "

static bool booted(const struct vmm *v)
{
	return v->vm != NULL;
}

static const char *state_name(const struct vmm *v)
{
	switch (v->state) {
	case VMM_RUNNING:
		return "Running";
	case VMM_PAUSED:
		return "Paused";
	case VMM_NOT_STARTED:
		break;
	}
	return "Not started";
}

/* ---------------------------------------------------------------- reads */

static void get_instance_info(struct vmm *v, struct api_reply *rep)
{
	api_reply_json(rep,
		       json_pack("{s:s, s:s, s:s, s:s}", "app_name", "ember", "id", v->instance_id,
				 "state", state_name(v), "vmm_version", EMBER_VERSION));
}

/* ---------------------------------------------------------------- actions */

static void instance_start(struct vmm *v, struct api_reply *rep)
{
	char err[1024];
	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	if (!v->cfg.boot.set) {
		api_reply_error(rep, 400,
				"Start microvm error: Cannot start microvm without "
				"kernel configuration.");
		return;
	}
	config_order_devices(&v->cfg);
	if (vmm_boot(v, err, sizeof(err))) {
		api_reply_error(rep, 400, "Start microvm error: %s", err);
		return;
	}
	api_reply_empty(rep);
}

static void put_actions(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	static const char *const keys_ok[] = {"action_type", NULL};
	json_t *t = json_object_get(req->body, "action_type");
	const char *key;
	json_t *val;

	json_object_foreach (req->body, key, val) {
		if (strcmp(key, keys_ok[0])) {
			api_reply_error(rep, 400,
					DESER "unknown field `%s`, expected `action_type`.", key);
			return;
		}
	}
	if (!t) {
		api_reply_error(rep, 400, DESER "missing field `action_type`.");
		return;
	}
	if (!json_is_string(t)) {
		api_reply_error(rep, 400,
				DESER
				"invalid type for `action_type`, expected a string "
				"(one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel`).");
		return;
	}
	const char *a = json_string_value(t);
	if (!strcmp(a, "InstanceStart")) {
		instance_start(v, rep);
		return;
	}
	if (!strcmp(a, "SendCtrlAltDel")) {
		if (!booted(v)) {
			api_reply_error(rep, 400, MSG_BEFORE_START);
			return;
		}
		if (vm_send_ctrl_alt_del(v->vm)) {
			api_reply_error(rep, 400,
					"Internal error: the i8042's buffer is full; "
					"the guest is not reading its keyboard.");
			return;
		}
		api_reply_empty(rep);
		return;
	}
	if (!strcmp(a, "FlushMetrics")) {
		if (!booted(v)) {
			api_reply_error(rep, 400, MSG_BEFORE_START);
			return;
		}
		/* Like Firecracker: flushing metrics that have nowhere to go
		 * is not an error, so a periodic flusher works either way. */
		if (!metrics_configured(&v->metrics)) {
			api_reply_empty(rep);
			return;
		}
		if (metrics_flush(&v->metrics, v)) {
			api_reply_error(rep, 400,
					"Metrics error: the metrics line could not be "
					"written.");
			return;
		}
		api_reply_empty(rep);
		return;
	}
	api_reply_error(rep, 400,
			DESER
			"unknown variant `%s`, expected one of `FlushMetrics`, `InstanceStart`, "
			"`SendCtrlAltDel`.",
			a);
}

/* ---------------------------------------------------------------- machine */

static void put_machine(struct vmm *v, const struct api_request *req, struct api_reply *rep,
			bool patch)
{
	char err[512];
	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	if (config_parse_machine(req->body, &v->cfg.machine, patch, err, sizeof(err))) {
		api_reply_error(rep, 400, "Machine config error: %s", err);
		return;
	}
	api_reply_empty(rep);
}

/* ---------------------------------------------------------------- boot */

static int check_readable(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	close(fd);
	return 0;
}

static void put_boot_source(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	struct boot_source_cfg b = {0};
	char err[512];

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	if (config_parse_boot_source(req->body, &b, err, sizeof(err))) {
		api_reply_error(rep, 400, DESER "%s", err);
		goto out;
	}
	/* Files are checked now, as Firecracker does, not at InstanceStart. */
	if (check_readable(b.kernel_image_path, err, sizeof(err))) {
		api_reply_error(rep, 400, "Boot source error: The kernel file cannot be opened: %s",
				err);
		goto out;
	}
	if (b.initrd_path && check_readable(b.initrd_path, err, sizeof(err))) {
		api_reply_error(rep, 400, "Boot source error: The initrd file cannot be opened: %s",
				err);
		goto out;
	}
	if (b.boot_args && strlen(b.boot_args) >= LAYOUT_CMDLINE_MAX) {
		api_reply_error(
		    rep, 400, "Boot source error: The kernel command line is longer than %u bytes.",
		    LAYOUT_CMDLINE_MAX - 1);
		goto out;
	}
	free(v->cfg.boot.kernel_image_path);
	free(v->cfg.boot.boot_args);
	free(v->cfg.boot.initrd_path);
	v->cfg.boot = b;
	api_reply_empty(rep);
	return;
out:
	free(b.kernel_image_path);
	free(b.boot_args);
	free(b.initrd_path);
}

/* ---------------------------------------------------------------- drives */

static int body_id_matches(const struct api_request *req, const char *field, struct api_reply *rep)
{
	json_t *id = json_object_get(req->body, field);
	if (json_is_string(id) && strcmp(json_string_value(id), req->id)) {
		api_reply_error(rep, 400,
				"The id from the path does not match the id from the body!");
		return -1;
	}
	return 0;
}

static int find_drive(const struct vm_config *c, const char *id)
{
	for (unsigned i = 0; i < c->ndrives; i++)
		if (!strcmp(c->drives[i].drive_id, id))
			return (int)i;
	return -1;
}

static void put_drive(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	struct vm_config *c = &v->cfg;
	struct drive_cfg d;
	char err[512];

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	if (body_id_matches(req, "drive_id", rep))
		return;
	if (config_parse_drive(req->body, "drive", &d, err, sizeof(err))) {
		drive_cfg_free(&d);
		api_reply_error(rep, 400, DESER "%s", err);
		return;
	}
	int at = find_drive(c, d.drive_id);
	for (unsigned i = 0; d.is_root_device && i < c->ndrives; i++) {
		if ((int)i != at && c->drives[i].is_root_device) {
			drive_cfg_free(&d);
			api_reply_error(rep, 400,
					"Drive config error: A root block device already "
					"exists!");
			return;
		}
	}
	int fd = open(d.path_on_host, (d.is_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		api_reply_error(rep, 400,
				"Drive config error: Unable to create the virtio block "
				"device: cannot open '%s': %s",
				d.path_on_host, strerror(errno));
		drive_cfg_free(&d);
		return;
	}
	struct stat st;
	int serr = fstat(fd, &st) < 0 ? errno : 0;
	close(fd);
	if (serr || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		api_reply_error(rep, 400,
				"Drive config error: Unable to create the virtio block "
				"device: '%s' %s",
				d.path_on_host,
				serr ? strerror(serr) : "is not a regular file or a block device");
		drive_cfg_free(&d);
		return;
	}
	if (at < 0 && c->ndrives + c->nnets >= CONFIG_MAX_DEVICES) {
		drive_cfg_free(&d);
		api_reply_error(rep, 400,
				"Drive config error: ember has interrupt lines for "
				"%d devices.",
				CONFIG_MAX_DEVICES);
		return;
	}
	if (at >= 0) {
		drive_cfg_free(&c->drives[at]); /* an upsert: the same id replaces */
		c->drives[at] = d;
	} else {
		struct drive_cfg *n = realloc(c->drives, (c->ndrives + 1) * sizeof(*n));
		if (!n) {
			drive_cfg_free(&d);
			api_reply_error(rep, 400, "Drive config error: out of memory");
			return;
		}
		c->drives = n;
		c->drives[c->ndrives++] = d;
	}
	config_order_devices(c); /* the root drive first, as GET /vm/config shows */
	api_reply_empty(rep);
}

static void patch_drive(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	char err[512];
	const char *key;
	json_t *val;

	if (!booted(v)) {
		api_reply_error(rep, 400, MSG_BEFORE_START);
		return;
	}
	json_object_foreach (req->body, key, val) {
		const char *const *k = keys;
		while (*k && strcmp(*k, key))
			k++;
		if (!*k) {
			api_reply_error(rep, 400, DESER "drive: unknown field '%s'", key);
			return;
		}
	}
	json_t *id = json_object_get(req->body, "drive_id");
	if (!json_is_string(id)) {
		api_reply_error(rep, 400, DESER "drive.drive_id: missing required field");
		return;
	}
	if (body_id_matches(req, "drive_id", rep))
		return;
	int at = find_drive(&v->cfg, req->id);
	if (at < 0) {
		api_reply_error(rep, 400,
				"Drive config error: Unable to patch the block "
				"device: no drive '%s'. Please verify the request "
				"arguments.",
				req->id);
		return;
	}
	json_t *path = json_object_get(req->body, "path_on_host");
	json_t *rl = json_object_get(req->body, "rate_limiter");
	struct rate_limiter_cfg rlc;
	if (json_is_null(path)) /* null is absent, as everywhere else */
		path = NULL;
	if (json_is_null(rl))
		rl = NULL;
	if (path && !json_is_string(path)) {
		api_reply_error(rep, 400, DESER "drive.path_on_host: expected a string");
		return;
	}
	if (rl && config_parse_rate_limiter(rl, "drive.rate_limiter", &rlc, err, sizeof(err))) {
		api_reply_error(rep, 400, DESER "%s", err);
		return;
	}
	struct vblk *b = &v->vm->blks[at];
	if (path) {
		char *p = strdup(json_string_value(path));
		if (!p || vblk_update_path(b, json_string_value(path), err, sizeof(err))) {
			free(p);
			api_reply_error(rep, 400,
					"Drive config error: Unable to patch the block "
					"device: %s Please verify the request "
					"arguments.",
					p ? err : "out of memory");
			return;
		}
		free(v->cfg.drives[at].path_on_host);
		v->cfg.drives[at].path_on_host = p;
	}
	if (rl) {
		vblk_update_rate_limiter(b, &rlc);
		struct rate_limiter_cfg *cur = &v->cfg.drives[at].rate_limiter;
		if (rlc.bandwidth.set)
			cur->bandwidth = rlc.bandwidth;
		if (rlc.ops.set)
			cur->ops = rlc.ops;
	}
	api_reply_empty(rep);
}

/* ---------------------------------------------------------------- net */

static int find_net(const struct vm_config *c, const char *id)
{
	for (unsigned i = 0; i < c->nnets; i++)
		if (!strcmp(c->nets[i].iface_id, id))
			return (int)i;
	return -1;
}

static void put_net(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	struct vm_config *c = &v->cfg;
	struct net_cfg n;
	char err[512];
	int fd;

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	json_t *id = json_object_get(req->body, "iface_id");
	if (json_is_string(id) && strcmp(json_string_value(id), req->id)) {
		api_reply_error(rep, 400,
				"The id from the path [%s] does not match the id from the body "
				"[%s]!",
				req->id, json_string_value(id));
		return;
	}
	if (config_parse_net(req->body, "network-interface", &n, err, sizeof(err))) {
		net_cfg_free(&n);
		api_reply_error(rep, 400, DESER "%s", err);
		return;
	}
	int at = find_net(c, n.iface_id);
	for (unsigned i = 0; i < c->nnets; i++) {
		if ((int)i == at)
			continue;
		if (n.has_mac && c->nets[i].has_mac &&
		    !memcmp(n.guest_mac, c->nets[i].guest_mac, 6)) {
			net_cfg_free(&n);
			api_reply_error(rep, 400,
					"Network config error: The MAC address is "
					"already in use: used by '%s'.",
					c->nets[i].iface_id);
			return;
		}
		if (!strcmp(n.host_dev_name, c->nets[i].host_dev_name)) {
			net_cfg_free(&n);
			api_reply_error(rep, 400,
					"Network config error: Cannot open/create the "
					"tap device: tap '%s' is already used by '%s'.",
					c->nets[i].host_dev_name, c->nets[i].iface_id);
			return;
		}
	}
	/* The tap is checked now, as Firecracker does. */
	if (tap_open(n.host_dev_name, &fd, err, sizeof(err))) {
		net_cfg_free(&n);
		api_reply_error(rep, 400,
				"Network config error: Cannot open/create the tap device: %s", err);
		return;
	}
	close(fd);
	if (at < 0 && c->ndrives + c->nnets >= CONFIG_MAX_DEVICES) {
		net_cfg_free(&n);
		api_reply_error(rep, 400,
				"Network config error: ember has interrupt lines "
				"for %d devices.",
				CONFIG_MAX_DEVICES);
		return;
	}
	if (at >= 0) {
		net_cfg_free(&c->nets[at]);
		c->nets[at] = n;
	} else {
		struct net_cfg *nn = realloc(c->nets, (c->nnets + 1) * sizeof(*nn));
		if (!nn) {
			net_cfg_free(&n);
			api_reply_error(rep, 400, "Network config error: out of memory");
			return;
		}
		c->nets = nn;
		c->nets[c->nnets++] = n;
	}
	api_reply_empty(rep);
}

static void patch_net(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct rate_limiter_cfg rx, tx;
	char err[512];
	const char *key;
	json_t *val;

	if (!booted(v)) {
		api_reply_error(rep, 400, MSG_BEFORE_START);
		return;
	}
	json_object_foreach (req->body, key, val) {
		const char *const *k = keys;
		while (*k && strcmp(*k, key))
			k++;
		if (!*k) {
			api_reply_error(rep, 400, DESER "network-interface: unknown field '%s'",
					key);
			return;
		}
	}
	json_t *id = json_object_get(req->body, "iface_id");
	if (!json_is_string(id)) {
		api_reply_error(rep, 400,
				DESER "network-interface.iface_id: missing required "
				      "field");
		return;
	}
	if (strcmp(json_string_value(id), req->id)) {
		api_reply_error(rep, 400,
				"The id from the path [%s] does not match the id from the body "
				"[%s]!",
				req->id, json_string_value(id));
		return;
	}
	int at = find_net(&v->cfg, req->id);
	if (at < 0) {
		api_reply_error(rep, 400,
				"Network config error: Unable to update the net "
				"device: no interface '%s'.",
				req->id);
		return;
	}
	if (config_parse_rate_limiter(json_object_get(req->body, "rx_rate_limiter"),
				      "network-interface.rx_rate_limiter", &rx, err, sizeof(err)) ||
	    config_parse_rate_limiter(json_object_get(req->body, "tx_rate_limiter"),
				      "network-interface.tx_rate_limiter", &tx, err, sizeof(err))) {
		api_reply_error(rep, 400, DESER "%s", err);
		return;
	}
	vnet_update_rate_limiters(&v->vm->nets[at], &rx, &tx);
	struct net_cfg *cur = &v->cfg.nets[at];
	if (rx.bandwidth.set)
		cur->rx_rate_limiter.bandwidth = rx.bandwidth;
	if (rx.ops.set)
		cur->rx_rate_limiter.ops = rx.ops;
	if (tx.bandwidth.set)
		cur->tx_rate_limiter.bandwidth = tx.bandwidth;
	if (tx.ops.set)
		cur->tx_rate_limiter.ops = tx.ops;
	api_reply_empty(rep);
}

/* ---------------------------------------------------------------- logger, metrics */

static void put_logger(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	struct logger_cfg l = {0};
	char err[512];
	int ret;

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	if (config_parse_logger(req->body, &l, err, sizeof(err))) {
		api_reply_error(rep, 400, DESER "%s", err);
		goto out;
	}
	/* Check everything before changing anything: a refused request
	 * leaves the logger as it was. */
	if (l.module && strlen(l.module) >= LOG_MODULE_MAX) {
		api_reply_error(rep, 400, "Logger error: the module filter is too long.");
		goto out;
	}
	if (l.log_path && (ret = log_set_path(l.log_path))) {
		api_reply_error(rep, 400, "Logger error: cannot open '%s': %s", l.log_path,
				strerror(-ret));
		goto out;
	}
	if (l.module) {
		ret = log_set_module(l.module);
		BUG_ON(ret); /* its length was checked above */
	}
	log_set_level(l.has_level ? l.level : LOG_LVL_INFO);
	log_set_show_level(l.show_level);
	log_set_show_origin(l.show_log_origin);
	api_reply_empty(rep);
out:
	free(l.log_path);
	free(l.module);
}

static void put_metrics(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	json_t *path = json_object_get(req->body, "metrics_path");
	const char *key;
	json_t *val;
	int ret;

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	json_object_foreach (req->body, key, val) {
		if (strcmp(key, "metrics_path")) {
			api_reply_error(rep, 400, DESER "metrics: unknown field '%s'", key);
			return;
		}
	}
	if (!json_is_string(path)) {
		api_reply_error(rep, 400, DESER "metrics.metrics_path: %s",
				path ? "expected a string" : "missing required field");
		return;
	}
	if ((ret = metrics_set_path(&v->metrics, json_string_value(path), false, NULL))) {
		if (ret == -EALREADY) {
			api_reply_error(rep, 400,
					"Metrics error: Reinitialization of metrics "
					"not allowed.");
			return;
		}
		api_reply_error(rep, 400, "Metrics error: cannot open '%s': %s",
				json_string_value(path), strerror(-ret));
		return;
	}
	api_reply_empty(rep);
}

/* ---------------------------------------------------------------- vm, serial */

static void patch_vm(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	json_t *st = json_object_get(req->body, "state");
	const char *key;
	json_t *val;

	json_object_foreach (req->body, key, val) {
		if (strcmp(key, "state")) {
			api_reply_error(rep, 400, DESER "vm: unknown field '%s'", key);
			return;
		}
	}
	if (!json_is_string(st)) {
		api_reply_error(rep, 400, DESER "vm.state: %s",
				st ? "expected a string" : "missing required field");
		return;
	}
	const char *s = json_string_value(st);
	bool pause = !strcmp(s, "Paused");
	if (!pause && strcmp(s, "Resumed")) {
		api_reply_error(rep, 400, DESER "vm.state: '%s' is not one of Paused, Resumed", s);
		return;
	}
	if (!booted(v)) {
		api_reply_error(rep, 400, MSG_BEFORE_START);
		return;
	}
	uint64_t t0 = now_mono_us();
	if (pause == (v->state == VMM_PAUSED)) {
		api_reply_empty(rep); /* already there: nothing to do or to time */
		return;
	}
	if (pause) {
		vm_pause(v->vm);
		v->state = VMM_PAUSED;
		v->metrics.pause_vm_us = now_mono_us() - t0;
		LOG_INFO("VM paused");
	} else {
		vm_resume(v->vm);
		v->state = VMM_RUNNING;
		v->metrics.resume_vm_us = now_mono_us() - t0;
		LOG_INFO("VM resumed");
	}
	api_reply_empty(rep);
}

static void put_serial(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	const char *key;
	json_t *val;

	if (booted(v)) {
		api_reply_error(rep, 400, MSG_AFTER_START);
		return;
	}
	json_object_foreach (req->body, key, val) {
		if (!strcmp(key, "rate_limiter") && !json_is_null(val)) {
			api_reply_error(rep, 400,
					"Serial error: the serial rate limiter is not "
					"supported by this version of ember.");
			return;
		}
		if (strcmp(key, "serial_out_path") && strcmp(key, "rate_limiter")) {
			api_reply_error(rep, 400, DESER "serial: unknown field '%s'", key);
			return;
		}
	}
	json_t *path = json_object_get(req->body, "serial_out_path");
	if (!path || json_is_null(path)) {
		api_reply_empty(rep);
		return;
	}
	if (!json_is_string(path)) {
		api_reply_error(rep, 400, DESER "serial.serial_out_path: expected a string");
		return;
	}
	/* A file or a named pipe; a FIFO without a reader must not block us. */
	int fd = open_sink(json_string_value(path));
	if (fd < 0) {
		api_reply_error(rep, 400, "Serial error: cannot open '%s': %s",
				json_string_value(path), strerror(-fd));
		return;
	}
	if (v->vm_opts.console_out > STDERR_FILENO)
		close(v->vm_opts.console_out);
	v->vm_opts.console_out = fd;
	api_reply_empty(rep);
}

/* ---------------------------------------------------------------- dispatch */

void controller_handle(struct vmm *v, const struct api_request *req, struct api_reply *rep)
{
	switch (req->op) {
	case API_GET_INSTANCE_INFO:
		get_instance_info(v, rep);
		return;
	case API_GET_VERSION:
		api_reply_json(rep,
			       json_pack("{s:s}", "firecracker_version", EMBER_FC_API_VERSION));
		return;
	case API_GET_VM_CONFIG:
		api_reply_json(rep, config_to_json(&v->cfg));
		return;
	case API_GET_MACHINE_CONFIG:
		api_reply_json(rep, config_machine_to_json(&v->cfg.machine));
		return;
	case API_PUT_ACTIONS:
		put_actions(v, req, rep);
		return;
	case API_PUT_MACHINE_CONFIG:
		put_machine(v, req, rep, false);
		return;
	case API_PATCH_MACHINE_CONFIG:
		put_machine(v, req, rep, true);
		return;
	case API_PUT_BOOT_SOURCE:
		put_boot_source(v, req, rep);
		return;
	case API_PUT_DRIVE:
		put_drive(v, req, rep);
		return;
	case API_PATCH_DRIVE:
		patch_drive(v, req, rep);
		return;
	case API_PUT_NET:
		put_net(v, req, rep);
		return;
	case API_PATCH_NET:
		patch_net(v, req, rep);
		return;
	case API_PUT_LOGGER:
		put_logger(v, req, rep);
		return;
	case API_PUT_METRICS:
		put_metrics(v, req, rep);
		return;
	case API_PATCH_VM:
		patch_vm(v, req, rep);
		return;
	case API_PUT_SERIAL:
		put_serial(v, req, rep);
		return;
	}
	api_reply_error(rep, 400, "Internal error: unknown operation %d", req->op);
}
