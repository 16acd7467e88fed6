#!/usr/bin/env python3
"""Checks a live tailor-dispatcher against its OpenAPI document.

    openapi_check.py --spec docs/openapi.yaml --url http://127.0.0.1:PORT --work DIR
                     [--max-upload-size 1MiB] [--timeout 120]

Exercises every path and response code of the REST API (a small job run to
FINISHED, listing with filters and paging, its report and log, cancels of
queued, running and finished jobs, unknown ids, bad bodies, bad specs, path
traversal in file names, an upload over the server's --max-upload-size, a
session started, listed and stopped) and
validates every response against the schema the document gives for its
path, method and status, with `$ref`s resolved into components. A request
the document does not describe (operation, status, query parameter or
content type) is a failure.

Prints one line per check and ends with `N passed, M failed`; exits 1 on any
failure, 2 on bad usage. The server should be started with
--max-upload-size equal to this script's (1MiB by default) and a small
--max-running-jobs (the queue check submits that many long jobs, then one
more). Needs python3 with PyYAML and jsonschema (Debian: python3-yaml,
python3-jsonschema). Request and response transcripts go to DIR.
"""

import argparse
import base64
import copy
import http.client
import json
import os
import re
import select
import socket
import sys
import time
import traceback
import urllib.parse

import jsonschema
import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JOB_STATES = ("QUEUED", "LAUNCHING", "RUNNING", "FINISHED", "FAILED", "CANCELED")
END_STATES = ("FINISHED", "FAILED", "CANCELED")

SMALL_JOB = """\
name: small
stages:
  - name: read
    parallelism: 2
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: 'echo "reading split $TAILOR_TASK_INDEX" >&2; cat'
  - name: sort
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    inputs: [{stage: read, partitioning: hash}]
    command: sort -n
"""

# The same job reading its input from a subfolder, for a second run.
SECOND_JOB = SMALL_JOB.replace("name: small", "name: second").replace(
    '["numbers.txt"]', '["data/*.txt"]')

# A job that runs until it is canceled.
SLEEPER_JOB = """\
name: sleeper
stages:
  - name: nap
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["numbers.txt"]}
    command: "sleep 600; cat"
"""

# Line 4, column 18: the value of `parallelism`.
BAD_SPEC = SMALL_JOB.replace("parallelism: 2", "parallelism: two")

# File names that must never be stored (the brief's five first).
TRAVERSALS = ["../x", "/etc/x", "a/../../x", "a//b", "./a",
              "../../../../escaped", "data/../../../../../escaped", "a/", "..", "."]


class CheckFailed(Exception):
    pass


def ensure(condition, message):
    if not condition:
        raise CheckFailed(message)


def short(value, limit=300):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def b64(data):
    return base64.b64encode(data).decode("ascii")


def parse_size(text):
    """Bytes in a size as tailor-dispatcher's --max-upload-size takes it (bare number: MiB)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?B)?\s*", text)
    if not match:
        raise ValueError(f"'{text}' is not a size (expected e.g. 1MiB)")
    units = {None: 1 << 20, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
             "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    if match.group(2) not in units:
        raise ValueError(f"'{text}': unknown unit")
    return int(float(match.group(1)) * units[match.group(2)])


# --- The OpenAPI document -------------------------------------------------

class OpenApi:
    """The document, with lookups by request and schemas turned into JSON Schema."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        if not isinstance(self.doc, dict):
            raise CheckFailed(f"{path}: not a YAML mapping")
        self.path = path
        self.format_checker = self._format_checker()
        self.hit = set()  # (template, method, status) the checks answered

    # $ref resolution ------------------------------------------------------
    def resolve_pointer(self, ref):
        ensure(isinstance(ref, str) and ref.startswith("#/"),
               f"$ref {ref!r}: only references into this document are supported")
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            ensure(isinstance(node, dict) and part in node, f"$ref {ref!r} does not resolve")
            node = node[part]
        return node

    def deref(self, node):
        """Follows a chain of $ref objects (responses, parameters)."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            ensure(ref not in seen, f"$ref cycle at {ref}")
            seen.add(ref)
            node = self.resolve_pointer(ref)
        return node

    def json_schema(self, schema, stack=()):
        """An OpenAPI 3.0 Schema Object as a self-contained JSON Schema (draft 4)."""
        if isinstance(schema, list):
            return [self.json_schema(item, stack) for item in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            ref = schema["$ref"]
            ensure(ref not in stack, f"recursive schema {ref} (not supported here)")
            return self.json_schema(self.resolve_pointer(ref), stack + (ref,))
        out = {}
        for key, value in schema.items():
            if key in ("properties", "patternProperties", "definitions"):
                out[key] = {name: self.json_schema(sub, stack) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
                out[key] = self.json_schema(value, stack)
            elif key in ("example", "externalDocs", "xml", "discriminator", "readOnly",
                         "writeOnly", "deprecated", "nullable"):
                continue  # OpenAPI-only keywords
            else:
                out[key] = copy.deepcopy(value)
        if schema.get("nullable") is True:
            if "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        return out

    @staticmethod
    def _format_checker():
        checker = jsonschema.FormatChecker()

        def is_number(value):
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        @checker.checks("int32")
        def int32(value):
            return not is_number(value) or (isinstance(value, int) and
                                             -(2**31) <= value < 2**31)

        @checker.checks("int64")
        def int64(value):
            return not is_number(value) or (isinstance(value, int) and
                                             -(2**63) <= value < 2**63)

        @checker.checks("double")
        @checker.checks("float")
        def floating(value):
            return True  # any JSON number; `type` says number

        @checker.checks("byte")
        def byte(value):
            if not isinstance(value, str):
                return True
            return re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", value) is not None

        return checker

    def validate(self, schema, instance, what):
        resolved = self.json_schema(schema)
        validator = jsonschema.Draft4Validator(resolved, format_checker=self.format_checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = []
            for error in errors[:8]:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                lines.append(f"{where}: {error.message[:300]}")
            raise CheckFailed(f"{what} does not match the document:\n      " +
                              "\n      ".join(lines))

    # Lookups ----------------------------------------------------------------
    def operation(self, method, path):
        """(template, operation, path item) for a request path, or a failure."""
        paths = self.doc.get("paths") or {}
        candidates = []
        for template, item in paths.items():
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                literal = len(re.sub(r"\{[^/]+?\}", "", template))
                candidates.append((literal, template, item))
        ensure(candidates, f"the document has no path for {path}")
        candidates.sort(key=lambda c: -c[0])
        _, template, item = candidates[0]
        item = self.deref(item)
        operation = item.get(method.lower())
        ensure(isinstance(operation, dict),
               f"the document has no operation {method} {template}")
        return template, operation, item

    def parameters(self, operation, item):
        merged = {}
        for param in list(item.get("parameters") or []) + list(operation.get("parameters") or []):
            param = self.deref(param)
            merged[(param.get("in"), param.get("name"))] = param
        return merged

    def response(self, method, path, status, query_names=(), content_type=None):
        """The schema documented for a response; checks the request fits the document."""
        template, operation, item = self.operation(method, path)
        params = self.parameters(operation, item)
        for name in query_names:
            ensure(("query", name) in params,
                   f"{method} {template}: query parameter '{name}' is not documented")
        responses = operation.get("responses") or {}
        key = str(status)
        ensure(key in responses,
               f"{method} {template}: status {status} is not documented "
               f"(documented: {', '.join(sorted(map(str, responses)))})")
        response = self.deref(responses[key])
        content = response.get("content") or {}
        ensure(content, f"{method} {template} {status}: no content documented")
        media = (content_type or "").split(";")[0].strip().lower()
        ensure(media in content,
               f"{method} {template} {status}: Content-Type '{content_type}' is not documented "
               f"(documented: {', '.join(content)})")
        schema = content[media].get("schema")
        ensure(schema is not None, f"{method} {template} {status} {media}: no schema")
        self.hit.add((template, method.upper(), key))
        return template, schema

    def request_schema(self, method, path):
        template, operation, _ = self.operation(method, path)
        body = self.deref(operation.get("requestBody") or {})
        content = body.get("content") or {}
        ensure("application/json" in content,
               f"{method} {template}: no application/json request body documented")
        return content["application/json"]["schema"]

    def documented(self):
        out = set()
        for template, item in (self.doc.get("paths") or {}).items():
            item = self.deref(item)
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    for status in item[method].get("responses") or {}:
                        out.add((template, method.upper(), str(status)))
        return out

    # The document's own shape -----------------------------------------------
    def lint(self):
        """Problems with the document itself (not with the server)."""
        problems = []
        if self.doc.get("openapi") != "3.0.3":
            problems.append(f"openapi is {self.doc.get('openapi')!r} (expected '3.0.3')")
        for key in ("info", "paths", "components"):
            if not isinstance(self.doc.get(key), dict):
                problems.append(f"no '{key}' mapping")
        info = self.doc.get("info") or {}
        for key in ("title", "version"):
            if not info.get(key):
                problems.append(f"info.{key} missing")

        def walk(node, where):
            if isinstance(node, dict):
                if "$ref" in node:
                    try:
                        self.resolve_pointer(node["$ref"])
                    except CheckFailed as e:
                        problems.append(f"{where}: {e}")
                for key, value in node.items():
                    walk(value, f"{where}/{key}")
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, f"{where}/{index}")

        walk(self.doc, "#")
        schemas = (self.doc.get("components") or {}).get("schemas") or {}
        for name, schema in schemas.items():
            where = f"components/schemas/{name}"
            try:
                jsonschema.Draft4Validator.check_schema(self.json_schema(schema))
            except (jsonschema.SchemaError, CheckFailed) as e:
                problems.append(f"{where}: not a valid schema: {str(e).splitlines()[0]}")
            self._lint_objects(schema, where, problems)
        for template, item in (self.doc.get("paths") or {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                where = f"{method.upper()} {template}"
                if not operation.get("responses"):
                    problems.append(f"{where}: no responses")
                for status, response in (operation.get("responses") or {}).items():
                    response = self.deref(response)
                    if not response.get("description"):
                        problems.append(f"{where} {status}: no description")
                names = {name for (kind, name) in self.parameters(operation, item)
                         if kind == "path"}
                wanted = set(re.findall(r"\{([^/]+?)\}", template))
                if names != wanted:
                    problems.append(f"{where}: path parameters {sorted(names)} "
                                    f"(expected {sorted(wanted)})")
        return problems

    def _lint_objects(self, schema, where, problems):
        if isinstance(schema, list):
            for index, sub in enumerate(schema):
                self._lint_objects(sub, f"{where}/{index}", problems)
            return
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        if schema.get("type") == "object":
            if schema.get("additionalProperties") is not False:
                problems.append(f"{where}: object without additionalProperties: false")
            properties = schema.get("properties") or {}
            for name in schema.get("required") or []:
                if name not in properties:
                    problems.append(f"{where}: required '{name}' is not a property")
        for key in ("properties",):
            for name, sub in (schema.get(key) or {}).items():
                self._lint_objects(sub, f"{where}/{name}", problems)
        for key in ("items", "allOf", "anyOf", "oneOf", "not"):
            if key in schema:
                self._lint_objects(schema[key], f"{where}/{key}", problems)


# --- HTTP ---------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = raw
        self.body = None

    @property
    def content_type(self):
        return self.headers.get("content-type", "")


class Client:
    def __init__(self, url, api, work):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"--url: '{url}' is not an http://HOST:PORT URL")
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.api = api
        self.transcript = open(os.path.join(work, "transcript.log"), "w", encoding="utf-8")

    def log(self, text):
        self.transcript.write(text + "\n")
        self.transcript.flush()

    def raw(self, method, target, body=None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            all_headers = {"Accept": "application/json"}
            if body is not None:
                all_headers["Content-Type"] = "application/json"
            all_headers.update(headers or {})
            connection.request(method, target, body=body, headers=all_headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()
        self.log(f"> {method} {target}" +
                 (f"\n> {short(body.decode('utf-8', 'replace'), 2000)}" if body else ""))
        self.log(f"< {response.status} {response.content_type}\n"
                 f"< {short(response.raw.decode('utf-8', 'replace'), 4000)}")
        return response

    def call(self, method, path, query=None, body=None, expect=None, raw_body=None):
        """A request checked against the document; its status must be `expect`."""
        target = urllib.parse.quote(path, safe="/%")
        if query:
            target += "?" + urllib.parse.urlencode(query)
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        response = self.raw(method, target, data)
        self.check(method, path, response, list((query or {}).keys()))
        if expect is not None:
            ensure(response.status == expect,
                   f"{method} {target}: status {response.status} (expected {expect}): "
                   f"{short(response.raw.decode('utf-8', 'replace'))}")
        return response

    def check(self, method, path, response, query_names=()):
        """Validates `response` against the document; sets response.body."""
        _, schema = self.api.response(method, path, response.status, query_names,
                                      response.content_type)
        try:
            response.body = json.loads(response.raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckFailed(f"{method} {path} {response.status}: body is not JSON ({e}): "
                              f"{short(response.raw.decode('utf-8', 'replace'))}")
        self.api.validate(schema, response.body, f"{method} {path} {response.status} body")

    def post_oversized(self, path, body):
        """POSTs a body the server refuses before reading it: sends the head, then the
        body while the server has not answered, then reads the answer."""
        sock = socket.create_connection((self.host, self.port), timeout=60)
        try:
            head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                    f"Content-Type: application/json\r\nAccept: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
            sock.sendall(head)
            sent = 0
            while sent < len(body):
                readable, _, _ = select.select([sock], [], [], 0.05 if sent == 0 else 0)
                if readable:
                    break
                try:
                    sent += sock.send(body[sent:sent + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    break
            data = b""
            deadline = time.time() + 30
            while time.time() < deadline:
                readable, _, _ = select.select([sock], [], [], 1)
                if not readable:
                    continue
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head_text, _, rest = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?im)^content-length:\s*(\d+)", head_text)
                    if length and len(rest) >= int(length.group(1)):
                        break
        finally:
            sock.close()
        self.log(f"> POST {path} ({len(body)} bytes, {sent} of them sent)")
        ensure(b"\r\n\r\n" in data, f"POST {path}: no answer to an oversized body "
                                    f"(got {short(data.decode('utf-8', 'replace'))!r})")
        head_text, _, rest = data.partition(b"\r\n\r\n")
        lines = head_text.decode("latin-1").split("\r\n")
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        ensure(match, f"POST {path}: bad status line {lines[0]!r}")
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]
                   if ":" in line]
        response = Response(int(match.group(1)), headers, rest)
        self.log(f"< {response.status} {response.content_type}\n"
                 f"< {short(rest.decode('utf-8', 'replace'), 2000)}")
        self.check("POST", path, response)
        return response


# --- The checks ---------------------------------------------------------------

class Run:
    def __init__(self, args, api):
        self.args = args
        self.api = api
        self.client = Client(args.url, api, args.work)
        self.passed = 0
        self.failed = 0
        self.numbers = "".join(f"{i}\n" for i in range(1000, 0, -1)).encode()
        self.upload_limit = parse_size(args.max_upload_size)
        self.submitted = []  # ids of the jobs the checks submitted

    def check(self, name, function):
        try:
            note = function()
        except CheckFailed as e:
            self.failed += 1
            print(f"FAIL  {name}: {e}", flush=True)
            return None
        except Exception as e:  # a crash of the checker is a failure too
            self.failed += 1
            print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            return None
        self.passed += 1
        print(f"PASS  {name}" + (f" ({note})" if note else ""), flush=True)
        return True

    # helpers
    def call(self, *args, **kwargs):
        return self.client.call(*args, **kwargs)

    def submission(self, spec, files, spec_name=None, priority=None):
        body = {"spec": spec, "files": [{"path": p, "content": b64(c)} for p, c in files]}
        if spec_name is not None:
            body["spec_name"] = spec_name
        if priority is not None:
            body["priority"] = priority
        return body

    def submit(self, body):
        self.api.validate(self.api.request_schema("POST", "/v1/jobs"), body,
                          "the submission (request body)")
        response = self.call("POST", "/v1/jobs", body=body, expect=201)
        answer = response.body
        self.submitted.append(answer["id"])
        if answer["state"] == "QUEUED":
            ensure(answer["queue_position"] >= 1, f"QUEUED with queue_position "
                                                  f"{answer['queue_position']}")
        else:
            ensure(answer["queue_position"] == 0,
                   f"{answer['state']} with queue_position {answer['queue_position']}")
        return answer

    def job(self, job_id):
        return self.call("GET", f"/v1/jobs/{job_id}", expect=200).body

    def wait(self, job_id, states, seconds=None):
        deadline = time.time() + (seconds or self.args.timeout)
        polls = 0
        while True:
            view = self.job(job_id)
            polls += 1
            if view["state"] in states:
                return view, polls
            if view["state"] in END_STATES:
                raise CheckFailed(f"job {job_id} ended {view['state']}: {view['error']}")
            ensure(time.time() < deadline,
                   f"job {job_id} still {view['state']} after {seconds or self.args.timeout}s")
            time.sleep(0.2)

    def wait_jobmanager_exit(self, job_id, seconds=30):
        """Waits until the job's latest JobManager has exited (its log is complete)."""
        deadline = time.time() + seconds
        while True:
            view = self.job(job_id)
            if view["attempts"] and view["attempts"][-1]["ended_at"] > 0:
                return view
            ensure(time.time() < deadline,
                   f"job {job_id}: JobManager still running {seconds}s after the job ended")
            time.sleep(0.1)

    def bad_submission(self, body=None, raw_body=None, field=None):
        response = self.call("POST", "/v1/jobs", body=body, raw_body=raw_body, expect=400)
        ensure(response.body["code"] == "INVALID_ARGUMENT", f"code {response.body['code']}")
        if field is not None:
            ensure(field in response.body["message"],
                   f"message does not name {field!r}: {response.body['message']!r}")
        return response.body["message"]

    def list_jobs(self, **query):
        return self.call("GET", "/v1/jobs", query=query or None, expect=200).body

    # the run
    def run(self):
        state = {}

        def lint():
            problems = self.api.lint()
            ensure(not problems, "the document itself:\n      " + "\n      ".join(problems))
            return f"{len(self.api.documented())} documented responses"
        self.check("document: OpenAPI 3.0.3, $refs resolve, schemas valid, objects closed", lint)

        # --- the service -----------------------------------------------------
        def health():
            body = self.call("GET", "/health", expect=200).body
            ensure(body["status"] == "ok", f"status {body['status']!r}")
        self.check("GET /health -> 200", health)

        def ready():
            deadline = time.time() + 30
            while True:
                response = self.call("GET", "/ready")
                if response.status == 200:
                    return None
                ensure(response.status == 503, f"status {response.status}")
                ensure(time.time() < deadline, "still 503 after 30 s")
                time.sleep(0.1)
        self.check("GET /ready -> 200 (503 while recovering)", ready)

        def overview():
            body = self.call("GET", "/v1/overview", expect=200).body
            state["max_running"] = body["max_running_jobs"]
            state["jobs_before"] = sum(body["jobs"].values())
            return f"max_running_jobs {body['max_running_jobs']}"
        self.check("GET /v1/overview -> 200", overview)

        def metrics_targets():
            body = self.call("GET", "/v1/metrics/targets", expect=200).body
            ensure(body and body[0]["labels"]["role"] == "dispatcher",
                   f"the Dispatcher is not the first target: {short(body)}")
            return f"{len(body)} targets"
        self.check("GET /v1/metrics/targets -> 200", metrics_targets)

        # --- a small job, run to the end -------------------------------------
        def submit_small():
            answer = self.submit(self.submission(SMALL_JOB, [("numbers.txt", self.numbers)],
                                                 spec_name="job.yaml", priority=0))
            ensure(answer["state"] in ("QUEUED", "LAUNCHING"), f"state {answer['state']}")
            ensure(answer["id"].startswith("small-"), f"id {answer['id']}")
            state["small"] = answer["id"]
            return f"{answer['id']}, {answer['state']}"
        if not self.check("POST /v1/jobs (small job with numbers.txt) -> 201", submit_small):
            return

        def finish_small():
            view, polls = self.wait(state["small"], ("FINISHED",))
            self.wait_jobmanager_exit(state["small"])
            return f"{polls} polls"
        if not self.check("GET /v1/jobs/{id} -> 200, polled until FINISHED and its JobManager exited", finish_small):
            return

        def small_details():
            view = self.job(state["small"])
            ensure(view["id"] == state["small"] and view["name"] == "small", short(view))
            ensure(view["files"] == ["numbers.txt"], f"files {view['files']}")
            ensure([s["name"] for s in view["stages"]] == ["read", "sort"],
                   f"stages {short(view['stages'])}")
            ensure(all(s["complete"] and s["finished"] == s["parallelism"]
                       for s in view["stages"]), f"stages not complete: {short(view['stages'])}")
            states = [change["state"] for change in view["history"]]
            ensure(states[0] == "QUEUED" and states[-1] == "FINISHED" and "RUNNING" in states,
                   f"history {states}")
            ensure(view["attempt"] == len(view["attempts"]) >= 1, f"attempt {view['attempt']}")
            ensure(view["attempts"][-1]["ended_at"] >= view["attempts"][-1]["launched_at"] > 0,
                   f"attempt times {short(view['attempts'][-1])}")
            ensure(0 < view["submitted_at"] <= view["started_at"] <= view["finished_at"],
                   "times out of order")
            ensure(view["error"] == "" and not view["cancel_requested"], short(view))
            output = view["output"]
            if os.path.isdir(output):
                parts = sorted(n for n in os.listdir(output) if n.startswith("part-"))
                data = b"".join(open(os.path.join(output, n), "rb").read() for n in parts)
                want = "".join(f"{i}\n" for i in range(1, 1001)).encode()
                ensure(data == want, f"output in {output} is not 1..1000 sorted")
                return "output 1..1000 sorted"
            return "output not on this machine; not compared"
        self.check("GET /v1/jobs/{id} -> 200: stages, history, attempts, files, output",
                   small_details)

        def small_report():
            report = self.call("GET", f"/v1/jobs/{state['small']}/report", expect=200).body
            ensure(report["job"]["id"] == state["small"], f"job {short(report['job'])}")
            ensure(report["job"]["status"] == "FINISHED", f"status {report['job']['status']}")
            ensure([s["name"] for s in report["stages"]] == ["read", "sort"],
                   f"stages {short(report['stages'])}")
            ensure(report["taskmanagers"], "no TaskManagers in the report")
            return f"{len(report['taskmanagers'])} TaskManagers, sizing {report['sizing']}"
        self.check("GET /v1/jobs/{id}/report -> 200", small_report)

        def submit_second():
            answer = self.submit(self.submission(
                SECOND_JOB, [("data/numbers.txt", self.numbers)], spec_name="second.yaml",
                priority=7))
            state["second"] = answer["id"]
            self.wait(answer["id"], ("FINISHED",))
            view = self.wait_jobmanager_exit(answer["id"])
            ensure(view["priority"] == 7, f"priority {view['priority']}")
            ensure(view["files"] == ["data/numbers.txt"], f"files {view['files']}")
            return answer["id"]
        self.check("POST /v1/jobs (second job, file in a folder, priority 7) -> 201, FINISHED",
                   submit_second)

        # --- listing -------------------------------------------------------------
        def list_all():
            body = self.list_jobs()
            ensure(body["offset"] == 0 and body["limit"] == 100, short(body))
            ensure(len(body["jobs"]) == min(body["total"], 100),
                   f"total {body['total']} for {len(body['jobs'])} jobs")
            body = self.list_jobs(limit=1000)
            ids = [job["id"] for job in body["jobs"]]
            ensure(body["total"] == len(ids), f"total {body['total']} for {len(ids)} jobs")
            for key in ("small", "second"):
                ensure(state.get(key) in ids, f"{state.get(key)} not listed")
            ensure(ids.index(state["small"]) < ids.index(state["second"]),
                   "not in submission order")
            for job in body["jobs"]:
                for field in ("stages", "taskmanagers", "history", "attempts", "files"):
                    ensure(job[field] == [], f"list item {job['id']} has {field}")
            state["all"] = ids
            return f"{len(ids)} jobs"
        self.check("GET /v1/jobs -> 200 (every job, submission order)", list_all)

        def list_finished():
            body = self.list_jobs(state="FINISHED", limit=1000)
            ensure(all(job["state"] == "FINISHED" for job in body["jobs"]), "other states")
            ids = [job["id"] for job in body["jobs"]]
            ensure(state["small"] in ids and state["second"] in ids, f"listed {ids}")
            ensure(body["total"] == len(ids) >= 2, f"total {body['total']}")
            state["finished"] = ids
        self.check("GET /v1/jobs?state=FINISHED -> 200", list_finished)

        def list_pages():
            first = self.list_jobs(state="FINISHED", limit=1)
            ensure(first["limit"] == 1 and first["offset"] == 0, short(first))
            ensure([j["id"] for j in first["jobs"]] == state["finished"][:1], short(first))
            ensure(first["total"] == len(state["finished"]), f"total {first['total']}")
            second = self.list_jobs(state="FINISHED", offset=1, limit=1)
            ensure(second["offset"] == 1, short(second))
            ensure([j["id"] for j in second["jobs"]] == state["finished"][1:2], short(second))
            beyond = self.list_jobs(offset=len(state["all"]) + 5)
            ensure(beyond["jobs"] == [] and beyond["total"] == len(state["all"]), short(beyond))
            empty = self.list_jobs(limit=0)
            ensure(empty["jobs"] == [] and empty["total"] == len(state["all"]), short(empty))
            capped = self.list_jobs(limit=5000)
            ensure(capped["limit"] == 1000, f"limit 5000 answered limit {capped['limit']}")
            running = self.list_jobs(state="RUNNING")
            ensure(all(j["state"] == "RUNNING" for j in running["jobs"]), "other states")
            unfiltered = self.list_jobs(state="")
            ensure(unfiltered["total"] == len(state["all"]), "state= is not 'every state'")
        self.check("GET /v1/jobs?state=&offset=&limit= -> 200 (paging, caps, empty filter)",
                   list_pages)

        def list_bad_state():
            for value in ("BOGUS", "finished", "JOB_STATE_UNSPECIFIED", "4"):
                response = self.call("GET", "/v1/jobs", query={"state": value}, expect=400)
                ensure(response.body["code"] == "INVALID_ARGUMENT", short(response.body))
                ensure("state" in response.body["message"], short(response.body))
        self.check("GET /v1/jobs?state=BOGUS (and finished, JOB_STATE_UNSPECIFIED, 4) -> 400",
                   list_bad_state)

        def list_bad_numbers():
            for query in ({"offset": "-1"}, {"limit": "ten"}, {"offset": "1.5"},
                          {"limit": "99999999999999999999999"}):
                response = self.call("GET", "/v1/jobs", query=query, expect=400)
                name = next(iter(query))
                ensure(name in response.body["message"], short(response.body))
        self.check("GET /v1/jobs?offset=-1 / limit=ten / ... -> 400", list_bad_numbers)

        # --- the JobManager's log ----------------------------------------------
        def log_whole():
            body = self.call("GET", f"/v1/jobs/{state['small']}/log", expect=200).body
            ensure(body["offset"] == 0 and body["path"] == "jobmanager", short(body))
            data = body["data"].encode("utf-8")
            ensure(body["size"] > 0 and len(data) == body["size"],
                   f"{len(data)} bytes of a {body['size']}-byte log")
            ensure(state["small"] in body["data"], "the log does not name the job")
            state["log"] = data
            return f"{len(data)} bytes"
        self.check("GET /v1/jobs/{id}/log -> 200 (whole log)", log_whole)

        def log_tail():
            full = state["log"]
            body = self.call("GET", f"/v1/jobs/{state['small']}/log", query={"tail": 100},
                             expect=200).body
            ensure(body["size"] == len(full) and body["offset"] == len(full) - 100, short(body))
            ensure(body["data"].encode() == full[-100:], f"tail differs: {body['data']!r}")
            body = self.call("GET", f"/v1/jobs/{state['small']}/log",
                             query={"tail": 10**9}, expect=200).body
            ensure(body["offset"] == 0 and body["data"].encode() == full, "tail > size")
            body = self.call("GET", f"/v1/jobs/{state['small']}/log", query={"tail": 0},
                             expect=200).body
            ensure(body["data"] == "" and body["offset"] == len(full), short(body))
        self.check("GET /v1/jobs/{id}/log?tail=N -> 200", log_tail)

        def log_range():
            full = state["log"]
            body = self.call("GET", f"/v1/jobs/{state['small']}/log",
                             query={"offset": 10, "length": 20}, expect=200).body
            ensure(body["offset"] == 10 and body["data"].encode() == full[10:30], short(body))
            body = self.call("GET", f"/v1/jobs/{state['small']}/log",
                             query={"offset": len(full) - 5, "length": 100}, expect=200).body
            ensure(body["data"].encode() == full[-5:], f"range over the end: {short(body)}")
            body = self.call("GET", f"/v1/jobs/{state['small']}/log",
                             query={"offset": len(full) + 100}, expect=200).body
            ensure(body["data"] == "" and body["offset"] == len(full), short(body))
        self.check("GET /v1/jobs/{id}/log?offset=N&length=M -> 200", log_range)

        def log_bad():
            for query in ({"offset": "abc"}, {"length": "-1"}, {"tail": "-5"}, {"tail": ""}):
                response = self.call("GET", f"/v1/jobs/{state['small']}/log", query=query,
                                     expect=400)
                name = next(iter(query))
                ensure(response.body["code"] == "INVALID_ARGUMENT" and
                       name in response.body["message"], short(response.body))
        self.check("GET /v1/jobs/{id}/log?offset=abc / length=-1 / tail=-5 -> 400", log_bad)

        def log_task():
            path = f"/v1/jobs/{state['small']}/log"
            body = self.call("GET", path, query={"task": "read[1]"}, expect=200).body
            ensure(body["data"] == "reading split 1\n" and body["path"] == "task read[1]",
                   short(body))
            body = self.call("GET", path, query={"task": "read[0]", "attempt": 1, "tail": 3},
                             expect=200).body
            ensure(body["data"] == " 0\n", short(body))
            self.call("GET", path, query={"task": "sort[0]"}, expect=200)
        self.check("GET /v1/jobs/{id}/log?task=STAGE[I] -> 200 (the attempt's stderr)", log_task)

        def log_task_bad():
            path = f"/v1/jobs/{state['small']}/log"
            for task in ("read", "read[x]", "read[0", "[0]x"):
                response = self.call("GET", path, query={"task": task}, expect=400)
                ensure("STAGE[INDEX]" in response.body["message"], short(response.body))
            response = self.call("GET", path, query={"task": "read[0]", "attempt": "x"}, expect=400)
            for query in ({"task": "nosuch[0]"}, {"task": "read[2]"},
                          {"task": "read[0]", "attempt": 7}):
                response = self.call("GET", path, query=query, expect=404)
                ensure(response.body["code"] == "NOT_FOUND", short(response.body))
            self.call("GET", "/v1/jobs/no-such-job/log", query={"task": "read[0]"}, expect=404)
        self.check("GET /v1/jobs/{id}/log?task=bad -> 400, unknown task or attempt -> 404",
                   log_task_bad)

        # --- unknown ids, finished jobs -------------------------------------------
        def unknown():
            missing = "no-such-job-20000101-000000-0000"
            for method, path in (("GET", f"/v1/jobs/{missing}"),
                                 ("GET", f"/v1/jobs/{missing}/report"),
                                 ("GET", f"/v1/jobs/{missing}/log"),
                                 ("POST", f"/v1/jobs/{missing}/cancel"),
                                 ("GET", "/v1/jobs/..%2F..%2Fetc"),
                                 ("GET", "/v1/jobs/..%2F..%2Fetc/log")):
                response = self.call(method, path, expect=404)
                ensure(response.body["code"] == "NOT_FOUND", short(response.body))
        self.check("GET|POST /v1/jobs/{unknown id}[/report|/log|/cancel] -> 404", unknown)

        def cancel_finished():
            response = self.call("POST", f"/v1/jobs/{state['small']}/cancel", expect=409)
            ensure(response.body["code"] == "CONFLICT" and
                   "FINISHED" in response.body["message"], short(response.body))
            view = self.job(state["small"])
            ensure(view["state"] == "FINISHED" and not view["cancel_requested"], short(view))
        self.check("POST /v1/jobs/{id}/cancel of a FINISHED job -> 409, job unchanged",
                   cancel_finished)

        # --- the queue, cancels of queued and running jobs ----------------------
        def fill():
            count = state.get("max_running", 1)
            ensure(count <= 8, f"--max-running-jobs {count}: start the server with a small "
                               "one (the check submits that many long jobs)")
            state["sleepers"] = []
            for _ in range(count):
                answer = self.submit(self.submission(SLEEPER_JOB,
                                                     [("numbers.txt", b"1\n")]))
                state["sleepers"].append(answer["id"])
            answer = self.submit(self.submission(SLEEPER_JOB, [("numbers.txt", b"1\n")],
                                                 priority=-3))
            ensure(answer["state"] == "QUEUED", f"job over the limit is {answer['state']}")
            state["queued"] = answer["id"]
            return f"{count} running, {answer['id']} queued at {answer['queue_position']}"
        if self.check("POST /v1/jobs beyond --max-running-jobs -> 201 QUEUED", fill):
            self.check_queue(state)

        # --- bad submissions --------------------------------------------------------
        def malformed():
            for raw in (b'{"spec": ', b"", b"[]", b"null", b"not json at all"):
                self.bad_submission(raw_body=raw, field="request body")
        self.check("POST /v1/jobs with malformed JSON -> 400", malformed)

        def wrong_shape():
            self.bad_submission(body={"spec": SMALL_JOB, "colour": "blue"}, field="colour")
            self.bad_submission(body={"spec": 42}, field="spec")
            self.bad_submission(body={"spec": SMALL_JOB, "priority": "high"}, field="priority")
            self.bad_submission(body={"spec": SMALL_JOB, "files": [{"path": "a",
                                                                    "content": "!!"}]},
                                field="content")
            self.bad_submission(body={"files": []}, field="spec")
        self.check("POST /v1/jobs with unknown field, wrong types, bad base64, no spec -> 400",
                   wrong_shape)

        def bad_spec():
            message = self.bad_submission(body=self.submission(
                BAD_SPEC, [("numbers.txt", self.numbers)]))
            match = re.fullmatch(r"job\.yaml:(\d+):(\d+): ([^:\s]+): (.+)", message, re.S)
            ensure(match, f"message not in the form job.yaml:LINE:COL: field: problem: "
                          f"{message!r}")
            ensure(match.group(1, 2, 3) == ("4", "18", "stages[0].parallelism"),
                   f"points at {match.group(1)}:{match.group(2)} {match.group(3)} "
                   "(expected 4:18 stages[0].parallelism)")
            other = self.bad_submission(body=self.submission(
                BAD_SPEC, [("numbers.txt", self.numbers)], spec_name="other.yaml"))
            ensure(other.startswith("other.yaml:4:18: stages[0].parallelism: "), other)
            cycle = self.bad_submission(body=self.submission(
                SMALL_JOB.replace("input: {files: [\"numbers.txt\"]}",
                                  "inputs: [{stage: sort}]"), []))
            ensure(re.match(r"job\.yaml:\d+:\d+: \S+: .*cycle", cycle), cycle)
            return message
        self.check("POST /v1/jobs with a bad spec -> 400 job.yaml:LINE:COL: field: problem",
                   bad_spec)

        def bad_spec_name():
            for name in ("../job.yaml", "/etc/job.yaml", "sub/job.yaml", ".."):
                self.bad_submission(body=self.submission(
                    SMALL_JOB, [("numbers.txt", self.numbers)], spec_name=name),
                    field="spec_name")
        self.check("POST /v1/jobs with spec_name ../job.yaml, /etc/job.yaml, ... -> 400",
                   bad_spec_name)

        absolute = os.path.join(os.path.abspath(self.args.work), "escaped-absolute")
        for path in TRAVERSALS + [absolute]:
            def traversal(path=path):
                body = self.submission(SMALL_JOB, [("numbers.txt", self.numbers),
                                                   (path, b"escaped\n")])
                message = self.bad_submission(body=body, field="files[1].path")
                return message
            self.check(f"POST /v1/jobs with file path {path!r} -> 400", traversal)

        def duplicates():
            self.bad_submission(body=self.submission(
                SMALL_JOB, [("numbers.txt", b"1\n"), ("numbers.txt", b"2\n")]),
                field="files[1].path")
            self.bad_submission(body=self.submission(
                SMALL_JOB, [("numbers.txt", b"1\n"), ("job.yaml", b"2\n")]),
                field="files[1].path")
            self.bad_submission(body=self.submission(
                SMALL_JOB, [("numbers.txt", b"1\n"), ("numbers.txt/x", b"2\n")]),
                field="files[1].path")
        self.check("POST /v1/jobs with a file twice, the spec's name, a file under a file -> 400",
                   duplicates)

        def too_large():
            body = json.dumps(self.submission(
                SMALL_JOB, [("numbers.txt", self.numbers),
                            ("big.bin", os.urandom(self.upload_limit))])).encode()
            ensure(len(body) > self.upload_limit, "test body not over the limit")
            response = self.client.post_oversized("/v1/jobs", body)
            ensure(response.status == 413, f"status {response.status}: "
                                           f"{short(response.raw.decode('utf-8', 'replace'))}")
            ensure(response.body["code"] == "PAYLOAD_TOO_LARGE", short(response.body))
            ensure(str(self.upload_limit) in response.body["message"],
                   f"message does not name the limit {self.upload_limit}: "
                   f"{response.body['message']!r}")
            return response.body["message"]
        self.check(f"POST /v1/jobs over --max-upload-size ({self.args.max_upload_size}) -> 413",
                   too_large)

        def under_limit():
            # A body well under the limit is still read (the limit is not off by a lot).
            answer = self.submit(self.submission(
                SMALL_JOB, [("numbers.txt", self.numbers),
                            ("padding.bin", b"\0" * (self.upload_limit // 2))]))
            self.wait(answer["id"], ("FINISHED",))
            self.wait_jobmanager_exit(answer["id"])
            state["padded"] = answer["id"]
            return answer["id"]
        self.check("POST /v1/jobs at half the upload limit -> 201, FINISHED", under_limit)

        # --- sessions -----------------------------------------------------------------
        self.check_sessions()

        # --- after the bad input ------------------------------------------------------
        def still_up():
            body = self.call("GET", "/health", expect=200).body
            ensure(body["status"] == "ok", short(body))
            overview = self.call("GET", "/v1/overview", expect=200).body
            listed = self.list_jobs(limit=1000)
            ensure("jobs_before" in state, "no job count from the start")
            expected = state["jobs_before"] + len(self.submitted)
            ensure(listed["total"] == expected,
                   f"{listed['total']} jobs (expected {expected}): a bad submission was stored")
            ensure({job["id"] for job in listed["jobs"]} >= set(self.submitted),
                   "a submitted job is not listed")
            ensure(sum(overview["jobs"].values()) == listed["total"],
                   f"overview counts {overview['jobs']} vs {listed['total']} jobs")
            return f"{listed['total']} jobs, {overview['jobs']}"
        self.check("GET /health, /v1/overview after the bad input -> 200, no job from it",
                   still_up)

        self.coverage()

    def check_sessions(self):
        name = "openapi-check"
        ended = ("SESSION_STOPPED", "SESSION_FAILED")

        def bad_sessions():
            for body, field in (({"name": "Bad_Name"}, "name:"),
                                ({"name": "ok", "options": {"sizing": "huge"}}, "options.sizing"),
                                ({"name": "ok", "options": {"min_resources": "lots"}},
                                 "options.min_resources")):
                response = self.call("POST", "/v1/sessions", body=body, expect=400)
                ensure(field in response.body["message"], short(response.body))
            response = self.call("POST", "/v1/sessions", raw_body=b"{not json", expect=400)
            ensure(response.body["code"] == "INVALID_ARGUMENT", short(response.body))
        self.check("POST /v1/sessions with a bad name, options or body -> 400 naming the field",
                   bad_sessions)

        def start_session():
            body = self.call("POST", "/v1/sessions",
                             body={"name": name, "options": {"idle_timeout_seconds": 5}},
                             expect=201).body
            ensure(body["name"] == name and body["jobmanager"]["attempt"] >= 1, short(body))
            ensure(body["state"] in ("SESSION_STARTING", "SESSION_FAILED"), short(body))
            # A live name is a conflict; one that failed already starts again.
            again = self.call("POST", "/v1/sessions", body={"name": name})
            ensure(again.status in (201, 409), f"status {again.status}")
            listed = self.call("GET", "/v1/sessions", expect=200).body
            ensure(name in [item["name"] for item in listed["sessions"]], short(listed))
            one = self.call("GET", f"/v1/sessions/{name}", expect=200).body
            return one["state"]
        self.check("POST /v1/sessions -> 201 (again: 201 or 409), GET /v1/sessions[/{name}] -> 200",
                   start_session)

        def unknown_session():
            for method, path in (("GET", "/v1/sessions/nope"), ("DELETE", "/v1/sessions/nope")):
                response = self.call(method, path, expect=404)
                ensure(response.body["code"] == "NOT_FOUND", short(response.body))
            body = self.submission(SMALL_JOB, [("numbers.txt", self.numbers)])
            body["session"] = "nope"
            response = self.call("POST", "/v1/jobs", body=body, expect=404)
            ensure("session" in response.body["message"], short(response.body))
        self.check("GET|DELETE /v1/sessions/{unknown}, POST /v1/jobs to it -> 404", unknown_session)

        def stop_session():
            response = self.call("DELETE", f"/v1/sessions/{name}")
            ensure(response.status in (202, 409), f"status {response.status}")
            deadline = time.time() + 60
            while True:
                view = self.call("GET", f"/v1/sessions/{name}", expect=200).body
                if view["state"] in ended:
                    break
                ensure(time.time() < deadline, f"session still {view['state']} after 60 s")
                time.sleep(0.2)
            response = self.call("DELETE", f"/v1/sessions/{name}", expect=409)
            ensure(response.body["code"] == "CONFLICT", short(response.body))
            return view["state"]
        self.check("DELETE /v1/sessions/{name} -> 202 (or 409 once ended), it ends", stop_session)

    def check_queue(self, state):
        def queued_listed():
            body = self.list_jobs(state="QUEUED", limit=1000)
            mine = [job for job in body["jobs"] if job["id"] == state["queued"]]
            ensure(mine and mine[0]["queue_position"] >= 1, short(body))
            ensure(all(job["state"] == "QUEUED" and job["queue_position"] >= 1
                       for job in body["jobs"]), short(body))
            view = self.job(state["queued"])
            ensure(view["queue_position"] == mine[0]["queue_position"], short(view))
            ensure(view["attempts"] == [] and view["attempt"] == 0, short(view))
        self.check("GET /v1/jobs?state=QUEUED -> 200 with queue positions", queued_listed)

        def queued_report_log():
            response = self.call("GET", f"/v1/jobs/{state['queued']}/report", expect=409)
            ensure(response.body["code"] == "CONFLICT" and "QUEUED" in response.body["message"],
                   short(response.body))
            response = self.call("GET", f"/v1/jobs/{state['queued']}/log", expect=404)
            ensure(response.body["code"] == "NOT_FOUND", short(response.body))
        self.check("GET /v1/jobs/{queued}/report -> 409, /log -> 404 (no JobManager yet)",
                   queued_report_log)

        def cancel_queued():
            body = self.call("POST", f"/v1/jobs/{state['queued']}/cancel", expect=202).body
            ensure(body["state"] == "CANCELED" and body["cancel_requested"], short(body))
            ensure(body["queue_position"] == 0 and body["finished_at"] > 0, short(body))
            response = self.call("GET", f"/v1/jobs/{state['queued']}/report", expect=404)
            ensure(response.body["code"] == "NOT_FOUND", short(response.body))
            response = self.call("POST", f"/v1/jobs/{state['queued']}/cancel", expect=409)
            ensure(response.body["code"] == "CONFLICT", short(response.body))
        self.check("POST /v1/jobs/{queued}/cancel -> 202 CANCELED; report -> 404; again -> 409",
                   cancel_queued)

        def running():
            for job_id in state["sleepers"]:
                self.wait(job_id, ("RUNNING",), 60)
            job_id = state["sleepers"][0]
            response = self.call("GET", f"/v1/jobs/{job_id}/report", expect=409)
            ensure("RUNNING" in response.body["message"], short(response.body))
            overview = self.call("GET", "/v1/overview", expect=200).body
            ensure(overview["jobs"]["RUNNING"] >= len(state["sleepers"]), short(overview))
            ensure(overview["jobmanagers"] >= len(state["sleepers"]), short(overview))
            log = self.call("GET", f"/v1/jobs/{job_id}/log", query={"tail": 200},
                            expect=200).body
            ensure(log["size"] >= 0, short(log))
            return f"{overview['jobmanagers']} JobManagers, {overview['taskmanagers']} TMs"
        self.check("running jobs: report -> 409, overview counts them, log -> 200", running)

        def cancel_running():
            for job_id in state["sleepers"]:
                view = self.job(job_id)
                if view["state"] in END_STATES:
                    raise CheckFailed(f"{job_id} already {view['state']}")
                body = self.call("POST", f"/v1/jobs/{job_id}/cancel", expect=202).body
                ensure(body["cancel_requested"] and body["id"] == job_id, short(body))
                ensure(body["state"] in ("LAUNCHING", "RUNNING", "CANCELED"), short(body))
            for job_id in state["sleepers"]:
                view, _ = self.wait(job_id, ("CANCELED",), 60)
                ensure(view["cancel_requested"] and view["finished_at"] > 0, short(view))
            deadline = time.time() + 30
            while True:
                overview = self.call("GET", "/v1/overview", expect=200).body
                if overview["jobmanagers"] == 0:
                    break
                ensure(time.time() < deadline,
                       f"{overview['jobmanagers']} JobManagers still running after the cancels")
                time.sleep(0.2)
            canceled = self.list_jobs(state="CANCELED", limit=1000)
            ids = {job["id"] for job in canceled["jobs"]}
            ensure(set(state["sleepers"]) | {state["queued"]} <= ids, short(canceled))
        self.check("POST /v1/jobs/{running}/cancel -> 202, jobs turn CANCELED, JobManagers exit",
                   cancel_running)

    def coverage(self):
        """Every documented response the checks could not reach, for the record."""
        missed = sorted(self.api.documented() - self.api.hit)
        if missed:
            print("note: documented responses no check produced: " +
                  ", ".join(f"{m} {t} {s}" for t, m, s in missed), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="the OpenAPI document (docs/openapi.yaml)")
    parser.add_argument("--url", required=True, help="the Dispatcher, http://HOST:PORT")
    parser.add_argument("--work", required=True, help="a folder for transcripts")
    parser.add_argument("--max-upload-size", default="1MiB",
                        help="the server's --max-upload-size (default 1MiB)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds a job may take to finish (default 120)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        api = OpenApi(args.spec)
        run = Run(args, api)
    except (OSError, ValueError, yaml.YAMLError, CheckFailed) as e:
        print(f"openapi_check: {e}", file=sys.stderr)
        return 2
    run.run()
    print(f"{run.passed} passed, {run.failed} failed", flush=True)
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
