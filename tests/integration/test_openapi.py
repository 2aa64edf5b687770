"""ember's OpenAPI spec: well formed, and accepting exactly what Firecracker's accepts.

Needs neither KVM nor a running ember: it reads src/api/swagger/ember.yaml and
Firecracker's spec (shared/reference/firecracker-v1.16.1-openapi.yaml, or
$EMBER_FIRECRACKER_SPEC).
"""

import copy
import json
import re

import jsonschema
import pytest
import yaml

import openapi

# The routes ember serves (src/api/swagger/README.md).
EMBER_ROUTES = {
    ("GET", "/"),
    ("GET", "/version"),
    ("GET", "/vm/config"),
    ("PUT", "/actions"),
    ("GET", "/machine-config"),
    ("PUT", "/machine-config"),
    ("PATCH", "/machine-config"),
    ("PUT", "/boot-source"),
    ("PUT", "/drives/{drive_id}"),
    ("PATCH", "/drives/{drive_id}"),
    ("PUT", "/network-interfaces/{iface_id}"),
    ("PATCH", "/network-interfaces/{iface_id}"),
    ("PUT", "/logger"),
    ("PUT", "/metrics"),
    ("PATCH", "/vm"),
    ("PUT", "/serial"),
}

# ember's definitions: each has Firecracker's name and schema.
SHARED_DEFINITIONS = [
    "BootSource", "CpuTemplate", "Drive", "Error", "FirecrackerVersion", "FullVmConfiguration",
    "InstanceActionInfo", "InstanceInfo", "Logger", "MachineConfiguration", "Metrics",
    "NetworkInterface", "PartialDrive", "PartialNetworkInterface", "RateLimiter",
    "SerialDevice", "TokenBucket", "Vm"
]

# ember's GET /vm/config reports only the sections it serves; this is the one
# schema allowed to have fewer properties than Firecracker's.
SUBSET_DEFINITIONS = {"FullVmConfiguration"}

# A FullVmConfiguration section and the route that configures it.
SECTION_ROUTES = {
    "balloon": ("PUT", "/balloon"),
    "boot-source": ("PUT", "/boot-source"),
    "cpu-config": ("PUT", "/cpu-config"),
    "drives": ("PUT", "/drives/{drive_id}"),
    "entropy": ("PUT", "/entropy"),
    "logger": ("PUT", "/logger"),
    "machine-config": ("PUT", "/machine-config"),
    "memory-hotplug": ("PUT", "/hotplug/memory"),
    "metrics": ("PUT", "/metrics"),
    "mmds-config": ("PUT", "/mmds/config"),
    "network-interfaces": ("PUT", "/network-interfaces/{iface_id}"),
    "pmem": ("PUT", "/pmem/{id}"),
    "vsock": ("PUT", "/vsock"),
}

SWAGGER_TOP_KEYS = {
    "swagger", "info", "host", "basePath", "schemes", "consumes", "produces", "paths",
    "definitions", "parameters", "responses", "securityDefinitions", "security", "tags",
    "externalDocs",
}
OPERATION_KEYS = {
    "tags", "summary", "description", "externalDocs", "operationId", "consumes", "produces",
    "parameters", "responses", "schemes", "deprecated", "security",
}
PARAMETER_KEYS = {
    "name", "in", "description", "required", "schema", "type", "format", "allowEmptyValue",
    "items", "collectionFormat", "default", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "enum", "multipleOf",
}
RESPONSE_KEYS = {"description", "schema", "headers", "examples"}
PY_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
}


@pytest.fixture(scope="session", autouse=True)
def built():
    """Overrides conftest's: these tests read the specs only, not build/ember."""


@pytest.fixture(scope="module")
def ember():
    return openapi.ember_spec()


@pytest.fixture(scope="module")
def firecracker():
    if not openapi.FIRECRACKER_SPEC.exists():
        # Firecracker's spec is reference data kept beside the repository,
        # not in it; without it only ember's own spec can be checked.
        pytest.skip(f"Firecracker's spec is not at {openapi.FIRECRACKER_SPEC} "
                    "(set EMBER_FIRECRACKER_SPEC to compare ember's spec with it)")
    return openapi.firecracker_spec()


@pytest.fixture(params=["ember", "firecracker"])
def either(request, ember, firecracker):
    return {"ember": ember, "firecracker": firecracker}[request.param]


def route_id(route):
    return f"{route[0]} {route[1]}"


def walk(node, where="#"):
    """Yields (where, dict) for every mapping in a document."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{where}/{i}")


def schemas(spec):
    """Yields (where, schema object) for every schema in the spec, unresolved."""

    def sub(where, schema):
        yield where, schema
        for name, s in (schema.get("properties") or {}).items():
            yield from sub(f"{where}.properties.{name}", s)
        if isinstance(schema.get("items"), dict):
            yield from sub(f"{where}.items", schema["items"])
        if isinstance(schema.get("additionalProperties"), dict):
            yield from sub(f"{where}.additionalProperties", schema["additionalProperties"])
        for i, s in enumerate(schema.get("allOf") or []):
            yield from sub(f"{where}.allOf[{i}]", s)

    for name, d in (spec.get("definitions") or {}).items():
        yield from sub(f"definitions.{name}", d)
    for (method, path), op in openapi.operations(spec).items():
        for p in op.get("parameters") or []:
            if "schema" in p:
                yield from sub(f"{method} {path} parameter {p.get('name')}", p["schema"])
        for code, r in (op.get("responses") or {}).items():
            if "schema" in r:
                yield from sub(f"{method} {path} response {code}", r["schema"])


def fits_type(value, typ):
    if typ in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, PY_TYPES[typ])


# ---------------------------------------------------------------------------
# (a) ember's spec is well-formed Swagger 2.0


def test_ember_yaml_reads_the_same_as_yaml_1_1():
    """No scalar in ember.yaml means something else to a YAML 1.1 parser (Off, 0123, ...)."""
    text = openapi.EMBER_SPEC.read_text()
    assert yaml.safe_load(text) == openapi.load_yaml(text)


def test_loader_reads_off_as_a_string(firecracker):
    """Firecracker's `enum: [..., Off]` is the string "Off", not YAML 1.1's false."""
    assert "Off" in firecracker["definitions"]["Logger"]["properties"]["level"]["enum"]
    text = openapi.FIRECRACKER_SPEC.read_text()
    assert False in yaml.safe_load(text)["definitions"]["Logger"]["properties"]["level"]["enum"]


def test_loader_refuses_duplicate_keys():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key"):
        openapi.load_yaml("a: 1\nb: 2\na: 3\n")
    assert openapi.load_yaml("a: [on, Off, yes, 0123, 0x1f, 1.5, true, ~]") == {
        "a": ["on", "Off", "yes", 123, 31, 1.5, True, None]}


def test_top_level(ember, firecracker):
    assert ember["swagger"] == "2.0"
    assert set(ember) - SWAGGER_TOP_KEYS <= {k for k in ember if k.startswith("x-")}
    assert ember["info"]["title"] == "ember API"
    assert ember["info"]["version"] == openapi.VERSION_FILE.read_text().strip()
    assert ember["basePath"] == "/"
    assert ember["schemes"] == ["http"]
    assert ember["consumes"] == ["application/json"]
    assert ember["produces"] == ["application/json"]
    assert ember["x-ember-firecracker-api-version"] == firecracker["info"]["version"]


def test_every_ref_resolves(either):
    for where, node in walk(either):
        if "$ref" in node and isinstance(node["$ref"], str):
            name = openapi._ref_name(node["$ref"])
            assert name in either.get("definitions", {}), f"{where}: dangling {node['$ref']}"
    for name, d in either.get("definitions", {}).items():
        openapi.resolve(either, d)  # raises on a cycle


def test_no_siblings_beside_ref(ember):
    """Swagger 2.0 ignores keys next to a $ref; text put there would be lost."""
    for where, node in walk(ember):
        if "$ref" in node:
            assert set(node) == {"$ref"}, f"{where}: {sorted(set(node) - {'$ref'})} beside $ref"


def test_every_definition_is_used(ember):
    used = set()
    for _, node in walk(ember["paths"]):
        if "$ref" in node:
            name = openapi._ref_name(node["$ref"])
            used.add(name)
    grew = True
    while grew:
        before = len(used)
        for name in list(used):
            for _, node in walk(ember["definitions"][name]):
                if "$ref" in node:
                    used.add(openapi._ref_name(node["$ref"]))
        grew = len(used) > before
    assert set(ember["definitions"]) == used, f"unused: {set(ember['definitions']) - used}"


def test_path_parameters_are_declared(either):
    for (method, path), op in openapi.operations(either).items():
        in_template = set(re.findall(r"\{([^}/]+)\}", path))
        declared = {p["name"]: p for p in openapi.parameters(either, method, path)
                    if p.get("in") == "path"}
        assert set(declared) == in_template, f"{method} {path}: path parameters {declared}"
        for name, p in declared.items():
            assert p.get("required") is True, f"{method} {path}: {name} must be required"
            assert p.get("type") == "string", f"{method} {path}: {name} type"


def test_operations_are_well_formed(either):
    seen_ids = {}
    for path, item in either["paths"].items():
        assert path.startswith("/"), path
        for method, op in item.items():
            assert method in openapi.METHODS or method in ("parameters", "$ref") or \
                method.startswith("x-"), f"{path}: {method}"
    for (method, path), op in openapi.operations(either).items():
        label = f"{method} {path}"
        extra = {k for k in op if not k.startswith("x-")} - OPERATION_KEYS
        assert not extra, f"{label}: not operation keys: {extra}"
        op_id = op.get("operationId")
        assert op_id, f"{label}: no operationId"
        assert op_id not in seen_ids, f"{label}: operationId {op_id} also on {seen_ids[op_id]}"
        seen_ids[op_id] = label
        params = openapi.parameters(either, method, path)
        assert len([p for p in params if p["in"] == "body"]) <= 1, label
        for p in params:
            extra = {k for k in p if not k.startswith("x-")} - PARAMETER_KEYS
            assert not extra, f"{label} parameter {p.get('name')}: {extra}"
            assert p.get("in") in ("body", "path", "query", "header", "formData"), label
            if p["in"] == "body":
                assert "schema" in p and "type" not in p, f"{label}: body parameter"
            else:
                assert "type" in p and "schema" not in p, f"{label}: parameter {p['name']}"
        resps = openapi.responses(either, method, path)
        assert resps, f"{label}: no responses"
        for code, r in resps.items():
            assert code == "default" or re.fullmatch(r"[1-5][0-9][0-9]", code), \
                f"{label}: response code {code}"
            assert isinstance(r.get("description"), str), f"{label} {code}: no description"
            assert not set(r) - RESPONSE_KEYS - {k for k in r if k.startswith("x-")}, \
                f"{label} {code}: {set(r)}"


def test_every_operation_answers_errors_with_error(ember):
    error = ember["definitions"]["Error"]
    assert error["properties"]["fault_message"]["type"] == "string"
    for (method, path) in openapi.operations(ember):
        resps = openapi.responses(ember, method, path)
        for code in ("400", "default"):
            assert code in resps, f"{method} {path}: no {code} response"
            assert resps[code].get("schema") == {"$ref": "#/definitions/Error"}, \
                f"{method} {path}: {code} is not an Error"
        ok = [c for c in resps if c.startswith("2")]
        assert len(ok) == 1, f"{method} {path}: success codes {ok}"
        assert ok[0] == ("200" if method == "GET" else "204"), f"{method} {path}: {ok}"
        assert ("schema" in resps[ok[0]]) == (method == "GET"), f"{method} {path}"


def test_schema_objects_are_swagger(either):
    for where, s in schemas(either):
        if "$ref" in s:
            continue
        extra = {k for k in s if not k.startswith("x-")} - openapi.SCHEMA_KEYWORDS
        assert not extra, f"{where}: not Swagger 2.0 schema keywords: {extra}"
        typ = s.get("type")
        if typ is not None:
            assert typ in openapi.SWAGGER_TYPES, f"{where}: type {typ!r}"
        if typ == "array":
            assert isinstance(s.get("items"), dict), f"{where}: array without items"
        for name in s.get("required") or []:
            assert name in (s.get("properties") or {}), f"{where}: required {name} undefined"
        if typ in PY_TYPES:
            for v in s.get("enum") or []:
                assert fits_type(v, typ), f"{where}: enum value {v!r} is not a {typ}"
            if "default" in s:
                assert fits_type(s["default"], typ), f"{where}: default {s['default']!r}"
                if "enum" in s:
                    assert s["default"] in s["enum"], f"{where}: default not in enum"


def test_ember_serves_exactly_the_routes_it_should(ember):
    assert set(openapi.operations(ember)) == EMBER_ROUTES


def test_converted_schemas_are_valid_draft4(either):
    for (method, path) in openapi.operations(either):
        for strict in (False, True):
            for nullable in (False, True):
                s = openapi.request_schema(either, method, path, strict=strict,
                                           nullable=nullable)
                if s is not None:
                    jsonschema.Draft4Validator.check_schema(s)
                for code in openapi.responses(either, method, path):
                    if code == "default":
                        continue
                    s = openapi.response_schema(either, method, path, code, strict=strict,
                                                nullable=nullable)
                    if s is not None:
                        jsonschema.Draft4Validator.check_schema(s)


# ---------------------------------------------------------------------------
# (b) each ember operation accepts and answers exactly what Firecracker's does


@pytest.mark.parametrize("route", sorted(EMBER_ROUTES), ids=route_id)
def test_operation_matches_firecracker(route, ember, firecracker):
    diff = openapi.operation_difference(ember, firecracker, *route, SUBSET_DEFINITIONS)
    assert diff is None, diff


@pytest.mark.parametrize("name", SHARED_DEFINITIONS)
def test_definition_matches_firecracker(name, ember, firecracker):
    assert name in ember["definitions"]
    assert name in firecracker["definitions"], f"{name} is not one of Firecracker's names"
    ours = openapi.resolve(ember, {"$ref": f"#/definitions/{name}"})
    theirs = openapi.resolve(firecracker, {"$ref": f"#/definitions/{name}"})
    diff = openapi.schema_difference(ours, theirs, name, SUBSET_DEFINITIONS)
    assert diff is None, diff


def test_definitions_are_all_listed(ember):
    assert sorted(ember["definitions"]) == SHARED_DEFINITIONS


def test_full_vm_configuration_has_the_served_sections(ember, firecracker):
    ours = set(ember["definitions"]["FullVmConfiguration"]["properties"])
    theirs = set(firecracker["definitions"]["FullVmConfiguration"]["properties"])
    assert ours <= theirs
    assert theirs == set(SECTION_ROUTES), "Firecracker's sections changed: update SECTION_ROUTES"
    served = set(openapi.operations(ember))
    missing = openapi.not_implemented(ember)
    for section in theirs:
        route = SECTION_ROUTES[section]
        if section in ours:
            assert route in served, f"{section} is reported but {route_id(route)} is not served"
        else:
            assert route in missing, f"{section} is left out but {route_id(route)} is served"


def test_comparison_reports_a_changed_enum(ember, firecracker):
    """The comparison finds a difference, and says where."""
    broken = copy.deepcopy(ember)
    broken["definitions"]["Drive"]["properties"]["io_engine"]["enum"] = ["Sync"]
    diff = openapi.operation_difference(broken, firecracker, "PUT", "/drives/{drive_id}",
                                        SUBSET_DEFINITIONS)
    assert diff is not None and diff.startswith(
        "PUT /drives/{drive_id} body: properties.io_engine.enum differs"), diff


@pytest.mark.parametrize("change, expect", [
    (lambda s: s["definitions"]["TokenBucket"]["properties"]["size"].update(minimum=1),
     "PUT /drives/{drive_id} body: properties.rate_limiter.properties.bandwidth"
     ".properties.size.minimum differs"),
    (lambda s: s["definitions"]["Drive"]["required"].remove("is_root_device"),
     "PUT /drives/{drive_id} body: required differs"),
    (lambda s: s["definitions"]["Drive"]["properties"].pop("socket"),
     "PUT /drives/{drive_id} body: properties.socket: only in Firecracker"),
    (lambda s: s["definitions"]["Drive"].update(additionalProperties=False),
     "PUT /drives/{drive_id} body: additionalProperties: only in ember"),
    (lambda s: s["definitions"]["Drive"]["properties"]["rate_limiter"].update(
        {"$ref": "#/definitions/TokenBucket"}),
     "PUT /drives/{drive_id} body: properties.rate_limiter is definition TokenBucket"),
    (lambda s: s["paths"]["/drives/{drive_id}"]["put"]["parameters"][1].pop("required"),
     "PUT /drives/{drive_id} parameter body (in body): required differs"),
    (lambda s: s["paths"]["/drives/{drive_id}"]["put"]["responses"].pop("204"),
     "PUT /drives/{drive_id} response 204: only Firecracker covers it"),
    (lambda s: s["paths"]["/drives/{drive_id}"]["put"].update(operationId="putDrive"),
     "PUT /drives/{drive_id}: operationId differs"),
])
def test_comparison_reports_other_changes(change, expect, ember, firecracker):
    broken = copy.deepcopy(ember)
    change(broken)
    diff = openapi.operation_difference(broken, firecracker, "PUT", "/drives/{drive_id}",
                                        SUBSET_DEFINITIONS)
    assert diff is not None and diff.startswith(expect), diff


def test_comparison_ignores_documentation(ember, firecracker):
    changed = copy.deepcopy(ember)
    drive = changed["definitions"]["Drive"]
    drive["description"] = "something else"
    drive["x-anything"] = [1, 2]
    drive["properties"]["io_engine"]["example"] = "Async"
    drive["properties"]["io_engine"]["enum"] = ["Async", "Sync"]  # order does not matter
    assert openapi.operation_difference(changed, firecracker, "PUT", "/drives/{drive_id}",
                                        SUBSET_DEFINITIONS) is None


# ---------------------------------------------------------------------------
# (c) nothing of Firecracker's API is silently missing


def test_routes_cover_firecracker(ember, firecracker):
    served = set(openapi.operations(ember))
    missing = openapi.not_implemented(ember)
    entries = ember["x-ember-not-implemented"]
    assert len(entries) == len(set(entries)), "x-ember-not-implemented has duplicates"
    for e in entries:
        assert re.fullmatch(r"(GET|PUT|PATCH|POST|DELETE) /\S*", e), e
    theirs = set(openapi.operations(firecracker))
    assert not served & missing, f"both served and not implemented: {served & missing}"
    assert served - theirs == set(), f"not Firecracker routes: {served - theirs}"
    assert missing - theirs == set(), f"not Firecracker routes: {missing - theirs}"
    assert theirs - served - missing == set(), f"silently missing: {theirs - served - missing}"


# ---------------------------------------------------------------------------
# (d) example bodies: both specs' converted schemas agree, and agree with us
#
# "ok" fits the schema; "bad" does not (wrong type, missing required field,
# out of range, not in the enum); "extra" has a field the schema does not
# name: Swagger 2.0 objects are open, so the spec as written accepts it, but
# both servers refuse it (strict=True).

TB = {"size": 1048576, "refill_time": 100}

REQUEST_EXAMPLES = [
    ("PUT", "/actions", {"action_type": "InstanceStart"}, "ok"),
    ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, "ok"),
    ("PUT", "/actions", {"action_type": "FlushMetrics"}, "ok"),
    ("PUT", "/actions", {"action_type": "Reboot"}, "bad"),
    ("PUT", "/actions", {"action_type": 1}, "bad"),
    ("PUT", "/actions", {}, "bad"),
    ("PUT", "/actions", {"action_type": "InstanceStart", "force": True}, "extra"),
    ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}, "ok"),
    ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": True,
                                "track_dirty_pages": True, "huge_pages": "2M",
                                "cpu_template": "None"}, "ok"),
    ("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": 33, "mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": "2", "mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": 2.0, "mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": True, "mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"mem_size_mib": 256}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "cpu_template": "T9"},
     "bad"),
    # Neither Firecracker's spec nor its code (nor ember) takes "Transparent".
    ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128,
                                "huge_pages": "Transparent"}, "bad"),
    ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "ht_enabled": True},
     "extra"),
    # PATCH reuses MachineConfiguration, whose required fields make a partial
    # body invalid as the spec is written, though both servers take it.
    ("PATCH", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 512}, "ok"),
    ("PATCH", "/machine-config", {"vcpu_count": 2}, "bad"),
    ("PATCH", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 512, "smt": "on"}, "bad"),
    ("PATCH", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 512, "gdb": 1}, "extra"),
    ("PUT", "/boot-source", {"kernel_image_path": "/vmlinux"}, "ok"),
    ("PUT", "/boot-source", {"kernel_image_path": "/vmlinux", "initrd_path": "/initrd",
                             "boot_args": "console=ttyS0"}, "ok"),
    ("PUT", "/boot-source", {"boot_args": "console=ttyS0"}, "bad"),
    ("PUT", "/boot-source", {"kernel_image_path": "/vmlinux", "boot_args": 5}, "bad"),
    ("PUT", "/boot-source", {"kernel_image_path": None}, "bad"),
    ("PUT", "/boot-source", {"kernel_image_path": "/vmlinux", "cmdline": "x"}, "extra"),
    ("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/rootfs.ext4",
                               "is_root_device": True, "is_read_only": False}, "ok"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/data.img",
                             "is_root_device": False, "is_read_only": True,
                             "partuuid": "abcd-01", "cache_type": "Writeback",
                             "io_engine": "Async", "rate_limiter": {
                                 "bandwidth": TB,
                                 "ops": {"size": 100, "refill_time": 1000,
                                         "one_time_burst": 50}}}, "ok"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "io_engine": "Uring"}, "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "cache_type": "None"}, "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d"}, "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d",
                             "is_root_device": "false"}, "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "rate_limiter": {"bandwidth": {"size": 100}}}, "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "rate_limiter": {"ops": {"size": -1, "refill_time": 10}}}, "bad"),
    # format int64
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "rate_limiter": {"ops": {"size": 1 << 63, "refill_time": 10}}},
     "bad"),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": "/d", "is_root_device": False,
                             "rate_limiter": {"ops": dict(TB, burst=1)}}, "extra"),
    ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/bigger.ext4"}, "ok"),
    ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": {"ops": TB}}, "ok"),
    ("PATCH", "/drives/rootfs", {"path_on_host": "/bigger.ext4"}, "bad"),
    ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "is_read_only": True}, "extra"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0"}, "ok"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0",
                                         "guest_mac": "06:00:ac:10:00:02", "mtu": 1500,
                                         "rx_rate_limiter": {"bandwidth": TB},
                                         "tx_rate_limiter": {"ops": TB}}, "ok"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0",
                                         "mtu": 67}, "bad"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0",
                                         "mtu": 65536}, "bad"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0"}, "bad"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": ["tap0"]},
     "bad"),
    ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0",
                                         "allow_mmds_requests": True}, "extra"),
    ("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {
        "ops": TB}}, "ok"),
    ("PATCH", "/network-interfaces/eth0", {"rx_rate_limiter": {"ops": TB}}, "bad"),
    ("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap1"},
     "extra"),
    ("PUT", "/logger", {}, "ok"),
    ("PUT", "/logger", {"log_path": "/log", "level": "Debug", "show_level": True,
                        "show_log_origin": False, "module": "api"}, "ok"),
    ("PUT", "/logger", {"level": "Off"}, "ok"),
    # Both servers take any case; the enum as written does not.
    ("PUT", "/logger", {"level": "debug"}, "bad"),
    ("PUT", "/logger", {"level": "Verbose"}, "bad"),
    ("PUT", "/logger", {"show_level": "yes"}, "bad"),
    ("PUT", "/logger", {"log_fifo": "/log"}, "extra"),
    ("PUT", "/metrics", {"metrics_path": "/metrics"}, "ok"),
    ("PUT", "/metrics", {}, "bad"),
    ("PUT", "/metrics", {"metrics_path": 7}, "bad"),
    ("PUT", "/metrics", {"metrics_path": "/metrics", "format": "json"}, "extra"),
    ("PATCH", "/vm", {"state": "Paused"}, "ok"),
    ("PATCH", "/vm", {"state": "Resumed"}, "ok"),
    ("PATCH", "/vm", {"state": "Running"}, "bad"),
    ("PATCH", "/vm", {}, "bad"),
    ("PATCH", "/vm", {"state": "Paused", "now": True}, "extra"),
    ("PUT", "/serial", {"serial_out_path": "/console"}, "ok"),
    ("PUT", "/serial", {}, "ok"),
    # Fits the schema; ember refuses it by behaviour (it has no serial limiter).
    ("PUT", "/serial", {"serial_out_path": "/console", "rate_limiter": TB}, "ok"),
    ("PUT", "/serial", {"rate_limiter": {"refill_time": 100}}, "bad"),
    ("PUT", "/serial", {"serial_out_path": 5}, "bad"),
    ("PUT", "/serial", {"serial_in_path": "/in"}, "extra"),
]


def example_id(e):
    return f"{e[0]} {e[1]} {e[3]} {json.dumps(e[2], sort_keys=True)[:60]}"


def test_every_body_route_has_examples(ember):
    covered = {(m, openapi.match_path(ember, p)) for m, p, _, _ in REQUEST_EXAMPLES}
    with_body = {r for r in EMBER_ROUTES if openapi.body_parameter(ember, *r)}
    assert with_body - covered == set()
    verdicts = {}
    for m, p, _, v in REQUEST_EXAMPLES:
        verdicts.setdefault((m, openapi.match_path(ember, p)), set()).add(v)
    for route, seen in verdicts.items():
        assert {"ok", "bad", "extra"} <= seen, f"{route_id(route)} lacks examples: {seen}"


@pytest.mark.parametrize("example", REQUEST_EXAMPLES, ids=example_id)
def test_request_example(example, ember, firecracker):
    method, path, body, verdict = example
    for strict in (False, True):
        want = verdict == "ok" or (verdict == "extra" and not strict)
        got = {}
        for name, spec in (("ember", ember), ("firecracker", firecracker)):
            schema = openapi.request_schema(spec, method, path, strict=strict)
            got[name] = openapi.validator(schema).is_valid(body)
        assert got == {"ember": want, "firecracker": want}, f"strict={strict}: {got}"


def test_check_request(ember):
    openapi.check_request(ember, "PUT", "/drives/x", json.dumps(
        {"drive_id": "x", "is_root_device": False}))
    with pytest.raises(openapi.SpecMismatch, match=r"is_root_device"):
        openapi.check_request(ember, "PUT", "/drives/x", {"drive_id": "x"})
    with pytest.raises(openapi.SpecMismatch, match="takes no body"):
        openapi.check_request(ember, "GET", "/machine-config", {})
    with pytest.raises(openapi.SpecMismatch, match="body is required"):
        openapi.check_request(ember, "PATCH", "/vm", b"")
    # Firecracker's spec does not mark this body required.
    openapi.check_request(ember, "PUT", "/machine-config", None)
    # null for an optional field, as serde takes it
    openapi.check_request(ember, "PUT", "/boot-source",
                          {"kernel_image_path": "/k", "initrd_path": None}, nullable=True)
    with pytest.raises(openapi.SpecMismatch, match="initrd_path"):
        openapi.check_request(ember, "PUT", "/boot-source",
                              {"kernel_image_path": "/k", "initrd_path": None})


def test_read_only_fields_are_not_for_requests(ember):
    schema = openapi.to_json_schema(ember, {"$ref": "#/definitions/Error"}, direction="request")
    assert not openapi.validator(schema).is_valid({"fault_message": "x"})
    schema = openapi.to_json_schema(ember, {"$ref": "#/definitions/Error"},
                                    direction="response")
    assert openapi.validator(schema).is_valid({"fault_message": "x"})


# Answers as Firecracker gives them (its integration tests' expectations) and
# as ember gives them. "both": fits both specs; "neither"; "firecracker":
# fits Firecracker's spec only (ember never reports that section).
FULL_CONFIG = {
    "boot-source": {"kernel_image_path": "/vmlinux", "initrd_path": None, "boot_args": ""},
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": False,
                       "track_dirty_pages": False, "huge_pages": "None"},
    "drives": [{"drive_id": "rootfs", "partuuid": None, "is_root_device": True,
                "cache_type": "Unsafe", "is_read_only": True, "path_on_host": "/rootfs",
                "rate_limiter": None, "io_engine": "Sync", "socket": None}],
    "network-interfaces": [{"iface_id": "1", "host_dev_name": "tap1",
                            "guest_mac": "06:00:00:00:00:01", "rx_rate_limiter": None,
                            "tx_rate_limiter": {"bandwidth": {
                                "size": 1000000, "refill_time": 100,
                                "one_time_burst": None}, "ops": None}}],
    "logger": None,
    "metrics": None,
}

RESPONSE_EXAMPLES = [
    ("GET", "/", 200, {"app_name": "ember", "id": "anonymous-instance",
                       "state": "Not started", "vmm_version": "0.1.0"}, "both"),
    ("GET", "/", 200, {"app_name": "ember", "id": "a", "state": "Booting",
                       "vmm_version": "0.1.0"}, "neither"),
    ("GET", "/", 200, {"app_name": "ember", "id": "a", "state": "Running"}, "neither"),
    ("GET", "/", 200, {"app_name": "ember", "id": "a", "state": "Running",
                       "vmm_version": "0.1.0", "pid": 7}, "neither"),
    ("GET", "/", 400, {"fault_message": "GET request cannot have a body."}, "both"),
    ("GET", "/version", 200, {"firecracker_version": "1.16.1"}, "both"),
    ("GET", "/version", 200, {"version": "1.16.1"}, "neither"),
    ("GET", "/machine-config", 200, FULL_CONFIG["machine-config"], "both"),
    ("GET", "/machine-config", 200, dict(FULL_CONFIG["machine-config"], cpu_template=None),
     "both"),
    ("GET", "/machine-config", 200, dict(FULL_CONFIG["machine-config"], vcpu_count=None),
     "neither"),
    ("GET", "/vm/config", 200, FULL_CONFIG, "both"),
    ("GET", "/vm/config", 200, dict(FULL_CONFIG, vsock=None, balloon=None), "both"),
    ("GET", "/vm/config", 200, dict(FULL_CONFIG, vsock={"guest_cid": 3, "uds_path": "/v"}),
     "firecracker"),
    ("GET", "/vm/config", 200, dict(FULL_CONFIG, drives=[{"drive_id": "x"}]), "neither"),
    ("PUT", "/actions", 204, None, "both"),
    ("PUT", "/actions", 204, b"", "both"),
    ("PUT", "/actions", 204, {}, "neither"),
    ("PUT", "/actions", 200, None, "neither"),
    ("PUT", "/actions", 400, {"fault_message": "Start microvm error: ..."}, "both"),
    ("PUT", "/actions", 400, b'{"fault_message":"x"}', "both"),
    ("PUT", "/actions", 400, {"faultMessage": "x"}, "neither"),
    ("PUT", "/actions", 400, {"fault_message": 5}, "neither"),
    ("PUT", "/actions", 400, None, "neither"),
    ("PUT", "/drives/rootfs", 204, None, "both"),
    ("PATCH", "/vm", 204, None, "both"),
    ("GET", "/no/such/route", 400, {"fault_message": "Invalid request method and/or path."},
     "both"),
    ("GET", "/no/such/route", 404, {"fault_message": "x"}, "neither"),
    ("DELETE", "/drives/rootfs", 400, {"fault_message": "x"}, "both"),
]


@pytest.mark.parametrize("example", RESPONSE_EXAMPLES,
                         ids=lambda e: f"{e[0]} {e[1]} {e[2]} {e[4]} "
                         f"{json.dumps(e[3] if not isinstance(e[3], bytes) else e[3].decode())[:50]}")
def test_response_example(example, ember, firecracker):
    method, path, status, body, verdict = example
    want = {"ember": verdict == "both", "firecracker": verdict in ("both", "firecracker")}
    got = {}
    for name, spec in (("ember", ember), ("firecracker", firecracker)):
        try:
            openapi.validate_response(spec, method, path, status, body)
            got[name] = True
        except openapi.SpecMismatch:
            got[name] = False
    assert got == want


def test_not_implemented_routes_answer_400(ember):
    for method, path in openapi.not_implemented(ember):
        concrete = path.replace("{id}", "pmem0")
        openapi.validate_response(ember, method, concrete, 400, {
            "fault_message": f"{method} {path} is not implemented by ember"})
        with pytest.raises(openapi.SpecMismatch, match="must be 400"):
            openapi.validate_response(ember, method, concrete, 204, None)


def test_validate_response_names_the_problem(ember):
    with pytest.raises(openapi.SpecMismatch) as e:
        openapi.validate_response("ember", "GET", "/vm/config", 200,
                                  dict(FULL_CONFIG, drives=[{"drive_id": "x"}]))
    assert "drives/0" in str(e.value) and "is_root_device" in str(e.value)
    with pytest.raises(openapi.SpecMismatch, match="not JSON"):
        openapi.validate_response("ember", "GET", "/", 200, b"{oops")
    # the loose modes, for callers that want the spec as written
    openapi.validate_response("ember", "GET", "/", 200, {
        "app_name": "ember", "id": "a", "state": "Running", "vmm_version": "0", "pid": 1},
                              strict=False)
    with pytest.raises(openapi.SpecMismatch):
        openapi.validate_response("ember", "GET", "/machine-config", 200,
                                  dict(FULL_CONFIG["machine-config"], cpu_template=None),
                                  nullable=False)


def test_match_path(ember):
    assert openapi.match_path(ember, "/drives/rootfs") == "/drives/{drive_id}"
    assert openapi.match_path(ember, "/drives/{drive_id}") == "/drives/{drive_id}"
    assert openapi.match_path(ember, "/network-interfaces/eth0?x=1") == \
        "/network-interfaces/{iface_id}"
    assert openapi.match_path(ember, "/drives/") is None
    assert openapi.match_path(ember, "/drives/a/b") is None
    assert openapi.match_path(ember, "/") == "/"
