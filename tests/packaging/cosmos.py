"""A test double of Cosmos, the DC/OS package manager, as far as
`dcos package install NAME --options=FILE` turns a package into a Marathon app.

    options = merged_options(config, user_options)     # defaults + deep merge + draft-04 check
    app = render(template, options, resource)          # mustache the way Cosmos runs it
    app = decorate(app, package, user_options, source)  # the labels Cosmos adds

As a command, `cosmos.py PACKAGE_DIR [OPTIONS.json]` prints the app (to compare
with `dcos package describe NAME --app --render --options=OPTIONS.json`).

What it copies from Cosmos (PackageDefinitionRenderer, JsonSchema):
- defaults: a property with `default` gives it (its sub-properties are not
  read); otherwise its `properties` are walked; objects that end up empty are
  left out;
- user options are deep-merged over the defaults and the result is validated
  against config.json (draft-04);
- the context is the options plus {"resource": resource.json};
- rendering as mustache.java with HTML escaping off ({{x}} is {{{x}}}):
  strings JSON-escaped without their quotes (array elements keep them), arrays
  as Java lists print (["a", "b"], nested the same way), integral numbers
  without ".0", other numbers as Java prints a double, booleans as true/false;
  in sections false, null, "" and [] are false, numbers (even 0) are true, a
  list is iterated;
- the output must be a JSON object whose labels map strings to strings;
- the labels DCOS_PACKAGE_NAME, _VERSION, _SOURCE, _OPTIONS and _DEFINITION
  override the template's.

What it does not do: a variable missing from the context is an error here
(Cosmos prints nothing; a test should hear about it), and so is printing an
object; `{{#asJson}}`, partials and Java method calls in tags are not
supported; DCOS_PACKAGE_DEFINITION is the base64 of the package JSON, not of
Cosmos's storage envelope; an `appId` override is not modelled.
"""

import base64
import json
import math

import jsonschema
import pystache

import support


class RenderError(Exception):
    """The package cannot be rendered: bad options, a missing variable, output that is not an app."""


# --------------------------------------------------------------------------
# Options

def default_options(config: dict) -> dict:
    """The defaults Cosmos extracts from config.json."""
    defaults = {}
    for name, prop in config.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        if "default" in prop:
            defaults[name] = prop["default"]
        elif "properties" in prop:
            nested = default_options(prop)
            if nested:
                defaults[name] = nested
    return defaults


def deep_merge(base: dict, override: dict) -> dict:
    """`override` over `base`: objects merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def option_errors(options: dict, config: dict) -> list:
    """Draft-04 errors of the merged options: ["path: message", ...]."""
    validator = jsonschema.Draft4Validator(config)
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(validator.iter_errors(options), key=lambda e: list(map(str, e.absolute_path)))]


def merged_options(config: dict, user_options=None) -> dict:
    """Defaults with the user's options over them, checked as Cosmos checks
    them; RenderError lists the mismatches (Cosmos: JsonSchemaMismatch)."""
    options = deep_merge(default_options(config), user_options or {})
    errors = option_errors(options, config)
    if errors:
        raise RenderError("options do not match config.json: " + "; ".join(errors))
    return options


# --------------------------------------------------------------------------
# Values as mustache.java sees what Cosmos hands it

def java_double(value: float) -> str:
    """Java's Double.toString for finite values (plain in [1e-3, 1e7), else d.dddE±n)."""
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    mantissa, exponent = f"{value:.17e}".split("e")
    digits = repr(float(mantissa))  # shortest form of the mantissa
    return f"{digits}E{int(exponent)}"


def _number_text(value) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return java_double(value)


class JavaNumber:
    """A JSON number: printed as Cosmos prints it, true in sections (even 0)."""

    def __init__(self, value):
        self.text = _number_text(value)

    def __bool__(self):
        return True

    def __str__(self):
        return self.text


class JavaList(list):
    """A JSON array: iterated by sections, printed as Java prints a List."""

    def __str__(self):
        return "[" + ", ".join(str(item) for item in self) + "]"


class JavaMap(dict):
    """A JSON object: read by dotted names; printing one is an error here."""

    def __str__(self):
        raise RenderError(f"the template prints an object ({_short(dict(self))}); name one of its fields")


class QuotedString(str):
    """A string inside an array: JSON-escaped with its quotes."""


def to_context(value, in_array=False):
    """The mustache context for a JSON value, as Cosmos's jsonToJava builds it."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return JavaNumber(value)
    if isinstance(value, str):
        escaped = json.dumps(value, ensure_ascii=False)
        return QuotedString(escaped) if in_array else escaped[1:-1]
    if isinstance(value, list):
        return JavaList(to_context(item, in_array=True) for item in value)
    if isinstance(value, dict):
        return JavaMap((key, to_context(item)) for key, item in value.items())
    raise RenderError(f"not a JSON value: {value!r}")


class _CosmosRenderer(pystache.Renderer):
    """pystache with Cosmos's printing of non-strings and no escaping."""

    def __init__(self):
        super().__init__(escape=lambda text: text, missing_tags="strict")

    def str_coerce(self, val):
        if val is None:
            return ""
        if isinstance(val, bool):
            return "true" if val else "false"
        if isinstance(val, (JavaNumber, JavaList, JavaMap)):
            return str(val)
        raise RenderError(f"cannot print {_short(val)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def render_text(template: str, options: dict, resource: dict) -> str:
    """The template rendered with options + {"resource": resource}."""
    context = to_context(deep_merge(options, {"resource": resource}))
    try:
        return _CosmosRenderer().render(template, context)
    except RenderError:
        raise
    except Exception as e:  # pystache's KeyNotFoundError and parse errors
        raise RenderError(f"template: {e}") from e


def render(template: str, options: dict, resource: dict) -> dict:
    """The rendered Marathon app; RenderError unless it is a JSON object with
    string→string labels (Cosmos: MarathonTemplateMustBeJsonObject)."""
    text = render_text(template, options, resource)
    try:
        app = support.parse_json(text)
    except ValueError as e:
        raise RenderError(f"rendered template is not JSON: {e}\n{text}") from e
    if not isinstance(app, dict):
        raise RenderError("rendered template is not a JSON object")
    labels = app.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise RenderError("rendered template's labels are not a map of strings to strings")
    return app


# --------------------------------------------------------------------------
# Labels Cosmos adds

COSMOS_LABELS = ("DCOS_PACKAGE_NAME", "DCOS_PACKAGE_VERSION", "DCOS_PACKAGE_SOURCE",
                 "DCOS_PACKAGE_OPTIONS", "DCOS_PACKAGE_DEFINITION")


def _base64_json(value) -> str:
    return base64.b64encode(json.dumps(value, indent=2).encode("utf-8")).decode("ascii")


def decorate(app: dict, package: dict, user_options, source_uri: str) -> dict:
    """The app as Cosmos posts it to Marathon: its labels, then Cosmos's over them."""
    decorated = dict(app)
    labels = dict(app.get("labels", {}))
    labels.update({
        "DCOS_PACKAGE_NAME": package["name"],
        "DCOS_PACKAGE_VERSION": package["version"],
        "DCOS_PACKAGE_SOURCE": source_uri,
        "DCOS_PACKAGE_OPTIONS": _base64_json(user_options or {}),
        "DCOS_PACKAGE_DEFINITION": _base64_json(package),
    })
    decorated["labels"] = labels
    return decorated


def install(package_files: dict, user_options=None, source_uri="https://repo.example.invalid/tailor-repo.json"):
    """What `dcos package install` posts to Marathon for these package files
    ({"package.json": ..., "config.json": ..., "resource.json": ...,
    "marathon.json.mustache": text})."""
    options = merged_options(package_files["config.json"], user_options)
    app = render(package_files["marathon.json.mustache"], options, package_files["resource.json"])
    return decorate(app, package_files["package.json"], user_options, source_uri)


def main(argv=None) -> int:
    """`cosmos.py PACKAGE_DIR [OPTIONS.json]`: prints the app Cosmos would post
    (for comparing with `dcos package describe NAME --app --render`)."""
    import pathlib
    import sys
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print("usage: cosmos.py PACKAGE_DIR [OPTIONS.json]", file=sys.stderr)
        return 2
    folder = pathlib.Path(args[0])
    try:
        files = {name: json.loads((folder / name).read_text(encoding="utf-8"))
                 for name in ("package.json", "config.json", "resource.json")}
        files["marathon.json.mustache"] = (folder / "marathon.json.mustache").read_text(encoding="utf-8")
        options = json.loads(pathlib.Path(args[1]).read_text(encoding="utf-8")) if len(args) == 2 else None
        app = install(files, options)
    except (OSError, ValueError, RenderError) as e:
        print(f"cosmos.py: {e}", file=sys.stderr)
        return 1
    print(json.dumps(app, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
