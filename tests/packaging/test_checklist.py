"""The packaging checklist (reference §8 of the Marathon/DC-OS notes), point by
point, for every Marathon app definition Tailor ships and for the DC/OS
template rendered as Cosmos renders it: with the default options, with every
conditional section both ways, with every enum value, and with hostile values.

Point 16 (a live DC/OS: repo add, describe --render, install, uninstall) is
manual; docs/marathon.md says how.
"""

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

import pystache

import support
import cosmos
import marathon_rules
import marathon_task
from fakemarathon import appdef

VERSION = support.cmake_project_version()
TARBALL = support.release_tarball_name(VERSION)
HOSTILE = 'q"uote \\back/slash & <amp> \u00fc\u2603\u2028\ttab\nline'

# Every `{{#x}}`/`{{^x}}` section of the template is rendered both ways
# across the defaults, FLIPPED and ZOOKEEPER (test_point_12 checks that this stays true).
FLIPPED = {
    "service": {"user": "nobody", "principal": "tailor", "secret_name": "tailor/mesos-secret",
                "vip": False, "request_buffering": False, "constraints": [["hostname", "UNIQUE"]]},
    "security": {"authentication": False},
}
# The highly available variant: job records in ZooKeeper, several Dispatchers.
ZOOKEEPER = {"service": {"instances": 2}, "storage": {"zookeeper": True}}
HOSTILE_OPTIONS = {
    "service": {"name": "dev/tailor.team-1", "user": HOSTILE, "principal": HOSTILE, "role": HOSTILE,
                "secret_name": 'dev/a"b\\c&d\u00fc', "cpus": 0.25, "mem": 1536.0,
                "constraints": [["hostname", "LIKE", 'a"b\\\\.c/&\u00fc'], ["@zone", "GROUP_BY", "2"]]},
    "mesos": {"master": 'h"o\\st&\u00fc:5050,second.invalid:5050'},
    "jobmanager": {"cpus": 0.125, "mem": 768},
    "storage": {"state_store": 'local:st"a\\te/&\u00fc'},
    "security": {"credentials": HOSTILE},
}
HOSTILE_ZOOKEEPER = cosmos.deep_merge(HOSTILE_OPTIONS, {
    "service": {"instances": 3},
    "storage": {"zookeeper": True, "zookeeper_servers": 'z"k\\1&\u00fc:2181,zk-2.invalid:2181',
                "zookeeper_path": '/t"a\\il&\u00fc/<x>', "zookeeper_session_timeout": "2.5s"},
})
MARATHON_ROLE = "tailor"        # Marathon's --mesos_role in these tests (resident apps need one)
SECRET_VALUE = 's3cr3t "$HOME" `id` \\n'
AGENT = "agent-7.cluster.invalid"
JAVA_DOUBLE = r"^[0-9]+\.[0-9]+(E-?[0-9]+)?$"  # Marathon prints resources as Java does: 0.5, 1024.0, 1.0E7
HOST_PORT = 31005


def enum_option_sets(config: dict) -> list:
    """One option set per enum value of every option (options as nested dicts)."""
    sets = []

    def walk(schema, path):
        for name, prop in schema.get("properties", {}).items():
            if "enum" in prop:
                for value in prop["enum"]:
                    options = value
                    for key in reversed(path + [name]):
                        options = {key: options}
                    sets.append((".".join(path + [name]) + "=" + str(value), options))
            walk(prop, path + [name])

    walk(config, [])
    return sets


def lookup(options: dict, dotted: str):
    value = options
    for key in dotted.split("."):
        value = value[key]
    return value


def mustache_truthy(value) -> bool:
    """Cosmos's truth in sections (numbers are true, "" and [] false)."""
    return value is not None and value is not False and value != "" and value != []


class Subjects:
    """Everything the checklist is applied to, built once."""

    package = support.dcos_package_files()
    option_sets = ([("defaults", {}), ("flipped sections", FLIPPED), ("hostile values", HOSTILE_OPTIONS),
                    ("zookeeper", ZOOKEEPER), ("zookeeper, flipped sections", cosmos.deep_merge(FLIPPED, ZOOKEEPER)),
                    ("zookeeper, hostile values", HOSTILE_ZOOKEEPER)]
                   + enum_option_sets(package["config.json"]))

    @classmethod
    def rendered(cls):
        """[(name, user options, merged options, rendered app)], the app not yet decorated."""
        if not hasattr(cls, "_rendered"):
            cls._rendered = []
            for name, options in cls.option_sets:
                merged = cosmos.merged_options(cls.package["config.json"], options)
                app = cosmos.render(cls.package["marathon.json.mustache"], merged, cls.package["resource.json"])
                cls._rendered.append((name, options, merged, app))
        return cls._rendered

    @classmethod
    def apps(cls):
        """[(name, app)]: the shipped Marathon files and every rendered DC/OS app."""
        shipped = [(path.name, support.load_json(path)) for path in support.marathon_app_files()]
        return shipped + [(f"dcos[{name}]", app) for name, _, _, app in cls.rendered()]


def secret_values(app: dict) -> dict:
    """Every secret of the app (by reference name) with the secret store's value."""
    return {ref: SECRET_VALUE for ref in app.get("secrets", {})}


def service_name(app: dict) -> str:
    return app["labels"]["DCOS_SERVICE_NAME"]


def highly_available(app: dict) -> bool:
    """The variant whose records are in ZooKeeper: several Dispatchers, one leading."""
    return app["env"]["TAILOR_STATE_STORE"].startswith("zk://")


class ChecklistTest(unittest.TestCase):
    maxDiff = None

    # ---------------------------------------------------------------- 1-5: every app definition

    def test_point_01_json_object_utf8_no_duplicate_keys(self):
        for path in support.marathon_app_files():
            with self.subTest(app=path.name):
                self.assertIsInstance(support.load_json(path, encoding="utf-8"), dict)
                path.read_bytes().decode("ascii")  # the shipped files are plain ASCII
        for name, _, merged, _ in Subjects.rendered():
            with self.subTest(app=name):
                text = cosmos.render_text(Subjects.package["marathon.json.mustache"], merged,
                                          Subjects.package["resource.json"])
                self.assertIsInstance(support.parse_json(text), dict)
                text.encode("utf-8")
        with self.assertRaises(support.DuplicateKeyError):
            support.parse_json('{"id": "/a", "id": "/b"}')

    def test_point_02_marathon_schema(self):
        schema = marathon_rules.load_schema(str(marathon_rules.app_schema_path()))
        for name, app in Subjects.apps():
            with self.subTest(app=name):
                self.assertEqual(marathon_rules.structure_violations(app, schema), [])
                # fields newer than the 1.7 schema are not used (they would need Marathon 1.8+)
                self.assertFalse({"role", "check", "resourceLimits", "tty"} & set(app))
                self.assertNotIn("IS", [c[1].upper() for c in app.get("constraints", [])])

    def test_point_03_marathon_422_rules(self):
        for name, app in Subjects.apps():
            with self.subTest(app=name):
                features = {"secrets"} if "secrets" in app else set()
                self.assertEqual(marathon_rules.validate_app(app, mesos_role=MARATHON_ROLE,
                                                             enabled_features=features), [])

    def test_point_04_scheduler_invariants(self):
        for name, app in Subjects.apps():
            with self.subTest(app=name):
                labels = app["labels"]
                env = self.task_env(app)
                settings = marathon_task.DispatcherSettings(env, cwd="/sandbox")
                self.assertEqual(labels["DCOS_PACKAGE_FRAMEWORK_NAME"], settings.framework_name)
                self.assertEqual(labels["DCOS_SERVICE_NAME"], settings.framework_name)
                self.assertFalse(settings.framework_name.startswith("tailor-job-"))
                ports = marathon_rules.port_entries(app)
                if highly_available(app):
                    self.check_highly_available(app, settings)
                else:
                    self.assertEqual(app["instances"], 1)
                    self.assertEqual(labels["MARATHON_SINGLE_INSTANCE_APP"], "true")
                    self.assertEqual(app["upgradeStrategy"], {"minimumHealthCapacity": 0, "maximumOverCapacity": 0})
                    index = int(labels["DCOS_SERVICE_PORT_INDEX"])
                    self.assertEqual(ports[index]["name"], support.API_PORT_NAME)
                    self.assertEqual(labels["DCOS_SERVICE_SCHEME"], "http")  # the Dispatcher serves no TLS
                self.assertEqual(ports[0]["name"], support.API_PORT_NAME)
                self.assertEqual(settings.port, HOST_PORT)  # the API listens on the port Admin Router uses
                # the v1 HTTP scheduler API needs no inbound libprocess port
                self.assertEqual(len(ports), 1)
                self.assertFalse([k for k in app.get("env", {}) if k.startswith("LIBPROCESS_")])
                self.assertGreaterEqual(app["taskKillGracePeriodSeconds"], support.DISPATCHER_SHUTDOWN_SECONDS)

    def check_highly_available(self, app, settings):
        """Several Dispatchers share one ZooKeeper store and elect a leader."""
        labels = app["labels"]
        # two at once are safe (the election decides), so the label that forbids them is absent
        self.assertNotIn("MARATHON_SINGLE_INSTANCE_APP", labels)
        self.assertGreaterEqual(app["instances"], 1)
        # no two on one agent: losing an agent loses one Dispatcher at most
        self.assertEqual(app["constraints"][0], ["hostname", "UNIQUE"])
        # one instance replaced at a time, in place: a Dispatcher always runs during an
        # upgrade and the unique-host constraint needs no spare agent
        self.assertEqual(app["upgradeStrategy"], {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0})
        # a standby's /ready answers 503 for as long as the leader lives: a readiness
        # check would never pass for it, and Marathon would hold every deployment
        self.assertFalse(app.get("readinessChecks"))
        self.assertEqual([h["path"] for h in app["healthChecks"]], ["/health"])  # 200 on a standby too
        # Admin Router would route /service/<name> to any task of an app with these labels;
        # without them it goes to the framework's webui_url, which only the leader registers
        self.assertFalse({"DCOS_SERVICE_PORT_INDEX", "DCOS_SERVICE_SCHEME"} & set(labels))
        self.assertEqual(settings.webui_url, f"http://{AGENT}:{HOST_PORT}/")
        self.assertNotIn("TAILOR_WEBUI_URL", app["env"])
        self.assertIn("TAILOR_ZK_SESSION_TIMEOUT", app["env"])
        strategy = app["unreachableStrategy"]
        self.assertIsInstance(strategy, dict, "a replacement elsewhere starts with the records in ZooKeeper")
        self.assertLess(strategy["inactiveAfterSeconds"], strategy["expungeAfterSeconds"])

    def test_point_05_task_environment(self):
        for name, app in Subjects.apps():
            with self.subTest(app=name), tempfile.TemporaryDirectory() as sandbox:
                env = self.task_env(app, sandbox)
                marathon_only = self.task_env(dict(app, env={}), sandbox)
                self.assertFalse(set(app["env"]) & set(marathon_only),
                                 "the app's env overrides none of the variables Marathon and Mesos set")
                self.assertEqual(env["PORT0"], str(HOST_PORT))
                self.assertEqual(env["PORT_API"], str(HOST_PORT))
                self.assertEqual(env["PORTS"], str(HOST_PORT))
                self.assertEqual(env["MARATHON_APP_ID"], "/" + app["id"].strip("/"))
                self.assertRegex(env["MARATHON_APP_RESOURCE_CPUS"], JAVA_DOUBLE)
                self.assertRegex(env["MARATHON_APP_RESOURCE_MEM"], JAVA_DOUBLE)
                settings = marathon_task.DispatcherSettings(env, cwd=sandbox)
                self.assertEqual(settings.launcher, "mesos")
                self.assertEqual(settings.port, HOST_PORT)
                self.assertEqual(settings.advertise_host, AGENT)
                self.assertEqual(settings.webui_url, f"http://{AGENT}:{HOST_PORT}/")
                volumes = [v["containerPath"] for v in app.get("container", {}).get("volumes", [])
                           if "persistent" in v]
                if highly_available(app):
                    self.assertEqual(volumes, [], "no agent is special: the records are in ZooKeeper")
                    self.assertEqual(settings.state_store, app["env"]["TAILOR_STATE_STORE"])
                else:
                    self.assertEqual(volumes, ["state"])
                if app["env"]["TAILOR_STATE_STORE"] == "local:state":
                    self.assertEqual(settings.state_store, f"local:{sandbox}/state")
                if name.startswith("dcos["):
                    self.assertEqual(settings.base_path, "/service/" + service_name(app))
                    self.assertEqual(env["DCOS_SERVICE_NAME"], service_name(app))
                jobmanager_flags = [a for a in settings.jobmanager_args if a.startswith("--")]
                self.assertIn("--taskmanager-sizing", jobmanager_flags)
                if "fetch" in app:
                    self.run_command(app, env, sandbox)

    def task_env(self, app, sandbox="/sandbox"):
        return marathon_task.task_environment(app, host=AGENT, host_ports=[HOST_PORT], sandbox=sandbox,
                                              secret_values=secret_values(app), mesos_role=MARATHON_ROLE)

    def run_command(self, app, env, sandbox):
        """Runs the app's cmd as Mesos does (sh -c, in the sandbox, the tarball
        unpacked there) with a stand-in Dispatcher that records what it got."""
        bin_dir = pathlib.Path(sandbox, f"tailor-{VERSION}", "bin")
        bin_dir.mkdir(parents=True)
        out = pathlib.Path(sandbox, "seen")
        out.mkdir()
        stub = bin_dir / "tailor-dispatcher"
        stub.write_text('#!/bin/sh\necho $$ > "$SEEN/pid"\npwd > "$SEEN/pwd"\nenv -0 > "$SEEN/env"\n'
                        'if [ -n "$TAILOR_MESOS_SECRET_FILE" ]; then cat "$TAILOR_MESOS_SECRET_FILE" '
                        '> "$SEEN/secret"; fi\n')
        stub.chmod(0o755)
        process = subprocess.Popen(["/bin/sh", "-c", app["cmd"]], cwd=sandbox, env=dict(env, SEEN=str(out)))
        self.assertEqual(process.wait(timeout=30), 0)
        self.assertEqual((out / "pid").read_text().strip(), str(process.pid), "the Dispatcher replaces the shell")
        self.assertEqual((out / "pwd").read_text().strip(), os.path.realpath(sandbox))
        seen = dict(item.split("=", 1) for item in (out / "env").read_text().split("\0") if "=" in item)
        for variable, value in env.items():
            if variable not in ("FRAMEWORK_SECRET", "AUTH_CREDENTIALS"):
                self.assertEqual(seen.get(variable), value, variable)
        self.assertNotIn("FRAMEWORK_SECRET", seen, "the secret's value is not left in the environment")
        self.assertNotIn("AUTH_CREDENTIALS", seen, "the credentials are in their file, not the environment")
        credentials = pathlib.Path(sandbox, "credentials")
        if "TAILOR_AUTH_FILE" in app["env"]:
            self.assertEqual(seen["TAILOR_AUTH_FILE"], "credentials")
            self.assertEqual(credentials.read_text(), env["AUTH_CREDENTIALS"] + "\n")
            self.assertEqual(credentials.stat().st_mode & 0o777, 0o600, "readable by the Dispatcher only")
        else:
            self.assertFalse(credentials.exists())
        if "secrets" in app:
            self.assertEqual((out / "secret").read_text(), SECRET_VALUE + "\n")
        else:
            self.assertFalse((out / "secret").exists())

    # ---------------------------------------------------------------- 6: a Marathon

    def test_point_06_bodies_fit_post_v2_apps(self):
        # A real Marathon is not run here (tests/fake_marathon and its end-to-end test post
        # the shipped app); what is checked is that the bodies are what POST /v2/apps takes:
        # no read-only fields, and an id Marathon keeps as it is.
        read_only = {"version", "versionInfo", "tasks", "tasksRunning", "tasksStaged", "tasksHealthy",
                     "tasksUnhealthy", "deployments", "lastTaskFailure", "readinessCheckResults"}
        for name, app in Subjects.apps():
            with self.subTest(app=name):
                self.assertFalse(read_only & set(app))
                self.assertEqual(appdef.canonical_id(app["id"]).lstrip("/"), app["id"].strip("/"))

    # ---------------------------------------------------------------- 7-15: the DC/OS package

    def test_point_07_universe_layout(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.build_repo("--artifact-base-url", "https://dl.example.invalid/tailor",
                            "--output", f"{tmp}/repo.json", "--layout", tmp)
            packages = pathlib.Path(tmp, "repo", "packages")
            [letter] = list(packages.iterdir())
            [package_dir] = list(letter.iterdir())
            [revision] = list(package_dir.iterdir())
            package = support.load_json(revision / "package.json", encoding="ascii")
            self.assertRegex(package_dir.name, r"^[a-z][a-z0-9-]*[a-z0-9]$")
            self.assertEqual(package_dir.name, package["name"])
            self.assertEqual(letter.name, package["name"][0].upper())
            self.assertRegex(revision.name, r"^[0-9]+$")
            self.assertEqual(sorted(p.name for p in revision.iterdir()),
                             ["config.json", "marathon.json.mustache", "package.json", "resource.json"])
            for path in list(revision.iterdir()) + [support.DCOS_DIR / n for n in Subjects.package]:
                with self.subTest(file=str(path)):
                    text = path.read_bytes().decode("ascii")
                    self.assertNotRegex(text, r"\\u[0-9a-fA-F]{4}")
                    if path.suffix == ".json":
                        support.parse_json(text)

    def test_point_08_package_json(self):
        package = Subjects.package["package.json"]
        validator = support.universe_validator("package-schema.json")
        self.assertEqual(support.schema_errors(validator, package), [])
        self.assertEqual(package["packagingVersion"], "4.0")
        self.assertIs(package["framework"], True)
        self.assertEqual(package["version"], VERSION, "package.json version is CMake's project version")
        # DC/OS 1.12 ships Marathon 1.7, the oldest Marathon the rules and schema here cover
        self.assertEqual(package["minDcosReleaseVersion"], "1.12")
        # deliberate: nothing upgrades in place to the first release, and it downgrades to nothing
        self.assertEqual(package["upgradesFrom"], [])
        self.assertEqual(package["downgradesTo"], [])
        broken = dict(package, framework="yes")
        self.assertTrue(support.schema_errors(validator, broken), "the schema check can fail")

    def test_point_09_config_json(self):
        config = Subjects.package["config.json"]
        validator = support.universe_validator("config-schema.json")
        self.assertEqual(support.schema_errors(validator, config), [])
        self.assertEqual(config["type"], "object")
        leaves = []

        def walk(schema, path):
            self.assertIs(schema.get("additionalProperties"), False, f"{path}: unknown options are refused")
            for name, prop in schema["properties"].items():
                if prop.get("type") == "object":
                    walk(prop, f"{path}.{name}")
                else:
                    leaves.append((f"{path}.{name}".lstrip("."), prop))

        walk(config, "")
        self.assertGreater(len(leaves), 20)
        for path, prop in leaves:
            with self.subTest(option=path):
                self.assertIn("default", prop)
                self.assertTrue(prop.get("description"))
                own_schema = {k: v for k, v in prop.items() if k not in ("default", "description", "media")}
                self.assertEqual(cosmos.option_errors(prop["default"], own_schema), [],
                                 "the default obeys its own schema")
        name = config["properties"]["service"]["properties"]["name"]
        self.assertEqual(name["pattern"], marathon_rules.PATH_ID_PATTERN)

    def test_point_10_resource_json(self):
        resource = Subjects.package["resource.json"]
        validator = support.universe_validator("v3-resource-schema.json")
        self.assertEqual(support.schema_errors(validator, resource), [])
        self.assertNotIn("cli", resource, "no CLI binaries, so no content hashes to check")
        uris = resource["assets"]["uris"]
        self.assertEqual(list(uris.values()),
                         [f"{support.ARTIFACT_PLACEHOLDER}tailor/{VERSION}/{TARBALL}"])
        used = set(re.findall(r"\{\{\s*resource\.([^}\s]+)\s*\}\}", Subjects.package["marathon.json.mustache"]))
        self.assertTrue(used)
        for dotted in used:
            with self.subTest(alias=dotted):
                self.assertIsInstance(lookup(resource, dotted), str)

    def test_point_11_template_tags_resolve(self):
        template = Subjects.package["marathon.json.mustache"]
        pystache.parse(template)
        defaults = cosmos.default_options(Subjects.package["config.json"])
        context = dict(defaults, resource=Subjects.package["resource.json"])
        names = set(re.findall(r"\{\{\s*[#^/]?\s*([^}\s]+)\s*\}\}", template)) - {"."}
        self.assertGreater(len(names), 20)
        for dotted in names:
            with self.subTest(tag=dotted):
                value = lookup(context, dotted)
                self.assertNotIsInstance(value, dict, "a tag names a value, not an object")
        with self.assertRaises(cosmos.RenderError):
            cosmos.render(template.replace("{{service.cpus}}", "{{service.cpu}}"), defaults,
                          Subjects.package["resource.json"])

    def test_point_12_rendered_like_cosmos(self):
        template = Subjects.package["marathon.json.mustache"]
        sections = set(re.findall(r"\{\{\s*[#^]\s*([^}\s]+)\s*\}\}", template))
        self.assertTrue(sections)
        for section in sections:
            with self.subTest(section=section):
                seen = {mustache_truthy(lookup(merged, section)) for _, _, merged, _ in Subjects.rendered()}
                self.assertEqual(seen, {True, False}, f"{section} is rendered both ways")
        # (a) defaults, (b) every section both ways, enum values, (c) hostile values: points 1-5
        # run over all of them; here the values come out exactly as given.
        [(_, _, _, hostile)] = [r for r in Subjects.rendered() if r[0] == "hostile values"]
        service = HOSTILE_OPTIONS["service"]
        self.assertEqual(hostile["id"], service["name"])
        self.assertEqual(hostile["user"], HOSTILE)
        self.assertEqual(hostile["env"]["TAILOR_MESOS_PRINCIPAL"], HOSTILE)
        self.assertEqual(hostile["env"]["TAILOR_MESOS_ROLE"], HOSTILE)
        self.assertEqual(hostile["secrets"]["frameworkSecret"]["source"], service["secret_name"])
        self.assertEqual(hostile["constraints"], service["constraints"])
        self.assertEqual(hostile["env"]["TAILOR_MESOS_MASTER"], HOSTILE_OPTIONS["mesos"]["master"])
        self.assertEqual(hostile["env"]["TAILOR_STATE_STORE"], HOSTILE_OPTIONS["storage"]["state_store"])
        self.assertEqual(hostile["env"]["APPLICATION_WEB_PROXY_BASE"], "/service/dev/tailor.team-1")
        self.assertEqual(hostile["portDefinitions"][0]["labels"]["VIP_0"], "/dev/tailor.team-1:80")
        self.assertEqual((hostile["cpus"], hostile["mem"]), (0.25, 1536))
        self.assertEqual(hostile["env"]["TAILOR_JOBMANAGER_RESOURCES"], "cpus=0.125,mem=768")
        text = cosmos.render_text(template, cosmos.merged_options(Subjects.package["config.json"], HOSTILE_OPTIONS),
                                  Subjects.package["resource.json"])
        self.assertIn('"mem": 1536,', text, "integral numbers print without .0")
        [(_, _, _, zookeeper)] = [r for r in Subjects.rendered() if r[0] == "zookeeper, hostile values"]
        storage = HOSTILE_ZOOKEEPER["storage"]
        self.assertEqual(zookeeper["env"]["TAILOR_STATE_STORE"],
                         f"zk://{storage['zookeeper_servers']}{storage['zookeeper_path']}/{service['name']}")
        self.assertEqual(zookeeper["env"]["TAILOR_ZK_SESSION_TIMEOUT"], "2.5s")
        self.assertEqual(zookeeper["instances"], 3)
        # the user's constraints after the one that keeps Dispatchers apart, each as given
        self.assertEqual(zookeeper["constraints"], [["hostname", "UNIQUE"]] + service["constraints"])

    def test_point_13_cosmos_labels(self):
        for name, options, _, app in Subjects.rendered():
            with self.subTest(options=name):
                self.assertFalse(set(cosmos.COSMOS_LABELS) & set(app["labels"]), "the template sets none")
                installed = cosmos.install(Subjects.package, options)
                labels = installed["labels"]
                self.assertTrue(all(isinstance(v, str) for v in labels.values()))
                self.assertEqual(json.loads(base64.b64decode(labels["DCOS_PACKAGE_OPTIONS"])), options)
                self.assertEqual(labels["DCOS_PACKAGE_VERSION"], VERSION)
                features = {"secrets"} if "secrets" in installed else set()
                self.assertEqual(marathon_rules.validate_app(installed, mesos_role=MARATHON_ROLE,
                                                             enabled_features=features), [])
                env = self.task_env(installed)
                self.assertNotIn("MARATHON_APP_LABEL_DCOS_PACKAGE_DEFINITION", env,
                                 "a label value of 512 characters or more is left out")
                self.assertEqual(env["MARATHON_APP_LABEL_DCOS_PACKAGE_FRAMEWORK_NAME"], service_name(app))

    def test_point_14_bad_options_refused_before_rendering(self):
        cases = [
            ({"service": {"cpus": "1"}}, "/service/cpus"),
            ({"service": {"mem": 64}}, "/service/mem"),
            ({"taskmanager": {"sizing": "huge"}}, "/taskmanager/sizing"),
            ({"service": {"nmae": "tailor"}}, "/service"),
            ({"service": {"name": "Tailor"}}, "/service/name"),
            ({"service": {"name": "/tailor"}}, "/service/name"),
            ({"service": {"name": "dev/"}}, "/service/name"),
            ({"service": {"name": "dev/../tailor"}}, "/service/name"),
            ({"service": {"name": "tailor-job-1"}}, "/service/name"),
            ({"service": {"constraints": "hostname:UNIQUE"}}, "/service/constraints"),
            ({"mesos": {"master": "leader.mesos"}}, "/mesos/master"),
            ({"jobs": {"max_running": 0}}, "/jobs/max_running"),
            ({"taskmanager": {"idle_timeout": "5s --mesos-role x"}}, "/taskmanager/idle_timeout"),
            ({"taskmanager": {"max_size": "cpus=8, mem=32GiB"}}, "/taskmanager/max_size"),
            ({"storage": {"state_store": "zk://zk-1:2181/tailor"}}, "/storage/state_store"),
            ({"service": {"instances": 2}}, "/"),  # several Dispatchers need storage.zookeeper
            ({"service": {"instances": 0}, "storage": {"zookeeper": True}}, "/service/instances"),
            ({"storage": {"zookeeper": "yes"}}, "/storage/zookeeper"),
            ({"storage": {"zookeeper_servers": "master.mesos"}}, "/storage/zookeeper_servers"),
            ({"storage": {"zookeeper_servers": "zk://master.mesos:2181"}}, "/storage/zookeeper_servers"),
            ({"storage": {"zookeeper_path": "tailor"}}, "/storage/zookeeper_path"),
            ({"storage": {"zookeeper_path": "/tailor/"}}, "/storage/zookeeper_path"),
            ({"storage": {"zookeeper_path": "/a/../tailor"}}, "/storage/zookeeper_path"),
            ({"storage": {"zookeeper_path": "/zookeeper/tailor"}}, "/storage/zookeeper_path"),
            ({"storage": {"zookeeper_session_timeout": "10 s"}}, "/storage/zookeeper_session_timeout"),
            ({"mesos": {"master": "zk://master.mesos:2181"}}, "/mesos/master"),
            ({"mesos": {"master": "zk://master.mesos:2181/"}}, "/mesos/master"),
            ({"mesos": {"master": "zk://master.mesos/mesos"}}, "/mesos/master"),
            ({"storage": {"volume_type": "nfs"}}, "/storage/volume_type"),
        ]
        for options, path in cases:
            with self.subTest(options=options):
                with self.assertRaises(cosmos.RenderError) as raised:
                    cosmos.install(Subjects.package, options)
                self.assertIn(f" {path}: ", str(raised.exception))
        # config.json accepts any constraint operator; Marathon's 422 is what refuses this one
        app = cosmos.install(Subjects.package, {"service": {"constraints": [["hostname", "MAX_PER"]]}})
        self.assertEqual([d["path"] for d in marathon_rules.validate_app(app, mesos_role=MARATHON_ROLE)],
                         ["/constraints/0"])

    def test_point_15_repository_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            repo_path = pathlib.Path(tmp, "tailor-repo.json")
            self.build_repo("--artifact-base-url", "https://dl.example.invalid/tailor/", "--output", str(repo_path))
            repo = support.load_json(repo_path, encoding="ascii")
        validator = support.universe_validator("v4-repo-schema.json")
        self.assertEqual(support.schema_errors(validator, repo), [])
        [entry] = repo["packages"]
        self.assertEqual(entry["releaseVersion"], 0)
        self.assertEqual(base64.b64decode(entry["marathon"]["v2AppMustacheTemplate"]),
                         (support.DCOS_DIR / "marathon.json.mustache").read_bytes())
        self.assertEqual(entry["config"], Subjects.package["config.json"])
        self.assertEqual(entry["resource"]["assets"]["uris"],
                         {"tailor-tarball": f"https://dl.example.invalid/tailor/{TARBALL}"})
        for key, value in Subjects.package["package.json"].items():
            self.assertEqual(entry[key], value)
        del entry["releaseVersion"]
        self.assertTrue(support.schema_errors(validator, repo), "the repo schema's $refs are resolved")

    def test_point_15_build_repo_refuses_bad_arguments(self):
        for args, message in [(["--artifact-base-url", "ftp://dl.example.invalid/x"], "is not an http(s) URL"),
                              (["--artifact-base-url", "https://dl.example.invalid/?a=1"], "is not an http(s) URL"),
                              (["--artifact-base-url", "https://x.invalid", "--release-version", "-1"],
                               "--release-version")]:
            with self.subTest(args=args):
                result = subprocess.run([sys.executable, str(support.BUILD_REPO), *args, "--output", "-"],
                                        capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)

    def build_repo(self, *args):
        result = subprocess.run([sys.executable, str(support.BUILD_REPO), *args],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
