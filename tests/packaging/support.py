"""Shared by the packaging tests: where things are, strict JSON reading, the
shared schemas with their relative `$ref`s resolved from local files."""

import json
import pathlib
import re
import sys

import jsonschema

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS_DIR / "marathon_rules"))
# the fake Marathon's package fakemarathon (its task environment, for marathon_task.py)
sys.path.insert(0, str(TESTS_DIR / "fake_marathon"))

import marathon_rules  # noqa: E402  (the module tests/marathon_rules/marathon_rules.py)

REPO_ROOT = marathon_rules.repository_root()
PACKAGING_DIR = REPO_ROOT / "packaging"
MARATHON_DIR = PACKAGING_DIR / "marathon"
DCOS_DIR = PACKAGING_DIR / "dcos"
BUILD_REPO = DCOS_DIR / "build-repo"
UNIVERSE_SCHEMAS = marathon_rules.schemas_dir() / "dcos-universe"

# The Dispatcher's own port under Marathon (shared contract: one port, named api).
API_PORT_NAME = "api"
# The shared contract: on SIGTERM the Dispatcher stops "within a few seconds".
DISPATCHER_SHUTDOWN_SECONDS = 10
ARTIFACT_PLACEHOLDER = "https://artifacts.example.invalid/"


class DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs):
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise DuplicateKeyError(f"duplicate keys: {', '.join(repeated)}")
    return dict(pairs)


def parse_json(text: str):
    """JSON with duplicate keys refused (Python keeps the last one silently)."""
    return json.loads(text, object_pairs_hook=_reject_duplicates)


def load_json(path: pathlib.Path, encoding="utf-8"):
    """A JSON file decoded strictly (`encoding`) with duplicate keys refused."""
    return parse_json(path.read_bytes().decode(encoding))


def cmake_project_version() -> str:
    """VERSION of project() in the top CMakeLists.txt."""
    text = (REPO_ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    match = re.search(r"project\(\s*\w+\s+VERSION\s+([0-9][0-9.]*)", text)
    if not match:
        raise AssertionError("CMakeLists.txt: no project(NAME VERSION x.y.z ...)")
    return match.group(1)


def release_tarball_name(version: str, arch: str = "x86_64") -> str:
    """The release tarball's name (shared contract)."""
    return f"tailor-{version}-linux-{arch}.tar.gz"


def marathon_app_files() -> list:
    """Every Marathon app definition the repository ships."""
    return sorted(MARATHON_DIR.glob("*.json"))


def dcos_package_files() -> dict:
    """The DC/OS package: the three JSON files parsed (ASCII, no duplicate
    keys) and the template as text."""
    files = {name: load_json(DCOS_DIR / name, encoding="ascii")
             for name in ("package.json", "config.json", "resource.json")}
    files["marathon.json.mustache"] = (DCOS_DIR / "marathon.json.mustache").read_bytes().decode("ascii")
    return files


def universe_schema(name: str) -> dict:
    return load_json(UNIVERSE_SCHEMAS / name)


def universe_validator(name: str):
    """A Draft4Validator for a Universe schema whose relative file `$ref`s
    (vX-repo-definitions.json#/...) resolve to the local copies."""
    schema = universe_schema(name)
    store = {path.name: load_json(path) for path in UNIVERSE_SCHEMAS.glob("*.json")}
    try:
        import referencing
        import referencing.jsonschema
    except ImportError:  # jsonschema before 4.18 (Debian 12 has 4.10)
        resolver = jsonschema.RefResolver(base_uri="", referrer=schema, store=store)
        return jsonschema.Draft4Validator(schema, resolver=resolver)
    registry = referencing.Registry().with_resources(
        (uri, referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT4))
        for uri, doc in store.items())
    return jsonschema.Draft4Validator(schema, registry=registry)


def schema_errors(validator, instance) -> list:
    """Every error as "path: message" (empty when valid)."""
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
            for e in validator.iter_errors(instance)]


def env_flag_names(app: dict) -> dict:
    """The TAILOR_* variables the app sets (in `env`, or in `cmd` as NAME=value)
    as Dispatcher flags: TAILOR_MESOS_ROLE -> --mesos-role."""
    names = [name for name in app.get("env", {}) if name.startswith("TAILOR_")]
    names += re.findall(r"\b(TAILOR_[A-Z0-9_]+)=", app.get("cmd", ""))
    return {name: "--" + name[len("TAILOR_"):].lower().replace("_", "-") for name in names}

