"""ember's and Firecracker's OpenAPI (Swagger 2.0) specs, turned into JSON Schemas.

The integration tests use this module to check what ember answers against the
spec it ships (src/api/swagger/ember.yaml), and test_openapi.py uses it to tie
that spec to Firecracker's (shared/reference/firecracker-v1.16.1-openapi.yaml).

    import openapi
    openapi.validate_response("ember", "GET", "/vm/config", r.status_code, r.content)
    schema = openapi.request_schema("ember", "PUT", "/drives/{drive_id}")

`spec` arguments take a loaded spec (a dict from load_spec) or the names
"ember" and "firecracker". Paths may be templates ("/drives/{drive_id}") or
concrete ("/drives/rootfs").

Swagger 2.0 schema objects are a subset of JSON Schema draft 4 with a few
additions; to_json_schema() converts one into a self-contained draft-4 schema
for python3-jsonschema:
- `$ref`s to #/definitions are inlined (Swagger 2.0 ignores a $ref's siblings,
  and so does this);
- documentation (`description`, `title`, `example`, `externalDocs`, `xml`,
  `discriminator`) and `x-*` extensions are dropped;
- `readOnly` properties must not appear in a request and are ordinary in a
  response;
- `format` int32 / int64 bound integers to their range (FORMAT_CHECKER); other
  formats are not checked;
- `strict`: objects that do not say otherwise get `additionalProperties:
  false`. Swagger's objects are open, but Firecracker's serde structs (and
  ember's parser) refuse unknown fields, and neither server puts a field in a
  response that the spec does not name;
- `nullable`: an optional property may be null. Firecracker serialises an
  unset Option as null (GET /vm/config answers "partuuid": null, "logger":
  null, ...) and accepts null for one in a request. With `strict` and
  `nullable` together null means "absent", so an undeclared key is allowed
  only with the value null.
"""

import functools
import json
import math
import os
import re
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
VERSION_FILE = REPO / "VERSION"
EMBER_SPEC = REPO / "src" / "api" / "swagger" / "ember.yaml"
# shared/ sits beside the repository (on developers' machines and in CI).
FIRECRACKER_SPEC = Path(
    os.environ.get(
        "EMBER_FIRECRACKER_SPEC",
        REPO.parent / "shared" / "reference" / "firecracker-v1.16.1-openapi.yaml",
    ))

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
DRAFT4 = "http://json-schema.org/draft-04/schema#"

# Keywords of a Swagger 2.0 Schema Object, by role.
SCHEMA_VALUE_KEYWORDS = frozenset({
    "type", "format", "default", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxProperties", "minProperties", "required", "enum",
})
SCHEMA_SUBSCHEMA_KEYWORDS = frozenset({"properties", "additionalProperties", "items", "allOf"})
SCHEMA_DOC_KEYWORDS = frozenset({
    "description", "title", "example", "externalDocs", "xml", "discriminator",
})
SCHEMA_KEYWORDS = (SCHEMA_VALUE_KEYWORDS | SCHEMA_SUBSCHEMA_KEYWORDS | SCHEMA_DOC_KEYWORDS
                   | {"$ref", "readOnly"})
SWAGGER_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})

# resolve() marks each inlined definition with its name under this key.
DEF_KEY = "$definition"


class SpecError(Exception):
    """The spec itself is broken (dangling $ref, unknown keyword, cycle...)."""


class SpecMismatch(AssertionError):
    """A response or request does not match the spec."""


# --------------------------------------------------------------------------
# Loading


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2 core-schema scalars and no duplicate keys.

    PyYAML implements YAML 1.1, where Off/On/Yes/No are booleans, 0123 is octal
    and 1:20 is sexagesimal. Firecracker's spec writes the logger levels as
    `enum: [Error, Warning, Info, Debug, Trace, Off]`: yaml.safe_load turns the
    last one into False, and a schema built from that refuses "Off".
    """


_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}
Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                   re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:int",
                                   re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                   list("-+0123456789"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def _yaml12_bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def _yaml12_int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0x"):
        return int(v[2:], 16)
    if v.startswith("0o"):
        return int(v[2:], 8)
    return int(v, 10)


def _yaml12_float(loader, node):
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return -math.inf if v.startswith("-") else math.inf
    if v == ".nan":
        return math.nan
    return float(v)


def _mapping_without_duplicates(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            dup = key in seen
        except TypeError:
            continue  # unhashable key: the base constructor reports it
        if dup:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}",
                                                    key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _yaml12_bool)
Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _yaml12_float)
Yaml12Loader.construct_mapping = _mapping_without_duplicates


def load_yaml(text):
    """Parses YAML text with Yaml12Loader."""
    return yaml.load(text, Loader=Yaml12Loader)  # nosec: Yaml12Loader is a SafeLoader


@functools.lru_cache(maxsize=None)
def _load_cached(path):
    with open(path, encoding="utf-8") as f:
        return load_yaml(f.read())


def load_spec(path):
    """The spec at `path` as plain data (a fresh copy: the caller may change it)."""
    return json.loads(json.dumps(_load_cached(str(path))))


def ember_spec():
    return load_spec(EMBER_SPEC)


def firecracker_spec():
    return load_spec(FIRECRACKER_SPEC)


def _spec(spec):
    if isinstance(spec, dict):
        return spec
    if spec == "ember":
        return _load_cached(str(EMBER_SPEC))
    if spec == "firecracker":
        return _load_cached(str(FIRECRACKER_SPEC))
    if isinstance(spec, (str, Path)):
        return _load_cached(str(spec))
    raise TypeError(f"not a spec: {spec!r}")


# --------------------------------------------------------------------------
# Paths, operations, parameters, responses


def operations(spec):
    """{("PUT", "/drives/{drive_id}"): operation object} for every operation."""
    spec = _spec(spec)
    ops = {}
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method in METHODS:
                ops[(method.upper(), path)] = op
    return ops


def not_implemented(spec):
    """{("PUT", "/vsock"), ...} from the x-ember-not-implemented list."""
    out = set()
    for entry in _spec(spec).get("x-ember-not-implemented") or []:
        method, _, path = entry.partition(" ")
        out.add((method, path))
    return out


def _template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p)
                                    for p in parts if p) + "$")


def match_path(spec, path):
    """The spec's path template that `path` (template or concrete) is, or None."""
    paths = _spec(spec).get("paths") or {}
    path = path.split("?", 1)[0]
    if path in paths:
        return path
    for template in paths:
        if "{" in template and _template_regex(template).match(path):
            return template
    return None


def operation(spec, method, path):
    """The operation object for METHOD path, or None when the spec has none."""
    template = match_path(spec, path)
    if template is None:
        return None
    return operations(spec).get((method.upper(), template))


def _require_operation(spec, method, path):
    op = operation(spec, method, path)
    if op is None:
        raise KeyError(f"{method.upper()} {path}: no such operation in the spec")
    return op


def parameters(spec, method, path):
    """Path-level and operation-level parameters merged, the operation's winning."""
    spec = _spec(spec)
    template = match_path(spec, path)
    op = _require_operation(spec, method, path)
    merged = {}
    for p in (spec["paths"][template].get("parameters") or []) + (op.get("parameters") or []):
        p = _deref_parameter(spec, p)
        merged[(p.get("name"), p.get("in"))] = p
    return list(merged.values())


def _deref_parameter(spec, p):
    if "$ref" in p:
        m = re.fullmatch(r"#/parameters/(.+)", p["$ref"])
        if not m or m.group(1) not in (spec.get("parameters") or {}):
            raise SpecError(f"dangling parameter $ref {p['$ref']}")
        return spec["parameters"][m.group(1)]
    return p


def body_parameter(spec, method, path):
    """The `in: body` parameter of the operation, or None."""
    body = [p for p in parameters(spec, method, path) if p.get("in") == "body"]
    if len(body) > 1:
        raise SpecError(f"{method} {path}: more than one body parameter")
    return body[0] if body else None


def responses(spec, method, path):
    """{"200": response, "default": response, ...} with the codes as strings."""
    spec = _spec(spec)
    op = _require_operation(spec, method, path)
    out = {}
    for code, resp in (op.get("responses") or {}).items():
        if "$ref" in resp:
            m = re.fullmatch(r"#/responses/(.+)", resp["$ref"])
            if not m or m.group(1) not in (spec.get("responses") or {}):
                raise SpecError(f"dangling response $ref {resp['$ref']}")
            resp = spec["responses"][m.group(1)]
        out[str(code)] = resp
    return out


def response_for(spec, method, path, status):
    """The response object that covers `status`: its own, else `default`, else None.

    `default` stands for error answers only: a 2xx code the operation does not
    list is not covered (both servers list every success code they use).
    """
    resps = responses(spec, method, path)
    status = str(status)
    if status in resps:
        return resps[status]
    if status.startswith("2"):
        return None
    return resps.get("default")


# --------------------------------------------------------------------------
# Schemas


def _ref_name(ref):
    m = re.fullmatch(r"#/definitions/([^/]+)", ref)
    if not m:
        raise SpecError(f"$ref {ref!r} is not #/definitions/<name>")
    return m.group(1)


def definition(spec, name):
    defs = _spec(spec).get("definitions") or {}
    if name not in defs:
        raise SpecError(f"$ref to missing definition {name!r}")
    return defs[name]


def resolve(spec, schema, _stack=()):
    """`schema` with every $ref inlined, each inlined definition marked with DEF_KEY.

    Only schema positions are walked (properties, items, allOf,
    additionalProperties); values such as `default` or `example` are copied.
    """
    spec = _spec(spec)
    if not isinstance(schema, dict):
        raise SpecError(f"a schema must be an object, got {schema!r}")
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        if name in _stack:
            raise SpecError(f"recursive definition: {' -> '.join(_stack + (name,))}")
        out = resolve(spec, definition(spec, name), _stack + (name,))
        out[DEF_KEY] = name
        return out
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {n: resolve(spec, s, _stack) for n, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = resolve(spec, value, _stack)
        elif key == "allOf":
            out[key] = [resolve(spec, s, _stack) for s in value]
        else:
            out[key] = json.loads(json.dumps(value))
    return out


def _int_range(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return True  # formats constrain only values of their own type
        return lo <= value <= hi

    return check


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("int32")(_int_range(32))
FORMAT_CHECKER.checks("int64")(_int_range(64))


def _convert(schema, direction, strict, nullable):
    out = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in SCHEMA_DOC_KEYWORDS or key in (DEF_KEY, "readOnly"):
            continue
        if key in SCHEMA_VALUE_KEYWORDS:
            if key == "type" and value not in SWAGGER_TYPES:
                raise SpecError(f"type {value!r} has no JSON Schema equivalent")
            out[key] = value
        elif key == "items":
            out[key] = _convert(value, direction, strict, nullable)
        elif key == "allOf":
            if strict:
                # Closing each part separately would refuse the other parts' fields.
                raise SpecError("strict conversion of allOf is not supported")
            out[key] = [_convert(s, direction, strict, nullable) for s in value]
        elif key == "additionalProperties":
            out[key] = (value if isinstance(value, bool) else _convert(
                value, direction, strict, nullable))
        elif key == "properties":
            required = set(schema.get("required") or [])
            props = {}
            for name, sub in value.items():
                if direction == "request" and sub.get("readOnly"):
                    props[name] = {"not": {}}  # a read-only field must not be sent
                    continue
                conv = _convert(sub, direction, strict, nullable)
                if nullable and name not in required:
                    conv = {"anyOf": [{"type": "null"}, conv]}
                props[name] = conv
            out[key] = props
        else:
            raise SpecError(f"{key!r} is not a Swagger 2.0 schema keyword")
    is_object = schema.get("type") == "object" or "properties" in schema
    if strict and is_object and "additionalProperties" not in schema:
        out["additionalProperties"] = {"type": "null"} if nullable else False
    return out


def to_json_schema(spec, schema, *, direction="request", strict=False, nullable=False):
    """A self-contained JSON Schema (draft 4) for a Swagger 2.0 schema object.

    direction: "request" or "response" (decides what readOnly means).
    strict, nullable: see the module's docstring.
    """
    if direction not in ("request", "response"):
        raise ValueError(f"direction must be request or response, not {direction!r}")
    out = _convert(resolve(spec, schema), direction, strict, nullable)
    out["$schema"] = DRAFT4
    return out


def validator(json_schema):
    """A Draft4Validator for a converted schema, with FORMAT_CHECKER."""
    return jsonschema.Draft4Validator(json_schema, format_checker=FORMAT_CHECKER)


def request_schema(spec, method, path, *, strict=False, nullable=False):
    """JSON Schema of the request body of METHOD path, or None if it takes none.

    By default it is the spec as written (objects open, no null for absent
    fields); strict=True refuses unknown fields as both servers do.
    """
    body = body_parameter(spec, method, path)
    if body is None:
        return None
    if "schema" not in body:
        raise SpecError(f"{method} {path}: body parameter without a schema")
    return to_json_schema(spec, body["schema"], direction="request", strict=strict,
                          nullable=nullable)


def response_schema(spec, method, path, status, *, strict=True, nullable=True):
    """JSON Schema of the body answered with `status`, or None for an empty body.

    Raises SpecMismatch if the operation does not cover `status`.
    """
    resp = response_for(spec, method, path, status)
    if resp is None:
        raise SpecMismatch(f"{method.upper()} {path}: status {status} is not in the spec")
    if "schema" not in resp:
        return None
    return to_json_schema(spec, resp["schema"], direction="response", strict=strict,
                          nullable=nullable)


def _first_error(json_schema, instance):
    errors = list(validator(json_schema).iter_errors(instance))
    if not errors:
        return None
    err = jsonschema.exceptions.best_match(errors)
    where = "/".join(str(p) for p in err.absolute_path) or "(body)"
    return f"{where}: {err.message}"


def _parse_body(body):
    if body is None:
        return None, False
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        if not body.strip():
            return None, False
        try:
            return json.loads(body), True
        except ValueError as e:
            raise SpecMismatch(f"the body is not JSON: {e}: {body[:200]!r}") from None
    return body, True


def check_request(spec, method, path, body, *, strict=False, nullable=False):
    """Raises SpecMismatch unless `body` (parsed JSON, or raw text) fits the request schema."""
    schema = request_schema(spec, method, path, strict=strict, nullable=nullable)
    value, present = _parse_body(body)
    label = f"{method.upper()} {path} request"
    if schema is None:
        if present:
            raise SpecMismatch(f"{label}: the operation takes no body")
        return
    if not present:
        if body_parameter(spec, method, path).get("required"):
            raise SpecMismatch(f"{label}: the body is required")
        return
    problem = _first_error(schema, value)
    if problem:
        raise SpecMismatch(f"{label}: {problem}")


def validate_response(spec, method, path_template, status, body_json, *, strict=True,
                      nullable=True):
    """Raises SpecMismatch unless the answer fits the spec.

    body_json: the parsed JSON body, or None / b"" / "" for an empty body, or
    the raw body as bytes or str. An operation that the spec does not have
    (a route ember does not implement, or no route at all) must be answered
    400 with an Error body, as Firecracker answers unknown routes.
    strict and nullable (see the module's docstring) default to how
    Firecracker really answers: no undeclared fields, null for unset ones.
    """
    spec = _spec(spec)
    method = method.upper()
    label = f"{method} {path_template} -> {status}"
    value, present = _parse_body(body_json)
    if operation(spec, method, path_template) is None:
        if int(status) != 400:
            raise SpecMismatch(f"{label}: the spec has no {method} {path_template}, so the "
                               "answer must be 400")
        schema = to_json_schema(spec, {"$ref": "#/definitions/Error"}, direction="response",
                                strict=strict, nullable=nullable)
    else:
        schema = response_schema(spec, method, path_template, status, strict=strict,
                                 nullable=nullable)
    if schema is None:
        if present:
            raise SpecMismatch(f"{label}: the body must be empty, got {value!r}")
        return
    if not present:
        raise SpecMismatch(f"{label}: the body is empty")
    problem = _first_error(schema, value)
    if problem:
        raise SpecMismatch(f"{label}: {problem}")


# --------------------------------------------------------------------------
# Comparing two specs


def _ignored(key):
    return key.startswith("x-") or key in SCHEMA_DOC_KEYWORDS


def _canonical_list(values):
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))


def _show(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def schema_difference(ours, theirs, where="", subset_definitions=(), names=("ember",
                                                                             "Firecracker")):
    """The first difference between two resolved schemas, as text, or None.

    Documentation and x-* keys are ignored; `required` and `enum` compare as
    sets. At a definition named in `subset_definitions`, `ours` may leave out
    properties that `theirs` has (each one it keeps must be identical).
    """
    a_name, b_name = names
    at = where or "(schema)"
    if isinstance(ours, dict) != isinstance(theirs, dict):
        return f"{at} differs: {a_name} {_show(ours)} vs {b_name} {_show(theirs)}"
    if not isinstance(ours, dict):
        return None if ours == theirs else (
            f"{at} differs: {a_name} {_show(ours)} vs {b_name} {_show(theirs)}")
    subset = ours.get(DEF_KEY) is not None and ours.get(DEF_KEY) in subset_definitions
    keys = sorted(k for k in set(ours) | set(theirs) if not _ignored(k))
    for key in keys:
        path = f"{where}.{key}" if where else key
        if key not in ours:
            return f"{path}: only in {b_name} ({_show(theirs[key])})"
        if key not in theirs:
            return f"{path}: only in {a_name} ({_show(ours[key])})"
        a, b = ours[key], theirs[key]
        if key == DEF_KEY:
            if a != b:
                return f"{where or '(schema)'} is definition {a} in {a_name}, {b} in {b_name}"
        elif key in ("required", "enum"):
            if _canonical_list(a) != _canonical_list(b):
                return f"{path} differs: {a_name} {_show(a)} vs {b_name} {_show(b)}"
        elif key == "properties":
            for prop in sorted(set(a) | set(b)):
                ppath = f"{path}.{prop}"
                if prop not in a:
                    if subset:
                        continue
                    return f"{ppath}: only in {b_name}"
                if prop not in b:
                    return f"{ppath}: only in {a_name}"
                diff = schema_difference(a[prop], b[prop], ppath, subset_definitions, names)
                if diff:
                    return diff
        elif key == "allOf":
            if len(a) != len(b):
                return f"{path} differs in length"
            for i, (x, y) in enumerate(zip(a, b)):
                diff = schema_difference(x, y, f"{path}[{i}]", subset_definitions, names)
                if diff:
                    return diff
        elif key in ("items", "additionalProperties") and isinstance(a, dict) and isinstance(
                b, dict):
            diff = schema_difference(a, b, path, subset_definitions, names)
            if diff:
                return diff
        elif a != b:
            return f"{path} differs: {a_name} {_show(a)} vs {b_name} {_show(b)}"
    return None


# Operation keys that only document.
_OP_DOC_KEYS = {"summary", "description", "tags", "externalDocs"}
_PARAM_DOC_KEYS = {"description"}


def operation_difference(ours_spec, theirs_spec, method, path, subset_definitions=()):
    """The first difference in what METHOD path accepts and answers, or None.

    Compared: operationId and every other non-documentation key, the
    parameters (name, in, required, type, format, ... and the body schema),
    and for each status either spec names the response that covers it (its
    own or `default`): whether it has a body and the body's schema.
    """
    ours_spec, theirs_spec = _spec(ours_spec), _spec(theirs_spec)
    label = f"{method} {path}"
    a_op = _require_operation(ours_spec, method, path)
    b_op = _require_operation(theirs_spec, method, path)
    for key in sorted((set(a_op) | set(b_op)) - _OP_DOC_KEYS - {"parameters", "responses"}):
        if _ignored(key):
            continue
        if a_op.get(key) != b_op.get(key):
            return (f"{label}: {key} differs: ember {_show(a_op.get(key))} vs Firecracker "
                    f"{_show(b_op.get(key))}")

    a_params = {(p.get("in"), p.get("name")): p for p in parameters(ours_spec, method, path)}
    b_params = {(p.get("in"), p.get("name")): p for p in parameters(theirs_spec, method, path)}
    for key in sorted(set(a_params) | set(b_params)):
        where = f"{label} parameter {key[1]} (in {key[0]})"
        if key not in a_params:
            return f"{where}: only in Firecracker"
        if key not in b_params:
            return f"{where}: only in ember"
        a, b = a_params[key], b_params[key]
        for field in sorted((set(a) | set(b)) - _PARAM_DOC_KEYS - {"schema"}):
            if _ignored(field):
                continue
            if a.get(field) != b.get(field):
                return (f"{where}: {field} differs: ember {_show(a.get(field))} vs Firecracker "
                        f"{_show(b.get(field))}")
        if ("schema" in a) != ("schema" in b):
            return f"{where}: only one side has a schema"
        if "schema" in a:
            diff = schema_difference(resolve(ours_spec, a["schema"]),
                                     resolve(theirs_spec, b["schema"]), "", subset_definitions)
            if diff:
                what = "body" if key[0] == "body" else f"parameter {key[1]}"
                return f"{label} {what}: {diff}"

    a_resps = responses(ours_spec, method, path)
    b_resps = responses(theirs_spec, method, path)
    for code in sorted(set(a_resps) | set(b_resps)):
        a = response_for(ours_spec, method, path, code) if code != "default" else a_resps.get(
            code)
        b = response_for(theirs_spec, method, path, code) if code != "default" else b_resps.get(
            code)
        where = f"{label} response {code}"
        if a is None or b is None:
            side = "Firecracker" if a is None else "ember"
            return f"{where}: only {side} covers it"
        for field in sorted((set(a) | set(b)) - {"description", "schema"}):
            if _ignored(field) or field == "examples":
                continue
            if a.get(field) != b.get(field):
                return f"{where}: {field} differs"
        if ("schema" in a) != ("schema" in b):
            side = "ember" if "schema" in a else "Firecracker"
            return f"{where}: only {side} has a body"
        if "schema" in a:
            diff = schema_difference(resolve(ours_spec, a["schema"]),
                                     resolve(theirs_spec, b["schema"]), "", subset_definitions)
            if diff:
                return f"{where}: {diff}"
    return None
