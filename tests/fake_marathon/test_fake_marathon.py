#!/usr/bin/env python3
"""Tests of the fake Marathon: its REST answers, and an app run from a release-like tarball.

    python3 tests/fake_marathon/test_fake_marathon.py [-v] [TestClass.test_name]
    (or tests/fake_marathon/run.sh ..., which picks a python3 with jsonschema)

Starts fake_marathon.py (with the Python running this file) in temporary
directories, removed afterwards unless KEEP_TMP=1. The Marathon rules module is
imported the way the fake imports it (tests/marathon_rules, or PYTHONPATH).
"""

import base64
import functools
import http.client
import http.server
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_marathon.py")
sys.path.insert(0, HERE)
from fakemarathon import taskenv  # noqa: E402

# The app in the tarball: serves /health (500 while $MESOS_SANDBOX/sick exists) and
# /ready (200 once state/ready exists) on $PORT0, writes its environment and pid into
# the sandbox and its starts and stops into the persistent volume state/.
SERVER = r'''#!/usr/bin/env python3
import http.server, json, os, signal, sys, time
sandbox = os.environ["MESOS_SANDBOX"]
task = os.environ["MESOS_TASK_ID"]
def note(what):
    with open("state/events", "a") as f:
        f.write(f"{what} {task} {time.time():.3f}\n")
with open(os.path.join(sandbox, "env.json"), "w") as f:
    json.dump(dict(os.environ), f)
with open(os.path.join(sandbox, "pid"), "w") as f:
    f.write(str(os.getpid()))
note("start")
def on_term(*_):
    note("stop")
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            status = 500 if os.path.exists(os.path.join(sandbox, "sick")) else 200
        elif self.path == "/ready":
            status = 200 if os.path.exists("state/ready") else 503
        else:
            status = 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", int(os.environ["PORT0"])), Handler).serve_forever()
'''

STUBBORN = "trap '' TERM; echo $$ > pid; while :; do sleep 0.1; done"


def build_artifacts(directory):
    """app-1.0.tar.gz (bin/server.py and the symlink bin/serve), tools.zip (an executable
    tools/hello.sh) and plain.sh, in `directory`."""
    with tarfile.open(os.path.join(directory, "app-1.0.tar.gz"), "w:gz") as archive:
        def add(name, data=None, mode=0o755, link=None):
            info = tarfile.TarInfo(name)
            info.mode = mode
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                archive.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        add("app-1.0/")
        add("app-1.0/bin/")
        add("app-1.0/bin/server.py", SERVER.encode())
        add("app-1.0/bin/serve", link="server.py")
    with zipfile.ZipFile(os.path.join(directory, "tools.zip"), "w") as archive:
        info = zipfile.ZipInfo("tools/hello.sh")
        info.external_attr = (0o100755 << 16)
        archive.writestr(info, "#!/bin/sh\necho hello\n")
    with open(os.path.join(directory, "plain.sh"), "w") as f:
        f.write("#!/bin/sh\necho plain\n")


class FileServer:
    """Serves a directory over HTTP on loopback, for the fetcher's http:// URIs."""

    def __init__(self, directory):
        handler = functools.partial(QuietFileHandler, directory=directory)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


class FakeMarathon:
    """A running fake_marathon.py and a small client for it."""

    def __init__(self, work_dir, *args):
        self.work_dir = work_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-B", FAKE, "--work-dir", work_dir, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.fullmatch(r"fake-marathon listening on http://([^:]+):(\d+)\n", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"unexpected first line {line!r}; stderr: {self.proc.stderr.read()}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.url = f"http://{self.host}:{self.port}"
        self.headers = {}

    def request(self, method, path, body=None, headers=None, raw=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            payload = raw if raw is not None else (None if body is None else json.dumps(body))
            all_headers = dict(self.headers, **(headers or {}))
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def app(self, app_id):
        response = self.request("GET", f"/v2/apps{app_id}")
        assert response.status == 200, response.text
        return response.json()["app"]

    def deployment_ids(self):
        return [d["id"] for d in self.request("GET", "/v2/deployments").json()]

    def sandbox(self, task_id):
        app_part = task_id.split(".instance-")[0]
        return os.path.join(self.work_dir, "sandboxes", app_part, task_id)

    def stop(self, timeout=20):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("fake-marathon did not stop within its timeout after SIGTERM")
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


def wait_until(what, predicate, timeout=15.0, interval=0.05):
    """Polls `predicate` until it returns something true; returns that, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def read_file(path):
    """The file's text, or "" while it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class TempDirs:
    """One temporary directory per test class; KEEP_TMP=1 keeps it."""

    @classmethod
    def make_temp(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fake-marathon-test.")

    @classmethod
    def remove_temp(cls):
        if os.environ.get("KEEP_TMP") == "1":
            print(f"kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)


class TaskEnvTest(unittest.TestCase):
    """The environment Marathon builds for a task (pure functions)."""

    def test_numbers_print_as_java_doubles(self):
        cases = {0: "0.0", 0.5: "0.5", 64: "64.0", 1024.0: "1024.0", 0.001: "0.001",
                 9999999.0: "9999999.0", 1e7: "1.0E7", 12345678.9: "1.23456789E7",
                 0.0001: "1.0E-4", 0.00025: "2.5E-4"}
        for value, text in cases.items():
            self.assertEqual(taskenv.java_double(value), text, value)

    def test_ports(self):
        env = taskenv.ports_env([("api", 10000), ("metrics-port", 0), (None, 0)],
                                [31001, 31002, 31003])
        self.assertEqual(env, {
            "PORT0": "31001", "PORT1": "31002", "PORT2": "31003", "PORT": "31001",
            "PORTS": "31001,31002,31003", "PORT_10000": "31001", "PORT_31002": "31002",
            "PORT_31003": "31003", "PORT_API": "31001", "PORT_METRICS-PORT": "31002"})
        self.assertEqual(taskenv.ports_env([], []), {})

    def test_labels(self):
        env = taskenv.labels_env({"a.b-c": "1", "x": "y" * 511, "too-long": "y" * 512,
                                  "k" * 492: "short", "k" * 493: "skipped"})
        self.assertEqual(env["MARATHON_APP_LABELS"], "A_B_C X " + "K" * 492)
        self.assertEqual(env["MARATHON_APP_LABEL_A_B_C"], "1")
        self.assertNotIn("MARATHON_APP_LABEL_TOO_LONG", env)
        self.assertEqual(len(env), 4)

    def test_task_context_and_agent(self):
        app = {"id": "/a", "version": "2021-07-27T10:00:00.000Z", "cpus": 0.5, "mem": 64.0,
               "disk": 0.0, "gpus": 0, "container": {"type": "DOCKER", "docker": {"image": "r/i:1"}}}
        env = taskenv.task_context_env(app, "a.instance-x._app.1")
        self.assertEqual(env["MARATHON_APP_DOCKER_IMAGE"], "r/i:1")
        self.assertEqual((env["MARATHON_APP_RESOURCE_CPUS"], env["MARATHON_APP_RESOURCE_GPUS"]), ("0.5", "0"))
        mesos = dict(app, container={"type": "MESOS", "docker": {"image": "r/i:1"}})
        self.assertNotIn("MARATHON_APP_DOCKER_IMAGE", taskenv.task_context_env(mesos, "t"))
        self.assertEqual(taskenv.agent_env(app, "/s", None), {"MESOS_SANDBOX": "/s", "MESOS_ALLOCATION_ROLE": "*"})
        self.assertEqual(taskenv.agent_env(app, "/s", "r")["MESOS_ALLOCATION_ROLE"], "r")
        self.assertEqual(taskenv.agent_env(dict(app, role="own"), "/s", "r")["MESOS_ALLOCATION_ROLE"], "own")


class RestApiTest(unittest.TestCase, TempDirs):
    """Status codes, bodies and headers of the REST API, with small shell apps."""

    @classmethod
    def setUpClass(cls):
        cls.make_temp()
        cls.marathon = FakeMarathon(os.path.join(cls.tmp, "work"))

    @classmethod
    def tearDownClass(cls):
        cls.marathon.stop()
        cls.remove_temp()

    def test_fixed_routes(self):
        m = self.marathon
        ping = m.request("GET", "/ping")
        self.assertEqual((ping.status, ping.text), (200, "pong"))
        info = m.request("GET", "/v2/info").json()
        self.assertEqual(info["name"], "marathon")
        self.assertTrue(info["elected"])
        self.assertEqual(info["leader"], f"{m.host}:{m.port}")
        self.assertEqual(m.request("GET", "/v2/leader").json(), {"leader": f"{m.host}:{m.port}"})
        self.assertEqual(m.request("GET", "/v2/nothing").status, 404)
        self.assertEqual(m.request("DELETE", "/v2/apps").status, 405)

    def test_unknown_app_is_404(self):
        for method, path in (("GET", "/v2/apps/nope"), ("DELETE", "/v2/apps/nope"),
                             ("GET", "/v2/apps/nope/tasks"), ("POST", "/v2/apps/nope/restart")):
            response = self.marathon.request(method, path)
            self.assertEqual(response.status, 404, f"{method} {path}")
            self.assertEqual(response.json(), {"message": "App '/nope' does not exist"})

    def test_bad_bodies(self):
        m = self.marathon
        response = m.request("POST", "/v2/apps", raw='{"id": ')
        self.assertEqual(response.status, 400)
        self.assertEqual(response.json()["message"], "Invalid JSON")
        response = m.request("POST", "/v2/apps", body=[1, 2])
        self.assertEqual(response.status, 422)
        # Marathon's rules (the rules module): an id with upper case.
        response = m.request("POST", "/v2/apps", body={"id": "/Bad_Id", "cmd": "true"})
        self.assertEqual(response.status, 422, response.text)
        self.assertEqual(response.json()["message"], "Object is not valid")
        self.assertIn("/id", [d["path"] for d in response.json()["details"]])
        # What the fake cannot run.
        response = m.request("POST", "/v2/apps", body={
            "id": "/docker", "cmd": "true",
            "container": {"type": "DOCKER", "docker": {"image": "debian:12"}}})
        self.assertEqual(response.status, 422, response.text)
        self.assertIn("/container/type", [d["path"] for d in response.json()["details"]])
        response = m.request("POST", "/v2/apps", body={
            "id": "/secretive", "cmd": "true", "env": {"X": {"secret": "s"}},
            "secrets": {"s": {"source": "not/given"}}})
        self.assertEqual(response.status, 422, response.text)
        self.assertIn("/secrets/s/source", [d["path"] for d in response.json()["details"]])
        self.assertEqual(m.request("GET", "/v2/apps/docker").status, 404)

    def test_app_life(self):
        m = self.marathon
        definition = {"id": "sleeper", "cmd": "sleep 600", "cpus": 0.1, "mem": 16,
                      "labels": {"team": "a", "tier": "batch"}}
        created = m.request("POST", "/v2/apps", body=definition)
        self.assertEqual(created.status, 201, created.text)
        body = created.json()
        self.assertEqual(created.headers["Location"], f"{m.url}/v2/apps/sleeper")
        self.assertEqual(body["deployments"], [{"id": created.headers["Marathon-Deployment-Id"]}])
        self.assertEqual(body["id"], "/sleeper")
        self.assertEqual((body["instances"], body["mem"], body["disk"]), (1, 16.0, 0.0))
        self.assertEqual(body["portDefinitions"], [{"port": 10000, "protocol": "tcp",
                                                   "name": "default"}])
        for counter in ("tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"):
            self.assertEqual(body[counter], 0)
        again = m.request("POST", "/v2/apps", body=definition)
        self.assertEqual(again.status, 409)
        self.assertEqual(again.json(), {"message": "An app with id [/sleeper] already exists."})

        wait_until("the deployment to end",
                   lambda: created.headers["Marathon-Deployment-Id"] not in m.deployment_ids())
        app = m.app("/sleeper")
        self.assertEqual((app["tasksRunning"], app["tasksHealthy"], app["deployments"]), (1, 0, []))
        self.assertEqual(app["tasks"][0]["state"], "TASK_RUNNING")
        self.assertEqual(m.request("GET", "/v2/apps/sleeper/tasks").json()["tasks"][0]["id"],
                         app["tasks"][0]["id"])

        listed = m.request("GET", "/v2/apps?label=team==a,tier").json()["apps"]
        self.assertEqual([a["id"] for a in listed], ["/sleeper"])
        self.assertEqual(listed[0]["tasksRunning"], 1)
        self.assertNotIn("tasks", listed[0])
        self.assertEqual(m.request("GET", "/v2/apps?label=team!=a").json()["apps"], [])
        self.assertEqual(m.request("GET", "/v2/apps?id=sleep&embed=apps.tasks")
                         .json()["apps"][0]["tasks"][0]["state"], "TASK_RUNNING")

        scaled = m.request("PUT", "/v2/apps/sleeper", body={"instances": 2})
        self.assertEqual(scaled.status, 200, scaled.text)
        self.assertEqual(set(scaled.json()), {"deploymentId", "version"})
        self.assertEqual(scaled.headers["Marathon-Deployment-Id"], scaled.json()["deploymentId"])
        wait_until("two running tasks", lambda: m.app("/sleeper")["tasksRunning"] == 2)
        app = m.app("/sleeper")
        self.assertEqual(app["versionInfo"]["lastConfigChangeAt"], body["version"])
        versions = m.request("GET", "/v2/apps/sleeper/versions").json()["versions"]
        self.assertEqual(versions, [app["version"], body["version"]])
        self.assertEqual(m.request("GET", f"/v2/apps/sleeper/versions/{body['version']}")
                         .json()["instances"], 1)

        created_by_put = m.request("PUT", "/v2/apps/other", body={"cmd": "sleep 600"})
        self.assertEqual(created_by_put.status, 201, created_by_put.text)
        self.assertEqual(created_by_put.headers["Location"], f"{m.url}/v2/apps/other")
        self.assertEqual(m.app("/other")["portDefinitions"][0]["port"], 10001)

        deleted = m.request("DELETE", "/v2/apps/sleeper")
        self.assertEqual(deleted.status, 200, deleted.text)
        self.assertEqual(set(deleted.json()), {"deploymentId", "version"})
        self.assertEqual(m.request("GET", "/v2/apps/sleeper").status, 404)
        wait_until("the stop deployment to end",
                   lambda: deleted.json()["deploymentId"] not in m.deployment_ids())
        self.assertEqual(m.request("DELETE", "/v2/apps/other").status, 200)

    def test_deployment_locks_the_app_until_forced(self):
        m = self.marathon
        created = m.request("POST", "/v2/apps", body={
            "id": "/never-ready", "cmd": "exec python3 -m http.server $PORT0",
            "portDefinitions": [{"port": 0, "name": "http"}],
            "readinessChecks": [{"portName": "http", "path": "/nope", "intervalSeconds": 2,
                                 "timeoutSeconds": 1}]})
        self.assertEqual(created.status, 201, created.text)
        first = created.headers["Marathon-Deployment-Id"]
        result = wait_until("a failed readiness check", lambda: m.request(
            "GET", "/v2/apps/never-ready?embed=app.readiness").json()["app"]["readinessCheckResults"])
        self.assertEqual(result[0]["name"], "readinessCheck")
        self.assertFalse(result[0]["ready"])
        self.assertIn(first, m.deployment_ids())
        for method, path in (("PUT", "/v2/apps/never-ready"),
                             ("POST", "/v2/apps/never-ready/restart")):
            locked = m.request(method, path, body={"cpus": 0.2} if method == "PUT" else None)
            self.assertEqual(locked.status, 409, f"{method} {path}: {locked.text}")
            self.assertEqual(locked.json()["deployments"], [{"id": first}])
        forced = m.request("PUT", "/v2/apps/never-ready?force=true", body={"cpus": 0.2})
        self.assertEqual(forced.status, 200, forced.text)
        self.assertEqual(m.deployment_ids().count(forced.json()["deploymentId"]), 1)
        self.assertNotIn(first, m.deployment_ids())
        self.assertEqual(m.app("/never-ready")["cpus"], 0.2)
        self.assertEqual(m.request("DELETE", "/v2/apps/never-ready").status, 200)

    def test_failed_fetch_fails_the_task_with_mesos_message(self):
        m = self.marathon
        created = m.request("POST", "/v2/apps", body={
            "id": "/unfetchable", "cmd": "true", "backoffSeconds": 60,
            "fetch": [{"uri": f"file://{self.tmp}/missing.tar.gz"}]})
        self.assertEqual(created.status, 201, created.text)
        failure = wait_until("a task failure", lambda: m.app("/unfetchable").get("lastTaskFailure"))
        self.assertEqual(failure["state"], "TASK_FAILED")
        self.assertRegex(failure["message"], r"^Failed to launch container: Failed to fetch all "
                                             r"URIs for container '[0-9a-f-]{36}': exited with "
                                             r"status 1$")
        with open(os.path.join(m.sandbox(failure["taskId"]), "stderr")) as f:
            self.assertIn("missing.tar.gz", f.read())
        self.assertEqual(m.app("/unfetchable")["tasks"][0]["state"], "TASK_FAILED")
        self.assertEqual(m.request("DELETE", "/v2/apps/unfetchable").status, 200)


class AppRunTest(unittest.TestCase, TempDirs):
    """An app fetched from a tarball, run as Marathon runs it, killed and restarted."""

    @classmethod
    def setUpClass(cls):
        cls.make_temp()
        cls.artifacts = os.path.join(cls.tmp, "artifacts")
        os.makedirs(cls.artifacts)
        build_artifacts(cls.artifacts)
        cls.files = FileServer(cls.artifacts)
        cls.marathon = FakeMarathon(os.path.join(cls.tmp, "work"), "--secret", "store/token=s3cr3t")

    @classmethod
    def tearDownClass(cls):
        cls.marathon.stop()
        cls.files.close()
        cls.remove_temp()

    def definition(self):
        return {
            "id": "/test/server",
            "cmd": "exec app-*/bin/serve",
            "cpus": 0.5, "mem": 64, "disk": 0, "instances": 1,
            "env": {"GREETING": "hello", "TOKEN": {"secret": "token"}},
            "secrets": {"token": {"source": "store/token"}},
            "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true", "weird.key-name": "v",
                       "LONG": "x" * 600, "DCOS_SERVICE_NAME": "server"},
            "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "api"},
                                {"port": 0, "protocol": "tcp", "name": "metrics-port"}],
            "fetch": [{"uri": f"file://{self.artifacts}/app-1.0.tar.gz"},
                      {"uri": f"{self.files.url}/tools.zip"},
                      {"uri": f"{self.files.url}/plain.sh", "executable": True}],
            "container": {"type": "MESOS", "volumes": [
                {"containerPath": "state", "mode": "RW",
                 "persistent": {"type": "root", "size": 16}}]},
            "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0,
                              "gracePeriodSeconds": 30, "intervalSeconds": 1,
                              "timeoutSeconds": 1, "maxConsecutiveFailures": 2,
                              "delaySeconds": 0}],
            "readinessChecks": [{"name": "ready", "protocol": "HTTP", "path": "/ready",
                                 "portName": "api", "intervalSeconds": 2, "timeoutSeconds": 1,
                                 "httpStatusCodesForReady": [200]}],
            "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
            "unreachableStrategy": "disabled",
            "backoffSeconds": 2, "backoffFactor": 2, "maxLaunchDelaySeconds": 60,
            "taskKillGracePeriodSeconds": 5,
        }

    def running_task(self, incarnation):
        """The app's task once its given incarnation runs."""
        def find():
            tasks = self.marathon.app("/test/server")["tasks"]
            return next((t for t in tasks if t["state"] == "TASK_RUNNING"
                         and t["id"].endswith(f"._app.{incarnation}")), None)
        return wait_until(f"incarnation {incarnation} to run", find)

    def events(self):
        """(what, task id, time) lines the app wrote into its persistent volume."""
        volume = os.path.join(self.marathon.work_dir, "volumes", "test_server")
        (instance,) = os.listdir(volume)
        with open(os.path.join(volume, instance, "state", "events")) as f:
            return [(w, t, float(s)) for w, t, s in (line.split() for line in f)]

    def starts(self, count):
        """The start times the app wrote, once there are `count` (the volume keeps them all)."""
        return wait_until(f"{count} starts in the persistent volume", lambda: len(
            starts := [t for what, _, t in self.events() if what == "start"]) == count and starts)

    def stops(self, task_id):
        """When the task stopped on SIGTERM (the app notes it), as a list."""
        return [t for what, stopped, t in self.events() if what == "stop" and stopped == task_id]

    def test_app_run_as_marathon_runs_it(self):
        m = self.marathon
        created = m.request("POST", "/v2/apps", body=self.definition())
        self.assertEqual(created.status, 201, created.text)
        deployment = created.headers["Marathon-Deployment-Id"]

        # Healthy, but not ready: the deployment goes on and locks the app.
        wait_until("a healthy task", lambda: m.app("/test/server")["tasksHealthy"] == 1)
        listed = {d["id"]: d for d in m.request("GET", "/v2/deployments").json()}
        self.assertIn(deployment, listed)
        self.assertEqual(listed[deployment]["affectedApps"], ["/test/server"])
        self.assertEqual(listed[deployment]["steps"], [
            {"actions": [{"action": "StartApplication", "app": "/test/server"}]},
            {"actions": [{"action": "ScaleApplication", "app": "/test/server"}]}])
        results = wait_until("a readiness result",
                             lambda: m.request("GET", "/v2/deployments").json()[0]
                             ["currentActions"][0]["readinessCheckResults"])
        self.assertFalse(results[0]["ready"])
        locked = m.request("PUT", "/v2/apps/test/server", body={"env": {"GREETING": "hi"}})
        self.assertEqual(locked.status, 409, locked.text)
        self.assertEqual(locked.json()["deployments"], [{"id": deployment}])
        self.assertTrue(locked.json()["message"].startswith("App is locked by one or more "
                                                            "deployments."))

        app = m.app("/test/server")
        task = app["tasks"][0]
        sandbox = m.sandbox(task["id"])
        self.check_sandbox(sandbox)
        self.check_environment(app, task, sandbox)

        # Ready: the deployment ends.
        with open(os.path.join(sandbox, "state", "ready"), "w"):
            pass
        wait_until("the deployment to end", lambda: deployment not in m.deployment_ids())
        app = m.app("/test/server")
        self.assertEqual((app["tasksRunning"], app["tasksHealthy"]), (1, 1))
        health = app["tasks"][0]["healthCheckResults"][0]
        self.assertTrue(health["alive"])
        self.assertEqual(health["instanceId"], task["id"].rsplit("._app.", 1)[0])

        self.check_sigkill_restarts_after_backoff(task, sandbox)
        self.check_kill_over_rest_relaunches_at_once()
        self.check_restart_stops_before_it_starts()
        self.check_failing_health_check_replaces_task()

    def check_sandbox(self, sandbox):
        self.assertTrue(os.path.islink(os.path.join(sandbox, "app-1.0", "bin", "serve")))
        self.assertTrue(os.access(os.path.join(sandbox, "tools", "hello.sh"), os.X_OK))
        self.assertTrue(os.access(os.path.join(sandbox, "plain.sh"), os.X_OK))
        self.assertTrue(os.path.isfile(os.path.join(sandbox, "app-1.0.tar.gz")))
        with open(os.path.join(sandbox, "stderr")) as f:
            stderr = f.read()
        self.assertIn(f"Fetched 'file://{self.artifacts}/app-1.0.tar.gz' to ", stderr)
        self.assertIn(f"Fetched '{self.files.url}/tools.zip' to ", stderr)

    def check_environment(self, app, task, sandbox):
        env_file = os.path.join(sandbox, "env.json")
        wait_until("env.json", lambda: os.path.exists(env_file))
        with open(env_file) as f:
            env = json.load(f)
        ports = task["ports"]
        service_ports = [pd["port"] for pd in app["portDefinitions"]]
        self.assertEqual(len(ports), 2)
        expected = {
            "PORT0": str(ports[0]), "PORT1": str(ports[1]), "PORT": str(ports[0]),
            "PORTS": f"{ports[0]},{ports[1]}",
            "PORT_API": str(ports[0]),
            f"PORT_{service_ports[0]}": str(ports[0]), f"PORT_{service_ports[1]}": str(ports[1]),
            "HOST": self.marathon.host,
            "MARATHON_APP_ID": "/test/server",
            "MARATHON_APP_VERSION": app["version"],
            "MARATHON_APP_RESOURCE_CPUS": "0.5", "MARATHON_APP_RESOURCE_MEM": "64.0",
            "MARATHON_APP_RESOURCE_DISK": "0.0", "MARATHON_APP_RESOURCE_GPUS": "0",
            "MARATHON_APP_LABEL_WEIRD_KEY_NAME": "v",
            "MARATHON_APP_LABEL_MARATHON_SINGLE_INSTANCE_APP": "true",
            "MARATHON_APP_LABEL_DCOS_SERVICE_NAME": "server",
            "MESOS_TASK_ID": task["id"],
            "MESOS_SANDBOX": sandbox,
            "GREETING": "hello", "TOKEN": "s3cr3t",
        }
        # PORT_METRICS-PORT is in the task's environment (TaskEnvTest), but not a name
        # /bin/sh passes on; Marathon's tasks lose it the same way.
        for name, value in expected.items():
            self.assertEqual(env.get(name), value, name)
        self.assertEqual(sorted(env["MARATHON_APP_LABELS"].split()),
                         ["DCOS_SERVICE_NAME", "MARATHON_SINGLE_INSTANCE_APP", "WEIRD_KEY_NAME"])
        self.assertNotIn("MARATHON_APP_LABEL_LONG", env)
        self.assertRegex(task["id"], r"^test_server\.instance-[0-9a-f-]{36}\._app\.1$")

    def check_sigkill_restarts_after_backoff(self, task, sandbox):
        m = self.marathon
        with open(os.path.join(sandbox, "pid")) as f:
            pid = int(f.read())
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        failed = wait_until("TASK_FAILED", lambda: next(
            (t for t in m.app("/test/server")["tasks"] if t["state"] == "TASK_FAILED"), None))
        self.assertEqual(failed["id"], task["id"])
        self.assertEqual(m.app("/test/server")["lastTaskFailure"]["message"],
                         "Command terminated with signal Killed")
        second = self.running_task(2)
        self.assertEqual(second["id"].rsplit(".", 1)[0], task["id"].rsplit(".", 1)[0])
        starts = self.starts(2)
        self.assertGreaterEqual(starts[1] - killed_at, 1.9, "relaunched before backoffSeconds")
        self.assertTrue(os.path.exists(os.path.join(m.sandbox(second["id"]), "state", "ready")))

    def check_kill_over_rest_relaunches_at_once(self):
        m = self.marathon
        second = self.running_task(2)
        # Running moved the back-off's reference: launches wait until 2 s after that.
        time.sleep(max(0.0, self.starts(2)[-1] + 2.5 - time.time()))
        killed = m.request("DELETE", f"/v2/apps/test/server/tasks/{second['id']}")
        self.assertEqual(killed.status, 200, killed.text)
        self.assertEqual(killed.json()["task"]["id"], second["id"])
        killed_at = time.time()
        self.running_task(3)
        self.assertEqual(len(self.stops(second["id"])), 1, "SIGTERM first")
        self.assertLess(self.starts(3)[-1] - killed_at, 3.5,
                        "TASK_KILLED adds no back-off (a failure would wait 4 s)")
        self.assertEqual(m.request("DELETE", "/v2/apps/test/server/tasks/nope.instance-x._app.1")
                         .status, 404)

    def check_restart_stops_before_it_starts(self):
        m = self.marathon
        third = self.running_task(3)
        restarted = m.request("POST", "/v2/apps/test/server/restart")
        self.assertEqual(restarted.status, 200, restarted.text)
        deployment = restarted.json()["deploymentId"]
        self.assertEqual([d["steps"] for d in m.request("GET", "/v2/deployments").json()
                          if d["id"] == deployment],
                         [[{"actions": [{"action": "RestartApplication", "app": "/test/server"}]}]])
        wait_until("the restart to end", lambda: deployment not in m.deployment_ids(), 20)
        start = self.starts(4)[-1]
        (stop,) = self.stops(third["id"])
        self.assertLessEqual(stop, start, "the new instance started before the old one stopped")
        app = m.app("/test/server")
        self.assertEqual(app["tasks"][0]["version"], app["version"])
        self.assertEqual(app["versionInfo"]["lastConfigChangeAt"], app["version"])

    def check_failing_health_check_replaces_task(self):
        m = self.marathon
        task = m.app("/test/server")["tasks"][0]
        with open(os.path.join(m.sandbox(task["id"]), "sick"), "w"):
            pass
        unhealthy = wait_until("an unhealthy task",
                               lambda: m.app("/test/server")["tasksUnhealthy"] == 1 and
                               m.app("/test/server")["tasks"][0]["healthCheckResults"][0])
        self.assertFalse(unhealthy["alive"])
        self.assertEqual(unhealthy["lastFailureCause"], "500 Internal Server Error")
        replacement = wait_until("a replacement", lambda: next(
            (t for t in m.app("/test/server")["tasks"]
             if t["id"] != task["id"] and t["state"] == "TASK_RUNNING"), None))
        incarnation = int(task["id"].rsplit(".", 1)[1])
        self.assertEqual(replacement["id"], task["id"].rsplit(".", 1)[0] + f".{incarnation + 1}")
        self.assertEqual(len(self.stops(task["id"])), 1, "the unhealthy task was killed with SIGTERM")


class KillTest(unittest.TestCase, TempDirs):
    """SIGTERM, then SIGKILL after taskKillGracePeriodSeconds; the fake's own SIGTERM."""

    def setUp(self):
        self.make_temp()
        self.marathon = FakeMarathon(os.path.join(self.tmp, "work"))

    def tearDown(self):
        self.marathon.stop()
        self.remove_temp()

    def start_stubborn(self, app_id):
        m = self.marathon
        created = m.request("POST", "/v2/apps", body={
            "id": app_id, "cmd": STUBBORN, "taskKillGracePeriodSeconds": 2})
        self.assertEqual(created.status, 201, created.text)
        task = wait_until("a running task", lambda: next(
            (t for t in m.app(app_id)["tasks"] if t["state"] == "TASK_RUNNING"), None))
        pid_file = os.path.join(m.sandbox(task["id"]), "pid")
        return int(wait_until("its pid", lambda: read_file(pid_file).strip()))

    def test_delete_kills_with_sigterm_then_sigkill(self):
        m = self.marathon
        pid = self.start_stubborn("/stubborn")
        deleted = m.request("DELETE", "/v2/apps/stubborn")
        self.assertEqual(deleted.status, 200, deleted.text)
        deleted_at = time.monotonic()
        deployment = deleted.json()["deploymentId"]
        self.assertEqual(m.request("GET", "/v2/apps/stubborn").status, 404)
        self.assertEqual([d["steps"] for d in m.request("GET", "/v2/deployments").json()],
                         [[{"actions": [{"action": "StopApplication", "app": "/stubborn"}]}]])
        time.sleep(1)
        self.assertTrue(pid_alive(pid), "it ignores SIGTERM, so it lives until the grace period ends")
        self.assertIn(deployment, m.deployment_ids())
        wait_until("the process to die", lambda: not pid_alive(pid), 10)
        self.assertGreaterEqual(time.monotonic() - deleted_at, 1.9)
        wait_until("the deployment to end", lambda: deployment not in m.deployment_ids())
        with open(os.path.join(m.work_dir, "fake-marathon.log")) as f:
            self.assertIn("still alive after its grace period: SIGKILL", f.read())

    def test_sigterm_stops_the_fake_and_its_tasks(self):
        pid = self.start_stubborn("/stubborn")
        started = time.monotonic()
        self.assertEqual(self.marathon.stop(), 0)
        self.assertGreaterEqual(time.monotonic() - started, 1.9, "each task gets its grace period")
        self.assertFalse(pid_alive(pid))


class AuthTest(unittest.TestCase, TempDirs):
    """HTTP Basic (--http-credentials) and DC/OS tokens (--dcos-token)."""

    def setUp(self):
        self.make_temp()

    def tearDown(self):
        self.remove_temp()

    def test_http_basic(self):
        m = FakeMarathon(os.path.join(self.tmp, "basic"), "--http-credentials", "admin:pa:ss")
        try:
            for path in ("/v2/apps", "/ping", "/v2/info"):
                refused = m.request("GET", path)
                self.assertEqual(refused.status, 401, path)
                self.assertEqual(refused.headers["WWW-Authenticate"], 'Basic realm="Mesosphere"')
            wrong = "Basic " + base64.b64encode(b"admin:nope").decode()
            self.assertEqual(m.request("GET", "/v2/apps", headers={"Authorization": wrong}).status,
                             401)
            m.headers["Authorization"] = "Basic " + base64.b64encode(b"admin:pa:ss").decode()
            self.assertEqual(m.request("GET", "/v2/apps").json(), {"apps": []})
            self.assertEqual(m.request("GET", "/ping").status, 200)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_dcos_token(self):
        m = FakeMarathon(os.path.join(self.tmp, "dcos"), "--dcos-token", "good",
                         "--dcos-forbidden-token", "weak")
        try:
            refused = m.request("GET", "/v2/apps")
            self.assertEqual(refused.status, 401)
            self.assertEqual(refused.headers["WWW-Authenticate"], "acsjwt")
            self.assertEqual(m.request("GET", "/v2/apps", headers={"Authorization": "token=bad"})
                             .status, 401)
            self.assertEqual(m.request("GET", "/v2/apps", headers={"Authorization": "token=weak"})
                             .status, 403)
            self.assertEqual(m.request("GET", "/v2/apps", headers={"Authorization": "token=good"})
                             .status, 200)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_bad_usage(self):
        for args in (["--http-credentials", "nocolon"], ["--dcos-forbidden-token", "x"],
                     ["--secret", "novalue"], ["--http-credentials", "a:b", "--dcos-token", "t"]):
            completed = subprocess.run(
                [sys.executable, "-B", FAKE, "--work-dir", self.tmp, *args],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(completed.returncode, 2, args)
            self.assertIn("error", completed.stderr)


if __name__ == "__main__":
    unittest.main()
