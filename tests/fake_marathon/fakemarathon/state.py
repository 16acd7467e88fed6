"""What the fake Marathon knows: apps, their instances and tasks, deployments, launch delays.

Plain data; `scheduler.Scheduler` owns it and changes it under its lock.
"""

import time
import uuid

from . import appdef
from .checks import HealthRecord

ACTIVE_STATES = ("TASK_STAGING", "TASK_RUNNING", "TASK_KILLING")
# Mesos' command executor escalates to SIGKILL after this when the app sets no
# taskKillGracePeriodSeconds.
DEFAULT_KILL_GRACE_SECONDS = 3.0


class Task:
    """One Mesos task of an instance (one incarnation): its process, ports, checks, state."""

    def __init__(self, task_id, instance, app, host_ports, sandbox, env):
        self.id = task_id
        self.instance = instance
        self.app = app  # the app version this task runs
        self.host_ports = host_ports
        self.sandbox = sandbox
        self.env = env
        self.state = "TASK_STAGING"
        self.staged_at = time.time()
        self.started_at = None
        self.running_since_mono = None
        self.proc = None
        self.message = ""
        self.kill_requested = False
        self.kill_deadline = None  # monotonic time of the SIGKILL
        self.sigkill_sent = False
        self.health = [HealthRecord(check, instance.id) for check in app["healthChecks"]]
        self.next_probe = [None] * len(self.health)
        self.probing = set()
        self.readiness = None  # the last readiness result (Marathon's TaskReadinessCheckResult)
        self.next_readiness = None
        self.readiness_probing = False

    @property
    def active(self):
        return self.state in ACTIVE_STATES

    @property
    def running(self):
        return self.state == "TASK_RUNNING"

    @property
    def healthy(self):
        """True/False once every health check has a result, None before (or without checks)."""
        if not self.health or not all(record.probed for record in self.health):
            return None
        return all(record.alive for record in self.health)

    @property
    def ready(self):
        return not self.app["readinessChecks"] or bool(self.readiness and self.readiness["ready"])

    def kill_grace(self):
        return float(self.app.get("taskKillGracePeriodSeconds", DEFAULT_KILL_GRACE_SECONDS))


class Instance:
    """An app instance: it keeps its id (and its persistent volumes) across relaunches."""

    def __init__(self, owner, app):
        self.id = f"{appdef.safe_path(app['id'])}.instance-{uuid.uuid4()}"
        self.owner = owner  # the AppState
        self.app = app  # the app version the next task of this instance runs
        self.goal = "running"  # or "stopped": kill and forget it
        self.incarnation = 0
        self.task = None
        self.created_at = time.monotonic()

    @property
    def config(self):
        return self.app["versionInfo"]["lastConfigChangeAt"]

    def next_task_id(self):
        self.incarnation += 1
        return f"{self.id}._app.{self.incarnation}"


class LaunchDelay:
    """Marathon's launch back-off of an app (its RateLimiter).

    The first failure delays launches by `backoffSeconds`, each further one multiplies
    the delay by `backoffFactor` up to `maxLaunchDelaySeconds`. A task reaching
    running moves the delay's reference time; a delay older than the maximum is
    dropped; a new config version starts afresh.
    """

    def __init__(self):
        self.current = None
        self.reference = 0.0

    def reset(self):
        self.current = None

    def on_failure(self, app, now):
        self._expire(app, now)
        maximum = float(app["maxLaunchDelaySeconds"])
        if self.current is None:
            self.current = min(float(app["backoffSeconds"]), maximum)
        else:
            self.current = min(self.current * float(app["backoffFactor"]), maximum)
        self.reference = now

    def on_running(self, now):
        if self.current is not None:
            self.reference = now

    def launch_allowed_at(self, app, now):
        self._expire(app, now)
        return 0.0 if self.current is None else self.reference + self.current

    def time_left(self, app, now):
        return max(0.0, self.launch_allowed_at(app, now) - now)

    def _expire(self, app, now):
        if self.current is not None and now > self.reference + float(app["maxLaunchDelaySeconds"]):
            self.current = None


class AppState:
    """An app: its current definition, versions, instances, launch delay and last failure."""

    def __init__(self, app, raw):
        self.app = app
        self.raw = raw  # the definition as last given, which partial updates merge into
        self.versions = {app["version"]: app}
        self.instances = []
        self.delay = LaunchDelay()
        self.last_failure = None
        self.deleted = False
        self.last_error = None  # the last exception running it raised (logged once)

    def tasks(self):
        return [instance.task for instance in self.instances if instance.task is not None]


class Deployment:
    """A deployment of one app; listed until its instances are where the plan wants them.

    `steps` is the list of steps, each a list of Marathon action names
    (`StartApplication`, `ScaleApplication`, `RestartApplication`, `StopApplication`).
    """

    def __init__(self, app_id, version, steps):
        self.id = str(uuid.uuid4())
        self.app_id = app_id
        self.version = version
        self.steps = steps
        self.current_step = len(steps)

    @property
    def stopping(self):
        return self.steps == [["StopApplication"]]
