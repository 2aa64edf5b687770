"""Bad input, from broken HTTP framing to wrong JSON types: each gets its
exact status and a fault_message that says what is wrong, and none of it
changes the configuration, hangs the server or hurts another client."""

import json
import socket
import time

import pytest

import disks
from apilib import DESER, TESTGUEST_ELF, Conn, api, check, start_ember  # noqa: F401
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)

MC = {"vcpu_count": 2, "mem_size_mib": 256}


def raw(api, data, n=1, timeout=3):
    """Sends data on a new connection; (answers, closed_by_server)."""
    with api.conn(timeout) as c:
        c.send(data)
        answers = [c.read_response(timeout) for _ in range(n)]
        return answers, c.wait_closed(0.5)


def unchanged(api):
    """The machine config was not touched by the bad requests."""
    assert api.get("/machine-config").json()["vcpu_count"] == 1


# ---------------------------------------------------------------- HTTP framing


def test_malformed_json(api):
    for body in ['{"vcpu_count": 2,', '{vcpu_count: 2}', "{'vcpu_count': 2}", '{"a" 1}', "{",
                 '{"vcpu_count": 2}}', "nul", '{"vcpu_count": 0x10, "mem_size_mib": 1}']:
        msg = api.fault("PUT", "/machine-config", body)
        assert msg.startswith(DESER), (body, msg)
        assert "line 1" in msg, msg  # says where
    unchanged(api)


@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", "true", '[{"vcpu_count": 1}]'])
def test_json_that_is_not_an_object(api, body):
    msg = api.fault("PUT", "/machine-config", body)
    assert msg.startswith(DESER)


def test_invalid_utf8_in_the_body(api):
    msg = api.fault("PUT", "/boot-source", b'{"kernel_image_path": "\xff\xfe"}')
    assert msg.startswith(DESER)


def test_nul_inside_a_string(api):
    msg = api.fault("PUT", "/boot-source", '{"kernel_image_path": "/bin/true\\u0000x"}')
    assert msg.startswith(DESER)


def test_nested_json(api):
    msg = api.fault("PUT", "/machine-config", "[" * 100 + "]" * 100)
    assert msg.startswith(DESER)
    msg = api.fault("PUT", "/machine-config", '{"a":' * 100 + "1" + "}" * 100)
    assert "unknown field 'a'" in msg
    body = dict(MC, bogus={"a": {"b": {"c": [[[[{"d": None}]]]]}}})
    assert "bogus" in api.fault("PUT", "/machine-config", body)
    unchanged(api)


@pytest.mark.parametrize("body", ["[" * 2000 + "]" * 2000, "[" * 20000 + "]" * 20000,
                                  '{"a":' * 2000 + "1" + "}" * 2000],
                         ids=["arrays-2000", "arrays-20000", "objects-2000"])
def test_deeply_nested_json(api, body):
    msg = api.fault("PUT", "/machine-config", body)
    assert msg.startswith(DESER)
    assert api.get("/").json()["state"] == "Not started"


def test_duplicate_json_keys(api):
    msg = api.fault("PUT", "/machine-config",
                    '{"vcpu_count": 2, "vcpu_count": 4, "mem_size_mib": 256}')
    assert msg.startswith(DESER) and "vcpu_count" in msg
    unchanged(api)


def test_truncated_body_then_close(api):
    """Content-Length larger than what is sent, then the client half-closes:
    the server must give up on that request (never apply it), close, and go
    on serving others."""
    body = json.dumps(MC).encode()
    c = api.conn(3)
    c.send(Conn.format("PUT", "/machine-config", body, length=len(body) + 50))
    # While it waits for the rest, other clients are served at once.
    t0 = time.monotonic()
    api.get("/")
    assert time.monotonic() - t0 < 0.5
    c.s.shutdown(socket.SHUT_WR)
    try:
        r = c.read_response(3)  # an error answer is fine, a hang is not
        check("PUT", "/machine-config", r)
        assert r.status == 400
    except Exception:
        pass
    assert c.wait_closed(3)
    c.close()
    unchanged(api)


def test_truncated_body_client_vanishes(api):
    api.get("/")  # the helper's own connection is open from here on
    base = api.fd_count()
    for _ in range(20):
        c = api.conn()
        c.send(Conn.format("PUT", "/machine-config", MC, length=200))
        c.close()
    api.get("/")
    deadline = time.monotonic() + 3
    while api.fd_count() > base and time.monotonic() < deadline:
        time.sleep(0.02)
    assert api.fd_count() <= base
    unchanged(api)


def test_content_length_smaller_than_the_body(api):
    """The rest of the body is read as the next request: the first is
    refused (its JSON is cut), the second is not HTTP, the connection is
    closed, and nothing was applied."""
    body = json.dumps(MC)
    data = Conn.format("PUT", "/machine-config", body, length=10) + \
        Conn.format("GET", "/machine-config")
    (first, second), closed = raw(api, data, n=2)
    check("PUT", "/machine-config", first)
    assert first.status == 400 and first.fault_message.startswith(DESER)
    assert second.status == 400 and second.headers["connection"] == "close"
    check("GET", "/machine-config", second)
    assert closed
    unchanged(api)


@pytest.mark.parametrize("value", ["-1", "+5", "abc", "1.5", "0x10", "", "99999999999999999999999"])
def test_bad_content_length(api, value):
    data = (f"PUT /machine-config HTTP/1.1\r\nContent-Length: {value}\r\n\r\n"
            + json.dumps(MC)).encode()
    (r,), closed = raw(api, data)
    check("PUT", "/machine-config", r)
    assert r.status == 400 and "Content-Length" in r.fault_message
    assert closed
    unchanged(api)


def test_two_different_content_lengths(api):
    body = json.dumps(MC)
    data = (f"PUT /machine-config HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
            f"Content-Length: 2\r\n\r\n{body}").encode()
    (r,), closed = raw(api, data)
    assert r.status == 400 and "Content-Length" in r.fault_message and closed
    unchanged(api)


def test_body_over_the_default_limit(api):
    limit = 51200
    pad = limit - len('{"a":""}')
    at = '{"a":"' + "x" * pad + '"}'
    assert len(at) == limit
    # At the limit the body is read and judged on its content.
    assert "unknown field" in api.fault("PUT", "/machine-config", at)
    over = '{"a":"' + "x" * (pad + 1) + '"}'
    (r,), closed = raw(api, Conn.format("PUT", "/machine-config", over))
    check("PUT", "/machine-config", r)
    assert r.status == 400 and r.fault_message == (
        f"Request payload with size {limit + 1} is larger than the limit of {limit} allowed by "
        "server.")
    assert closed


def test_oversized_content_length_is_refused_before_the_body(api):
    """The refusal comes from the header alone: the server does not wait
    for (or read) a body it will not take."""
    with api.conn(2) as c:
        t0 = time.monotonic()
        c.send(b"PUT /drives/d0 HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n")
        r = c.read_response(2)
        assert time.monotonic() - t0 < 1
        check("PUT", "/drives/d0", r)
        assert r.status == 400 and "1000000000" in r.fault_message
        assert c.wait_closed(1)


def test_configured_payload_limit(start_ember):
    e = start_ember(args=["--http-api-max-payload-size", "100"])
    body = json.dumps(MC)
    body100 = body[:-1] + " " * (100 - len(body)) + "}"
    assert len(body100) == 100
    e.put("/machine-config", body100)
    body101 = body[:-1] + " " * (101 - len(body)) + "}"
    r = e.request("PUT", "/machine-config", body101, expect=400)
    assert r.fault_message == ("Request payload with size 101 is larger than the limit of 100 "
                               "allowed by server.")
    assert e.get("/machine-config").json()["vcpu_count"] == 2


@pytest.mark.parametrize("value", ["chunked", "gzip, chunked", "identity"])
def test_transfer_encoding_is_refused(api, value):
    data = (f"PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: {value}\r\n\r\n"
            "5\r\n{\"a\":\r\n0\r\n\r\n").encode()
    (r,), closed = raw(api, data)
    check("PUT", "/machine-config", r)
    assert r.status == 400 and "Transfer-Encoding" in r.fault_message
    assert closed
    unchanged(api)


def test_get_with_a_body(api):
    assert api.fault("GET", "/machine-config", {"x": 1}) == "GET request cannot have a body."
    assert api.fault("GET", "/", "x") == "GET request cannot have a body."


@pytest.mark.parametrize("method,path", [
    ("PUT", "/machine-config"), ("PATCH", "/machine-config"), ("PUT", "/boot-source"),
    ("PUT", "/drives/d0"), ("PATCH", "/drives/d0"), ("PUT", "/network-interfaces/e0"),
    ("PATCH", "/network-interfaces/e0"), ("PUT", "/logger"), ("PUT", "/metrics"),
    ("PATCH", "/vm"), ("PUT", "/serial"), ("PUT", "/actions")])
def test_put_and_patch_without_a_body(api, method, path):
    empty = f"Empty {method} request."
    assert api.fault(method, path) == empty  # no Content-Length at all
    assert api.fault(method, path, b"") == empty  # Content-Length: 0


def test_http_1_0(api):
    (r,), closed = raw(api, b"GET /version HTTP/1.0\r\n\r\n")
    check("GET", "/version", r)
    assert r.status == 200 and r.headers["connection"] == "close" and closed
    # HTTP/1.0 with keep-alive stays open.
    (r,), closed = raw(api, b"GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert r.status == 200 and r.headers["connection"] == "keep-alive" and not closed
    # A PUT over HTTP/1.0 works too.
    body = json.dumps(MC)
    (r,), closed = raw(api, (f"PUT /machine-config HTTP/1.0\r\nContent-Length: {len(body)}"
                             f"\r\n\r\n{body}").encode())
    assert r.status == 204 and closed
    assert api.get("/machine-config").json()["vcpu_count"] == 2


def test_missing_host_is_fine(api):
    (r,), closed = raw(api, Conn.format("PUT", "/machine-config", MC, host=False))
    assert r.status == 204 and not closed
    (r,), _ = raw(api, b"GET /machine-config HTTP/1.1\r\n\r\n")
    assert r.status == 200 and r.json()["vcpu_count"] == 2


def test_connection_close_is_honoured(api):
    (r,), closed = raw(api, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert r.status == 200 and r.headers["connection"] == "close" and closed


def test_absolute_form_is_accepted(api):
    (r,), _ = raw(api, b"GET http://localhost/version HTTP/1.1\r\n\r\n")
    check("GET", "/version", r)
    assert r.status == 200 and "firecracker_version" in r.json()


@pytest.mark.parametrize("target", ["/machine-config?x=1&y", "/?", "/version?a"])
def test_query_strings_are_not_routes(api, target):
    # As in Firecracker, whose router splits the raw target on '/': a query
    # makes an unknown path.
    assert api.fault("GET", target) == f"Invalid request method and/or path: GET {target}."


@pytest.mark.parametrize("data,needle", [
    (b"GET / HTTP/2.0\r\n\r\n", "Invalid HTTP Version"),
    (b"GET / HTTP/1.1\n\n", "CRLF"),
    (b"GET  / HTTP/1.1\r\n\r\n", "Invalid URI"),
    (b"HEAD / HTTP/1.1\r\n\r\n", "Invalid HTTP Method"),
    (b"get / HTTP/1.1\r\n\r\n", "Invalid HTTP Method"),
    (b"CONNECT localhost:80 HTTP/1.1\r\n\r\n", "Invalid HTTP Method"),
    (b"GET\r\n\r\n", "Invalid request"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "Invalid"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Invalid"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "Host"),
    (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "Invalid header"),
    (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", "Invalid header"),
    (b"GET / HTTP/1.1\r\nX: \x01\r\n\r\n", "Invalid header"),
    (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "Invalid URI"),
    (b"GET /a%zz HTTP/1.1\r\n\r\n", "Invalid URI"),
    (b"GET /#frag HTTP/1.1\r\n\r\n", "Invalid URI"),
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", "larger than the limit"),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n", "larger than the limit"),
    (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 100 + b"\r\n", "headers"),
], ids=lambda v: v[:40].decode("latin-1") if isinstance(v, bytes) else v)
def test_broken_http(api, data, needle):
    (r,), closed = raw(api, data)
    check("GET", "/no-such-route", r)  # a 400 with an Error body
    assert r.status == 400, r
    msg = r.json()["fault_message"]
    assert needle in msg, msg
    assert r.headers["connection"] == "close" and closed
    assert api.get("/").status == 200


# ---------------------------------------------------------------- JSON content


@pytest.mark.parametrize("method,path,body,needle", [
    ("PUT", "/machine-config", dict(MC, bogus=1), "bogus"),
    ("PATCH", "/machine-config", {"bogus": 1}, "bogus"),
    ("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "bogus": 1}, "bogus"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null", "is_root_device": False,
                           "bogus": 1}, "bogus"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null", "is_root_device": False,
                           "rate_limiter": {"bogus": {}}}, "bogus"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null", "is_root_device": False,
                           "rate_limiter": {"ops": {"size": 1, "refill_time": 1, "bogus": 1}}},
     "bogus"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": "t", "bogus": 1},
     "bogus"),
    ("PUT", "/logger", {"bogus": 1}, "bogus"),
    ("PUT", "/metrics", {"metrics_path": "/dev/null", "bogus": 1}, "bogus"),
    ("PATCH", "/vm", {"state": "Paused", "bogus": 1}, "bogus"),
    ("PUT", "/serial", {"bogus": 1}, "bogus"),
    ("PUT", "/actions", {"action_type": "InstanceStart", "bogus": 1}, "bogus"),
])
def test_unknown_field(api, method, path, body, needle):
    msg = api.fault(method, path, body)
    assert needle in msg and "unknown field" in msg, msg


@pytest.mark.parametrize("method,path,body,needle", [
    ("PUT", "/machine-config", {"vcpu_count": "2", "mem_size_mib": 256}, "vcpu_count"),
    ("PUT", "/machine-config", {"vcpu_count": 2.0, "mem_size_mib": 256}, "vcpu_count"),
    ("PUT", "/machine-config", {"vcpu_count": True, "mem_size_mib": 256}, "vcpu_count"),
    ("PUT", "/machine-config", {"vcpu_count": [2], "mem_size_mib": 256}, "vcpu_count"),
    ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": "256"}, "mem_size_mib"),
    ("PUT", "/machine-config", dict(MC, smt="yes"), "smt"),
    ("PUT", "/machine-config", dict(MC, smt=1), "smt"),
    ("PUT", "/machine-config", dict(MC, track_dirty_pages="false"), "track_dirty_pages"),
    ("PUT", "/machine-config", dict(MC, huge_pages=2), "huge_pages"),
    ("PUT", "/machine-config", dict(MC, huge_pages="1G"), "huge_pages"),
    ("PUT", "/machine-config", dict(MC, cpu_template="T2"), "cpu_template"),
    ("PUT", "/boot-source", {"kernel_image_path": 5}, "kernel_image_path"),
    ("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": ["a"]},
     "boot_args"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": "false"}, "is_root_device"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": 7, "is_root_device": False},
     "path_on_host"),
    ("PUT", "/drives/d0", {"drive_id": 7, "path_on_host": "/dev/null", "is_root_device": False},
     "drive_id"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": False, "cache_type": "writeback"}, "cache_type"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": False, "io_engine": "Uring"}, "io_engine"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": False, "rate_limiter": []}, "rate_limiter"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": False,
                           "rate_limiter": {"ops": {"size": "1", "refill_time": 1}}}, "size"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null",
                           "is_root_device": False,
                           "rate_limiter": {"ops": {"size": 1}}}, "refill_time"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": 1}, "host_dev_name"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": "t",
                                       "guest_mac": 6}, "guest_mac"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": "t", "mtu": "1500"},
     "mtu"),
    ("PUT", "/logger", {"level": 3}, "level"),
    ("PUT", "/logger", {"show_level": "true"}, "show_level"),
    ("PUT", "/logger", {"log_path": False}, "log_path"),
    ("PUT", "/metrics", {"metrics_path": 1}, "metrics_path"),
    ("PUT", "/metrics", {}, "metrics_path"),
    ("PATCH", "/vm", {"state": 1}, "state"),
    ("PATCH", "/vm", {"state": "paused"}, "state"),
    ("PATCH", "/vm", {}, "state"),
    ("PUT", "/serial", {"serial_out_path": 1}, "serial_out_path"),
    ("PUT", "/machine-config", {"mem_size_mib": 256}, "vcpu_count"),
    ("PUT", "/boot-source", {"boot_args": "x"}, "kernel_image_path"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null"}, "is_root_device"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "is_root_device": False}, "path_on_host"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0"}, "host_dev_name"),
])
def test_wrong_types_and_missing_fields(api, method, path, body, needle):
    msg = api.fault(method, path, body)
    assert needle in msg, msg
    unchanged(api)


def test_action_type_of_the_wrong_type_is_not_called_missing(api):
    msg = api.fault("PUT", "/actions", {"action_type": 1})
    assert "action_type" in msg and "missing" not in msg, msg


@pytest.mark.parametrize("field,value", [
    ("vcpu_count", 0), ("vcpu_count", -1), ("vcpu_count", 33), ("vcpu_count", 256),
    ("vcpu_count", 2 ** 32), ("vcpu_count", 2 ** 63 - 1), ("vcpu_count", 2 ** 63),
    ("vcpu_count", 2 ** 64), ("vcpu_count", -2 ** 63), ("vcpu_count", 10 ** 30),
    ("mem_size_mib", 0), ("mem_size_mib", -1), ("mem_size_mib", 2 ** 64), ("mem_size_mib", 2 ** 53),
])
def test_numbers_out_of_range(api, field, value):
    msg = api.fault("PUT", "/machine-config", json.dumps(dict(MC, **{field: value})))
    assert field in msg or "integer" in msg, msg
    unchanged(api)


@pytest.mark.parametrize("bucket", [
    {"size": -1, "refill_time": 100}, {"size": 1, "refill_time": -1},
    {"size": 2 ** 64, "refill_time": 1}, {"size": 1, "refill_time": 1, "one_time_burst": -5},
    {"size": 1.5, "refill_time": 1},
])
def test_rate_limiter_numbers_out_of_range(api, tmp_path, bucket):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    body = json.dumps(disks.drive("d0", img, rate_limiter={"bandwidth": bucket}))
    msg = api.fault("PUT", "/drives/d0", body)
    assert msg.startswith(DESER)
    assert api.vm_config()["drives"] == []


def test_largest_rate_limiter_numbers_are_accepted(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    big = 2 ** 63 - 1
    rl = {"bandwidth": {"size": big, "refill_time": big, "one_time_burst": big},
          "ops": {"size": 0, "refill_time": 0}}
    api.put("/drives/d0", disks.drive("d0", img, rate_limiter=rl))
    assert api.vm_config()["drives"][0]["rate_limiter"]["bandwidth"]["size"] == big


@pytest.mark.parametrize("method,path,body,needle", [
    ("PUT", "/boot-source", {"kernel_image_path": ""}, "kernel_image_path"),
    ("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "initrd_path": ""},
     "initrd_path"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "", "is_root_device": False},
     "path_on_host"),
    ("PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": "/dev/null", "is_root_device": True,
                           "partuuid": ""}, "partuuid"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": ""}, "host_dev_name"),
    ("PUT", "/network-interfaces/e0", {"iface_id": "e0", "host_dev_name": "t", "guest_mac": ""},
     "guest_mac"),
    ("PUT", "/logger", {"log_path": ""}, "Logger"),
    ("PUT", "/logger", {"level": ""}, "level"),
    ("PUT", "/metrics", {"metrics_path": ""}, "Metrics"),
    ("PUT", "/serial", {"serial_out_path": ""}, "Serial"),
    ("PATCH", "/vm", {"state": ""}, "state"),
    ("PUT", "/actions", {"action_type": ""}, "unknown variant ``"),
])
def test_empty_strings(api, method, path, body, needle):
    msg = api.fault(method, path, body)
    assert needle in msg, msg


def test_empty_boot_args_is_a_valid_command_line(api):
    api.put("/boot-source", {"kernel_image_path": str(TESTGUEST_ELF), "boot_args": ""})


def test_command_line_too_long(api):
    msg = api.fault("PUT", "/boot-source", {"kernel_image_path": str(TESTGUEST_ELF),
                                            "boot_args": "x" * 4096})
    assert msg.startswith("Boot source error:") and "2047" in msg


# ---------------------------------------------------------------- ids


BAD_ID = "API Resource IDs can only contain alphanumeric characters and underscores."


@pytest.mark.parametrize("path_id", ["a-b", "a.b", "%20", "a%2Fb", "a:b", "%C3%A9", "a,b", "~"])
def test_ids_with_odd_characters(api, tmp_path, path_id):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    for method, path, body in [
            ("PUT", f"/drives/{path_id}", disks.drive(path_id, img)),
            ("PATCH", f"/drives/{path_id}", {"drive_id": path_id}),
            ("PUT", f"/network-interfaces/{path_id}", {"iface_id": path_id, "host_dev_name": "t"}),
            ("PATCH", f"/network-interfaces/{path_id}", {"iface_id": path_id})]:
        assert api.fault(method, path, body) == BAD_ID
    assert api.vm_config()["drives"] == []


def test_empty_id(api):
    assert api.fault("PUT", "/drives/", {"drive_id": "", "path_on_host": "/dev/null",
                                         "is_root_device": False}) == "The ID cannot be empty."
    assert api.fault("PATCH", "/network-interfaces/", {"iface_id": ""}) == \
        "The ID cannot be empty."


def test_id_in_the_body_must_be_valid_too(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    # The path is fine but the body's id is not the path's.
    msg = api.fault("PUT", "/drives/ab", disks.drive("a-b", img))
    assert msg == "The id from the path does not match the id from the body!"


def test_longest_id(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    long_id = "A_9" * 21 + "z"
    assert len(long_id) == 64
    api.put(f"/drives/{long_id}", disks.drive(long_id, img))
    assert api.vm_config()["drives"][0]["drive_id"] == long_id


def test_too_long_ids_are_refused(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    for n in (65, 300):
        i = "a" * n
        r = api.request("PUT", f"/drives/{i}", disks.drive(i, img), expect=400)
        assert r.fault_message
    r = api.request("PUT", "/drives/" + "a" * 3000, disks.drive("a", img), expect=400)
    assert "larger than the limit" in r.fault_message
    assert api.vm_config()["drives"] == []


def test_too_long_id_message_names_the_limit(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    i = "a" * 65
    msg = api.fault("PUT", f"/drives/{i}", disks.drive(i, img))
    assert "64" in msg, msg


def test_path_id_and_body_id_differ(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    assert api.fault("PUT", "/drives/d0", disks.drive("d1", img)) == \
        "The id from the path does not match the id from the body!"
    assert api.fault("PUT", "/network-interfaces/e0",
                     {"iface_id": "e1", "host_dev_name": "tap0"}) == \
        "The id from the path [e0] does not match the id from the body [e1]!"
    assert api.vm_config()["drives"] == []


def test_ids_are_case_sensitive(api, tmp_path):
    img = disks.pattern_image(tmp_path / "a.img", 8)
    api.put("/drives/Data", disks.drive("Data", img))
    api.put("/drives/data", disks.drive("data", img))
    assert [d["drive_id"] for d in api.vm_config()["drives"]] == ["Data", "data"]
    assert api.fault("PUT", "/drives/DATA", disks.drive("data", img)).startswith("The id from")
