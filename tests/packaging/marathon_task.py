"""The environment Marathon (1.7-1.10) and Mesos give an app's task, and the
settings the Dispatcher derives from it under the shared contract.

    env = task_environment(app, host="agent-1", ports=[31001], sandbox=DIR, secrets={"path": "value"})
    settings = dispatcher_settings(env, cwd=DIR)

What Marathon sets: PORT0..PORTn-1, PORT (= PORT0), PORTS, PORT_<NAME> (name
upper-cased, not otherwise changed), PORT_<number> for fixed port numbers,
HOST, MARATHON_APP_ID (absolute), MARATHON_APP_VERSION,
MARATHON_APP_DOCKER_IMAGE (Docker containers), MARATHON_APP_RESOURCE_CPUS/MEM/
DISK as Scala prints a double ("1.0", "1024.0") and _GPUS as an integer,
MARATHON_APP_LABELS (label names with characters outside [A-Za-z0-9_] made
'_', upper-cased) and MARATHON_APP_LABEL_<NAME> (labels whose name or value
is 512 characters or longer are left out), MESOS_TASK_ID; Mesos adds
MESOS_SANDBOX. The app's `env` is added verbatim, a `{"secret": X}` value
replaced by the secret store's value of secrets[X].source.

Not modelled: --env_vars_prefix, pods, container networks (ports come from
port definitions or mappings as given), MESOS_ALLOCATION_ROLE and the other
variables the Mesos executor sets.
"""

import re
import uuid

import marathon_rules

LABEL_LENGTH_LIMIT = 512


def absolute_app_id(app_id: str) -> str:
    """Marathon's absolute form of an app id: leading '/', no trailing '/'."""
    return "/" + app_id.strip("/")


def scala_double(value) -> str:
    """A resource as Marathon prints it into the environment (a Scala Double)."""
    value = float(value)
    return str(int(value)) + ".0" if value == int(value) else repr(value)


def _label_variable(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


def task_environment(app: dict, *, host: str, ports: list, sandbox: str, secrets=None,
                     version="2026-01-01T00:00:00.000Z") -> dict:
    """The environment of the app's task on `host`, its ports given the host
    ports in `ports` (in port index order); `secrets` maps a secret's source
    to its value. KeyError when a secret is missing; ValueError when `ports`
    is shorter than the app's ports or the app's env overrides Marathon's."""
    entries = marathon_rules.port_entries(app)
    if len(ports) < len(entries):
        raise ValueError(f"the app has {len(entries)} ports, {len(ports)} given")
    app_id = absolute_app_id(app["id"])
    env = {}
    for index, entry in enumerate(entries):
        env[f"PORT{index}"] = str(ports[index])
        if entry.get("name"):
            env["PORT_" + entry["name"].upper()] = str(ports[index])
        requested = entry.get("port", entry.get("containerPort", 0))
        if requested:
            env[f"PORT_{requested}"] = str(ports[index])
    if entries:
        env["PORT"] = env["PORT0"]
        env["PORTS"] = ",".join(str(p) for p in ports[:len(entries)])
    env["HOST"] = host
    env["MARATHON_APP_ID"] = app_id
    env["MARATHON_APP_VERSION"] = version
    docker = app.get("container", {}).get("docker", {})
    if app.get("container", {}).get("type", "DOCKER") == "DOCKER" and docker.get("image"):
        env["MARATHON_APP_DOCKER_IMAGE"] = docker["image"]
    env["MARATHON_APP_RESOURCE_CPUS"] = scala_double(app.get("cpus", 1))
    env["MARATHON_APP_RESOURCE_MEM"] = scala_double(app.get("mem", 128))
    env["MARATHON_APP_RESOURCE_DISK"] = scala_double(app.get("disk", 0))
    env["MARATHON_APP_RESOURCE_GPUS"] = str(int(app.get("gpus", 0)))
    exported = {name: value for name, value in app.get("labels", {}).items()
                if len(name) < LABEL_LENGTH_LIMIT and len(value) < LABEL_LENGTH_LIMIT}
    env["MARATHON_APP_LABELS"] = " ".join(_label_variable(name) for name in exported)
    for name, value in exported.items():
        env["MARATHON_APP_LABEL_" + _label_variable(name)] = value
    env["MESOS_TASK_ID"] = f"{app_id.strip('/').replace('/', '_')}.instance-{uuid.uuid4()}._app.1"
    env["MESOS_SANDBOX"] = sandbox
    for name, value in app.get("env", {}).items():
        if name in env:
            raise ValueError(f"env {name} would override the variable Marathon sets")
        if isinstance(value, dict):
            value = (secrets or {})[app["secrets"][value["secret"]]["source"]]
        env[name] = value
    return env


class DispatcherSettings:
    """What tailor-dispatcher runs with, derived from its environment by the
    shared contract's rules (the integrator's C++ loader is the real thing;
    this is the model the packaging is checked against)."""

    def __init__(self, env: dict, cwd: str):
        under_marathon = "MARATHON_APP_ID" in env
        self.launcher = env.get("TAILOR_LAUNCHER", "local")
        self.mesos_master = env.get("TAILOR_MESOS_MASTER")
        port = env.get("TAILOR_PORT") or (
            (env.get("PORT_API") or env.get("PORT0")) if under_marathon else None) or "8080"
        self.port = int(port)
        self.advertise_host = env.get("TAILOR_ADVERTISE_HOST") or (
            env.get("HOST") if under_marathon else None) or "127.0.0.1"
        marathon_name = (env.get("MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME")
                         or env.get("DCOS_SERVICE_NAME")) if under_marathon else None
        self.framework_name = env.get("TAILOR_FRAMEWORK_NAME") or marathon_name or "tailor"
        self.webui_url = env.get("TAILOR_WEBUI_URL") or (
            f"http://{self.advertise_host}:{self.port}/" if under_marathon else "")
        self.base_path = env.get("APPLICATION_WEB_PROXY_BASE", "")
        store = env.get("TAILOR_STATE_STORE", "")
        if store.startswith("local:") and not store[len("local:"):].startswith("/"):
            store = "local:" + cwd.rstrip("/") + "/" + store[len("local:"):]
        self.state_store = store
        # split on whitespace, as the Dispatcher splits --jobmanager-arg
        self.jobmanager_args = env.get("TAILOR_JOBMANAGER_ARG", "").split()
        self.mesos_secret_file = env.get("TAILOR_MESOS_SECRET_FILE")
