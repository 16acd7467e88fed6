"""tests/marathon_rules: one failing app per rule, each failing for its own
reason (the path and the message), and the cases each rule lets through."""

import copy
import json
import subprocess
import sys
import tempfile
import unittest

import support  # noqa: F401  (puts tests/ on sys.path)
import marathon_rules

# A valid, non-resident single-instance app: each case changes one thing.
BASE = {
    "id": "/tailor",
    "cmd": "exec tailor-*/bin/tailor-dispatcher",
    "cpus": 0.5,
    "mem": 256,
    "instances": 1,
    "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "api"}],
    "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0}],
    "readinessChecks": [{"name": "ready", "protocol": "HTTP", "path": "/ready", "portName": "api",
                         "intervalSeconds": 5, "timeoutSeconds": 3}],
    "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"},
    "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
}

PERSISTENT_VOLUME = {"containerPath": "state", "mode": "RW", "persistent": {"type": "root", "size": 1024}}


def app_with(**changes):
    """BASE with top-level fields replaced; a value of None removes the field."""
    app = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            app.pop(key, None)
        else:
            app[key] = value
    return app


def resident(**changes):
    return app_with(container={"type": "MESOS", "volumes": [PERSISTENT_VOLUME]}, **changes)


class RuleTest(unittest.TestCase):
    def assertValid(self, app, **options):
        self.assertEqual(marathon_rules.validate_app(app, **options), [])

    def assertRefused(self, app, path, fragment, **options):
        """`app` is refused at `path` with a message containing `fragment`, and
        nothing is reported elsewhere except below `path` (the schema may
        notice the same mistake one level down)."""
        details = marathon_rules.validate_app(app, **options)
        by_path = {d["path"]: d["errors"] for d in details}
        self.assertIn(path, by_path, f"expected an error at {path}, got {json.dumps(details, indent=1)}")
        self.assertTrue(any(fragment in message for message in by_path[path]),
                        f"no message at {path} contains {fragment!r}: {by_path[path]}")
        prefix = path.rstrip("/") + "/"
        unrelated = [p for p in by_path if p != path and not p.startswith(prefix)]
        self.assertEqual(unrelated, [], f"errors beyond {path}: {json.dumps(details, indent=1)}")


class BaseAppTest(RuleTest):
    def test_base_is_valid(self):
        self.assertValid(BASE)

    def test_not_an_object(self):
        self.assertEqual(marathon_rules.validate_app([BASE]),
                         [{"path": "/", "errors": ["an app definition is a JSON object, got array"]}])

    def test_schema_unknown_field_is_named(self):
        self.assertRefused(app_with(comand="x"), "/comand", "unknown field")

    def test_schema_missing_id_is_named(self):
        self.assertRefused(app_with(id=None), "/id", "required field is missing")

    def test_schema_wrong_type_is_named(self):
        self.assertRefused(app_with(cpus="1"), "/cpus", "expected number, got string")

    def test_garbage_shapes_do_not_crash(self):
        for field, value in [("healthChecks", "x"), ("healthChecks", [1, None]), ("labels", []),
                             ("env", 5), ("container", []), ("constraints", [[1, 2]]),
                             ("readinessChecks", [{"portName": 7, "timeoutSeconds": "x"}]),
                             ("upgradeStrategy", "fast"), ("portDefinitions", {"a": 1}),
                             ("secrets", [1]), ("unreachableStrategy", 3), ("gpus", True)]:
            with self.subTest(field=field, value=value):
                details = marathon_rules.validate_app(app_with(**{field: value}))
                self.assertTrue(details, "a malformed field must be reported")
                self.assertTrue(all(d["path"].startswith("/") for d in details))

    def test_marathon_path_style(self):
        app = app_with(healthChecks=[{"protocol": "MESOS_HTTP", "portIndex": 3}])
        paths = [d["path"] for d in marathon_rules.validate_app(app, path_style="marathon")]
        self.assertEqual(paths, ["/healthChecks(0)/portIndex"])

    def test_pointer_escapes_keys(self):
        app = app_with(labels={"MARATHON_SINGLE_INSTANCE_APP": "true", "a/b~c": 1})
        self.assertIn("/labels/a~1b~0c", [d["path"] for d in marathon_rules.validate_app(app)])


class CommandRuleTest(RuleTest):
    def test_cmd_and_args(self):
        self.assertRefused(app_with(args=["x"]), "/", "not both")

    def test_neither_cmd_nor_args(self):
        self.assertRefused(app_with(cmd=None), "/", "give one of 'cmd' or 'args'")

    def test_image_supplies_the_command(self):
        self.assertValid(app_with(cmd=None, container={"type": "DOCKER", "docker": {"image": "tailor:1"}}))


class IdRuleTest(RuleTest):
    def test_upper_case(self):
        self.assertRefused(app_with(id="/Tailor"), "/id", "not a Marathon path id")

    def test_root(self):
        self.assertRefused(app_with(id="/"), "/id", "not the root group")

    def test_reserved_last_segment(self):
        self.assertRefused(app_with(id="/jobs/tasks"), "/id", "reserved word")

    def test_relative_and_folders_are_fine(self):
        self.assertValid(app_with(id="dev/tailor.team-1"))


class HealthCheckRuleTest(RuleTest):
    def test_port_index_out_of_range(self):
        app = app_with(healthChecks=[{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 1}])
        self.assertRefused(app, "/healthChecks/0/portIndex", "port index 1 does not address")

    def test_implicit_port_index_without_ports(self):
        app = app_with(portDefinitions=[], readinessChecks=None,
                       healthChecks=[{"protocol": "MESOS_TCP"}])
        self.assertRefused(app, "/healthChecks/0", "port index 0 does not address one of the app's 0")

    def test_default_port_without_port_definitions(self):
        self.assertValid(app_with(portDefinitions=None, readinessChecks=None))

    def test_command_checks_have_no_port(self):
        app = app_with(portDefinitions=[], readinessChecks=None,
                       healthChecks=[{"protocol": "COMMAND", "command": {"value": "true"}}])
        self.assertValid(app)

    def test_two_mesos_health_checks(self):
        checks = [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0},
                  {"protocol": "MESOS_TCP", "portIndex": 0}]
        self.assertRefused(app_with(healthChecks=checks), "/healthChecks", "at most one Mesos health check")

    def test_command_checks_are_not_counted(self):
        checks = [{"protocol": "MESOS_HTTP", "path": "/health", "portIndex": 0},
                  {"protocol": "COMMAND", "command": {"value": "true"}},
                  {"protocol": "COMMAND", "command": {"value": "true"}}]
        self.assertValid(app_with(healthChecks=checks))


class ReadinessRuleTest(RuleTest):
    def test_two_readiness_checks(self):
        checks = BASE["readinessChecks"] * 2
        self.assertRefused(app_with(readinessChecks=checks), "/readinessChecks", "at most one readiness check")

    def test_unknown_port_name(self):
        checks = [dict(BASE["readinessChecks"][0], portName="http")]
        self.assertRefused(app_with(readinessChecks=checks), "/readinessChecks/0/portName",
                           "no port is named 'http'")

    def test_default_port_name(self):
        check = dict(BASE["readinessChecks"][0])
        del check["portName"]
        self.assertRefused(app_with(readinessChecks=[check]), "/readinessChecks/0", "no port is named 'http-api'")

    def test_timeout_not_below_interval(self):
        checks = [dict(BASE["readinessChecks"][0], intervalSeconds=5, timeoutSeconds=5)]
        self.assertRefused(app_with(readinessChecks=checks), "/readinessChecks/0/timeoutSeconds",
                           "less than intervalSeconds (5)")

    def test_timeout_zero(self):
        checks = [dict(BASE["readinessChecks"][0], timeoutSeconds=0)]
        self.assertRefused(app_with(readinessChecks=checks), "/readinessChecks/0/timeoutSeconds", "at least 1")


class PortRuleTest(RuleTest):
    def test_duplicate_port_names(self):
        ports = [{"port": 0, "name": "api"}, {"port": 0, "name": "api"}]
        self.assertRefused(app_with(portDefinitions=ports), "/portDefinitions", "port names must be unique")

    def test_duplicate_port_numbers(self):
        ports = [{"port": 10000, "name": "api"}, {"port": 10000, "name": "ui"}]
        self.assertRefused(app_with(portDefinitions=ports), "/portDefinitions", "port numbers must be unique")

    def test_duplicate_mapping_names(self):
        container = {"type": "DOCKER", "docker": {"image": "tailor:1"},
                     "portMappings": [{"containerPort": 80, "name": "api"}, {"containerPort": 81, "name": "api"}]}
        app = app_with(container=container, portDefinitions=None, networks=[{"mode": "container/bridge"}])
        self.assertRefused(app, "/container/portMappings", "port names must be unique")

    def test_hyphen_in_port_name(self):
        app = app_with(portDefinitions=[{"port": 0, "name": "dispatcher-api"}],
                       readinessChecks=[dict(BASE["readinessChecks"][0], portName="dispatcher-api")])
        self.assertRefused(app, "/portDefinitions/0/name", "$PORT_DISPATCHER-API")
        self.assertValid(app, lint=False)


class LabelRuleTest(RuleTest):
    def test_label_value_not_a_string(self):
        app = app_with(labels={"MARATHON_SINGLE_INSTANCE_APP": "true", "DCOS_SERVICE_PORT_INDEX": 0})
        self.assertRefused(app, "/labels/DCOS_SERVICE_PORT_INDEX", "label values must be strings")


class SecretRuleTest(RuleTest):
    def test_env_refers_to_undeclared_secret(self):
        app = app_with(env={"SECRET": {"secret": "missing"}}, secrets={"other": {"source": "a/b"}})
        self.assertRefused(app, "/env/SECRET/secret", "refers to secret 'missing'")

    def test_declared_secret(self):
        app = app_with(env={"SECRET": {"secret": "s"}}, secrets={"s": {"source": "a/b"}})
        self.assertValid(app)
        self.assertValid(app, enabled_features={"secrets"})

    def test_volume_refers_to_undeclared_secret(self):
        app = app_with(container={"type": "MESOS", "volumes": [{"containerPath": "s", "secret": "missing"}]})
        self.assertRefused(app, "/container/volumes/0/secret", "refers to secret 'missing'")

    def test_secrets_feature_off(self):
        app = app_with(env={"SECRET": {"secret": "s"}}, secrets={"s": {"source": "a/b"}})
        self.assertRefused(app, "/secrets", "--enable_features secrets", enabled_features=set())


class GpuRuleTest(RuleTest):
    def test_gpus_with_docker(self):
        container = {"type": "DOCKER", "docker": {"image": "tailor:1"}}
        self.assertRefused(app_with(gpus=1, container=container), "/", "gpus need the Mesos containerizer")

    def test_container_without_type_is_docker(self):
        self.assertRefused(app_with(gpus=1, container={"docker": {"image": "tailor:1"}}), "/",
                           "gpus need the Mesos containerizer")

    def test_gpus_with_mesos(self):
        self.assertValid(app_with(gpus=1, container={"type": "MESOS", "docker": {"image": "tailor:1"}}))

    def test_gpu_feature_off(self):
        app = app_with(gpus=1, container={"type": "MESOS", "docker": {"image": "tailor:1"}})
        self.assertRefused(app, "/", "--enable_features gpu_resources", enabled_features={"secrets"})


class CheckRuleTest(RuleTest):
    def test_check_with_docker(self):
        app = app_with(check={"http": {"portIndex": 0, "path": "/health"}},
                       container={"type": "DOCKER", "docker": {"image": "tailor:1"}})
        # the 1.7 schema does not know `check` either: that error is at the same path
        self.assertRefused(app, "/check", "needs the Mesos containerizer")


class MigrationLabelRuleTest(RuleTest):
    def test_version_without_framework_name_and_path(self):
        labels = dict(BASE["labels"], DCOS_MIGRATION_API_VERSION="v1")
        self.assertRefused(app_with(labels=labels), "/", "DCOS_MIGRATION_API_VERSION")

    def test_wrong_version(self):
        labels = dict(BASE["labels"], DCOS_MIGRATION_API_VERSION="v2", DCOS_PACKAGE_FRAMEWORK_NAME="tailor",
                      DCOS_MIGRATION_API_PATH="/v1/migrate")
        self.assertRefused(app_with(labels=labels), "/", "needs the value v1")

    def test_complete(self):
        labels = dict(BASE["labels"], DCOS_MIGRATION_API_VERSION="v1", DCOS_PACKAGE_FRAMEWORK_NAME="tailor",
                      DCOS_MIGRATION_API_PATH="/v1/migrate")
        self.assertValid(app_with(labels=labels))


class ConstraintRuleTest(RuleTest):
    CASES = [
        (["hostname", "UNIQUE", "x"], "UNIQUE takes no value"),
        (["rack", "GROUP_BY", "two"], "GROUP_BY takes an integer or no value"),
        (["rack", "MAX_PER"], "MAX_PER needs an integer value"),
        (["rack", "MAX_PER", "1.5"], "MAX_PER needs an integer value"),
        (["hostname", "LIKE"], "LIKE needs a regular expression value"),
        (["hostname", "UNLIKE", "a("], "is not a valid regular expression"),
        (["rack", "IS", "a b"], "IS takes a Mesos text or number value"),
        (["rack", "NEAR", "x"], "unknown operator 'NEAR'"),
        (["", "UNIQUE"], "field (hostname, @region, @zone or an agent attribute) is empty"),
        (["hostname"], "a constraint has 2 or 3 fields"),
    ]

    def test_each_broken_constraint(self):
        for constraint, fragment in self.CASES:
            with self.subTest(constraint=constraint):
                self.assertRefused(app_with(constraints=[constraint]), "/constraints/0", fragment)

    def test_valid_constraints(self):
        constraints = [["hostname", "UNIQUE"], ["rack", "CLUSTER", "r1"], ["rack", "GROUP_BY"],
                       ["rack", "GROUP_BY", "3"], ["rack", "MAX_PER", "2"], ["hostname", "LIKE", "agent-[0-9]+"],
                       ["hostname", "UNLIKE", "gpu.*"], ["@zone", "CLUSTER"]]
        self.assertValid(app_with(constraints=constraints))

    def test_lower_case_operator_passes_the_rule(self):
        # Marathon upper-cases operators; only the 1.7 schema's enum refuses "unique".
        details = marathon_rules.validate_app(app_with(constraints=[["hostname", "unique"]]))
        self.assertEqual([d["path"] for d in details], ["/constraints/0/1"])


class SingleInstanceRuleTest(RuleTest):
    def test_two_instances(self):
        self.assertRefused(app_with(instances=2), "/", "has at most one instance, not 2")

    def test_upgrade_strategy_not_zero(self):
        app = app_with(upgradeStrategy={"minimumHealthCapacity": 1, "maximumOverCapacity": 0})
        self.assertRefused(app, "/upgradeStrategy/minimumHealthCapacity", "single-instance app needs 0, is 1")

    def test_missing_upgrade_strategy_is_marathons_default(self):
        details = marathon_rules.validate_app(app_with(upgradeStrategy=None))
        self.assertEqual([d["path"] for d in details],
                         ["/upgradeStrategy/minimumHealthCapacity", "/upgradeStrategy/maximumOverCapacity"])
        self.assertIn("Marathon's default", details[0]["errors"][0])

    def test_label_must_be_exactly_true(self):
        self.assertValid(app_with(instances=2, labels={"MARATHON_SINGLE_INSTANCE_APP": "True"},
                                  upgradeStrategy=None))


class ResidentRuleTest(RuleTest):
    def test_resident_app_is_valid(self):
        self.assertValid(resident())
        self.assertValid(resident(), mesos_role="tailor")

    def test_unreachable_strategy_enabled(self):
        app = resident(unreachableStrategy={"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0})
        self.assertRefused(app, "/unreachableStrategy", "needs unreachableStrategy \"disabled\"")

    def test_over_capacity(self):
        app = resident(labels={}, upgradeStrategy={"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5})
        self.assertRefused(app, "/upgradeStrategy/maximumOverCapacity", "persistent volumes needs 0, is 0.5")

    def test_default_upgrade_strategy_of_resident_apps(self):
        self.assertValid(resident(labels={}, upgradeStrategy=None))

    def test_accepted_resource_roles(self):
        app = resident(acceptedResourceRoles=["slave_public"])
        self.assertRefused(app, "/acceptedResourceRoles", "leave out acceptedResourceRoles or give [\"*\"]")
        self.assertValid(resident(acceptedResourceRoles=["*"]))

    def test_marathon_default_role_is_unreserved(self):
        self.assertRefused(resident(), "/role", "Marathon's --mesos_role", mesos_role="*")

    def test_explicit_unreserved_role(self):
        # `role` is Marathon 1.9+; the 1.7 schema's "unknown field" is at the same path
        self.assertRefused(resident(role="*"), "/role", "cannot reserve for the role \"*\"", mesos_role="tailor")


class OtherRuleTest(RuleTest):
    def test_inactive_after_expunge(self):
        app = app_with(unreachableStrategy={"inactiveAfterSeconds": 60, "expungeAfterSeconds": 30})
        self.assertRefused(app, "/unreachableStrategy/inactiveAfterSeconds", "at most expungeAfterSeconds (30)")

    def test_fetch_and_uris(self):
        app = app_with(fetch=[{"uri": "https://a.invalid/x.tgz"}], uris=["https://a.invalid/x.tgz"])
        self.assertRefused(app, "/uris", "cannot be combined")

    def test_empty_accepted_resource_roles(self):
        self.assertRefused(app_with(acceptedResourceRoles=[]), "/acceptedResourceRoles", "must not be empty")


class NewerFieldsTest(RuleTest):
    """newer_fields=True: what Marathon 1.8-1.10 take beyond the 1.7 schema."""

    def test_role_accepted_and_type_checked(self):
        self.assertValid(app_with(role="batch"), newer_fields=True)
        self.assertRefused(app_with(role="batch"), "/role", "unknown field")
        self.assertRefused(app_with(role=5), "/role", "expected string, got integer", newer_fields=True)

    def test_is_operator(self):
        app = app_with(constraints=[["@zone", "IS", "us-east-1a"]])
        self.assertValid(app, newer_fields=True)
        self.assertEqual([d["path"] for d in marathon_rules.validate_app(app)], ["/constraints/0/1"])
        self.assertRefused(app_with(constraints=[["rack", "NEAR", "x"]]), "/constraints/0", "unknown operator",
                           newer_fields=True)

    def test_rules_still_apply(self):
        self.assertRefused(resident(role="*"), "/role", "cannot reserve for the role \"*\"", newer_fields=True)
        app = app_with(check={"http": {"portIndex": 0}}, container={"type": "DOCKER", "docker": {"image": "t:1"}})
        self.assertEqual(marathon_rules.validate_app(app, newer_fields=True),
                         [{"path": "/check", "errors": ["'check' needs the Mesos containerizer; "
                                                        "container.type DOCKER cannot have it"]}])


class CommandLineTest(unittest.TestCase):
    def run_cli(self, app, *args):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(app if isinstance(app, str) else json.dumps(app))
            f.flush()
            return subprocess.run([sys.executable, marathon_rules.__file__, f.name, *args],
                                  capture_output=True, text=True, timeout=60)

    def test_valid(self):
        result = self.run_cli(BASE)
        self.assertEqual((result.returncode, json.loads(result.stdout)), (0, []))

    def test_invalid(self):
        result = self.run_cli(resident(), "--mesos-role", "*")
        self.assertEqual(result.returncode, 1)
        self.assertEqual([d["path"] for d in json.loads(result.stdout)], ["/role"])

    def test_not_json(self):
        result = self.run_cli("{")
        self.assertEqual(result.returncode, 2)
        self.assertIn("Expecting", result.stderr)


if __name__ == "__main__":
    unittest.main()
