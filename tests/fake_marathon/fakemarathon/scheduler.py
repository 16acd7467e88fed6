"""The fake Marathon's brain: apps and deployments in, task processes out.

One lock guards all state. REST handlers call the operations below (each takes
the lock); `tick()` runs every few milliseconds on the main thread and does the
rest: it applies what worker threads reported (a task started, a probe result),
reaps exited processes, escalates kills, keeps each app at its instance count,
launches what is due, schedules probes and ends finished deployments. Workers
never touch the state: they post to `events`.
"""

import concurrent.futures
import logging
import os
import queue
import signal
import socket
import threading
import time
import traceback
import uuid

from . import appdef, checks, fetcher, processes, taskenv
from .state import AppState, Deployment, Instance, Task

log = logging.getLogger("fake-marathon")

# Marathon-level health checks start after their interval, at most this long.
FIRST_MARATHON_HEALTH_CHECK_AFTER = 5.0
LIMIT_WORTHY_STATES = ("TASK_FAILED", "TASK_FINISHED", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE")


class ApiError(Exception):
    """A refused request: the HTTP status and Marathon's JSON body for it."""

    def __init__(self, status, body):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def not_valid(details):
    return ApiError(422, {"message": "Object is not valid", "details": details})


def unknown_app(app_id):
    return ApiError(404, {"message": f"App '{app_id}' does not exist"})


def app_locked(deployment_ids):
    return ApiError(409, {
        "message": "App is locked by one or more deployments. Override with the option "
                   "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
        "deployments": [{"id": deployment_id} for deployment_id in deployment_ids]})


def _agent_environment():
    """What a task inherits from the agent: this process' environment less Mesos' own."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("MESOS_", "LIBPROCESS_", "MARATHON_"))}


class Scheduler:
    """Apps, instances, tasks and deployments, and the loop that runs them."""

    def __init__(self, work_dir, host, validator, secrets, mesos_role=None):
        self.lock = threading.RLock()
        self.work_dir = os.path.abspath(work_dir)
        self.host = host
        self.host_ip = _address_of(host)
        self.validator = validator
        self.secrets = dict(secrets)
        self.mesos_role = mesos_role
        self.apps = {}  # live apps by id
        self.stopping = []  # AppStates of deleted apps whose tasks are still being killed
        self.deployments = {}  # by id, oldest first
        self.events = queue.Queue()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)
        self.allocated_ports = set()
        self.agent_id = f"{uuid.uuid4()}-S0"
        self.shutting_down = False
        self._last_version = 0.0

    # ----------------------------------------------------------------- operations

    def create_app(self, body, force=False):
        """POST /v2/apps: returns the new AppState and its deployment."""
        with self.lock:
            self._check_definition(body)
            app_id = appdef.canonical_id(body["id"])
            if app_id in self.apps:
                raise ApiError(409, {"message": f"An app with id [{app_id}] already exists."})
            self._take_lock(app_id, force)
            return self._create(app_id, body)

    def put_app(self, app_id, body, partial, force, allow_creation=True):
        """PUT (and PATCH) /v2/apps/{id}: returns (created, deployment)."""
        with self.lock:
            app_id = appdef.canonical_id(app_id)
            if not isinstance(body, dict):
                self._check_definition(body)
            existing = self.apps.get(app_id)
            if existing is None and not allow_creation:
                raise unknown_app(app_id)
            candidate = dict(existing.raw) if existing is not None and partial else {}
            candidate.update(body)
            candidate["id"] = app_id
            self._check_definition(candidate)
            self._take_lock(app_id, force)
            if existing is None:
                return True, self._create(app_id, candidate)[1]
            return False, self._update(existing, candidate)

    def delete_app(self, app_id, force):
        """DELETE /v2/apps/{id}: the app is gone at once, its tasks are killed."""
        with self.lock:
            state = self._app(app_id)
            self._take_lock(state.app["id"], force)
            del self.apps[state.app["id"]]
            state.deleted = True
            self.stopping.append(state)
            for instance in state.instances:
                self._stop_instance(instance, "app deleted")
            return self._deploy(state.app["id"], self._new_version(), [["StopApplication"]])

    def restart_app(self, app_id, force):
        """POST /v2/apps/{id}/restart: a new config version, every instance replaced."""
        with self.lock:
            state = self._app(app_id)
            self._take_lock(state.app["id"], force)
            app = dict(state.app)
            version = self._new_version()
            app["version"] = version
            app["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
            self._install(state, app, state.raw)
            self._replace_instances(state)
            return self._deploy(app["id"], version, [["RestartApplication"]])

    def kill_task(self, app_id, task_id, scale, wipe, force):
        """DELETE /v2/apps/{id}/tasks/{taskId}: the killed Task, or with `scale` a deployment."""
        with self.lock:
            state = self._app(app_id)
            if scale and wipe:
                raise ApiError(400, {"message": "You cannot use scale and wipe at the same time."})
            instance_id = task_id.rsplit("._app.", 1)[0]
            instance = next((i for i in state.instances
                             if i.id == instance_id and i.task is not None), None)
            if instance is None:
                raise ApiError(404, {"message": f"Task '{task_id}' does not exist"})
            task = instance.task
            if scale:
                self._take_lock(state.app["id"], force)
                self._stop_instance(instance, "killed with scale=true")
                app = dict(state.app, instances=max(0, state.app["instances"] - 1))
                version = self._new_version()
                app["version"] = version
                app["versionInfo"] = dict(state.app["versionInfo"], lastScalingAt=version)
                self._install(state, app, dict(state.raw, instances=app["instances"]))
                return self._deploy(app["id"], version, [["ScaleApplication"]])
            if wipe:
                self._stop_instance(instance, "killed with wipe=true")
            else:
                self._request_kill(task, "killed over the REST API")
            return task

    def app(self, app_id):
        """The live AppState of `app_id`; ApiError 404 when there is none."""
        with self.lock:
            return self._app(app_id)

    def deployments_of(self, app_id):
        """The running deployments of `app_id` (call with the lock held)."""
        return [d for d in self.deployments.values() if d.app_id == app_id]

    # ----------------------------------------------------------------- the loop

    def tick(self):
        """One turn: apply reports, reap, keep instance counts, launch, probe, end deployments."""
        with self.lock:
            now = time.monotonic()
            self._apply_events(now)
            for state in list(self.apps.values()) + self.stopping:
                try:
                    self._run(state, now)
                except Exception:  # a bug or an app it cannot handle: say so once, go on
                    trace = traceback.format_exc()
                    if trace != state.last_error:
                        log.error("app %s: %s", state.app["id"], trace)
                    state.last_error = trace
            self._end_deployments()
            self.stopping = [state for state in self.stopping if state.instances]

    def _run(self, state, now):
        self._reap_and_escalate(state, now)
        if not state.deleted and not self.shutting_down:
            self._reconcile(state)
        self._forget_stopped_instances(state)
        self._launch_due(state, now)
        self._schedule_probes(state, now)

    def begin_shutdown(self):
        """Stops launching and kills every task (SIGTERM, SIGKILL after its grace period)."""
        with self.lock:
            self.shutting_down = True
            for state in list(self.apps.values()) + self.stopping:
                for instance in state.instances:
                    self._stop_instance(instance, "fake-marathon is shutting down")

    def idle(self):
        """True once no task is left (every process gone)."""
        with self.lock:
            return not any(state.instances for state in list(self.apps.values()) + self.stopping)

    # ----------------------------------------------------------------- definitions

    def _check_definition(self, body):
        if not isinstance(body, dict):
            raise ApiError(422, {"message": "Invalid JSON",
                                 "details": [{"path": "", "errors": ["error.expected.jsobject"]}]})
        details = list(self.validator(body))
        if not details and not isinstance(body.get("id"), str):
            details.append({"path": "/id", "errors": ["error.path.missing"]})
        details += appdef.refusals(body, self.secrets)
        if details:
            raise not_valid(details)

    def _take_lock(self, app_id, force):
        """Refuses with 409 while a deployment of the app runs; with `force` cancels them."""
        running = self.deployments_of(app_id)
        if running and not force:
            raise app_locked([d.id for d in running])
        for deployment in running:
            log.info("deployment %s of %s canceled by a forced change", deployment.id, app_id)
            del self.deployments[deployment.id]

    def _new_version(self):
        """A version timestamp later than every one given before (milliseconds apart)."""
        moment = max(time.time(), self._last_version + 0.001)
        self._last_version = moment
        return appdef.timestamp(moment)

    def _service_ports_in_use(self, except_id):
        return {pd["port"] for app_id, state in self.apps.items() if app_id != except_id
                for pd in state.app["portDefinitions"]}

    def _normalized(self, raw, app_id, previous):
        app = appdef.normalize(raw, app_id)
        try:
            appdef.assign_service_ports(app, previous, self._service_ports_in_use(app_id))
        except ValueError as e:
            raise ApiError(422, {"message": str(e)}) from None
        return app

    def _create(self, app_id, raw):
        app = self._normalized(raw, app_id, None)
        version = self._new_version()
        app["version"] = version
        app["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
        state = AppState(app, appdef.definition_of(raw))
        self.apps[app_id] = state
        log.info("app %s created (version %s)", app_id, version)
        deployment = self._deploy(app_id, version, [["StartApplication"], ["ScaleApplication"]])
        return state, deployment

    def _update(self, state, raw):
        app = self._normalized(raw, state.app["id"], state.app)
        version = self._new_version()
        old = state.app
        app["version"] = version
        if appdef.is_scale_only(old, app):
            app["versionInfo"] = dict(old["versionInfo"], lastScalingAt=version)
            self._install(state, app, appdef.definition_of(raw))
            steps = [["ScaleApplication"]] if app["instances"] != old["instances"] else []
            return self._deploy(app["id"], version, steps)
        app["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": version}
        self._install(state, app, appdef.definition_of(raw))
        self._replace_instances(state)
        return self._deploy(app["id"], version, [["RestartApplication"]])

    def _install(self, state, app, raw):
        if app["versionInfo"]["lastConfigChangeAt"] != state.app["versionInfo"]["lastConfigChangeAt"]:
            state.delay.reset()
        state.app = app
        state.raw = raw
        state.versions[app["version"]] = app
        log.info("app %s now at version %s (%d instances)", app["id"], app["version"],
                 app["instances"])

    def _deploy(self, app_id, version, steps):
        deployment = Deployment(app_id, version, steps)
        self.deployments[deployment.id] = deployment
        log.info("deployment %s of %s started: %s", deployment.id, app_id,
                 ", ".join(action for step in steps for action in step) or "no steps")
        return deployment

    def _replace_instances(self, state):
        """A new config version: with maximumOverCapacity 0 every instance is killed and
        relaunched in place (the old task has exited before the new one starts); otherwise
        new instances start and the old ones stop once all new ones are healthy and ready."""
        if state.app["upgradeStrategy"]["maximumOverCapacity"] > 0:
            return
        for instance in [i for i in state.instances if i.goal == "running"]:
            instance.app = state.app
            if instance.task is not None:
                self._request_kill(instance.task, "replaced by version " + state.app["version"])

    # ----------------------------------------------------------------- instances

    def _reconcile(self, state):
        """Keeps `instances` instances of the current config; retires old-config ones once
        every current one is healthy and ready; stops the surplus, youngest first unless
        the app says OLDEST_FIRST."""
        app = state.app
        config = app["versionInfo"]["lastConfigChangeAt"]
        current = [i for i in state.instances if i.goal == "running" and i.config == config]
        while len(current) < app["instances"]:
            instance = Instance(state, app)
            state.instances.append(instance)
            current.append(instance)
            log.info("instance %s of %s created", instance.id, app["id"])
        if len(current) > app["instances"]:
            oldest_first = app.get("killSelection") == "OLDEST_FIRST"
            current.sort(key=lambda i: i.created_at, reverse=not oldest_first)
            for instance in current[:len(current) - app["instances"]]:
                self._stop_instance(instance, "scaled down")
        if all(self._instance_ready(i) for i in current):
            for instance in state.instances:
                if instance.goal == "running" and instance not in current:
                    self._stop_instance(instance, "replaced by version " + app["version"])

    def _instance_ready(self, instance):
        """Running the current config, not being killed, healthy and ready."""
        task = instance.task
        return (task is not None and task.running and not task.kill_requested
                and task.app["versionInfo"]["lastConfigChangeAt"] == instance.config
                and (not task.health or task.healthy is True) and task.ready)

    def _stop_instance(self, instance, reason):
        instance.goal = "stopped"
        if instance.task is not None:
            self._request_kill(instance.task, reason)

    def _forget_stopped_instances(self, state):
        for instance in [i for i in state.instances if i.goal == "stopped"]:
            if instance.task is None or not instance.task.active:
                state.instances.remove(instance)
                log.info("instance %s of %s gone", instance.id, state.app["id"])

    # ----------------------------------------------------------------- tasks

    def _launch_due(self, state, now):
        if self.shutting_down:
            return
        for instance in state.instances:
            if instance.goal != "running" or (instance.task is not None and instance.task.active):
                continue
            if now < state.delay.launch_allowed_at(state.app, now):
                continue
            if instance.config == state.app["versionInfo"]["lastConfigChangeAt"]:
                instance.app = state.app
            self._launch(instance)

    def _launch(self, instance):
        app = instance.app
        task_id = instance.next_task_id()
        host_ports = self._allocate_ports(app)
        sandbox = os.path.join(self.work_dir, "sandboxes", appdef.safe_path(app["id"]), task_id)
        os.makedirs(sandbox)
        secret_values = {ref: self.secrets[spec["source"]] for ref, spec in app["secrets"].items()}
        env = _agent_environment()
        env.update(taskenv.task_env(app, task_id, self.host, host_ports, secret_values))
        env.update(taskenv.agent_env(app, sandbox, self.mesos_role))
        task = Task(task_id, instance, app, host_ports, sandbox, env)
        instance.task = task
        volumes = self._volumes(instance, app, secret_values)
        log.info("task %s of %s staging (version %s, ports %s, sandbox %s)", task_id, app["id"],
                 app["version"], host_ports, sandbox)
        self.pool.submit(self._fetch_and_start, task, volumes)

    def _allocate_ports(self, app):
        ports = []
        for pd in app["portDefinitions"]:
            port = pd["port"] if app["requirePorts"] else self._free_port()
            self.allocated_ports.add(port)
            ports.append(port)
        return ports

    def _free_port(self):
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("", 0))
                port = s.getsockname()[1]
            if port not in self.allocated_ports:
                return port

    def _volumes(self, instance, app, secret_values):
        """(path in the sandbox, kind, what) for each volume: a persistent volume is a
        directory kept per instance, a hostPath the host's path, a secret a file."""
        volumes = []
        for volume in (app.get("container") or {}).get("volumes", []):
            path = volume["containerPath"].lstrip("/")
            if "persistent" in volume:
                kept = os.path.join(self.work_dir, "volumes", appdef.safe_path(app["id"]),
                                    instance.id, path)
                volumes.append((path, "link", kept))
            elif "hostPath" in volume:
                volumes.append((path, "link", volume["hostPath"]))
            elif "secret" in volume:
                volumes.append((path, "file", secret_values[volume["secret"]]))
        return volumes

    def _fetch_and_start(self, task, volumes):
        """On a worker thread: fetch, set up volumes, start the process; report to the loop."""
        stderr_path = os.path.join(task.sandbox, "stderr")
        try:
            with open(stderr_path, "a") as stderr:
                def note(line):
                    stderr.write(line + "\n")
                    log.info("task %s: %s", task.id, line)
                fetcher.fetch_all(task.app["fetch"], task.sandbox, note)
            _set_up_volumes(task.sandbox, volumes)
            self.events.put(("started", task, processes.start(task.app, task.sandbox, task.env)))
        except fetcher.FetchError as e:
            with open(stderr_path, "a") as stderr:
                stderr.write(f"{e}\n")
            log.warning("task %s: %s", task.id, e)
            self.events.put(("not started", task,
                             f"Failed to launch container: Failed to fetch all URIs for container "
                             f"'{uuid.uuid4()}': exited with status 1"))
        except Exception as e:  # OSError, or anything else: the task fails, the fake goes on
            log.warning("task %s: cannot start: %r", task.id, e)
            self.events.put(("not started", task, f"Failed to launch container: {e}"))

    def _request_kill(self, task, reason):
        """SIGTERM to the task's tree now, SIGKILL after its grace period."""
        if not task.active or task.kill_requested:
            return
        task.kill_requested = True
        task.kill_deadline = time.monotonic() + task.kill_grace()
        log.info("killing task %s (%s), SIGKILL in %.1f s", task.id, reason, task.kill_grace())
        if task.proc is not None:
            self._sigterm(task)

    def _sigterm(self, task):
        task.state = "TASK_KILLING"
        processes.signal_tree(task.proc.pid, signal.SIGTERM)

    def _reap_and_escalate(self, state, now):
        for task in state.tasks():
            if task.proc is None or not task.active:
                continue
            returncode = task.proc.poll()
            if returncode is not None:
                # The container goes with its command: whatever the task left behind dies.
                processes.signal_tree(task.proc.pid, signal.SIGKILL)
                if task.kill_requested:
                    task.state = "TASK_KILLED"
                else:
                    task.state = "TASK_FINISHED" if returncode == 0 else "TASK_FAILED"
                task.message = processes.describe_exit(returncode)
                self._on_terminal(state, task, now)
            elif task.kill_requested and not task.sigkill_sent and now >= task.kill_deadline:
                log.info("task %s still alive after its grace period: SIGKILL", task.id)
                task.sigkill_sent = True
                processes.signal_tree(task.proc.pid, signal.SIGKILL)

    def _on_terminal(self, state, task, now):
        self.allocated_ports.difference_update(task.host_ports)
        log.info("task %s of %s %s: %s", task.id, state.app["id"], task.state, task.message)
        if task.state in LIMIT_WORTHY_STATES:
            state.delay.on_failure(state.app, now)
            state.last_failure = {
                "appId": state.app["id"], "host": self.host, "message": task.message,
                "state": task.state, "taskId": task.id, "timestamp": appdef.timestamp(time.time()),
                "version": task.app["version"], "slaveId": self.agent_id}
            log.info("launch delay of %s now %.2f s", state.app["id"], state.delay.current)

    # ----------------------------------------------------------------- events

    def _apply_events(self, now):
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            kind, task = event[0], event[1]
            if kind == "started":
                self._on_started(task, event[2], now)
            elif kind == "not started":
                task.state = "TASK_KILLED" if task.kill_requested else "TASK_FAILED"
                task.message = event[2]
                self._on_terminal(task.instance.owner, task, now)
            elif kind == "health":
                self._on_health(task, event[2], event[3], now)
            elif kind == "readiness":
                self._on_readiness(task, event[2], now)

    def _on_started(self, task, proc, now):
        task.proc = proc
        task.state = "TASK_RUNNING"
        task.started_at = time.time()
        task.running_since_mono = now
        log.info("task %s running (pid %d)", task.id, proc.pid)
        task.instance.owner.delay.on_running(now)
        for index, check in enumerate(task.app["healthChecks"]):
            if check["protocol"] in appdef.MESOS_HEALTH_PROTOCOLS:
                first = check["delaySeconds"]
            else:
                first = min(check["intervalSeconds"], FIRST_MARATHON_HEALTH_CHECK_AFTER)
            task.next_probe[index] = now + first
        task.next_readiness = now
        if task.kill_requested:
            task.kill_deadline = now + task.kill_grace()
            self._sigterm(task)

    def _on_health(self, task, index, result, now):
        task.probing.discard(index)
        if not task.running or task.kill_requested:
            return
        record = task.health[index]
        was_alive = record.alive
        kill = record.record(result, time.time(), task.started_at)
        task.next_probe[index] = now + record.check["intervalSeconds"]
        if record.alive != was_alive:
            log.info("task %s health check %d: %s%s", task.id, index,
                     "healthy" if record.alive else "unhealthy",
                     "" if record.alive else f" ({record.last_failure_cause})")
        if kill:
            self._request_kill(task, f"{record.consecutive_failures} consecutive health check "
                                     f"failures, last: {record.last_failure_cause}")

    def _on_readiness(self, task, result, now):
        task.readiness_probing = False
        check = task.app["readinessChecks"][0]
        readiness = {"name": check["name"], "taskId": task.id, "ready": result.ok}
        if check["preserveLastResponse"]:
            if result.status is None:
                readiness["lastResponse"] = {
                    "status": 504, "contentType": "text/plain",
                    "body": f"Marathon could not query the readiness check: {result.cause}"}
            else:
                readiness["lastResponse"] = {"status": result.status,
                                             "contentType": result.content_type,
                                             "body": result.body}
        if result.ok and not (task.readiness and task.readiness["ready"]):
            log.info("task %s ready", task.id)
        task.readiness = readiness
        task.next_readiness = now + check["intervalSeconds"]

    def _schedule_probes(self, state, now):
        deploying = bool(self.deployments_of(state.app["id"])) and not state.deleted
        for task in state.tasks():
            if not task.running or task.kill_requested:
                continue
            for index, check in enumerate(task.app["healthChecks"]):
                if index in task.probing or now < task.next_probe[index]:
                    continue
                task.probing.add(index)
                self.pool.submit(self._probe_health, task, index, check)
            if (deploying and task.app["readinessChecks"] and not task.ready
                    and not task.readiness_probing and now >= task.next_readiness):
                task.readiness_probing = True
                self.pool.submit(self._probe_readiness, task)

    def _probe_health(self, task, index, check):
        try:
            result = checks.probe_health(check, self.host, task.host_ports, task.sandbox, task.env)
        except Exception as e:  # e.g. a portIndex no port has: the check fails, the fake goes on
            result = checks.ProbeResult(False, f"cannot run the health check: {e!r}")
        self.events.put(("health", task, index, result))

    def _probe_readiness(self, task):
        check = task.app["readinessChecks"][0]
        names = [pd.get("name") for pd in task.app["portDefinitions"]]
        try:
            port = task.host_ports[names.index(check["portName"])]
            result = checks.probe_readiness(check, self.host, port)
        except Exception as e:
            result = checks.ProbeResult(False, f"cannot run the readiness check: {e!r}")
        self.events.put(("readiness", task, result))

    # ----------------------------------------------------------------- deployments

    def _end_deployments(self):
        for deployment in list(self.deployments.values()):
            if self._deployment_done(deployment):
                del self.deployments[deployment.id]
                log.info("deployment %s of %s finished", deployment.id, deployment.app_id)

    def _deployment_done(self, deployment):
        if deployment.stopping:
            return not any(state.app["id"] == deployment.app_id and state.instances
                           for state in self.stopping)
        state = self.apps.get(deployment.app_id)
        if state is None or not deployment.steps:
            return True
        if len(state.instances) != state.app["instances"]:
            return False
        return all(i.goal == "running" and self._instance_ready(i) for i in state.instances)

    def _app(self, app_id):
        state = self.apps.get(appdef.canonical_id(app_id))
        if state is None:
            raise unknown_app(appdef.canonical_id(app_id))
        return state


def _address_of(host):
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def _set_up_volumes(sandbox, volumes):
    for path, kind, what in volumes:
        target = os.path.join(sandbox, path)
        os.makedirs(os.path.dirname(target) or sandbox, exist_ok=True)
        if kind == "link":
            os.makedirs(what, exist_ok=True)
            os.symlink(what, target)
        else:
            with open(target, "w") as f:
                f.write(what)
            os.chmod(target, 0o400)
