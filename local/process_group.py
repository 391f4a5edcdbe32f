"""Stop a child process and everything it forked, by its process group and never by name.

Children started with ``start_new_session=True`` lead a process group whose id is their PID;
every process they fork (a JVM, executor workers, task supervisors) inherits that group, so
signalling the group reaches all of them and nothing this program did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from typing import Any

import psutil

POLL_SECONDS = 0.2
# After SIGKILL the group's members disappear once their parents reap them.
KILL_WAIT_SECONDS = 5.0


def stop_process_group(
    proc: subprocess.Popen[Any], grace: float, *, whole_group: bool = False
) -> None:
    """SIGTERM ``proc``'s group, wait up to ``grace`` seconds, then SIGKILL what is left.

    The wait ends when ``proc`` exits or, with ``whole_group``, when every member has exited
    (for a parent whose children still need time to shut down cleanly); ``whole_group`` also
    waits for the killed members to disappear, so the caller can check for survivors. Reaps
    ``proc``. A child that already exited and left no group members is left alone.
    """
    if proc.poll() is not None and not group_exists(proc.pid):
        return
    signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    if whole_group:
        wait_until_gone(proc.pid, deadline)
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    if whole_group:
        wait_until_gone(proc.pid, time.monotonic() + KILL_WAIT_SECONDS)


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_exists(pgid: int) -> bool:
    """Whether a process of the group is still running.

    A member that has exited but is not yet reaped (a zombie) does not count: when its parent
    exits first, the orphan is reaped by init, which on some machines does so only every second
    or two; waiting for that would add up to two seconds to every stop.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_running_member(proc, pgid) for proc in psutil.process_iter(["status"]))


def _running_member(proc: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, PermissionError):
        return False


def wait_until_gone(pgid: int, deadline: float, poll: float = POLL_SECONDS) -> bool:
    """Wait until no process of the group runs, or ``time.monotonic()`` passes ``deadline``;
    whether the group is gone."""
    while group_exists(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
