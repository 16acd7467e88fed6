#!/usr/bin/env python3
"""A fake Marathon: the v2 REST API, and apps run as Marathon runs them (see README.md).

    fake_marathon.py --work-dir DIR [--port 0] [--host 127.0.0.1]
                     [--http-credentials USER:PASSWORD | --dcos-token TOKEN
                      [--dcos-forbidden-token TOKEN]] [--secret SOURCE=VALUE ...]
                     [--mesos-role ROLE]

Prints `fake-marathon listening on http://HOST:PORT` once it accepts requests.
SIGTERM or SIGINT: kills every task (SIGTERM, SIGKILL after each app's
taskKillGracePeriodSeconds) and exits 0. Its log is DIR/fake-marathon.log; task
sandboxes are under DIR/sandboxes, persistent volumes under DIR/volumes.
Exit status 2: bad usage, or the Marathon rules module cannot be imported.
"""

import argparse
import functools
import http.server
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
RULES_DIR = os.path.join(REPO_ROOT, "tests", "marathon_rules")
TICK_SECONDS = 0.05
FEATURES = ("secrets",)  # Marathon's --enable_features this fake behaves as if given

sys.path.insert(0, HERE)
from fakemarathon import appdef, rest  # noqa: E402
from fakemarathon.scheduler import Scheduler  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description="A fake Marathon for tests.")
    parser.add_argument("--work-dir", required=True, help="sandboxes, volumes and the log")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (default)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on, also the agent host tasks get as HOST")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--http-credentials", metavar="USER:PASSWORD",
                      help="require HTTP Basic, as Marathon's --http_credentials")
    auth.add_argument("--dcos-token", metavar="TOKEN",
                      help="require 'Authorization: token=TOKEN', as DC/OS does")
    parser.add_argument("--dcos-forbidden-token", metavar="TOKEN",
                        help="with --dcos-token: a token that authenticates but may do nothing (403)")
    parser.add_argument("--mesos-role", metavar="ROLE",
                        help="Marathon's --mesos_role, the role of apps without one (1.9+); "
                             "unset: resident apps are judged as Marathon 1.7/1.8 judge them")
    parser.add_argument("--secret", action="append", default=[], metavar="SOURCE=VALUE",
                        help="the value of a secret source apps may reference (repeatable)")
    args = parser.parse_args(argv)
    if args.http_credentials is not None and not re.fullmatch(r"[^:]+:.+", args.http_credentials):
        parser.error("--http-credentials: expected USER:PASSWORD (the user without ':'), "
                     f"got '{args.http_credentials}'")
    if args.dcos_token == "":
        parser.error("--dcos-token: expected a non-empty token")
    if args.dcos_forbidden_token is not None and args.dcos_token is None:
        parser.error("--dcos-forbidden-token needs --dcos-token")
    secrets = {}
    for item in args.secret:
        source, equals, value = item.partition("=")
        if not equals or not source:
            parser.error(f"--secret: expected SOURCE=VALUE, got '{item}'")
        secrets[source] = value
    args.secrets = secrets
    return args


def load_validator(mesos_role):
    """`marathon_rules.validate_app` (tests/marathon_rules, unless PYTHONPATH names another)
    set up as this Marathon: a 1.10 (the fields newer than the 1.7 schema accepted),
    Marathon's rules only, its path spelling, the `secrets` feature (no GPUs), and
    `mesos_role` as its --mesos_role."""
    sys.path.append(RULES_DIR)
    try:
        import marathon_rules
    except ImportError as e:
        print(f"fake_marathon.py: cannot import the Marathon rules module marathon_rules "
              f"(expected {os.path.join(RULES_DIR, 'marathon_rules.py')}): {e}", file=sys.stderr)
        sys.exit(2)
    return functools.partial(marathon_rules.validate_app, mesos_role=mesos_role,
                             enabled_features=FEATURES, lint=False, newer_fields=True,
                             path_style="marathon")


def set_up_log(work_dir):
    handler = logging.FileHandler(os.path.join(work_dir, "fake-marathon.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("fake-marathon")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def info_body(args, port):
    """What GET /v2/info answers."""
    leader = f"{args.host}:{port}"
    return {
        "name": "marathon", "version": rest.MARATHON_VERSION, "buildref": "fake-marathon",
        "elected": True, "leader": leader, "frameworkId": f"{uuid.uuid4()}-0000",
        "marathon_config": {
            "features": list(FEATURES), "framework_name": "marathon", "hostname": args.host,
            "local_port_min": appdef.SERVICE_PORT_MIN, "local_port_max": appdef.SERVICE_PORT_MAX,
            "master": "fake-marathon runs its tasks itself", "mesos_role": args.mesos_role,
            "task_lost_expunge_initial_delay": 300000, "task_lost_expunge_interval": 30000,
            "mesos_leader_ui_url": None,
        },
        "zookeeper_config": {"zk": "zk://localhost:2181/marathon", "zk_connection_timeout": 10000,
                             "zk_max_versions": 50, "zk_session_timeout": 10000,
                             "zk_timeout": 10000},
        "http_config": {"http_port": port, "https_port": None},
    }


def main(argv):
    args = parse_args(argv)
    validator = load_validator(args.mesos_role)
    os.makedirs(args.work_dir, exist_ok=True)
    log = set_up_log(args.work_dir)
    scheduler = Scheduler(args.work_dir, args.host, validator, args.secrets, args.mesos_role)
    auth = rest.Auth(args.http_credentials, args.dcos_token, args.dcos_forbidden_token)
    server = http.server.ThreadingHTTPServer((args.host, args.port),
                                             rest.make_handler(scheduler, auth, None))
    server.daemon_threads = True
    port = server.server_address[1]
    server.RequestHandlerClass.info = info_body(args, port)
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serving.start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("listening on http://%s:%d (work dir %s)", args.host, port, args.work_dir)
    print(f"fake-marathon listening on http://{args.host}:{port}", flush=True)

    while not stop.is_set():
        scheduler.tick()
        stop.wait(TICK_SECONDS)
    log.info("stopping: killing every task")
    scheduler.begin_shutdown()
    server.shutdown()
    server.server_close()
    while not scheduler.idle():
        scheduler.tick()
        time.sleep(TICK_SECONDS)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    logging.shutdown()
    # Every task is gone; a probe still waiting for its timeout on a worker thread must not
    # hold the exit up.
    os._exit(status)
