#!/usr/bin/env python3
"""Checks a Marathon app definition the way Marathon 1.7-1.10 does before it
accepts `POST /v2/apps`.

    validate_app(app) -> [{"path": "/json/pointer", "errors": ["message", ...]}, ...]

An empty list means Marathon accepts the app. Two kinds of errors come back,
grouped by path in the order found:

- structure: draft-04 validation against Marathon's app schema
  (`marathon/AppDefinition.json` of the shared schemas, the 1.7 schema, the
  last Marathon shipped);
- semantics: the rules Marathon enforces with `422 Object is not valid` that
  no JSON Schema expresses (command, id, health and readiness checks, ports,
  labels, secrets, GPUs, constraints, the single-instance label, resident
  apps). README.md lists each rule, the Marathon versions that have it and
  where this module's paths differ from Marathon's.

The shared schemas live beside the repository (`<repo>/../shared/schemas`);
the environment variable TAILOR_SCHEMAS_DIR or the `schema_path` argument
points elsewhere.

As a command: `marathon_rules.py APP.json [--mesos-role ROLE]` prints the
errors as JSON and exits 1 when there are any, 2 on bad usage.

Standard library plus jsonschema (Debian: python3-jsonschema) only.
"""

import argparse
import functools
import json
import os
import pathlib
import re
import sys

import jsonschema

SCHEMAS_ENV = "TAILOR_SCHEMAS_DIR"

# Marathon's PathId: lowercase letters, digits, '-' and '.', segments
# separated by '/', '.' and '..' allowed as segments (reference: Marathon's
# app id rules; also the pattern of the DC/OS package's service name).
PATH_ID_PATTERN = (r"^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
                   r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9]))?($|\/))+$")
RESERVED_ID_SEGMENTS = ("restart", "tasks", "versions")

MESOS_HEALTH_CHECK_PROTOCOLS = ("MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
CONSTRAINT_OPERATORS = ("UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS")
IS_VALUE_PATTERN = re.compile(r"^[a-zA-Z0-9_/.-]*$")
JAVA_INT_PATTERN = re.compile(r"^[+-]?[0-9]+$")

SINGLE_INSTANCE_LABEL = "MARATHON_SINGLE_INSTANCE_APP"
MIGRATION_VERSION_LABEL = "DCOS_MIGRATION_API_VERSION"
MIGRATION_PATH_LABEL = "DCOS_MIGRATION_API_PATH"
FRAMEWORK_NAME_LABEL = "DCOS_PACKAGE_FRAMEWORK_NAME"

# Marathon's defaults for fields an app may leave out.
DEFAULT_UPGRADE_STRATEGY = {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
DEFAULT_RESIDENT_UPGRADE_STRATEGY = {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0}
DEFAULT_READINESS = {"portName": "http-api", "intervalSeconds": 30, "timeoutSeconds": 10}
UNRESERVED_ROLE = "*"

# Top-level fields Marathon accepts that its 1.7 schema lacks (and so refuses),
# with the JSON type each must have: `newer_fields=True` accepts them.
NEWER_FIELDS = {"tty": "boolean", "check": "object", "role": "string", "resourceLimits": "object"}


def repository_root() -> pathlib.Path:
    """The repository this file is in (tests/marathon_rules/ is two levels down)."""
    return pathlib.Path(__file__).resolve().parents[2]


def schemas_dir() -> pathlib.Path:
    """The shared schemas folder: $TAILOR_SCHEMAS_DIR, else <repo>/../shared/schemas."""
    override = os.environ.get(SCHEMAS_ENV)
    if override:
        return pathlib.Path(override)
    return repository_root().parent / "shared" / "schemas"


def app_schema_path() -> pathlib.Path:
    return schemas_dir() / "marathon" / "AppDefinition.json"


@functools.lru_cache(maxsize=None)
def load_schema(path: str) -> dict:
    """Reads a JSON Schema file; FileNotFoundError/ValueError name the file."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise ValueError(f"{path}: not JSON: {e}") from e


# --------------------------------------------------------------------------
# Violations: a path (tuple of keys and array indices) and a message.

class Violation:
    """One broken rule: where (keys and indices from the app's root) and why."""

    def __init__(self, path, message):
        self.path = tuple(path)
        self.message = message

    def __repr__(self):
        return f"Violation({self.path!r}, {self.message!r})"


def _escape_pointer_token(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(path) -> str:
    """A JSON pointer for a path tuple; the app's root is "/" (as Marathon writes it)."""
    if not path:
        return "/"
    return "".join("/" + _escape_pointer_token(token) for token in path)


def marathon_path(path) -> str:
    """The path as Marathon writes it: array indices as `(N)` after the field
    (`/healthChecks(0)/portIndex`), keys unescaped."""
    if not path:
        return "/"
    text = ""
    for token in path:
        text += f"({token})" if isinstance(token, int) else f"/{token}"
    return text


def group_details(violations, path_style="pointer") -> list:
    """Marathon's `details`: one entry per path, first-seen order, each
    message once."""
    render = pointer if path_style == "pointer" else marathon_path
    grouped = {}
    for v in violations:
        errors = grouped.setdefault(render(v.path), [])
        if v.message not in errors:
            errors.append(v.message)
    return [{"path": path, "errors": errors} for path, errors in grouped.items()]


# --------------------------------------------------------------------------
# Structure: the draft-04 schema.

def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value, limit=80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _schema_violations(error) -> list:
    """Turns one jsonschema error into violations with short messages that
    never repeat a whole sub-document."""
    path = tuple(error.absolute_path)
    kind = error.validator
    expected = error.validator_value
    instance = error.instance
    if kind == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return [Violation(path + (name,), "required field is missing") for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        extras = [name for name in instance
                  if name not in known and not any(re.search(p, name) for p in patterns)]
        return [Violation(path + (name,), "unknown field (Marathon's app schema does not define it)")
                for name in extras]
    if kind == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return [Violation(path, f"expected {wanted}, got {_json_type(instance)}")]
    if kind == "enum":
        return [Violation(path, f"{_short(instance)} is not one of {_short(expected, 200)}")]
    if kind == "pattern":
        return [Violation(path, f"{_short(instance)} does not match the pattern {expected}")]
    if kind in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        return [Violation(path, f"{_short(instance)} breaks {kind} {expected}")]
    if kind == "not" and not path:
        return [Violation(path, "the schema forbids giving both 'cmd' and 'args'")]
    if kind in ("oneOf", "anyOf"):
        forms = "; ".join(sorted({sub.message if len(sub.message) <= 80 else sub.validator
                                  for sub in error.context}))
        return [Violation(path, f"matches none of the allowed forms ({forms})")]
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return [Violation(path, message)]


def structure_violations(app, schema, newer_fields=False) -> list:
    """Every draft-04 error of `app` against `schema`, path order. With
    `newer_fields`, the fields of NEWER_FIELDS (type-checked here instead) and
    the constraint operator IS pass."""
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(app), key=lambda e: [str(t) for t in e.absolute_path])
    violations = []
    for error in errors:
        violations.extend(_schema_violations(error))
    if newer_fields:
        violations = [v for v in violations if not _newer_field_accepted(app, v)]
        for name, kind in NEWER_FIELDS.items():
            if name in app and _json_type(app[name]) != kind:
                violations.append(Violation((name,), f"expected {kind}, got {_json_type(app[name])}"))
    return violations


def _newer_field_accepted(app, violation) -> bool:
    path = violation.path
    if len(path) == 1 and path[0] in NEWER_FIELDS:
        return True
    if len(path) == 3 and path[0] == "constraints" and path[2] == 1:  # the operator's enum
        operator = _list(_list(app.get("constraints"))[path[1]])[1]
        return isinstance(operator, str) and operator.upper() == "IS"
    return False


# --------------------------------------------------------------------------
# Semantics: Marathon's 422 rules. Each rule reads the app defensively (a
# structurally wrong field is the schema's to report, never a crash here).

def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _number(value, default):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def _container_type(app):
    """MESOS, DOCKER or None (no container). A container without `type` is DOCKER."""
    if "container" not in app or not isinstance(app["container"], dict):
        return None
    kind = app["container"].get("type", "DOCKER")
    return kind if isinstance(kind, str) else None


def _has_image(app) -> bool:
    container = _obj(app.get("container"))
    return bool(_obj(container.get("docker")).get("image") or _obj(container.get("appc")).get("image"))


def _host_networking(app) -> bool:
    networks = _list(app.get("networks"))
    if not networks:
        network = _obj(_obj(app.get("container")).get("docker")).get("network")
        return network in (None, "HOST")
    return all(_obj(n).get("mode", "container") == "host" for n in networks)


def port_entries(app) -> list:
    """The app's ports in index order, as Marathon counts them for
    `portIndex`: container.portMappings when non-empty, else portDefinitions
    (or the deprecated `ports`), else Marathon's one default port under host
    networking."""
    mappings = _list(_obj(app.get("container")).get("portMappings"))
    if mappings:
        return mappings
    if "portDefinitions" in app:
        return _list(app.get("portDefinitions"))
    if "ports" in app:
        return [{"port": p} for p in _list(app.get("ports"))]
    return [{"port": 0, "name": "default"}] if _host_networking(app) else []


def port_names(app) -> set:
    """Names a readiness check may refer to: the port mappings' when the
    container has `portMappings`, else the port definitions'."""
    container = _obj(app.get("container"))
    entries = container["portMappings"] if "portMappings" in container else port_entries(app)
    return {_obj(e).get("name") for e in _list(entries) if isinstance(_obj(e).get("name"), str)}


def is_resident(app) -> bool:
    """An app with a local persistent volume (Marathon calls it resident)."""
    volumes = _list(_obj(app.get("container")).get("volumes"))
    return any("persistent" in _obj(v) for v in volumes)


def is_single_instance(app) -> bool:
    return _obj(app.get("labels")).get(SINGLE_INSTANCE_LABEL) == "true"


def effective_upgrade_strategy(app) -> dict:
    """The upgrade strategy Marathon applies: the app's, missing fields and a
    missing strategy filled with Marathon's defaults (0.5/0 for resident apps)."""
    if "upgradeStrategy" not in app:
        return dict(DEFAULT_RESIDENT_UPGRADE_STRATEGY if is_resident(app) else DEFAULT_UPGRADE_STRATEGY)
    given = _obj(app.get("upgradeStrategy"))
    return {key: _number(given.get(key), default) for key, default in DEFAULT_UPGRADE_STRATEGY.items()}


def rule_command(app, options):
    """Exactly one of cmd/args, unless a container image supplies the command."""
    has_cmd = bool(app.get("cmd"))
    has_args = bool(_list(app.get("args")))
    if has_cmd and has_args:
        yield Violation((), "give either 'cmd' (a shell command) or 'args' (an argument vector), not both")
    elif not has_cmd and not has_args and not _has_image(app):
        yield Violation((), "give one of 'cmd' or 'args', or a container image whose entrypoint runs")


def rule_id(app, options):
    """The id is a PathId: lowercase segments, not the root, no reserved last segment."""
    app_id = app.get("id")
    if not isinstance(app_id, str):
        return
    if not re.fullmatch(PATH_ID_PATTERN, app_id):
        yield Violation(("id",), f"'{app_id}' is not a Marathon path id: segments of lowercase letters, digits, "
                                 "'-' and '.' (starting and ending with a letter or digit), separated by '/'")
        return
    segments = [s for s in app_id.split("/") if s and s != "."]
    if not segments:
        yield Violation(("id",), "the id must name an app, not the root group '/'")
    elif segments[-1] in RESERVED_ID_SEGMENTS:
        yield Violation(("id",), f"the id must not end with a reserved word ({', '.join(RESERVED_ID_SEGMENTS)})")


def rule_health_check_ports(app, options):
    """Every port-based health check addresses one of the app's ports."""
    count = len(port_entries(app))
    for i, check in enumerate(_list(app.get("healthChecks"))):
        check = _obj(check)
        if check.get("protocol", "HTTP") == "COMMAND" or "command" in check or "port" in check:
            continue
        index = check.get("portIndex", 0)
        if isinstance(index, int) and not isinstance(index, bool) and not 0 <= index < count:
            path = ("healthChecks", i, "portIndex") if "portIndex" in check else ("healthChecks", i)
            yield Violation(path, f"port index {index} does not address one of the app's {count} port(s) "
                                  "(portDefinitions, or container.portMappings)")


def rule_mesos_health_checks(app, options):
    """At most one Mesos-run health check (COMMAND checks are not counted)."""
    mesos = [c for c in _list(app.get("healthChecks"))
             if _obj(c).get("protocol") in MESOS_HEALTH_CHECK_PROTOCOLS and "command" not in _obj(c)]
    if len(mesos) > 1:
        yield Violation(("healthChecks",), f"at most one Mesos health check (MESOS_HTTP, MESOS_HTTPS, MESOS_TCP) "
                                           f"is allowed; found {len(mesos)}")


def rule_readiness_checks(app, options):
    """At most one readiness check; it names an existing port and times out before its interval."""
    checks = _list(app.get("readinessChecks"))
    if len(checks) > 1:
        yield Violation(("readinessChecks",), f"at most one readiness check is allowed; found {len(checks)}")
    names = port_names(app)
    for i, check in enumerate(checks):
        check = _obj(check)
        name = check.get("portName", DEFAULT_READINESS["portName"])
        if isinstance(name, str) and name not in names:
            path = ("readinessChecks", i, "portName") if "portName" in check else ("readinessChecks", i)
            known = ", ".join(sorted(names)) or "none"
            yield Violation(path, f"no port is named '{name}' (named ports: {known})")
        timeout = _number(check.get("timeoutSeconds"), DEFAULT_READINESS["timeoutSeconds"])
        interval = _number(check.get("intervalSeconds"), DEFAULT_READINESS["intervalSeconds"])
        if timeout < 1:
            yield Violation(("readinessChecks", i, "timeoutSeconds"), f"must be at least 1, is {timeout}")
        elif timeout >= interval:
            yield Violation(("readinessChecks", i, "timeoutSeconds"),
                            f"must be less than intervalSeconds ({interval}), is {timeout}")


def _duplicates(values) -> list:
    seen, repeated = set(), []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def rule_port_uniqueness(app, options):
    """Port names unique among portDefinitions and among portMappings; fixed
    port numbers unique among portDefinitions."""
    definitions = [_obj(p) for p in _list(app.get("portDefinitions"))]
    mappings = [_obj(p) for p in _list(_obj(app.get("container")).get("portMappings"))]
    for path, entries in ((("portDefinitions",), definitions), (("container", "portMappings"), mappings)):
        repeated = _duplicates(e["name"] for e in entries if isinstance(e.get("name"), str))
        if repeated:
            yield Violation(path, f"port names must be unique; repeated: {', '.join(repeated)}")
    numbers = _duplicates(e["port"] for e in definitions
                          if isinstance(e.get("port"), int) and e.get("port") != 0)
    if numbers:
        yield Violation(("portDefinitions",), f"port numbers must be unique; repeated: "
                                              f"{', '.join(str(n) for n in numbers)}")


def rule_port_names_shell_safe(app, options):
    """Tailor's lint (not a Marathon rule): Marathon exports a port named N as
    $PORT_<N upper-cased>, unsanitised, so a '-' makes it unusable in a shell."""
    if not options.get("lint", True):
        return
    mappings = _list(_obj(app.get("container")).get("portMappings"))
    for base, entries in ((("portDefinitions",), _list(app.get("portDefinitions"))),
                          (("container", "portMappings"), mappings)):
        for i, entry in enumerate(entries):
            name = _obj(entry).get("name")
            if isinstance(name, str) and "-" in name:
                yield Violation(base + (i, "name"), f"port name '{name}' contains '-': Marathon exports it as "
                                                    f"$PORT_{name.upper()}, which a shell cannot expand; "
                                                    "use lowercase letters and digits only")


def rule_labels(app, options):
    """Labels map strings to strings (`true` must be written "true")."""
    for key, value in _obj(app.get("labels")).items():
        if not isinstance(value, str):
            yield Violation(("labels", key), f"label values must be strings, got {_json_type(value)} "
                                             f"(write {json.dumps(json.dumps(value))})")


def _features(options):
    features = options.get("enabled_features")
    return None if features is None else set(features)


def rule_secrets(app, options):
    """Every secret reference (env, volume) names a declared secret; secrets
    need Marathon's `secrets` feature when the caller says which are on."""
    secrets = _obj(app.get("secrets"))
    used = False
    for name, value in _obj(app.get("env")).items():
        if isinstance(value, dict) and "secret" in value:
            used = True
            ref = value["secret"]
            if isinstance(ref, str) and ref not in secrets:
                yield Violation(("env", name, "secret"), f"refers to secret '{ref}', which 'secrets' does not declare")
    for i, volume in enumerate(_list(_obj(app.get("container")).get("volumes"))):
        ref = _obj(volume).get("secret")
        if isinstance(ref, str):
            used = True
            if ref not in secrets:
                yield Violation(("container", "volumes", i, "secret"),
                                f"refers to secret '{ref}', which 'secrets' does not declare")
    features = _features(options)
    if features is not None and "secrets" not in features and (used or secrets):
        yield Violation(("secrets",), "secrets need Marathon's 'secrets' feature "
                                      "(--enable_features secrets and a secrets plugin)")


def rule_gpus(app, options):
    """GPUs only with the Mesos containerizer (and the gpu_resources feature)."""
    gpus = _number(app.get("gpus"), 0)
    if gpus <= 0:
        return
    if _container_type(app) == "DOCKER":
        yield Violation((), "gpus need the Mesos containerizer: container.type DOCKER cannot have gpus > 0")
    features = _features(options)
    if features is not None and "gpu_resources" not in features:
        yield Violation((), "gpus need Marathon's 'gpu_resources' feature (--enable_features gpu_resources)")


def rule_check_docker(app, options):
    """The Mesos generic `check` does not work with the Docker containerizer."""
    if "check" in app and _container_type(app) == "DOCKER":
        yield Violation(("check",), "'check' needs the Mesos containerizer; container.type DOCKER cannot have it")


def rule_migration_api(app, options):
    """DCOS_MIGRATION_API_VERSION needs version v1, a framework name and a path."""
    labels = _obj(app.get("labels"))
    version = labels.get(MIGRATION_VERSION_LABEL)
    if not version:
        return
    if version != "v1" or not labels.get(FRAMEWORK_NAME_LABEL) or not labels.get(MIGRATION_PATH_LABEL):
        yield Violation((), f"label {MIGRATION_VERSION_LABEL} needs the value v1 and non-empty labels "
                            f"{FRAMEWORK_NAME_LABEL} and {MIGRATION_PATH_LABEL}")


def _java_int(text) -> bool:
    return isinstance(text, str) and bool(JAVA_INT_PATTERN.match(text)) and -2**31 <= int(text) < 2**31


def _constraint_problem(constraint):
    """Why one [field, OPERATOR, value?] constraint is refused, or None."""
    if not isinstance(constraint, list) or not all(isinstance(part, str) for part in constraint):
        return None  # the schema reports the shape
    if not 2 <= len(constraint) <= 3:
        return f"a constraint has 2 or 3 fields ([field, OPERATOR] or [field, OPERATOR, value]), got {len(constraint)}"
    field, operator = constraint[0], constraint[1].upper()
    value = constraint[2] if len(constraint) == 3 else None
    if not field:
        return "the constraint's field (hostname, @region, @zone or an agent attribute) is empty"
    if operator not in CONSTRAINT_OPERATORS:
        return f"unknown operator '{constraint[1]}' (expected one of {', '.join(CONSTRAINT_OPERATORS)})"
    if operator == "UNIQUE" and value is not None:
        return "UNIQUE takes no value"
    if operator == "GROUP_BY" and value is not None and not _java_int(value):
        return f"GROUP_BY takes an integer or no value, got '{value}'"
    if operator == "MAX_PER" and not _java_int(value):
        return "MAX_PER needs an integer value"
    if operator in ("LIKE", "UNLIKE"):
        if not value:
            return f"{operator} needs a regular expression value"
        try:
            re.compile(value)
        except re.error as e:
            return f"'{value}' is not a valid regular expression ({e})"
    if operator == "IS" and not IS_VALUE_PATTERN.match(value or ""):
        return f"IS takes a Mesos text or number value ([a-zA-Z0-9_/.-]*), got '{value}'"
    return None


def rule_constraints(app, options):
    """Placement constraints: operator known, value as the operator requires."""
    for i, constraint in enumerate(_list(app.get("constraints"))):
        problem = _constraint_problem(constraint)
        if problem:
            yield Violation(("constraints", i), problem)


def rule_single_instance(app, options):
    """MARATHON_SINGLE_INSTANCE_APP=true: at most one instance, upgrade strategy 0/0."""
    if not is_single_instance(app):
        return
    instances = _number(app.get("instances"), 1)
    if instances > 1:
        yield Violation((), f"a single-instance app ({SINGLE_INSTANCE_LABEL}=true) has at most one instance, "
                            f"not {instances}")
    strategy = effective_upgrade_strategy(app)
    for key in ("minimumHealthCapacity", "maximumOverCapacity"):
        if strategy[key] != 0:
            given = "" if "upgradeStrategy" in app else " (Marathon's default; give upgradeStrategy 0/0)"
            yield Violation(("upgradeStrategy", key), f"a single-instance app needs 0, is {strategy[key]}{given}")


def rule_resident(app, options):
    """Apps with local persistent volumes: unreachableStrategy "disabled",
    maximumOverCapacity 0, acceptedResourceRoles ["*"] if given, and (1.9+)
    a role other than "*"."""
    if not is_resident(app):
        return
    if "unreachableStrategy" in app and app["unreachableStrategy"] != "disabled":
        yield Violation(("unreachableStrategy",), "an app with persistent volumes needs unreachableStrategy "
                                                  "\"disabled\" (its volume cannot follow it to another agent)")
    over = effective_upgrade_strategy(app)["maximumOverCapacity"]
    if over != 0:
        yield Violation(("upgradeStrategy", "maximumOverCapacity"),
                        f"an app with persistent volumes needs 0, is {over}")
    if "acceptedResourceRoles" in app and app["acceptedResourceRoles"] != [UNRESERVED_ROLE]:
        yield Violation(("acceptedResourceRoles",), "an app with persistent volumes must leave out "
                                                    "acceptedResourceRoles or give [\"*\"] (it reserves "
                                                    "unreserved resources for its role)")
    role = app.get("role", options.get("mesos_role"))
    if role == UNRESERVED_ROLE:
        origin = "its role" if "role" in app else "its role (Marathon's --mesos_role, the default)"
        yield Violation(("role",), f"an app with persistent volumes cannot reserve for the role \"*\": "
                                   f"{origin} must be another role")


def rule_unreachable_strategy(app, options):
    """inactiveAfterSeconds <= expungeAfterSeconds."""
    strategy = app.get("unreachableStrategy")
    if not isinstance(strategy, dict):
        return
    inactive = _number(strategy.get("inactiveAfterSeconds"), 0)
    expunge = _number(strategy.get("expungeAfterSeconds"), 0)
    if inactive > expunge:
        yield Violation(("unreachableStrategy", "inactiveAfterSeconds"),
                        f"must be at most expungeAfterSeconds ({expunge}), is {inactive}")


def rule_fetch_or_uris(app, options):
    """The deprecated `uris` and `fetch` are not combined."""
    if _list(app.get("uris")) and _list(app.get("fetch")):
        yield Violation(("uris",), "give 'fetch' only; the deprecated 'uris' cannot be combined with it")


def rule_accepted_resource_roles(app, options):
    """acceptedResourceRoles, when given, is not empty."""
    if "acceptedResourceRoles" in app and app["acceptedResourceRoles"] == []:
        yield Violation(("acceptedResourceRoles",), "must not be empty: leave it out for Marathon's default roles")


RULES = (
    rule_command,
    rule_id,
    rule_health_check_ports,
    rule_mesos_health_checks,
    rule_readiness_checks,
    rule_port_uniqueness,
    rule_port_names_shell_safe,
    rule_labels,
    rule_secrets,
    rule_gpus,
    rule_check_docker,
    rule_migration_api,
    rule_constraints,
    rule_single_instance,
    rule_resident,
    rule_unreachable_strategy,
    rule_fetch_or_uris,
    rule_accepted_resource_roles,
)


def semantic_violations(app, **options) -> list:
    """Every semantic rule's violations, in RULES order."""
    violations = []
    for rule in RULES:
        violations.extend(rule(app, options))
    return violations


def validate_app(app, *, schema_path=None, mesos_role=None, enabled_features=None, lint=True,
                 newer_fields=False, path_style="pointer") -> list:
    """Marathon's `details` for `app` (a dict parsed from JSON); [] when valid.

    schema_path: the app schema; default marathon/AppDefinition.json in
        schemas_dir().
    mesos_role: Marathon's --mesos_role, the default role of apps in 1.9+. A
        resident app without `role` is refused when it is "*"; None (unknown)
        judges such an app as 1.7/1.8 do, which check the role only at launch.
    enabled_features: Marathon's --enable_features (secrets, gpu_resources);
        None does not judge feature flags.
    lint: also apply Tailor's rule that port names have no '-'.
    newer_fields: accept what Marathon 1.8-1.10 accept beyond the 1.7
        schema: `check`, `role`, `resourceLimits`, `tty` (type-checked only)
        and the constraint operator IS.
    path_style: "pointer" (JSON pointers, /healthChecks/0/portIndex) or
        "marathon" (/healthChecks(0)/portIndex, as Marathon writes them).

    Raises OSError/ValueError only when the schema cannot be read.
    """
    if path_style not in ("pointer", "marathon"):
        raise ValueError(f"path_style: expected 'pointer' or 'marathon', got {path_style!r}")
    if not isinstance(app, dict):
        return [{"path": "/", "errors": [f"an app definition is a JSON object, got {_json_type(app)}"]}]
    schema = load_schema(str(schema_path or app_schema_path()))
    violations = structure_violations(app, schema, newer_fields)
    violations += semantic_violations(app, mesos_role=mesos_role, enabled_features=enabled_features, lint=lint)
    return group_details(violations, path_style)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check a Marathon app definition as Marathon 1.7-1.10 does.")
    parser.add_argument("app", help="app definition (JSON file, - for stdin)")
    parser.add_argument("--schema", help="AppDefinition.json (default: the shared schemas)")
    parser.add_argument("--mesos-role", help="Marathon's --mesos_role (judges resident apps without 'role')")
    parser.add_argument("--no-lint", action="store_true", help="Marathon's rules only")
    parser.add_argument("--newer-fields", action="store_true",
                        help="accept check, role, resourceLimits, tty and IS (Marathon 1.8-1.10)")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.app == "-" else pathlib.Path(args.app).read_text(encoding="utf-8")
        app = json.loads(text)
        details = validate_app(app, schema_path=args.schema, mesos_role=args.mesos_role, lint=not args.no_lint,
                               newer_fields=args.newer_fields)
    except (OSError, ValueError) as e:
        print(f"{args.app}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(details, indent=2, ensure_ascii=False))
    return 1 if details else 0


if __name__ == "__main__":
    sys.exit(main())
