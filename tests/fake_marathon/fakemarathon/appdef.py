"""App definitions as Marathon stores and shows them.

Ids, versions, the defaults Marathon fills in (RAML `app.raml`, `AppNormalization`),
service ports (`AssignDynamicServiceLogic`), and what kind of change an update is.
"""

import copy
import datetime

from . import fetcher

SERVICE_PORT_MIN = 10000  # Marathon's --local_port_min
SERVICE_PORT_MAX = 20000  # --local_port_max (exclusive)

# Fields of the app a GET shows that are not part of the definition.
DERIVED_FIELDS = ("version", "versionInfo", "tasksStaged", "tasksRunning", "tasksHealthy",
                  "tasksUnhealthy", "deployments", "tasks", "lastTaskFailure",
                  "readinessCheckResults", "tasksStats")

_SCALAR_DEFAULTS = {
    "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0,
    "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300,
    "executor": "", "requirePorts": False, "killSelection": "YOUNGEST_FIRST",
}
_EMPTY_DEFAULTS = {"env": dict, "labels": dict, "constraints": list, "dependencies": list,
                   "fetch": list, "healthChecks": list, "readinessChecks": list, "secrets": dict}
_HEALTH_DEFAULTS = {"gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
                    "maxConsecutiveFailures": 3, "delaySeconds": 15}
_READINESS_DEFAULTS = {"name": "readinessCheck", "protocol": "HTTP", "path": "/",
                       "portName": "http-api", "intervalSeconds": 30, "timeoutSeconds": 10,
                       "httpStatusCodesForReady": [200], "preserveLastResponse": False}
HTTP_HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS")
MESOS_HEALTH_PROTOCOLS = ("MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP", "COMMAND")


def canonical_id(raw):
    """The absolute form of an app id: `tailor` and `/tailor/` are `/tailor`."""
    return "/" + "/".join(segment for segment in raw.split("/") if segment)


def safe_path(app_id):
    """The id as Marathon puts it in task ids: `/jobs/dispatcher` is `jobs_dispatcher`."""
    return "_".join(segment for segment in app_id.split("/") if segment)


def timestamp(seconds):
    """Marathon's timestamp form: ISO 8601 in UTC with milliseconds, `2021-07-27T10:00:00.123Z`."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_archive(uri):
    """Whether the fetcher would extract this URI by its name (Marathon's `FetchUri.isExtract`)."""
    return uri.lower().endswith(fetcher.ARCHIVE_SUFFIXES)


def is_resident(app):
    """Whether the app has a persistent volume (a resident app)."""
    volumes = (app.get("container") or {}).get("volumes", [])
    return any("persistent" in volume for volume in volumes)


def definition_of(app):
    """The app without what Marathon derives for a GET: what an update merges into."""
    return {key: value for key, value in app.items() if key not in DERIVED_FIELDS}


def _normalize_health_check(check):
    check = dict(check)
    check.setdefault("protocol", "HTTP")
    for key, value in _HEALTH_DEFAULTS.items():
        check.setdefault(key, value)
    if check["protocol"] != "COMMAND" and "port" not in check and "portIndex" not in check:
        check["portIndex"] = 0
    if check["protocol"] in HTTP_HEALTH_PROTOCOLS:
        check.setdefault("path", "/")
    if check["protocol"] in ("HTTP", "HTTPS", "TCP", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"):
        check.setdefault("ipProtocol", "IPv4")
    return check


def _normalize_readiness_check(check):
    normalized = copy.deepcopy(_READINESS_DEFAULTS)
    normalized.update(check)
    return normalized


def _normalize_ports(app):
    if "portDefinitions" not in app and "ports" in app:
        app["portDefinitions"] = [{"port": port} for port in app["ports"]]
    app.pop("ports", None)
    host_network = all(network.get("mode", "container") == "host" for network in app["networks"])
    if "portDefinitions" not in app and host_network:
        app["portDefinitions"] = [{"port": 0, "name": "default"}]
    app["portDefinitions"] = [dict({"port": 0, "protocol": "tcp"}, **pd)
                              for pd in app.get("portDefinitions", [])]


def _normalize_fetch(app):
    uris = app.pop("uris", None)
    if uris and not app.get("fetch"):
        app["fetch"] = [{"uri": uri, "extract": is_archive(uri)} for uri in uris]
    app["fetch"] = [dict({"extract": True, "executable": False, "cache": False}, **artifact)
                    for artifact in app.get("fetch", [])]


def normalize(raw, app_id):
    """The app as Marathon stores it: `raw` (a valid definition) with every default filled in.

    Service ports are not assigned here (see `assign_service_ports`).
    """
    app = copy.deepcopy(definition_of(raw))
    app["id"] = app_id
    for key, value in _SCALAR_DEFAULTS.items():
        app.setdefault(key, value)
    for key in ("cpus", "mem", "disk"):
        app[key] = float(app[key])
    app["backoffFactor"] = float(app["backoffFactor"])
    for key, make in _EMPTY_DEFAULTS.items():
        app.setdefault(key, make())
    app.setdefault("networks", [{"mode": "host"}])
    _normalize_ports(app)
    _normalize_fetch(app)
    app["healthChecks"] = [_normalize_health_check(c) for c in app["healthChecks"]]
    app["readinessChecks"] = [_normalize_readiness_check(c) for c in app["readinessChecks"]]
    resident = is_resident(app)
    app.setdefault("upgradeStrategy", {"minimumHealthCapacity": 0.5 if resident else 1.0,
                                       "maximumOverCapacity": 0.0 if resident else 1.0})
    app["upgradeStrategy"] = {key: float(value) for key, value in app["upgradeStrategy"].items()}
    app.setdefault("unreachableStrategy", "disabled" if resident else
                   {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
    return app


def assign_service_ports(app, previous, used):
    """Gives every port definition with port 0 a free service port, as Marathon does.

    Ports the previous version of the app held and this one no longer names are
    reused first, then the lowest ports in [10000, 20000) in no app's `used` set.
    Raises ValueError when the range is exhausted.
    """
    taken = {pd["port"] for pd in app["portDefinitions"] if pd["port"] != 0}
    reusable = [pd["port"] for pd in (previous or {}).get("portDefinitions", [])
                if SERVICE_PORT_MIN <= pd["port"] < SERVICE_PORT_MAX and pd["port"] not in taken]
    free = (port for port in range(SERVICE_PORT_MIN, SERVICE_PORT_MAX)
            if port not in used and port not in taken)
    for pd in app["portDefinitions"]:
        if pd["port"] != 0:
            continue
        if reusable:
            pd["port"] = reusable.pop(0)
        else:
            port = next(free, None)
            if port is None:
                raise ValueError(f"All ports in the range [{SERVICE_PORT_MIN}-{SERVICE_PORT_MAX}) "
                                 "are already in use")
            pd["port"] = port
        taken.add(pd["port"])


def is_scale_only(old, new):
    """Whether `new` differs from `old` in nothing but `instances` (a scale, not a restart)."""
    def comparable(app):
        return {key: value for key, value in definition_of(app).items() if key != "instances"}
    return comparable(old) == comparable(new)


def refusals(app, secret_sources):
    """What this fake cannot run, as Marathon 422 details (`[{"path", "errors"}]`).

    It runs apps as plain processes on its host: no container images, no networks
    but the host's, no external volumes, no custom executors; secrets only from the
    values it was started with (`secret_sources`).
    """
    details = []

    def refuse(path, error):
        details.append({"path": path, "errors": [error]})

    container = app.get("container") or {}
    if isinstance(container, dict):
        if container and container.get("type", "DOCKER") == "DOCKER":
            refuse("/container/type", "fake-marathon runs apps as plain processes: DOCKER "
                   "containers are not supported (use type MESOS without an image)")
        if "docker" in container:
            refuse("/container/docker", "fake-marathon runs apps as plain processes: "
                   "container images are not supported")
        if container.get("portMappings"):
            refuse("/container/portMappings", "fake-marathon supports host networking only "
                   "(use portDefinitions)")
        for index, volume in enumerate(container.get("volumes") or []):
            if isinstance(volume, dict) and "external" in volume:
                refuse(f"/container/volumes({index})/external",
                       "fake-marathon does not support external volumes")
            if isinstance(volume, dict) and "secret" in volume and \
                    volume["secret"] not in (app.get("secrets") or {}):
                refuse(f"/container/volumes({index})/secret", f"references the secret "
                       f"'{volume['secret']}', which the app's secrets do not define")
    for index, network in enumerate(app.get("networks") or []):
        if isinstance(network, dict) and network.get("mode", "container") != "host":
            refuse(f"/networks({index})/mode", "fake-marathon supports host networking only")
    if app.get("executor", "") not in ("", "//cmd"):
        refuse("/executor", "fake-marathon runs the command executor only")
    secrets = app.get("secrets") or {}
    for ref, spec in secrets.items():
        source = spec.get("source") if isinstance(spec, dict) else None
        if source not in secret_sources:
            refuse(f"/secrets/{ref}/source", f"fake-marathon has no value for secret source "
                   f"'{source}' (start it with --secret {source}=VALUE)")
    for name, value in (app.get("env") or {}).items():
        if isinstance(value, dict) and value.get("secret") not in secrets:
            refuse(f"/env/{name}", f"references the secret '{value.get('secret')}', "
                   "which the app's secrets do not define")
    return details
