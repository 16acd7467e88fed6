"""The environment Marathon gives an app task, as pure functions.

Marathon builds it in `TaskBuilder.commandInfo` and `EnvironmentHelper`: the task
context (`MESOS_TASK_ID`, `MARATHON_APP_*`), the labels, the port variables and
`HOST`, then the app's own `env`, which wins over everything before it. The Mesos
agent adds `MESOS_SANDBOX` and `MESOS_ALLOCATION_ROLE` (`agent_env`).

The packaging tests (`tests/packaging/`) take the environment of the Dispatcher's
task from here as well.
"""

import decimal
import re

# Marathon skips a label whose key is at least this long less the prefix, or
# whose value is at least this long.
MAX_ENV_LENGTH = 512
LABEL_PREFIX = "MARATHON_APP_LABEL_"
_NOT_IN_NAME = re.compile(r"[^a-zA-Z0-9_]+")


def java_double(value):
    """`value` printed as Scala/Java's `Double.toString` prints it: `0.5`, `1024.0`, `1.0E7`.

    Plain notation with at least one fractional digit between 10^-3 and 10^7,
    computerised scientific notation (`d.dddE±n`) outside that range.
    """
    value = float(value)
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digits)
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return ("-" if sign else "") + mantissa + "E" + str(len(digits) - 1 + exponent)


def ports_env(requested, host_ports):
    """`PORT0..n`, `PORT`, `PORTS`, `PORT_<requested port>` and `PORT_<NAME>`.

    `requested`: the app's port definitions as `(name or None, port)` in order, where
    `port` is the service port Marathon stored (0 = none); `host_ports`: the host port
    each got. Names are upper-cased and not otherwise changed, as Marathon does (a
    port named `dispatcher-ui` gives `PORT_DISPATCHER-UI`).
    """
    if not host_ports:
        return {}
    env = {}
    for index, port in enumerate(host_ports):
        env[f"PORT{index}"] = str(port)
    for (_, requested_port), port in zip(requested, host_ports):
        env[f"PORT_{requested_port if requested_port != 0 else port}"] = str(port)
    for (name, _), port in zip(requested, host_ports):
        if name:
            env[f"PORT_{name.upper()}"] = str(port)
    env["PORT"] = str(host_ports[0])
    env["PORTS"] = ",".join(str(p) for p in host_ports)
    return env


def labels_env(labels):
    """`MARATHON_APP_LABELS` and one `MARATHON_APP_LABEL_<NAME>` per label.

    A name is the key with every run of characters outside `[A-Za-z0-9_]` made one
    `_`, then upper-cased. A label whose key is 493 characters or longer, or whose
    value is 512 or longer, is left out, as Marathon does.
    """
    names = []
    env = {}
    for key, value in labels.items():
        if len(key) >= MAX_ENV_LENGTH - len(LABEL_PREFIX) or len(value) >= MAX_ENV_LENGTH:
            continue
        name = _NOT_IN_NAME.sub("_", key).upper()
        names.append(name)
        env[LABEL_PREFIX + name] = value
    env["MARATHON_APP_LABELS"] = " ".join(names)
    return env


def _docker_image(app):
    """The image of a `DOCKER` container (the Docker containerizer), else None.

    A `MESOS` container's image does not count: Marathon sets `MARATHON_APP_DOCKER_IMAGE`
    for the Docker containerizer only. The fake refuses such apps; the packaging tests
    model the shipped Docker variant's task with it.
    """
    container = app.get("container") or {}
    if not container or container.get("type", "DOCKER") != "DOCKER":
        return None
    return (container.get("docker") or {}).get("image")


def task_context_env(app, task_id):
    """`MESOS_TASK_ID`, `MARATHON_APP_ID`, `MARATHON_APP_VERSION`, `MARATHON_APP_DOCKER_IMAGE`
    (a `DOCKER` container's), the resources and labels."""
    env = {
        "MESOS_TASK_ID": task_id,
        "MARATHON_APP_ID": app["id"],
        "MARATHON_APP_VERSION": app["version"],
    }
    image = _docker_image(app)
    if image:
        env["MARATHON_APP_DOCKER_IMAGE"] = image
    env.update({
        "MARATHON_APP_RESOURCE_CPUS": java_double(app["cpus"]),
        "MARATHON_APP_RESOURCE_MEM": java_double(app["mem"]),
        "MARATHON_APP_RESOURCE_DISK": java_double(app["disk"]),
        "MARATHON_APP_RESOURCE_GPUS": str(int(app["gpus"])),
    })
    env.update(labels_env(app.get("labels", {})))
    return env


def task_env(app, task_id, host, host_ports, secret_values):
    """Everything Marathon puts in a task's `CommandInfo.environment`, in its order.

    `secret_values` maps a secret reference name of the app to its value; an `env`
    entry `{"secret": REF}` gets that value (Marathon leaves these to the secrets
    plugin, which injects them).
    """
    env = task_context_env(app, task_id)
    requested = [(pd.get("name"), pd.get("port", 0)) for pd in app.get("portDefinitions", [])]
    env.update(ports_env(requested, host_ports))
    env["HOST"] = host
    for name, value in app.get("env", {}).items():
        if isinstance(value, str):
            env[name] = value
        else:
            env[name] = secret_values[value["secret"]]
    return env


def agent_env(app, sandbox, mesos_role=None):
    """What the Mesos agent adds: `MESOS_SANDBOX` (the task's sandbox) and
    `MESOS_ALLOCATION_ROLE` (the app's `role`, else Marathon's `--mesos_role`, else `*`)."""
    return {"MESOS_SANDBOX": sandbox,
            "MESOS_ALLOCATION_ROLE": app.get("role") or mesos_role or "*"}
