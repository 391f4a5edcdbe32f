"""``airflow dags test`` for several days in one Airflow process, each run bounded in time.

The runs happen in a ``local.airflow.dag_test_child`` process (see there for why one process);
this side starts it, hands it the runs, times every step out and stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.airflow.cli import KILL_AFTER_SECONDS
from local.airflow.command_result import CommandResult
from local.process_group import stop_process_group
from local.repo import REPO_ROOT

CHILD_MODULE = "local.airflow.dag_test_child"
STARTUP_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class DagRunRequest:
    day: str
    conf: dict[str, Any] | None = None


class DagTestRunner:
    """A ``local.airflow.dag_test_child`` process: Airflow starts up now, the DAG runs come later.

    ``env`` is the process environment (AIRFLOW_HOME, DAGS_FOLDER, ...); with ``migrate`` the
    runner first runs ``airflow db migrate`` (log: ``logs/db-migrate.log``). Use it as a context
    manager: leaving it stops the process (by its PID) if it is still running.
    """

    def __init__(self, env: dict[str, str], logs: Path, *, migrate: bool = False) -> None:
        self.logs = logs
        self._stamp = time.time_ns()
        self.runner_log = logs / f"dags-test-runner-{self._stamp}.log"
        self.migrate_log = logs / "db-migrate.log" if migrate else None
        logs.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        command = [sys.executable, "-m", CHILD_MODULE, "--result-fd", str(write_end)]
        if self.migrate_log:
            command += ["--migrate-log", str(self.migrate_log)]
        try:
            with self.runner_log.open("w") as log:
                self._proc = subprocess.Popen(
                    command,
                    env=env,
                    cwd=REPO_ROOT,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    pass_fds=(write_end,),
                    start_new_session=True,
                )
        finally:
            os.close(write_end)
        self._reports = _LineReader(read_end)
        self._all_ran = False

    def run(
        self, extra_env: dict[str, str], requests: list[DagRunRequest], timeout_seconds: int
    ) -> Iterator[CommandResult]:
        """Full DAG runs for each day, in order, as ``airflow dags test`` runs them.

        Yields each run's result as it finishes. Start-up must end within
        ``STARTUP_TIMEOUT_SECONDS`` and each run within ``timeout_seconds``; a run that
        overruns is reported as timed out (returncode 124), the process is stopped and the days
        after it are not run, so there can be fewer results than ``requests``. Call once.
        """
        started = time.monotonic()
        ready = self._reports.next_line(STARTUP_TIMEOUT_SECONDS)
        if not ready or not json.loads(ready)["ready"]:
            log = self.migrate_log if ready and self.migrate_log else self.runner_log
            yield CommandResult(124 if ready is None else 1, time.monotonic() - started, log)
            return
        log_files = [self.logs / f"dags-test-{r.day}-{self._stamp}.log" for r in requests]
        runs = [
            {"day": r.day, "conf": r.conf or {}, "log_file": str(f)}
            for r, f in zip(requests, log_files, strict=True)
        ]
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"env": extra_env, "runs": runs}) + "\n")
        self._proc.stdin.close()
        for log_file in log_files:
            started = time.monotonic()
            line = self._reports.next_line(timeout_seconds)
            seconds = time.monotonic() - started
            if line is None:  # timed out: stop here
                yield CommandResult(124, seconds, log_file)
                return
            if not line:  # the runner died: its own log says why
                yield CommandResult(self._proc.wait(), seconds, self.runner_log)
                return
            yield CommandResult(0 if json.loads(line)["ok"] else 1, seconds, log_file)
        self._all_ran = True

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        """Let a runner that did all its runs exit, else stop its process group by its PID."""
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()  # nothing more will be asked of it
        self._reports.close()
        _stop(self._proc, grace=KILL_AFTER_SECONDS if self._all_ran else 0)

    def __enter__(self) -> DagTestRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _LineReader:
    """Lines from a pipe, each awaited with a timeout."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def next_line(self, timeout_seconds: float) -> str | None:
        """The next line, "" at end of file, None if none came within the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._fd], [], [], remaining)[0]:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()


def _stop(proc: subprocess.Popen[str], grace: float) -> None:
    """Let the runner exit within ``grace`` seconds, else stop its process group by its PID."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    stop_process_group(proc, grace=KILL_AFTER_SECONDS)
