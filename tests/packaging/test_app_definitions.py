"""What the shipped app definitions and the DC/OS template promise beyond the
checklist: the shared contract's fields, every package option reaching the
app, the version in every file that names one, and (with the built binaries)
that every TAILOR_* variable and JobManager flag is one the binaries take."""

import hashlib
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import support
import cosmos
import marathon_task
import test_checklist

VERSION = support.cmake_project_version()
TARBALL = support.release_tarball_name(VERSION)
CONTRACT_LABELS = {"MARATHON_SINGLE_INSTANCE_APP": "true", "DCOS_SERVICE_PORT_INDEX": "0",
                   "DCOS_SERVICE_SCHEME": "http"}
HA_APP = "tailor-dispatcher-ha.json"
# What makes the highly available variant differ from the plain app.
HA_FIELDS = ("instances", "constraints", "container", "readinessChecks", "upgradeStrategy", "unreachableStrategy")
HA_ENV = ("TAILOR_STATE_STORE", "TAILOR_MESOS_MASTER", "TAILOR_ZK_SESSION_TIMEOUT")


class ContractTest(unittest.TestCase):
    """The shared contract's Marathon app definition, in both single-instance
    variants, and the highly available variant made from it."""

    def apps(self):
        return {path.name: support.load_json(path) for path in support.marathon_app_files()}

    def test_the_variants_shipped(self):
        self.assertEqual(sorted(self.apps()),
                         ["tailor-dispatcher-docker.json", "tailor-dispatcher-ha.json", "tailor-dispatcher.json"])

    def test_contract_fields(self):
        for name, app in self.apps().items():
            if name == HA_APP:
                continue
            with self.subTest(app=name):
                self.assertEqual(app["id"], "/tailor")
                self.assertEqual(app["portDefinitions"], [{"port": 0, "protocol": "tcp", "name": "api"}])
                env = app["env"]
                self.assertEqual(env["TAILOR_LAUNCHER"], "mesos")
                self.assertRegex(env["TAILOR_MESOS_MASTER"], r"^[^,:\s]+:[0-9]+$")
                self.assertEqual(env["TAILOR_STATE_STORE"], "local:state")
                [volume] = app["container"]["volumes"]
                self.assertEqual((volume["containerPath"], volume["mode"]), ("state", "RW"))
                self.assertIn("persistent", volume)
                labels = app["labels"]
                for key, value in CONTRACT_LABELS.items():
                    self.assertEqual(labels[key], value)
                self.assertEqual(labels["DCOS_PACKAGE_FRAMEWORK_NAME"], "tailor")
                self.assertEqual(labels["DCOS_SERVICE_NAME"], "tailor")
                [health] = app["healthChecks"]
                self.assertEqual((health["protocol"], health["path"], health["portIndex"]),
                                 ("MESOS_HTTP", "/health", 0))
                self.assertGreaterEqual(health["maxConsecutiveFailures"], 1)
                [ready] = app["readinessChecks"]
                self.assertEqual((ready["protocol"], ready["path"], ready["portName"]), ("HTTP", "/ready", "api"))
                self.assertEqual(app["unreachableStrategy"], "disabled")
                # a JobManager retries its end-of-job report for 5 minutes: a crashed
                # Dispatcher must be back before that, whatever its back-off
                self.assertLess(app["maxLaunchDelaySeconds"], 300)

    def test_fetched_tarball(self):
        app = self.apps()["tailor-dispatcher.json"]
        # The credentials file written from AUTH_CREDENTIALS, readable by the Dispatcher only.
        self.assertEqual(app["cmd"], "(umask 077 && printf '%s\\n' \"$AUTH_CREDENTIALS\" > credentials) && exec env -u AUTH_CREDENTIALS tailor-*/bin/tailor-dispatcher")
        self.assertEqual(app["env"]["TAILOR_AUTH_FILE"], "credentials")
        self.assertEqual(app["env"]["AUTH_CREDENTIALS"], "")
        [fetch] = app["fetch"]
        self.assertEqual(fetch["uri"], f"{support.ARTIFACT_PLACEHOLDER}tailor/{VERSION}/{TARBALL}")
        self.assertIs(fetch["extract"], True)
        self.assertEqual(app["container"]["type"], "MESOS")

    def test_docker_variant_is_the_same_app_in_an_image(self):
        apps = self.apps()
        plain, docker = apps["tailor-dispatcher.json"], apps["tailor-dispatcher-docker.json"]
        self.assertEqual(docker["container"]["type"], "DOCKER")
        self.assertEqual(docker["container"]["docker"]["image"], f"registry.example.invalid/tailor:{VERSION}")
        self.assertEqual(docker["container"]["volumes"], plain["container"]["volumes"])
        self.assertNotIn("fetch", docker)
        self.assertEqual(docker["cmd"], 'cd "$MESOS_SANDBOX" && (umask 077 && printf \'%s\\n\' "$AUTH_CREDENTIALS" > '
                                        'credentials) && exec env -u AUTH_CREDENTIALS /opt/tailor/bin/tailor-dispatcher')
        rest = lambda app: {k: v for k, v in app.items() if k not in ("cmd", "fetch", "container", "networks")}
        self.assertEqual(rest(docker), rest(plain))

    def test_ha_variant_is_the_plain_app_made_highly_available(self):
        apps = self.apps()
        plain, ha = apps["tailor-dispatcher.json"], apps[HA_APP]
        self.assertEqual(ha["instances"], 2)
        self.assertEqual(ha["constraints"], [["hostname", "UNIQUE"]])
        self.assertNotIn("container", ha, "no persistent volume: the records are in ZooKeeper")
        self.assertNotIn("readinessChecks", ha, "a standby is never ready")
        self.assertEqual(ha["upgradeStrategy"], {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0})
        self.assertEqual(ha["unreachableStrategy"], {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 600})
        env = ha["env"]
        # DC/OS's ZooKeeper, in the folder the package uses for the service named tailor
        self.assertEqual(env["TAILOR_STATE_STORE"], "zk://master.mesos:2181/tailor/tailor")
        self.assertEqual(env["TAILOR_MESOS_MASTER"], "zk://master.mesos:2181/mesos")
        self.assertEqual(env["TAILOR_ZK_SESSION_TIMEOUT"], "10s")
        # Admin Router finds the leader through its framework, not through these labels
        self.assertEqual(ha["labels"], {k: v for k, v in plain["labels"].items() if k not in CONTRACT_LABELS})
        self.assertEqual(ha["labels"]["DCOS_PACKAGE_FRAMEWORK_NAME"], "tailor")
        rest = lambda app: {k: v for k, v in app.items() if k not in HA_FIELDS + ("env", "labels")}
        self.assertEqual(rest(ha), rest(plain))
        same_env = lambda app: {k: v for k, v in app["env"].items() if k not in HA_ENV}
        self.assertEqual(same_env(ha), same_env(plain))

    def test_dockerfile_builds_the_image_the_app_runs(self):
        text = (support.PACKAGING_DIR / "docker" / "Dockerfile").read_text(encoding="utf-8")
        self.assertIn(f"ARG TAILOR_VERSION={VERSION}\n", text)
        self.assertIn("ADD tailor-${TAILOR_VERSION}-linux-${TAILOR_ARCH}.tar.gz /opt/", text)
        self.assertIn("ln -s /opt/tailor-${TAILOR_VERSION} /opt/tailor", text)
        self.assertRegex(text, r"(?m)^FROM debian:12")

    def test_dcos_template_keeps_the_contract(self):
        [(_, _, _, app)] = [r for r in test_checklist.Subjects.rendered() if r[0] == "defaults"]
        plain = self.apps()["tailor-dispatcher.json"]
        self.assertEqual(app["cmd"], plain["cmd"])
        for field in ("healthChecks", "readinessChecks", "upgradeStrategy", "unreachableStrategy",
                      "taskKillGracePeriodSeconds", "backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds",
                      "cpus", "mem", "disk", "instances"):
            self.assertEqual(app[field], plain[field], field)
        # the same settings; DC/OS adds what Admin Router needs
        dcos_only = {k: v for k, v in app["env"].items() if k not in plain["env"]}
        self.assertEqual({k: app["env"][k] for k in plain["env"]}, plain["env"])
        self.assertEqual(sorted(dcos_only), ["APPLICATION_WEB_PROXY_BASE", "DCOS_SERVICE_NAME"])

    def test_dcos_template_with_zookeeper_is_the_ha_app(self):
        package = support.dcos_package_files()
        options = cosmos.deep_merge(test_checklist.ZOOKEEPER, {"mesos": {"master": "zk://master.mesos:2181/mesos"}})
        app = cosmos.render(package["marathon.json.mustache"], cosmos.merged_options(package["config.json"], options),
                            package["resource.json"])
        ha = self.apps()[HA_APP]
        for field in HA_FIELDS + ("cmd", "healthChecks", "labels", "taskKillGracePeriodSeconds", "backoffSeconds",
                                  "backoffFactor", "maxLaunchDelaySeconds", "cpus", "mem", "disk"):
            self.assertEqual(app.get(field), ha.get(field), field)
        dcos_only = {k: v for k, v in app["env"].items() if k not in ha["env"]}
        self.assertEqual({k: app["env"][k] for k in ha["env"]}, ha["env"])
        self.assertEqual(sorted(dcos_only), ["APPLICATION_WEB_PROXY_BASE", "DCOS_SERVICE_NAME"])


class OptionMappingTest(unittest.TestCase):
    """Every option in config.json reaches the rendered app, both ways for sections."""

    def render(self, options):
        return cosmos.install(support.dcos_package_files(), options)

    def checks(self, zookeeper=False):
        """option path -> function(app, value) asserting where the value went, in
        the variant with (`zookeeper`) or without storage.zookeeper."""
        env = lambda app: app["env"]
        jm_arg = lambda flag: lambda app, v: self.assertIn(f"{flag} {v} ", env(app)["TAILOR_JOBMANAGER_ARG"] + " ")
        store = lambda app: env(app)["TAILOR_STATE_STORE"]
        if zookeeper:
            variant = {
                "service.constraints": lambda app, v: self.assertEqual(app["constraints"], [["hostname", "UNIQUE"]] + v),
                # Admin Router reaches the leader through its framework: the label is not read
                "service.request_buffering": lambda app, v: self.assertFalse(
                    {"DCOS_SERVICE_REQUEST_BUFFERING", "DCOS_SERVICE_PORT_INDEX"} & set(app["labels"])),
                "storage.zookeeper": lambda app, v: (self.assertTrue(store(app).startswith("zk://")),
                                                     self.assertNotIn("container", app)),
                "storage.zookeeper_servers": lambda app, v: self.assertTrue(store(app).startswith(f"zk://{v}/")),
                "storage.zookeeper_path": lambda app, v: self.assertTrue(store(app).endswith(f"{v}/{app['id']}")),
                "storage.zookeeper_session_timeout": lambda app, v: self.assertEqual(
                    env(app)["TAILOR_ZK_SESSION_TIMEOUT"], v),
                "storage.volume_size": lambda app, v: self.assertNotIn("container", app),
                "storage.volume_type": lambda app, v: self.assertNotIn("container", app),
                "storage.state_store": lambda app, v: self.assertNotEqual(store(app), v),
            }
        else:
            variant = {
                "service.constraints": lambda app, v: self.assertEqual(app["constraints"], v),
                "service.request_buffering": lambda app, v: self.assertEqual(
                    "DCOS_SERVICE_REQUEST_BUFFERING" not in app["labels"], v),
                "storage.zookeeper": lambda app, v: (self.assertFalse(store(app).startswith("zk://")),
                                                     self.assertIn("container", app)),
                "storage.zookeeper_servers": lambda app, v: self.assertNotIn(v, store(app)),
                "storage.zookeeper_path": lambda app, v: self.assertNotIn(v, store(app)),
                "storage.zookeeper_session_timeout": lambda app, v: self.assertNotIn(
                    "TAILOR_ZK_SESSION_TIMEOUT", env(app)),
                "storage.volume_size": lambda app, v: self.assertEqual(
                    app["container"]["volumes"][0]["persistent"]["size"], v),
                "storage.volume_type": lambda app, v: self.assertEqual(
                    app["container"]["volumes"][0]["persistent"]["type"], v),
                "storage.state_store": lambda app, v: self.assertEqual(store(app), v),
            }
        return variant | {
            "service.name": lambda app, v: (self.assertEqual(app["id"], v),
                                            self.assertEqual(app["labels"]["DCOS_PACKAGE_FRAMEWORK_NAME"], v),
                                            self.assertEqual(env(app)["DCOS_SERVICE_NAME"], v)),
            "service.cpus": lambda app, v: self.assertEqual(app["cpus"], v),
            "service.mem": lambda app, v: self.assertEqual(app["mem"], v),
            "service.disk": lambda app, v: self.assertEqual(app["disk"], v),
            "service.instances": lambda app, v: self.assertEqual(app["instances"], v),
            "service.user": lambda app, v: self.assertEqual(app.get("user", ""), v),
            "service.role": lambda app, v: self.assertEqual(env(app)["TAILOR_MESOS_ROLE"], v),
            "service.principal": lambda app, v: self.assertEqual(env(app).get("TAILOR_MESOS_PRINCIPAL", ""), v),
            "service.secret_name": lambda app, v: self.assertEqual(
                app.get("secrets", {}).get("frameworkSecret", {}).get("source", ""), v),
            "service.vip": lambda app, v: self.assertEqual("VIP_0" in app["portDefinitions"][0].get("labels", {}), v),
            "service.log_level": lambda app, v: self.assertEqual(env(app)["TAILOR_LOG_LEVEL"], v),
            "security.authentication": lambda app, v: (
                self.assertEqual(env(app).get("TAILOR_AUTH_FILE") == "credentials", v),
                self.assertEqual("> credentials" in app["cmd"], v)),
            "security.credentials": lambda app, v: self.assertEqual(env(app).get("AUTH_CREDENTIALS", v), v),
            "mesos.master": lambda app, v: self.assertEqual(env(app)["TAILOR_MESOS_MASTER"], v),
            "mesos.failover_timeout": lambda app, v: self.assertEqual(env(app)["TAILOR_MESOS_FAILOVER_TIMEOUT"], v),
            "jobs.max_running": lambda app, v: self.assertEqual(env(app)["TAILOR_MAX_RUNNING_JOBS"], str(v)),
            "jobs.max_queued_per_user": lambda app, v: self.assertEqual(
                env(app)["TAILOR_MAX_QUEUED_JOBS_PER_USER"], str(v)),
            "jobs.max_upload_size": lambda app, v: self.assertEqual(env(app)["TAILOR_MAX_UPLOAD_SIZE"], v),
            "jobmanager.cpus": lambda app, v: self.assertIn(f"cpus={v},", env(app)["TAILOR_JOBMANAGER_RESOURCES"]),
            "jobmanager.mem": lambda app, v: self.assertTrue(env(app)["TAILOR_JOBMANAGER_RESOURCES"].endswith(f",mem={v}")),
            "jobmanager.max_attempts": lambda app, v: self.assertEqual(env(app)["TAILOR_JOBMANAGER_MAX_ATTEMPTS"], str(v)),
            "jobmanager.timeout": lambda app, v: self.assertEqual(env(app)["TAILOR_JOBMANAGER_TIMEOUT"], v),
            "taskmanager.sizing": jm_arg("--taskmanager-sizing"),
            "taskmanager.idle_timeout": jm_arg("--taskmanager-idle-timeout"),
            "taskmanager.max_slots": jm_arg("--taskmanager-max-slots"),
            "taskmanager.spread": jm_arg("--taskmanager-spread"),
            "taskmanager.max_size": jm_arg("--taskmanager-max-size"),
        }

    def test_every_option_has_a_check(self):
        config = support.dcos_package_files()["config.json"]
        leaves = []

        def walk(schema, path):
            for name, prop in schema["properties"].items():
                if prop.get("type") == "object":
                    walk(prop, path + [name])
                else:
                    leaves.append(".".join(path + [name]))

        walk(config, [])
        self.assertEqual(sorted(leaves), sorted(self.checks()))
        self.assertEqual(sorted(leaves), sorted(self.checks(zookeeper=True)))

    def test_defaults_and_changed_values_reach_the_app(self):
        config = support.dcos_package_files()["config.json"]
        defaults = cosmos.default_options(config)
        changed = {
            "service": {"name": "dev/tailor", "cpus": 2, "mem": 2048, "disk": 1024, "user": "nobody",
                        "constraints": [["hostname", "UNIQUE"]], "role": "batch", "principal": "tailor",
                        "secret_name": "tailor/secret", "vip": False, "request_buffering": False,
                        "log_level": "debug"},
            "mesos": {"master": "m1.invalid:5050,m2.invalid:5050", "failover_timeout": "12hrs"},
            "jobs": {"max_running": 9, "max_queued_per_user": 12, "max_upload_size": "1GiB"},
            "jobmanager": {"cpus": 1.5, "mem": 1024, "max_attempts": 5, "timeout": "1m"},
            "taskmanager": {"sizing": "fixed", "idle_timeout": "500ms", "max_slots": 2, "spread": 16,
                            "max_size": "cpus=16,mem=64GiB"},
            "security": {"authentication": False, "credentials": "token ci admin sha256$" + "ab" * 32},
            "storage": {"volume_size": 8192, "volume_type": "mount", "state_store": "local:state/records",
                        "zookeeper_servers": "zk-1.invalid:2181,zk-2.invalid:2181", "zookeeper_path": "/batch/tailor",
                        "zookeeper_session_timeout": "30s"},
        }
        changed_zookeeper = cosmos.deep_merge(changed, {"service": {"instances": 3}, "storage": {"zookeeper": True}})
        changed_somewhere = set()
        for label, options in (("defaults", {}), ("changed", changed), ("zookeeper", test_checklist.ZOOKEEPER),
                               ("changed, zookeeper", changed_zookeeper)):
            app = self.render(options)
            merged = cosmos.deep_merge(defaults, options)
            for dotted, check in self.checks(zookeeper=merged["storage"]["zookeeper"]).items():
                with self.subTest(options=label, option=dotted):
                    check(app, test_checklist.lookup(merged, dotted))
                    if test_checklist.lookup(merged, dotted) != test_checklist.lookup(defaults, dotted):
                        changed_somewhere.add(dotted)
        self.assertEqual(changed_somewhere, set(self.checks()), "every option is checked with a value of its own")


@unittest.skipUnless(os.environ.get("TAILOR_BIN_DIR"), "needs the built binaries (TAILOR_BIN_DIR)")
class BinariesTest(unittest.TestCase):
    """The apps against the real binaries: every TAILOR_* variable is a
    tailor-dispatcher flag (TAILOR_<FLAG> is --<flag>), every JobManager
    argument a tailor-jobmanager flag, and the Dispatcher started by the app's
    cmd in a simulated Marathon task serves, uses the volume, names its
    framework after the service and stops on SIGTERM within the grace period."""

    @classmethod
    def setUpClass(cls):
        cls.bin_dir = pathlib.Path(os.environ["TAILOR_BIN_DIR"]).resolve()
        cls.help = {name: subprocess.run([str(cls.bin_dir / name), "--help"], capture_output=True, text=True,
                                         timeout=60, check=True).stdout
                    for name in ("tailor-dispatcher", "tailor-jobmanager")}

    def flags(self, binary):
        return set(re.findall(r"^\s+(--[a-z0-9-]+)", self.help[binary], re.MULTILINE))

    def test_env_and_jobmanager_args_are_real_flags(self):
        dispatcher, jobmanager = self.flags("tailor-dispatcher"), self.flags("tailor-jobmanager")
        self.assertIn("--state-store", dispatcher)
        for name, app in test_checklist.Subjects.apps():
            with self.subTest(app=name):
                for variable, flag in support.env_flag_names(app).items():
                    self.assertIn(flag, dispatcher, variable)
                for arg in app["env"]["TAILOR_JOBMANAGER_ARG"].split():
                    if arg.startswith("--"):
                        self.assertIn(arg, jobmanager)

    def test_dispatcher_runs_as_marathon_starts_it(self):
        package = support.dcos_package_files()
        cases = [("tailor-dispatcher.json", support.load_json(support.MARATHON_DIR / "tailor-dispatcher.json")),
                 ("dcos[flipped sections]", cosmos.install(package, test_checklist.FLIPPED))]
        for name, app in cases:
            with self.subTest(app=name), tempfile.TemporaryDirectory() as sandbox:
                self.run_dispatcher(app, pathlib.Path(sandbox))

    def run_dispatcher(self, app, sandbox):
        release_bin = sandbox / f"tailor-{VERSION}" / "bin"  # as the fetcher unpacks the tarball
        release_bin.mkdir(parents=True)
        for binary in ("tailor-dispatcher", "tailor-jobmanager", "tailor-taskmanager"):
            (release_bin / binary).symlink_to(self.bin_dir / binary)
        (sandbox / "state").mkdir()  # the persistent volume's mount point
        port = free_port()
        env = marathon_task.task_environment(app, host="127.0.0.1", host_ports=[port], sandbox=str(sandbox),
                                             secret_values=test_checklist.secret_values(app))
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        env["TAILOR_MESOS_MASTER"] = f"127.0.0.1:{free_port()}"  # no master: it keeps retrying
        authenticating = "TAILOR_AUTH_FILE" in app["env"]
        if authenticating:  # as an operator sets it: a token's verifier
            env["AUTH_CREDENTIALS"] = "# probe\ntoken probe admin " + PROBE_VERIFIER
        with open(sandbox / "stdout", "wb") as out, open(sandbox / "stderr", "wb") as err:
            process = subprocess.Popen(["/bin/sh", "-c", app["cmd"]], cwd=sandbox, env=env, stdout=out, stderr=err)
        try:
            self.assertEqual(wait_for_status(port, "/health", process), 200, read(sandbox / "stderr"))
            self.assertEqual(wait_for_status(port, "/ready", process), 200, read(sandbox / "stderr"))
            self.assertIn(f"(state local:{sandbox}/state", read(sandbox / "stdout"))
            self.assertTrue((sandbox / "state" / "jobs").is_dir(), "the records go on the volume")
            log = read(sandbox / "stderr")
            framework = app["labels"]["DCOS_PACKAGE_FRAMEWORK_NAME"]
            self.assertIn(f"framework name '{framework}', advertised as 127.0.0.1:{port}", log)
            self.assertIn(f"links under '{app['env'].get('APPLICATION_WEB_PROXY_BASE', '')}'", log)
            self.assertNotIn("names no flag", log)
            self.assertEqual(wait_for_status(port, "/v1/jobs", process), 401 if authenticating else 200)
            if authenticating:
                self.assertEqual((sandbox / "credentials").stat().st_mode & 0o777, 0o600)
                self.assertIn("REST authentication on: 1 users and tokens from credentials", log)
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/jobs",
                                                 headers={"Authorization": "Bearer probe-token"})
                with urllib.request.urlopen(request, timeout=5) as answer:
                    self.assertEqual(answer.status, 200)
            else:
                self.assertIn("REST authentication is off", log)
            process.terminate()  # Marathon's kill: SIGTERM, SIGKILL after the grace period
            process.wait(timeout=app["taskKillGracePeriodSeconds"])
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


# The verifier of the token "probe-token" (sha256$ and the hex of its SHA-256).
PROBE_VERIFIER = "sha256$" + hashlib.sha256(b"probe-token").hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read(path) -> str:
    return pathlib.Path(path).read_text(errors="replace")


def wait_for_status(port, path, process, timeout=30.0):
    """The HTTP status of GET path once the port answers; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Dispatcher exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
                return answer.status
        except urllib.error.HTTPError as e:
            if e.code != 503:
                return e.code
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"GET {path} gave no answer but 503 within {timeout}s")


if __name__ == "__main__":
    unittest.main()
