"""The HTTP side: Marathon's v2 REST routes, its status codes, error bodies and auth."""

import base64
import http.server
import json
import logging
import re
import traceback
import urllib.parse

from . import views
from .scheduler import ApiError
from .state import Deployment

log = logging.getLogger("fake-marathon")

MARATHON_VERSION = "1.10.26"
MAX_BODY_BYTES = 16 * 1024 * 1024
_ROUTES = [
    # (method, regular expression on the path after /v2/apps/, handler name)
    ("POST", re.compile(r"^(.+)/restart$"), "restart_app"),
    ("GET", re.compile(r"^(.+)/tasks$"), "list_tasks"),
    ("DELETE", re.compile(r"^(.+)/tasks/([^/]+)$"), "kill_task"),
    ("GET", re.compile(r"^(.+)/versions$"), "list_versions"),
    ("GET", re.compile(r"^(.+)/versions/([^/]+)$"), "show_version"),
    ("GET", re.compile(r"^(.+)$"), "show_app"),
    ("PUT", re.compile(r"^(.+)$"), "put_app"),
    ("PATCH", re.compile(r"^(.+)$"), "patch_app"),
    ("DELETE", re.compile(r"^(.+)$"), "delete_app"),
]
_SELECTOR_EQUALITY = re.compile(r"^\s*([^\s=!,()]+)\s*(==|!=)\s*([^,()]*?)\s*$")
_SELECTOR_SET = re.compile(r"^\s*([^\s=!,()]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")
_SELECTOR_EXISTS = re.compile(r"^\s*([^\s=!,()]+)\s*$")


class Auth:
    """HTTP Basic as Marathon's `--http_credentials` (Jetty's constraint covers every
    path), or DC/OS' `Authorization: token=<token>` as Admin Router checks it."""

    def __init__(self, credentials=None, token=None, forbidden_token=None):
        self.credentials = credentials
        self.token = token
        self.forbidden_token = forbidden_token

    def refusal(self, header):
        """None when `header` (the Authorization value or None) may pass, else (status,
        headers, content type, body)."""
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if header == expected:
                return None
            body = ("<html><head><title>Error 401 Unauthorized</title></head><body>"
                    "<h2>HTTP ERROR 401</h2><p>Unauthorized</p></body></html>\n")
            return 401, {"WWW-Authenticate": 'Basic realm="Mesosphere"'}, "text/html", body
        if self.token is not None:
            given = header[len("token="):] if header and header.startswith("token=") else None
            if given == self.token:
                return None
            if given is not None and given == self.forbidden_token:
                return 403, {}, "application/json", json.dumps(
                    {"message": "Not Authorized to perform this action!"})
            return 401, {"WWW-Authenticate": "acsjwt"}, "application/json", json.dumps(
                {"message": "Authentication required: send 'Authorization: token=<token>'"})
        return None


def _flag(query, name, default):
    values = query.get(name)
    return default if not values else values[-1].lower() == "true"


def _embeds(query, prefix):
    embeds = set()
    for value in query.get("embed", []):
        for item in value.split(","):
            if item.startswith(prefix):
                name = item[len(prefix):]
                embeds.update({"failures": ("lastTaskFailure", "tasks")}.get(name, (name,)))
    return embeds


def _label_selector(text):
    """A predicate over labels for `?label=` (`k`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
    comma-separated for all of them); ApiError 422 when it does not parse."""
    parts = re.findall(r"(?:[^,(]|\([^)]*\))+", text)
    tests = []
    for part in parts:
        if m := _SELECTOR_SET.match(part):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            tests.append(lambda labels, k=key, o=op, vs=values:
                         (labels.get(k) in vs) == (o == "in") and (o == "notin" or k in labels))
        elif m := _SELECTOR_EQUALITY.match(part):
            key, op, value = m.groups()
            tests.append(lambda labels, k=key, o=op, v=value: (labels.get(k) == v) == (o == "=="))
        elif m := _SELECTOR_EXISTS.match(part):
            tests.append(lambda labels, k=m.group(1): k in labels)
        else:
            raise ApiError(422, {"message": f"Can not parse label selector {text}"})
    return lambda labels: all(test(labels) for test in tests)


def make_handler(scheduler, auth, info):
    """The request handler class of a server answering for `scheduler`."""

    class Handler(MarathonHandler):
        pass

    Handler.scheduler = scheduler
    Handler.auth = auth
    Handler.info = info
    return Handler


class MarathonHandler(http.server.BaseHTTPRequestHandler):
    """Routes one request; every answer is JSON except /ping and auth refusals."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-marathon"
    scheduler = None
    auth = None
    info = None

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def log_message(self, format, *args):
        log.debug("http: " + format, *args)

    # ------------------------------------------------------------------ plumbing

    def _dispatch(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        try:
            self.request_body = self._read_body()
            refusal = self.auth.refusal(self.headers.get("Authorization"))
            if refusal is not None:
                status, headers, content_type, body = refusal
                self._send(status, body.encode(), content_type, headers)
                return
            self._route(method, path)
        except ApiError as e:
            self._send_json(e.status, e.body)
        except Exception as e:  # a bug here must not take the fake down
            log.error("%s %s failed: %s", method, self.path, traceback.format_exc())
            self._send_json(500, {"message": f"fake-marathon: {type(e).__name__}: {e}"})

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                if sum(len(c) for c in chunks) > MAX_BODY_BYTES:
                    raise ApiError(413, {"message": "Request Entity Too Large"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, {"message": "Request Entity Too Large"})
        return self.rfile.read(length) if length else b""

    def _json_body(self):
        try:
            return json.loads(self.request_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ApiError(400, {"message": "Invalid JSON", "details": str(e)}) from None

    def _send(self, status, payload, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        log.info("%s %s -> %d", self.command, self.path, status)

    def _send_json(self, status, body, headers=None):
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _deployment_answer(self, status, deployment, headers=None):
        headers = dict(headers or {}, **{"Marathon-Deployment-Id": deployment.id})
        self._send_json(status, views.deployment_result(deployment), headers)

    def _location(self, app_id):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"http://{host}/v2/apps{app_id}"

    def _route(self, method, path):
        fixed = {
            ("GET", "/ping"): self.ping,
            ("GET", "/v2/info"): self.show_info,
            ("GET", "/v2/leader"): self.show_leader,
            ("GET", "/v2/apps"): self.list_apps,
            ("POST", "/v2/apps"): self.create_app,
            ("GET", "/v2/deployments"): self.list_deployments,
        }
        if (method, path.rstrip("/")) in fixed:
            fixed[(method, path.rstrip("/"))]()
            return
        if path.startswith("/v2/apps/") and len(path) > len("/v2/apps/"):
            rest = path[len("/v2/apps/"):]
            for route_method, pattern, name in _ROUTES:
                match = pattern.match(rest)
                if route_method == method and match:
                    getattr(self, name)(*match.groups())
                    return
            raise ApiError(405, {"message": "Method Not Allowed"})
        if any(path.rstrip("/") == known for _, known in fixed):
            raise ApiError(405, {"message": "Method Not Allowed"})
        raise ApiError(404, {"message": "URI not found"})

    # ------------------------------------------------------------------ routes

    def ping(self):
        self._send(200, b"pong", "text/plain")

    def show_info(self):
        self._send_json(200, self.info)

    def show_leader(self):
        self._send_json(200, {"leader": self.info["leader"]})

    def list_apps(self):
        embed = {"counts", "deployments"} | _embeds(self.query, "apps.")
        id_filter = (self.query.get("id") or [None])[-1]
        cmd_filter = (self.query.get("cmd") or [None])[-1]
        label_filter = self.query.get("label")
        selector = _label_selector(label_filter[-1]) if label_filter else None
        with self.scheduler.lock:
            apps = []
            for state in self.scheduler.apps.values():
                app = state.app
                if id_filter and id_filter.lower() not in app["id"].lower():
                    continue
                if cmd_filter and cmd_filter.lower() not in (app.get("cmd") or "").lower():
                    continue
                if selector and not selector(app["labels"]):
                    continue
                apps.append(views.app_json(state, self.scheduler, embed))
        self._send_json(200, {"apps": apps})

    def create_app(self):
        body = self._json_body()
        with self.scheduler.lock:
            state, deployment = self.scheduler.create_app(body, _flag(self.query, "force", False))
            answer = views.app_json(state, self.scheduler, {"counts"})
            answer["deployments"] = [{"id": deployment.id}]
            answer["tasks"] = []
        self._send_json(201, answer, {"Location": self._location(state.app["id"]),
                                      "Marathon-Deployment-Id": deployment.id})

    def show_app(self, app_id):
        embed = {"counts", "tasks", "lastTaskFailure", "deployments"} | _embeds(self.query, "app.")
        with self.scheduler.lock:
            state = self.scheduler.app(app_id)
            answer = views.app_json(state, self.scheduler, embed)
        self._send_json(200, {"app": answer})

    def put_app(self, app_id, partial_default=True, allow_creation=True):
        body = self._json_body()
        partial = _flag(self.query, "partialUpdate", partial_default)
        with self.scheduler.lock:
            created, deployment = self.scheduler.put_app(
                app_id, body, partial, _flag(self.query, "force", False), allow_creation)
            canonical = deployment.app_id
        if created:
            self._deployment_answer(201, deployment, {"Location": self._location(canonical)})
        else:
            self._deployment_answer(200, deployment)

    def patch_app(self, app_id):
        self.put_app(app_id, partial_default=True, allow_creation=False)

    def delete_app(self, app_id):
        with self.scheduler.lock:
            deployment = self.scheduler.delete_app(app_id, _flag(self.query, "force", True))
        self._deployment_answer(200, deployment)

    def restart_app(self, app_id):
        with self.scheduler.lock:
            deployment = self.scheduler.restart_app(app_id, _flag(self.query, "force", False))
        self._deployment_answer(200, deployment)

    def list_tasks(self, app_id):
        with self.scheduler.lock:
            state = self.scheduler.app(app_id)
            tasks = [views.task_json(task, self.scheduler) for task in state.tasks()]
        self._send_json(200, {"tasks": tasks})

    def kill_task(self, app_id, task_id):
        with self.scheduler.lock:
            outcome = self.scheduler.kill_task(
                app_id, task_id, _flag(self.query, "scale", False), _flag(self.query, "wipe", False),
                _flag(self.query, "force", False))
            answer = None if isinstance(outcome, Deployment) else {
                "task": views.task_json(outcome, self.scheduler)}
        if answer is None:
            self._deployment_answer(200, outcome)
        else:
            self._send_json(200, answer)

    def list_versions(self, app_id):
        with self.scheduler.lock:
            state = self.scheduler.app(app_id)
            versions = sorted(state.versions, reverse=True)
        self._send_json(200, {"versions": versions})

    def show_version(self, app_id, version):
        with self.scheduler.lock:
            state = self.scheduler.app(app_id)
            app = state.versions.get(version)
            if app is None:
                raise ApiError(404, {"message": f"App '{state.app['id']}' does not exist "
                                                f"in version {version}"})
        self._send_json(200, app)

    def list_deployments(self):
        with self.scheduler.lock:
            answer = [views.deployment_json(d, self.scheduler)
                      for d in self.scheduler.deployments.values()]
        self._send_json(200, answer)
