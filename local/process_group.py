"""Child processes in their own process groups, stopped by group and never by name.

Children started with ``start_new_session=True`` lead a process group whose id is their PID;
every process they fork (a JVM, executor workers, task supervisors) inherits that group, so
signalling the group reaches all of them and nothing this program did not start.

One module for every part of ``local/`` that starts children:

- ``stop_process_group``, ``group_exists``, ``wait_until_gone``: stop a child and its group,
  and check that nothing of it is left (every caller).
- ``ProcessRegistry``: the local AWS endpoint's children (Glue job scripts, the warm Spark
  driver, Lambda handlers), tracked so that stopping the endpoint stops them all.
- ``GroupProcess``, ``spawn``, ``run_bounded``, ``stop_all``: the local Airflow stack's
  components and commands, each logging to a file; stopping one SIGTERMs its group so Airflow
  shuts down cleanly, SIGKILLs whatever is still there after the grace period, and also checks
  by PID the descendants seen before the stop, in case one moved to a group of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil

POLL_SECONDS = 0.2
# After SIGKILL the group's members disappear once their parents reap them.
KILL_WAIT_SECONDS = 5.0
# How long an endpoint child gets between SIGTERM and SIGKILL.
GRACE_SECONDS = 5.0


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


# -- the local AWS endpoint's children ----------------------------------------------------


class StopsOnExit:
    """A ``with`` block stops what the object started, however the block ends."""

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ProcessRegistry:
    """Start, track and stop the endpoint's child processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[Any]] = {}
        self._closed = False

    def spawn(self, args: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the local AWS endpoint is shutting down")
            proc = subprocess.Popen(list(args), start_new_session=True, **popen_kwargs)
            self._procs[proc.pid] = proc
            return proc

    def release(self, proc: subprocess.Popen[Any]) -> None:
        """Forget a child that has exited (reaping it first)."""
        proc.poll()
        with self._lock:
            self._procs.pop(proc.pid, None)

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(self._procs)

    @staticmethod
    def terminate(proc: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
        """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds."""
        stop_process_group(proc, grace)

    def stop_all(self) -> None:
        """Refuse new children and stop every running one."""
        with self._lock:
            self._closed = True
            procs = list(self._procs.values())
        threads = [threading.Thread(target=self.terminate, args=(p,)) for p in procs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self._lock:
            self._procs.clear()


# -- the local Airflow stack's components and commands ----------------------------------


@dataclass
class GroupProcess:
    """A started command whose process group is its own PID."""

    name: str
    proc: subprocess.Popen[bytes]
    log_file: Path
    _seen: dict[int, psutil.Process] = field(default_factory=dict, repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def remember_descendants(self) -> None:
        """Record the current descendants so ``stop`` can find any that left the group."""
        # Forget the ones that ended (a long session runs thousands of task processes).
        self._seen = {pid: p for pid, p in self._seen.items() if _running(p)}
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children(recursive=True):
                self._seen.setdefault(child.pid, child)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float) -> None:
        """SIGTERM the group, wait up to ``grace`` seconds for it to empty, then SIGKILL it."""
        self.remember_descendants()
        stop_process_group(self.proc, grace, whole_group=True)
        killed = []
        for child in self._seen.values():
            # psutil refuses to signal a PID that now belongs to a different process.
            with contextlib.suppress(psutil.Error):
                child.kill()
                killed.append(child)
        psutil.wait_procs(killed, timeout=grace)  # SIGKILL is delivered asynchronously

    def leftovers(self) -> list[int]:
        """PIDs of this command or its recorded descendants that still run."""
        pids = [self.pid] if self.alive() else []
        pids += [pid for pid, proc in self._seen.items() if _running(proc)]
        return sorted(pids)


def spawn(name: str, args: Sequence[str], env: dict[str, str], log_file: Path) -> GroupProcess:
    """Start ``args`` in a new session (process group = its PID), output appended to a log."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(args),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return GroupProcess(name, proc, log_file)


def stop_all(processes: Sequence[GroupProcess], grace: float) -> None:
    """Stop several groups at once (each stop waits up to ``grace`` seconds)."""
    threads = [threading.Thread(target=p.stop, args=(grace,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_bounded(
    name: str,
    args: Sequence[str],
    env: dict[str, str],
    log_file: Path,
    timeout: float,
    cancelled: Callable[[], bool] = lambda: False,
) -> int | None:
    """Run a command to completion in its own group; None if it timed out or was cancelled.

    Used instead of ``timeout -k`` so that an interrupt of the caller stops the whole group
    right away (``timeout`` puts the command in a group the terminal's Ctrl-C never reaches).
    """
    process = spawn(name, args, env, log_file)
    deadline = time.monotonic() + timeout
    try:
        while process.alive():
            if cancelled() or time.monotonic() > deadline:
                process.stop(grace=5)
                return None
            process.remember_descendants()
            time.sleep(POLL_SECONDS)
        return process.proc.returncode
    finally:
        if process.alive():  # an exception (e.g. KeyboardInterrupt) while waiting
            process.stop(grace=5)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
