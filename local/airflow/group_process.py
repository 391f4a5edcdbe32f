"""Airflow components and commands in their own process groups, stopped by group, never by name.

Each is started in a new session, so its process-group id is its own PID and every process it
forks (executor workers, task supervisors, trigger runners) inherits that group. Stopping one
stops the group (``local.process_group``: SIGTERM so Airflow shuts down cleanly, SIGKILL for
whatever is still there after the grace period). Descendants seen before the stop are also
checked by PID afterwards, in case one moved to a group of its own.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from local.process_group import POLL_SECONDS, stop_process_group


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
