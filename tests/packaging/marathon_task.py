"""The environment of the Dispatcher's task under Marathon, and the settings the
Dispatcher derives from it under the shared contract.

    env = task_environment(app, host="agent-1", host_ports=[31001], sandbox=DIR,
                           secret_values={"frameworkSecret": "value"})
    settings = DispatcherSettings(env, cwd=DIR)

The environment is the fake Marathon's model (`tests/fake_marathon/fakemarathon/`,
whose README says what it covers and which Marathon sources it follows): the app
stored as Marathon stores it (`appdef`: defaults, absolute id, service ports from
10000), its first task's id, then `taskenv.task_env` and `taskenv.agent_env`.
"""

import time

import support  # noqa: F401  (puts tests/fake_marathon/ on the import path)
from fakemarathon import appdef, taskenv
from fakemarathon.state import Instance


def task_environment(app: dict, *, host: str, host_ports: list, sandbox: str, secret_values=None,
                     mesos_role=None) -> dict:
    """The environment of the first task of `app` (a definition as posted) on `host`:
    `host_ports` are the host ports its port definitions get, in order; `secret_values`
    maps the app's secret reference names to their values; `mesos_role` is Marathon's
    `--mesos_role`. KeyError when a secret is missing; ValueError when `host_ports`
    does not match the app's port definitions (container networks are not modelled)."""
    stored = appdef.normalize(app, appdef.canonical_id(app["id"]))
    appdef.assign_service_ports(stored, None, set())
    stored["version"] = appdef.timestamp(time.time())
    if len(host_ports) != len(stored["portDefinitions"]):
        raise ValueError(f"the app has {len(stored['portDefinitions'])} port definitions, "
                         f"{len(host_ports)} host ports given")
    task_id = Instance(None, stored).next_task_id()
    env = taskenv.task_env(stored, task_id, host, host_ports, secret_values or {})
    env.update(taskenv.agent_env(stored, sandbox, mesos_role))
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
