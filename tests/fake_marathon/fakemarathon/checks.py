"""Health and readiness checks: one probe at a time, and the health record of a task.

Probes block (network, a command) and run on worker threads; `HealthRecord` is
plain state the scheduler updates with their results.
"""

import http.client
import socket
import ssl
import subprocess

from . import appdef


class ProbeResult:
    """The outcome of one probe: `ok`, and why not (`cause`), and for HTTP the response."""

    def __init__(self, ok, cause="", status=None, content_type="", body=""):
        self.ok = ok
        self.cause = cause
        self.status = status
        self.content_type = content_type
        self.body = body


def probe_http(scheme, host, port, path, timeout, ok_statuses=None):
    """GET `scheme://host:port/path`. Passes with a status in `ok_statuses`, else 200-399.

    HTTPS certificates are not verified (Marathon and Mesos do not either).
    """
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                 context=ssl._create_unverified_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path or "/")
        response = connection.getresponse()
        body = response.read(64 * 1024).decode("utf-8", "replace")
        content_type = response.getheader("Content-Type", "")
        passed = (response.status in ok_statuses) if ok_statuses else 200 <= response.status < 400
        cause = "" if passed else f"{response.status} {response.reason}"
        return ProbeResult(passed, cause, response.status, content_type, body)
    except (OSError, http.client.HTTPException) as e:
        return ProbeResult(False, f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def probe_tcp(host, port, timeout):
    """Passes when a TCP connection to host:port opens within `timeout`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ProbeResult(True)
    except OSError as e:
        return ProbeResult(False, f"{type(e).__name__}: {e}")


def probe_command(command, cwd, env, timeout):
    """Passes when `/bin/sh -c command` exits 0 within `timeout` (run in the sandbox)."""
    try:
        completed = subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=timeout,
                                   start_new_session=True)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"Command timed out after {timeout} seconds")
    except OSError as e:
        return ProbeResult(False, str(e))
    if completed.returncode == 0:
        return ProbeResult(True)
    return ProbeResult(False, f"Command exited with status {completed.returncode}")


def probe_health(check, host, host_ports, sandbox, env):
    """Runs one probe of an app health check against a task. Never raises."""
    protocol = check["protocol"]
    timeout = check["timeoutSeconds"]
    if protocol == "COMMAND":
        return probe_command(check["command"]["value"], sandbox, env, timeout)
    port = check["port"] if "port" in check else host_ports[check["portIndex"]]
    # Mesos runs its checks on the agent against loopback; Marathon against the host.
    target = "127.0.0.1" if protocol in appdef.MESOS_HEALTH_PROTOCOLS else host
    if protocol in ("TCP", "MESOS_TCP"):
        return probe_tcp(target, port, timeout)
    scheme = "https" if protocol.endswith("HTTPS") else "http"
    return probe_http(scheme, target, port, check.get("path", "/"), timeout)


def probe_readiness(check, host, port):
    """Runs one probe of a readiness check; ready when the status is one it lists."""
    scheme = "https" if check["protocol"] == "HTTPS" else "http"
    return probe_http(scheme, host, port, check["path"], check["timeoutSeconds"],
                      set(check["httpStatusCodesForReady"]))


class HealthRecord:
    """What Marathon shows of one health check of one task (`healthCheckResults[]`).

    Failures are ignored while the task has never passed and is within the check's
    grace period. A Mesos-level check (MESOS_*, COMMAND) asks for a kill when its
    consecutive failures reach `maxConsecutiveFailures` (Mesos' health checker); a
    Marathon-level one (HTTP, HTTPS, TCP) when a failure comes after that many, and
    never when it is 0 (Marathon's HealthCheckActor).
    """

    def __init__(self, check, instance_id):
        self.check = check
        self.instance_id = instance_id
        self.consecutive_failures = 0
        self.first_success = None
        self.last_success = None
        self.last_failure = None
        self.last_failure_cause = None
        self.probed = False

    @property
    def alive(self):
        """Passed last (Marathon: the last success is later than the last failure)."""
        return self.last_success is not None and (
            self.last_failure is None or self.last_success > self.last_failure)

    def record(self, result, now, running_since):
        """Takes a probe result at wall time `now`; returns True when the task must be killed."""
        self.probed = True
        if result.ok:
            self.consecutive_failures = 0
            self.last_success = now
            if self.first_success is None:
                self.first_success = now
            return False
        if self.first_success is None and now - running_since <= self.check["gracePeriodSeconds"]:
            return False
        previous = self.consecutive_failures
        self.consecutive_failures += 1
        self.last_failure = now
        self.last_failure_cause = result.cause
        limit = self.check["maxConsecutiveFailures"]
        if self.check["protocol"] in appdef.MESOS_HEALTH_PROTOCOLS:
            return self.consecutive_failures >= limit
        return limit > 0 and previous >= limit

    def to_json(self):
        """The `Health` object of Marathon's REST API."""
        health = {"alive": self.alive, "consecutiveFailures": self.consecutive_failures,
                  "instanceId": self.instance_id}
        for key, value in (("firstSuccess", self.first_success), ("lastSuccess", self.last_success),
                           ("lastFailure", self.last_failure)):
            if value is not None:
                health[key] = appdef.timestamp(value)
        if self.last_failure_cause is not None:
            health["lastFailureCause"] = self.last_failure_cause
        return health
