/* SPDX-License-Identifier: Apache-2.0 */
/* The device sections of the config file: "drives" and "network-interfaces"
 * with every field, nulls and defaults, the root drive moved to the front,
 * rate-limiter objects, and every rejection with the field its message
 * names; then config_valid_id, config_parse_mac and config_validate_devices
 * on their own. */
#include "config_fx.h"

#define DRIVES(body) "{" BOOT ", \"drives\": [" body "]}"
#define NETS(body) "{" BOOT ", \"network-interfaces\": [" body "]}"
/* A valid drive and interface to vary. */
#define DRV(id, root)                                                                              \
	"{\"drive_id\": \"" id "\", \"path_on_host\": \"/d/" id "\", \"is_root_device\": " root "}"
#define NET(id, tap) "{\"iface_id\": \"" id "\", \"host_dev_name\": \"" tap "\"}"
#define NETM(id, tap, mac)                                                                         \
	"{\"iface_id\": \"" id "\", \"host_dev_name\": \"" tap "\", \"guest_mac\": \"" mac "\"}"
/* A drive with one more field. */
#define DRVX(extra)                                                                                \
	DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": true, " extra  \
	       "}")
#define NETX(extra) NETS("{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", " extra "}")
#define RL(body) DRVX("\"rate_limiter\": " body)

static void assert_bucket(const struct bucket_cfg *b, bool set, uint64_t size, uint64_t otb,
			  uint64_t refill)
{
	assert_int_equal(b->set, set);
	assert_int_equal(b->size, size);
	assert_int_equal(b->one_time_burst, otb);
	assert_int_equal(b->refill_time_ms, refill);
}

/* ---------------------------------------------------------------- accepted */

static void full_devices(void **state)
{
	struct fx *f = *state;
	/* clang-format off */
	static const char json[] =
		"{" BOOT ",\n"
		"  \"drives\": [\n"
		"    {\"drive_id\": \"data_1\", \"path_on_host\": \"/d/data.ext4\",\n"
		"     \"is_root_device\": false, \"is_read_only\": true,\n"
		"     \"cache_type\": \"Writeback\", \"io_engine\": \"Async\",\n"
		"     \"rate_limiter\": {\n"
		"       \"bandwidth\": {\"size\": 1048576, \"one_time_burst\": 4096,\n"
		"                     \"refill_time\": 100},\n"
		"       \"ops\": {\"size\": 1000, \"refill_time\": 1000}}},\n"
		"    {\"drive_id\": \"rootfs\", \"path_on_host\": \"/d/root.ext4\",\n"
		"     \"is_root_device\": true, \"is_read_only\": false,\n"
		"     \"partuuid\": \"0eaa91a0-01\", \"cache_type\": \"Unsafe\",\n"
		"     \"io_engine\": \"Sync\"}\n"
		"  ],\n"
		"  \"network-interfaces\": [\n"
		"    {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\",\n"
		"     \"guest_mac\": \"AA:fc:00:00:0b:01\", \"mtu\": 1500,\n"
		"     \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 0}},\n"
		"     \"tx_rate_limiter\": {\"ops\": {\"size\": 10, \"one_time_burst\": 0,\n"
		"                                   \"refill_time\": 9223372036854775807}}},\n"
		"    {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap_with_15_chs\"}\n"
		"  ]\n"
		"}\n";
	/* clang-format on */

	parse_ok(f, json);
	assert_int_equal(f->c.ndrives, 2);
	/* The root device first. */
	const struct drive_cfg *r = &f->c.drives[0], *d = &f->c.drives[1];
	assert_string_equal(r->drive_id, "rootfs");
	assert_string_equal(r->path_on_host, "/d/root.ext4");
	assert_true(r->is_root_device);
	assert_false(r->is_read_only);
	assert_string_equal(r->partuuid, "0eaa91a0-01");
	assert_int_equal(r->cache_type, BLK_CACHE_UNSAFE);
	assert_int_equal(r->io_engine, BLK_ENGINE_SYNC);
	assert_bucket(&r->rate_limiter.bandwidth, false, 0, 0, 0);
	assert_bucket(&r->rate_limiter.ops, false, 0, 0, 0);
	assert_string_equal(d->drive_id, "data_1");
	assert_string_equal(d->path_on_host, "/d/data.ext4");
	assert_false(d->is_root_device);
	assert_true(d->is_read_only);
	assert_null(d->partuuid);
	assert_int_equal(d->cache_type, BLK_CACHE_WRITEBACK);
	assert_int_equal(d->io_engine, BLK_ENGINE_ASYNC);
	assert_bucket(&d->rate_limiter.bandwidth, true, 1048576, 4096, 100);
	assert_bucket(&d->rate_limiter.ops, true, 1000, 0, 1000);

	assert_int_equal(f->c.nnets, 2);
	const struct net_cfg *n = &f->c.nets[0], *m = &f->c.nets[1];
	assert_string_equal(n->iface_id, "eth0");
	assert_string_equal(n->host_dev_name, "tap0");
	assert_true(n->has_mac);
	assert_memory_equal(n->guest_mac, "\xaa\xfc\x00\x00\x0b\x01", 6);
	assert_int_equal(n->mtu, 1500);
	assert_bucket(&n->rx_rate_limiter.bandwidth, true, 0, 0, 0); /* set, disabled */
	assert_bucket(&n->rx_rate_limiter.ops, false, 0, 0, 0);
	assert_bucket(&n->tx_rate_limiter.bandwidth, false, 0, 0, 0);
	assert_bucket(&n->tx_rate_limiter.ops, true, 10, 0, INT64_MAX);
	assert_string_equal(m->iface_id, "eth1");
	assert_string_equal(m->host_dev_name, "tap_with_15_chs");
	assert_false(m->has_mac);
	assert_int_equal(m->mtu, 0);
	assert_bucket(&m->rx_rate_limiter.ops, false, 0, 0, 0);
}

static void root_moves_to_front(void **state)
{
	struct fx *f = *state;

	parse_ok(f, DRIVES(DRV("a", "false") "," DRV("b", "false") "," DRV("r", "true") "," DRV(
			    "c", "false")));
	assert_int_equal(f->c.ndrives, 4);
	const char *want[] = {"r", "a", "b", "c"};
	for (unsigned i = 0; i < 4; i++)
		assert_string_equal(f->c.drives[i].drive_id, want[i]);
	assert_string_equal(f->c.drives[0].path_on_host, "/d/r");
	assert_string_equal(f->c.drives[3].path_on_host, "/d/c");
	/* Already first, or absent: the order is kept. */
	parse_ok(f, DRIVES(DRV("r", "true") "," DRV("a", "false")));
	assert_string_equal(f->c.drives[0].drive_id, "r");
	assert_string_equal(f->c.drives[1].drive_id, "a");
	parse_ok(f, DRIVES(DRV("x", "false") "," DRV("y", "false")));
	assert_string_equal(f->c.drives[0].drive_id, "x");
	assert_string_equal(f->c.drives[1].drive_id, "y");
	/* Last of many. */
	parse_ok(f, DRIVES(DRV("a", "false") "," DRV("b", "false") "," DRV("c", "false") "," DRV(
			    "r", "true")));
	assert_string_equal(f->c.drives[0].drive_id, "r");
	assert_string_equal(f->c.drives[3].drive_id, "c");
}

static void nulls_and_defaults(void **state)
{
	struct fx *f = *state;

	parse_ok(f, DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			   "false, \"is_read_only\": null, \"partuuid\": null, \"cache_type\": "
			   "null, \"io_engine\": null, \"rate_limiter\": null, \"socket\": null}"));
	const struct drive_cfg *d = &f->c.drives[0];
	assert_false(d->is_read_only);
	assert_null(d->partuuid);
	assert_int_equal(d->cache_type, BLK_CACHE_UNSAFE);
	assert_int_equal(d->io_engine, BLK_ENGINE_SYNC);
	assert_false(d->rate_limiter.bandwidth.set);
	assert_false(d->rate_limiter.ops.set);

	parse_ok(f, NETS("{\"iface_id\": \"n\", \"host_dev_name\": \"t\", \"guest_mac\": null, "
			 "\"mtu\": null, \"rx_rate_limiter\": null, \"tx_rate_limiter\": null}"));
	const struct net_cfg *n = &f->c.nets[0];
	assert_false(n->has_mac);
	assert_int_equal(n->mtu, 0);
	assert_false(n->rx_rate_limiter.ops.set);

	/* Inside a rate limiter: a null bucket, a null one_time_burst. */
	parse_ok(f, RL("{\"bandwidth\": null, \"ops\": {\"size\": 5, \"one_time_burst\": null, "
		       "\"refill_time\": 7}}"));
	assert_bucket(&f->c.drives[0].rate_limiter.bandwidth, false, 0, 0, 0);
	assert_bucket(&f->c.drives[0].rate_limiter.ops, true, 5, 0, 7);
	parse_ok(f, RL("{}"));
	assert_false(f->c.drives[0].rate_limiter.ops.set);

	/* Empty lists and null sections. */
	parse_ok(f, "{" BOOT ", \"drives\": [], \"network-interfaces\": null}");
	assert_int_equal(f->c.ndrives + f->c.nnets, 0);
}

static void accepted_edges(void **state)
{
	struct fx *f = *state;
	char id64[65], json[512];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	id64[10] = '_';
	id64[20] = 'Z';
	id64[30] = '9';
	snprintf(json, sizeof(json),
		 DRIVES("{\"drive_id\": \"%s\", \"path_on_host\": \"/d\", "
			"\"is_root_device\": false}"),
		 id64);
	parse_ok(f, json);
	assert_string_equal(f->c.drives[0].drive_id, id64);
	parse_ok(f, NETX("\"mtu\": 68"));
	assert_int_equal(f->c.nets[0].mtu, 68);
	parse_ok(f, NETX("\"mtu\": 65535"));
	assert_int_equal(f->c.nets[0].mtu, 65535);
	parse_ok(f, NETX("\"guest_mac\": \"00:00:00:00:00:00\""));
	assert_true(f->c.nets[0].has_mac);
	parse_ok(f, NETX("\"guest_mac\": \"FF:ff:Ab:cD:09:90\""));
	assert_memory_equal(f->c.nets[0].guest_mac, "\xff\xff\xab\xcd\x09\x90", 6);
	/* Distinct MACs, taps and ids on many interfaces. */
	parse_ok(f, NETS(NETM("a", "t1", "02:00:00:00:00:01") "," NETM(
			    "b", "t2", "02:00:00:00:00:02") "," NET("c", "t3") "," NET("d", "t4")));
	assert_int_equal(f->c.nnets, 4);
	/* The same id for a drive and an interface is fine. */
	parse_ok(f, "{" BOOT ", \"drives\": [" DRV("x", "true") "], \"network-interfaces\": [" NET(
			    "x", "tap0") "]}");
	/* A partuuid on a non-root drive is accepted (and ignored, with a
	 * warning). */
	parse_ok(f, DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			   "false, \"partuuid\": \"abc-01\"}"));
	assert_string_equal(f->c.drives[0].partuuid, "abc-01");
}

/* A config of nd drives and nn interfaces. */
static char *many(unsigned nd, unsigned nn)
{
	size_t cap = 64 + 160 * (nd + nn) + strlen(BOOT);
	char *s = malloc(cap), *p = s;
	p += sprintf(p, "{" BOOT ", \"drives\": [");
	for (unsigned i = 0; i < nd; i++)
		p += sprintf(p,
			     "%s{\"drive_id\": \"d%u\", \"path_on_host\": \"/d\", "
			     "\"is_root_device\": false}",
			     i ? "," : "", i);
	p += sprintf(p, "], \"network-interfaces\": [");
	for (unsigned i = 0; i < nn; i++)
		p += sprintf(p, "%s{\"iface_id\": \"n%u\", \"host_dev_name\": \"tap%u\"}",
			     i ? "," : "", i, i);
	sprintf(p, "]}");
	return s;
}

static void device_count(void **state)
{
	struct fx *f = *state;
	static const unsigned ok[][2] = {{19, 0}, {0, 19}, {10, 9}, {1, 18}};
	static const unsigned bad[][2] = {{20, 0}, {0, 20}, {10, 10}, {19, 1}, {1, 19}};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *j = many(ok[i][0], ok[i][1]);
		parse_ok(f, j);
		free(j);
		assert_int_equal(f->c.ndrives, ok[i][0]);
		assert_int_equal(f->c.nnets, ok[i][1]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *j = many(bad[i][0], bad[i][1]);
		int ret = parse(f, j);
		free(j);
		assert_errno(ret, -EINVAL);
		if (bad[i][0] == 20)
			assert_substr(f->err, "drives: 20 drives; at most 19");
		else if (bad[i][1] == 20)
			assert_substr(f->err, "network-interfaces: 20 interfaces; at most 19");
		else
			assert_substr(f->err, "drives, network-interfaces: 20 devices");
	}
}

/* ---------------------------------------------------------------- refused */

static void drive_rejects(void **state)
{
	static const struct reject r[] = {
		{DRIVES("{\"path_on_host\": \"/d\", \"is_root_device\": true}"),
		 "drives[0].drive_id: missing required field"},
		{DRIVES("{\"drive_id\": null, \"path_on_host\": \"/d\", \"is_root_device\": true}"),
		 "drives[0].drive_id: missing required field"},
		{DRIVES("{\"drive_id\": \"d\", \"is_root_device\": true}"),
		 "drives[0].path_on_host: missing required field"},
		{DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\"}"),
		 "drives[0].is_root_device: missing required field"},
		{DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": "
			"null}"),
		 "drives[0].is_root_device: missing required field"},
		{DRIVES(DRV("ok", "false") ", {\"drive_id\": \"d\", \"path_on_host\": \"/d\"}"),
		 "drives[1].is_root_device: missing required field"},
		{DRIVES(DRV("a-b", "true")), "drives[0].drive_id: 'a-b': ids are 1 to 64"},
		{DRIVES(DRV("a/b", "true")), "drives[0].drive_id: 'a/b'"},
		{DRIVES(DRV("", "true")), "drives[0].drive_id: '':"},
		{DRIVES(DRV("a b", "true")), "drives[0].drive_id: 'a b'"},
		{DRIVES(DRV("a.b", "true")), "drives[0].drive_id: 'a.b'"},
		{DRIVES(DRV("\\u00e9t\\u00e9", "true")), "drives[0].drive_id"},
		{DRIVES(DRV("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			    "true")),
		 "drives[0].drive_id: "
		 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"},
		{DRIVES("{\"drive_id\": 7, \"path_on_host\": \"/d\", \"is_root_device\": true}"),
		 "drives[0].drive_id: expected a string, got an integer"},
		{DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"\", \"is_root_device\": true}"),
		 "drives[0].path_on_host: must not be empty"},
		{DRIVES("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": 1}"),
		 "drives[0].is_root_device: expected a boolean, got an integer"},
		{DRVX("\"is_read_only\": \"yes\""), "drives[0].is_read_only: expected a boolean"},
		{DRIVES(DRV("x", "false") "," DRV("y", "false") "," DRV("x", "false")),
		 "drives[2].drive_id: 'x' is used twice"},
		{DRIVES(DRV("x", "true") "," DRV("x", "false")),
		 "drives[1].drive_id: 'x' is used twice"},
		{DRIVES(DRV("r1", "true") "," DRV("r2", "true")),
		 "drives[1].is_root_device: a root block device already exists"},
		{DRVX("\"cache_type\": \"writeback\""),
		 "drives[0].cache_type: 'writeback' is not one of Unsafe, Writeback"},
		{DRVX("\"cache_type\": \"None\""), "drives[0].cache_type: 'None'"},
		{DRVX("\"cache_type\": 1"), "drives[0].cache_type: expected a string"},
		{DRVX("\"io_engine\": \"Uring\""),
		 "drives[0].io_engine: 'Uring' is not one of Sync, Async"},
		{DRVX("\"io_engine\": \"sync\""), "drives[0].io_engine: 'sync'"},
		{DRVX("\"socket\": \"/run/vhost.sock\""),
		 "drives[0].socket: vhost-user drives are not supported"},
		{DRVX("\"partuuid\": \"0eaa91a0 01\""), "drives[0].partuuid: '0eaa91a0 01' is not"},
		{DRVX("\"partuuid\": \"\""), "drives[0].partuuid: '' is not a partition UUID"},
		{DRVX("\"partuuid\": \"a\\\"b\""), "drives[0].partuuid"},
		{DRVX("\"partuuid\": \"a\\tb\""), "drives[0].partuuid"},
		{DRVX("\"foo\": 1"), "drives[0]: unknown field 'foo'"},
		{"{" BOOT ", \"drives\": {}}", "drives: expected an array, got an object"},
		{DRIVES("[]"), "drives[0]: expected an object, got an array"},
		{DRIVES("null"), "drives[0]: expected an object, got null"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void rate_limiter_rejects(void **state)
{
	static const struct reject r[] = {
		{RL("{\"bandwidth\": {\"size\": 1, \"refill_time\": 1, \"foo\": 1}}"),
		 "drives[0].rate_limiter.bandwidth: unknown field 'foo'"},
		{RL("{\"bw\": {\"size\": 1, \"refill_time\": 1}}"),
		 "drives[0].rate_limiter: unknown field 'bw'"},
		{RL("{\"ops\": {\"refill_time\": 100}}"),
		 "drives[0].rate_limiter.ops.size: missing required field"},
		{RL("{\"ops\": {\"size\": null, \"refill_time\": 100}}"),
		 "drives[0].rate_limiter.ops.size: missing required field"},
		{RL("{\"ops\": {\"size\": 100}}"),
		 "drives[0].rate_limiter.ops.refill_time: missing required field"},
		{RL("{\"bandwidth\": {\"size\": -1, \"refill_time\": 100}}"),
		 "drives[0].rate_limiter.bandwidth.size: -1 is out of range"},
		{RL("{\"bandwidth\": {\"size\": 1, \"refill_time\": -100}}"),
		 "drives[0].rate_limiter.bandwidth.refill_time: -100 is out of range"},
		{RL("{\"bandwidth\": {\"size\": 1, \"one_time_burst\": -1, \"refill_time\": 1}}"),
		 "drives[0].rate_limiter.bandwidth.one_time_burst: -1 is out of range"},
		{RL("{\"ops\": {\"size\": 1.5, \"refill_time\": 1}}"),
		 "drives[0].rate_limiter.ops.size: expected an integer, got a number with a "
		 "fraction"},
		{RL("{\"ops\": {\"size\": \"1\", \"refill_time\": 1}}"),
		 "drives[0].rate_limiter.ops.size: expected an integer, got a string"},
		{RL("5"), "drives[0].rate_limiter: expected an object, got an integer"},
		{RL("{\"ops\": []}"),
		 "drives[0].rate_limiter.ops: expected an object, got an array"},
		{NETX("\"rx_rate_limiter\": {\"ops\": {\"size\": 1}}"),
		 "network-interfaces[0].rx_rate_limiter.ops.refill_time: missing required field"},
		{NETX("\"tx_rate_limiter\": {\"x\": 1}"),
		 "network-interfaces[0].tx_rate_limiter: unknown field 'x'"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void net_rejects(void **state)
{
	static const struct reject r[] = {
		{NETS("{\"host_dev_name\": \"tap0\"}"),
		 "network-interfaces[0].iface_id: missing required field"},
		{NETS("{\"iface_id\": \"n\"}"),
		 "network-interfaces[0].host_dev_name: missing required field"},
		{NETS(NET("eth-0", "tap0")), "network-interfaces[0].iface_id: 'eth-0': ids are"},
		{NETS(NET("", "tap0")), "network-interfaces[0].iface_id: '':"},
		{NETS(NET("n", "")), "network-interfaces[0].host_dev_name: '' must be 1 to 15"},
		{NETS(NET("n", "tap_with_16_chrs")),
		 "host_dev_name: 'tap_with_16_chrs' must be 1 to 15"},
		{NETS(NET("a", "t1") "," NET("a", "t2")),
		 "network-interfaces[1].iface_id: 'a' is used twice"},
		{NETS(NET("a", "t1") "," NET("b", "t2") "," NET("c", "t1")),
		 "network-interfaces[2].host_dev_name: tap 't1' is already used by 'a'"},
		{NETS(NETM("a", "t1", "02:00:00:00:00:01") "," NETM("b", "t2",
								    "02:00:00:00:00:01")),
		 "network-interfaces[1].guest_mac: the MAC address is already in use by 'a'"},
		{NETS(NETM("a", "t1", "aa:BB:cc:00:00:01") "," NETM("b", "t2",
								    "AA:bb:CC:00:00:01")),
		 "network-interfaces[1].guest_mac: the MAC address is already in use by 'a'"},
		{NETX("\"guest_mac\": \"aa:bb:cc:dd:ee\""),
		 "network-interfaces[0].guest_mac: 'aa:bb:cc:dd:ee' is not a MAC address"},
		{NETX("\"guest_mac\": \"aa-bb-cc-dd-ee-ff\""),
		 "guest_mac: 'aa-bb-cc-dd-ee-ff' is not"},
		{NETX("\"guest_mac\": \"gg:bb:cc:dd:ee:ff\""),
		 "guest_mac: 'gg:bb:cc:dd:ee:ff' is not"},
		{NETX("\"guest_mac\": \"aa:bb:cc:dd:ee:ff \""),
		 "guest_mac: 'aa:bb:cc:dd:ee:ff ' is not"},
		{NETX("\"guest_mac\": \"aa:bb:cc:dd:ee:ff:00\""),
		 "guest_mac: 'aa:bb:cc:dd:ee:ff:00'"},
		{NETX("\"guest_mac\": \"aa:bb:cc:dd:ee:fff\""), "guest_mac: 'aa:bb:cc:dd:ee:fff'"},
		{NETX("\"guest_mac\": \"aabbccddeeff\""), "guest_mac: 'aabbccddeeff'"},
		{NETX("\"guest_mac\": \"a:bb:cc:dd:ee:ff\""), "guest_mac: 'a:bb:cc:dd:ee:ff'"},
		{NETX("\"guest_mac\": \" aa:bb:cc:dd:ee:f\""), "guest_mac: ' aa:bb:cc:dd:ee:f'"},
		{NETX("\"guest_mac\": \"\""), "guest_mac: '' is not a MAC address"},
		{NETX("\"guest_mac\": 5"), "network-interfaces[0].guest_mac: expected a string"},
		{NETX("\"mtu\": 67"), "network-interfaces[0].mtu: 67 is out of range [68, 65535]"},
		{NETX("\"mtu\": 65536"),
		 "network-interfaces[0].mtu: 65536 is out of range [68, 65535]"},
		{NETX("\"mtu\": 0"), "network-interfaces[0].mtu: 0 is out of range"},
		{NETX("\"mtu\": -1"), "network-interfaces[0].mtu: -1 is out of range"},
		{NETX("\"allow_mmds_requests\": true"),
		 "network-interfaces[0]: unknown field 'allow_mmds_requests'"},
		{"{" BOOT ", \"network-interfaces\": \"tap0\"}",
		 "network-interfaces: expected an array, got a string"},
	};
	check_rejects(*state, r, ARRAY_SIZE(r));
}

static void root_error_names_json_index(void **state)
{
	/* Cross-entry errors name drives by their index in the file, not by
	 * the order after the root drive is moved to the front. */
	struct fx *f = *state;
	static const struct reject r[] = {
		{DRIVES(DRV("a", "true") "," DRV("b", "false") "," DRV("c", "true")),
		 "drives[2].is_root_device"},
		{DRIVES(DRV("x", "false") "," DRV("x", "false") "," DRV("r", "true")),
		 "drives[1].drive_id: 'x' is used twice"},
		{DRIVES(DRV("r1", "true") "," DRV("r2", "true")),
		 "drives[1].is_root_device: a root block device already exists ('r1')"},
	};
	check_rejects(f, r, ARRAY_SIZE(r));
}

/* ---------------------------------------------------------------- helpers */

static void valid_id(void **state)
{
	static const char *const good[] = {"a", "Z", "0", "_", "rootfs", "eth_0", "ABCxyz019_"};
	static const char *const bad[] = {"",	 "a-b",	     "a/b",   "a b", "a.b",
					  "a:b", "\xc3\xa9", "tab\t", "a\n"};
	char s[66];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!config_valid_id(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (config_valid_id(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	memset(s, 'x', sizeof(s));
	s[64] = '\0';
	assert_true(config_valid_id(s));
	s[64] = 'x';
	s[65] = '\0';
	assert_false(config_valid_id(s));
}

static void parse_mac(void **state)
{
	uint8_t m[6];
	static const char *const bad[] = {
		"",
		"aa",
		"aa:bb:cc:dd:ee",
		"aa:bb:cc:dd:ee:",
		"aa-bb-cc-dd-ee-ff",
		"gg:bb:cc:dd:ee:ff",
		"aa:bb:cc:dd:ee:ff ",
		"aa:bb:cc:dd:ee:ff:",
		"aa:bb:cc:dd:ee:fff",
		"aabbccddeeff",
		"a:bb:cc:dd:ee:ff",
		"aa:b:cc:dd:ee:ff",
		"aa:bb:cc:dd:ee:f",
		"aa::bb:cc:dd:ee",
		"aa.bb.cc.dd.ee.ff",
		"0xa:bb:cc:dd:ee:ff",
		"+a:bb:cc:dd:ee:ff",
		" a:bb:cc:dd:ee:ff",
		"aa:bb:cc:dd:ee:ff\n",
	};

	assert_int_equal(config_parse_mac("00:11:22:33:44:55", m), 0);
	assert_memory_equal(m, "\x00\x11\x22\x33\x44\x55", 6);
	assert_int_equal(config_parse_mac("aA:Bb:cC:dD:eE:Ff", m), 0);
	assert_memory_equal(m, "\xaa\xbb\xcc\xdd\xee\xff", 6);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (config_parse_mac(bad[i], m) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void validate_devices_direct(void **state)
{
	struct vm_config c;
	char err[256];
	struct drive_cfg d[2] = {{.drive_id = "a", .is_root_device = true},
				 {.drive_id = "b", .is_root_device = false}};
	struct net_cfg n[2] = {{.iface_id = "e0",
				.host_dev_name = "t0",
				.has_mac = true,
				.guest_mac = {2, 0, 0, 0, 0, 1}},
			       {.iface_id = "e1",
				.host_dev_name = "t1",
				.has_mac = false,
				.guest_mac = {2, 0, 0, 0, 0, 1}}};

	memset(&c, 0, sizeof(c));
	c.drives = d;
	c.ndrives = 2;
	c.nets = n;
	c.nnets = 2;
	assert_int_equal(config_validate_devices(&c, err, sizeof(err)), 0);
	/* The same MAC bytes on an interface without a MAC do not clash. */
	n[1].has_mac = true;
	assert_errno(config_validate_devices(&c, err, sizeof(err)), -EINVAL);
	assert_substr(err, "network-interfaces[1].guest_mac");
	n[1].has_mac = false;
	d[1].is_root_device = true;
	assert_errno(config_validate_devices(&c, err, sizeof(err)), -EINVAL);
	assert_substr(err, "drives[1].is_root_device: a root block device already exists ('a')");
	d[1].is_root_device = false;
	d[1].drive_id = "a";
	assert_errno(config_validate_devices(&c, err, sizeof(err)), -EINVAL);
	assert_substr(err, "drives[1].drive_id: 'a' is used twice");
	d[1].drive_id = "b";
	c.ndrives = 10;
	c.nnets = 10; /* only the count is looked at first */
	assert_errno(config_validate_devices(&c, err, sizeof(err)), -EINVAL);
	assert_substr(err, "20 devices");
	c.ndrives = c.nnets = 0;
	assert_int_equal(config_validate_devices(&c, err, sizeof(err)), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
static const struct CMUnitTest tests[] = {
	T(full_devices),
	T(root_moves_to_front),
	T(nulls_and_defaults),
	T(accepted_edges),
	T(device_count),
	T(drive_rejects),
	T(rate_limiter_rejects),
	T(net_rejects),
	T(root_error_names_json_index),
	cmocka_unit_test(valid_id),
	cmocka_unit_test(parse_mac),
	cmocka_unit_test(validate_devices_direct),
};

UT_MAIN(tests, NULL, NULL)
