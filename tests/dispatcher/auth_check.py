#!/usr/bin/env python3
"""Checks a live tailor-dispatcher's REST authentication (docs/security.md).

    auth_check.py --spec docs/openapi.yaml --url http://127.0.0.1:PORT --work DIR
                  --secrets FILE

FILE holds `NAME SECRET` lines: the passwords of the users alice and bob
(role submit), viewer (read) and root (admin), and `token-root` (a token of
the admin `ci`). The Dispatcher should run with --max-running-jobs 1 and
--max-queued-jobs-per-user 2.

For EVERY operation docs/openapi.yaml lists under /v1 (and GET /metrics):
no credentials answer 401 with WWW-Authenticate and an UNAUTHENTICATED
error, a wrong password 401, the read role on a POST or DELETE 403; and the
allowed cases answer 2xx. Then ownership: alice's job and session are
invisible to bob (404 as unknown ones, absent from lists) and visible to
root; the Bearer and token= forms; the queued-jobs limit (429). Every
answer is validated against the document (tests/dispatcher/openapi_check.py)
and kept in DIR/answers.log for the caller to grep for secrets.

Prints one line per check and ends with `N passed, M failed`; exits 1 on any
failure.
"""

import argparse
import base64
import http.client
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi_check import OpenApi, CheckFailed, ensure  # noqa: E402

TINY_JOB = """\
name: tiny
stages:
  - name: copy
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["in.txt"]}
    command: cat
"""

SLOW_JOB = """\
name: slow
stages:
  - name: wait
    parallelism: 1
    resources: {cpus: 0.1, mem: 32}
    input: {files: ["in.txt"]}
    command: sleep 60; cat
"""


def submission(spec):
    return {"spec": spec, "files": [{"path": "in.txt",
                                     "content": base64.b64encode(b"1\n2\n").decode()}]}


class Checker:
    def __init__(self, args):
        self.api = OpenApi(args.spec)
        parsed = urllib.parse.urlsplit(args.url)
        self.host, self.port = parsed.hostname, parsed.port
        self.secrets = {}
        with open(args.secrets, encoding="utf-8") as f:
            for line in f:
                name, secret = line.split()
                self.secrets[name] = secret
        self.answers = open(os.path.join(args.work, "answers.log"), "w", encoding="utf-8")
        self.passed = 0
        self.failed = 0

    # --- requests -----------------------------------------------------------
    def basic(self, user, password=None):
        password = self.secrets[user] if password is None else password
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def request(self, method, path, auth=None, body=None, query=None):
        """Sends a request as `auth` (an Authorization value, a user name, or None)
        and validates the answer against the document."""
        headers = {"Accept": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth if " " in auth or "=" in auth else self.basic(auth)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        target = urllib.parse.quote(path, safe="/%")
        if query:
            target += "?" + urllib.parse.urlencode(query)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, target, body=data, headers=headers)
            answer = connection.getresponse()
            status, raw = answer.status, answer.read()
            answer_headers = {k.lower(): v for k, v in answer.getheaders()}
        finally:
            connection.close()
        text = raw.decode("utf-8", "replace")
        self.answers.write(f"{method} {target} -> {status}\n")
        for name, value in answer_headers.items():
            self.answers.write(f"{name}: {value}\n")
        self.answers.write(text + "\n")
        self.answers.flush()
        body = None
        if path != "/metrics":
            _, schema = self.api.response(method, path, status, list((query or {}).keys()),
                                          answer_headers.get("content-type"))
            body = json.loads(text)
            self.api.validate(schema, body, f"{method} {path} {status}")
        return status, answer_headers, body, text

    def expect(self, status, wanted, what, text):
        ensure(status == wanted, f"{what}: status {status} (expected {wanted}): {text[:300]}")

    def check(self, name, function):
        try:
            detail = function()
            self.passed += 1
            print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)
        except CheckFailed as e:
            self.failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except Exception as e:  # noqa: BLE001 - a crash is a failed check
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)

    # --- the refusals, for every operation -----------------------------------
    def operations(self):
        out = []
        for template, item in self.api.doc["paths"].items():
            if not template.startswith("/v1/"):
                continue
            for method in ("get", "post", "delete"):
                if method in item:
                    out.append((method.upper(), template))
        return out + [("GET", "/metrics")]

    def concrete(self, template):
        return (template.replace("{id}", self.job_id)
                .replace("{name}", self.session_name))

    def refusals(self, method, template):
        path = self.concrete(template)
        body = {} if method == "POST" else None
        status, headers, answer, text = self.request(method, path, None, body)
        self.expect(status, 401, "no credentials", text)
        ensure(headers.get("www-authenticate") == 'Basic realm="tailor"',
               f"no credentials: WWW-Authenticate {headers.get('www-authenticate')!r}")
        if path != "/metrics":
            ensure(answer["code"] == "UNAUTHENTICATED", f"code {answer['code']}")
        else:
            ensure(json.loads(text)["code"] == "UNAUTHENTICATED", text)
        status, headers, _, text = self.request(method, path, self.basic("alice", "wrong"), body)
        self.expect(status, 401, "a wrong password", text)
        status, _, _, text = self.request(method, path, self.basic("nobody", "x"), body)
        self.expect(status, 401, "an unknown user", text)
        status, _, _, text = self.request(method, path, "Bearer not-a-token", body)
        self.expect(status, 401, "an unknown token", text)
        if method in ("POST", "DELETE"):
            status, _, answer, text = self.request(method, path, "viewer", body)
            self.expect(status, 403, "role read", text)
            ensure(answer["code"] == "FORBIDDEN" and "submit" in answer["message"],
                   f"403 answer {answer}")
        return "401 without, with a wrong password, an unknown user or token" + (
            "; 403 for read" if method in ("POST", "DELETE") else "")

    # --- the flow ------------------------------------------------------------
    def wait_state(self, job_id, states, seconds=120):
        deadline = time.time() + seconds
        while True:
            status, _, view, text = self.request("GET", f"/v1/jobs/{job_id}", "root")
            self.expect(status, 200, "root reads the job", text)
            if view["state"] in states:
                return view
            ensure(time.time() < deadline, f"job {job_id} still {view['state']}")
            time.sleep(0.3)

    def run(self):
        # alice's job, run to its end: every later read has something to show.
        status, _, answer, text = self.request("POST", "/v1/jobs", "alice", submission(TINY_JOB))
        self.expect(status, 201, "alice submits", text)
        self.job_id = answer["id"]
        view = self.wait_state(self.job_id, ("FINISHED",))
        ensure(view["owner"] == "alice", f"owner {view['owner']!r}")
        print(f"ok   alice's job {self.job_id} FINISHED, owner alice", flush=True)
        self.session_name = "alices"

        def start_session():
            status, _, answer, text = self.request(
                "POST", "/v1/sessions", "alice", {"name": self.session_name})
            self.expect(status, 201, "alice starts a session", text)
            ensure(answer["owner"] == "alice", f"session owner {answer['owner']!r}")
        self.check("alice starts session alices (201, owner alice)", start_session)

        for method, template in self.operations():
            self.check(f"refusals: {method} {template}",
                       lambda m=method, t=template: self.refusals(m, t))

        # The allowed cases, each answered 2xx.
        def allowed(method, path, who, wanted, query=None, body=None):
            def run_one():
                status, _, _, text = self.request(method, path, who, body, query)
                self.expect(status, wanted, f"{who}: {method} {path}", text)
            self.check(f"allowed: {who} {method} {path} -> {wanted}", run_one)

        job = f"/v1/jobs/{self.job_id}"
        for who in ("alice", "viewer", "root"):
            allowed("GET", "/v1/jobs", who, 200)
            allowed("GET", job, who, 200)
            allowed("GET", job + "/report", who, 200)
            allowed("GET", job + "/log", who, 200, {"tail": "100"})
            allowed("GET", job + "/log", who, 200, {"task": "copy[0]"})
            allowed("GET", "/v1/overview", who, 200)
            allowed("GET", "/v1/sessions", who, 200)
            allowed("GET", f"/v1/sessions/{self.session_name}", who, 200)
        for who in ("viewer", "root"):
            allowed("GET", "/v1/metrics/targets", who, 200)
            allowed("GET", "/metrics", who, 200)
        for path in ("/v1/metrics/targets", "/metrics"):
            def submit_role_sees_no_metrics(path=path):
                status, _, _, text = self.request("GET", path, "alice")
                self.expect(status, 403, "role submit on " + path, text)
                ensure("read or admin" in text, text)
            self.check(f"forbidden: alice GET {path} -> 403", submit_role_sees_no_metrics)

        # Ownership: bob sees nothing of alice's.
        def bob_sees_nothing():
            status, _, answer, text = self.request("GET", "/v1/jobs", "bob")
            ensure(all(j["id"] != self.job_id for j in answer["jobs"]), "alice's job in bob's list")
            ensure(answer["total"] == 0, f"bob's list has {answer['total']} jobs")
            unknown_status, _, unknown, _ = self.request("GET", "/v1/jobs/no-such-job-1", "bob")
            for method, suffix, query in (("GET", "", None), ("GET", "/report", None),
                                          ("GET", "/log", {"tail": "10"}),
                                          ("GET", "/log", {"task": "copy[0]"}),
                                          ("POST", "/cancel", None)):
                status, _, answer, text = self.request(method, job + suffix, "bob", None, query)
                self.expect(status, 404, f"bob: {method} {job}{suffix}", text)
                ensure(answer["message"] == f"no job with id '{self.job_id}'",
                       f"the 404 differs from an unknown job's: {answer['message']}")
            ensure(unknown_status == 404 and unknown["message"] == "no job with id 'no-such-job-1'",
                   f"unknown job: {unknown}")
            status, _, answer, _ = self.request("GET", "/v1/overview", "bob")
            ensure(sum(answer["jobs"].values()) == 0, f"bob's overview counts {answer['jobs']}")
            status, _, answer, _ = self.request("GET", "/v1/sessions", "bob")
            ensure(answer["sessions"] == [], f"bob's sessions: {answer['sessions']}")
            for method in ("GET", "DELETE"):
                status, _, answer, text = self.request(
                    method, f"/v1/sessions/{self.session_name}", "bob")
                self.expect(status, 404, f"bob: {method} alice's session", text)
                ensure(answer["message"] == f"no session named '{self.session_name}'", text)
            body = submission(TINY_JOB)
            body["session"] = self.session_name
            status, _, answer, text = self.request("POST", "/v1/jobs", "bob", body)
            self.expect(status, 404, "bob submits into alice's session", text)
            return "404 as unknown for GET, report, logs, cancel, session; empty list and overview"
        self.check("ownership: bob cannot see or touch alice's job and session", bob_sees_nothing)

        def root_sees_all():
            status, _, answer, _ = self.request("GET", "/v1/jobs", "root")
            ensure(any(j["id"] == self.job_id and j["owner"] == "alice" for j in answer["jobs"]),
                   "alice's job not in root's list")
            status, _, answer, _ = self.request("GET", "/v1/sessions", "root")
            ensure(any(s["name"] == self.session_name for s in answer["sessions"]),
                   "alice's session not in root's list")
        self.check("ownership: root sees alice's job and session", root_sees_all)

        def token_forms():
            token = self.secrets["token-root"]
            for form in (f"Bearer {token}", f"token={token}"):
                status, _, answer, text = self.request("GET", job, form)
                self.expect(status, 200, form.split()[0].split("=")[0], text)
            return "Bearer and token= both read alice's job as ci (admin)"
        self.check("token forms", token_forms)

        # Changes: alice cancels her own slow job, stops her session; root cancels bob's.
        def changes():
            status, _, answer, text = self.request("POST", "/v1/jobs", "alice", submission(SLOW_JOB))
            self.expect(status, 201, "alice submits a slow job", text)
            slow = answer["id"]
            status, _, _, text = self.request("POST", f"/v1/jobs/{slow}/cancel", "alice")
            self.expect(status, 202, "alice cancels her own job", text)
            status, _, _, text = self.request("DELETE", f"/v1/sessions/{self.session_name}",
                                              "alice")
            self.expect(status, 202, "alice stops her session", text)
            status, _, answer, text = self.request("POST", "/v1/jobs", "bob", submission(SLOW_JOB))
            self.expect(status, 201, "bob submits", text)
            bobs = answer["id"]
            status, _, _, text = self.request("POST", f"/v1/jobs/{bobs}/cancel", "root")
            self.expect(status, 202, "root cancels bob's job", text)
            status, _, answer, text = self.request("POST", "/v1/sessions", "root", {"name": "roots"})
            self.expect(status, 201, "root starts a session", text)
            status, _, _, text = self.request("DELETE", "/v1/sessions/roots", "root")
            self.expect(status, 202, "root stops its session", text)
            return "202 for alice's own cancel and stop, root's cancel of bob's job"
        self.check("allowed changes", changes)

        def queue_limit():
            ids = []
            # One runs (--max-running-jobs 1), two queue, the next is refused.
            for n in range(3):
                status, _, answer, text = self.request("POST", "/v1/jobs", "bob",
                                                       submission(SLOW_JOB))
                self.expect(status, 201, f"bob's slow job {n + 1}", text)
                ids.append(answer["id"])
                if n == 0:
                    self.wait_state(answer["id"], ("LAUNCHING", "RUNNING"))
            status, _, answer, text = self.request("POST", "/v1/jobs", "bob", submission(SLOW_JOB))
            self.expect(status, 429, "bob's fourth job", text)
            ensure(answer["code"] == "RESOURCE_EXHAUSTED", text)
            ensure("--max-queued-jobs-per-user 2" in answer["message"], text)
            # alice has room of her own.
            status, _, answer, text = self.request("POST", "/v1/jobs", "alice",
                                                   submission(SLOW_JOB))
            self.expect(status, 201, "alice's job while bob is at his limit", text)
            ids.append(answer["id"])
            for job_id in ids:
                self.request("POST", f"/v1/jobs/{job_id}/cancel", "root")
            return "429 RESOURCE_EXHAUSTED naming the flag; another user still submits"
        self.check("queued-jobs limit per user", queue_limit)

        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--secrets", required=True)
    args = parser.parse_args()
    try:
        return Checker(args).run()
    except CheckFailed as e:
        print(f"FAIL {e}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
