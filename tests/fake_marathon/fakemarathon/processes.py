"""Task processes: start a command in its sandbox, signal its whole tree, describe its end.

A task runs in a session of its own (its pid is the session id), as Mesos' command
executor starts it; everything it forks stays in that session unless it calls
setsid itself, and is signalled with it.
"""

import os
import signal
import subprocess


def start(app, sandbox, env):
    """Starts the app's `cmd` with `/bin/sh -c` (or its `args` as an argv) in `sandbox`.

    stdout and stderr go to the sandbox's `stdout` and `stderr` files (appended to:
    the fetcher wrote its lines to `stderr` first). Returns the Popen; raises OSError
    when the program cannot be started.
    """
    argv = ["/bin/sh", "-c", app["cmd"]] if app.get("cmd") else list(app["args"])
    with open(os.path.join(sandbox, "stdout"), "ab") as out, \
            open(os.path.join(sandbox, "stderr"), "ab") as err:
        return subprocess.Popen(argv, cwd=sandbox, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)


def session_members(session_id):
    """Pids of the live processes whose session is `session_id` (from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session, ...
        if int(fields[3]) == session_id and fields[0] != b"Z":
            members.append(int(entry))
    return members


def signal_tree(session_id, signum):
    """Sends `signum` to every process of the task's session. Returns how many got it."""
    sent = 0
    for pid in session_members(session_id):
        try:
            os.kill(pid, signum)
            sent += 1
        except ProcessLookupError:
            pass
    return sent


def describe_exit(returncode):
    """Mesos' message for how a command ended: `Command exited with status 3`,
    `Command terminated with signal Killed`."""
    if returncode < 0:
        return f"Command terminated with signal {signal.strsignal(-returncode)}"
    return f"Command exited with status {returncode}"
