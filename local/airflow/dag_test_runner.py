"""``airflow dags test`` for several days in one Airflow process, each run bounded in time.

The runs happen in a ``local.airflow.dag_test_child`` process (see there for why one process);
this side starts it, hands it batches of runs, times every step out and stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.airflow.cli import DAG_ID
from local.airflow.command_result import CommandResult
from local.process_group import stop_process_group
from local.repo import REPO_ROOT
from local.stack_config import local_variables

CHILD_MODULE = "local.airflow.dag_test_child"
STARTUP_TIMEOUT_SECONDS = 300
# A runner whose stdin is closed exits on its own once its batch is done.
EXIT_GRACE_SECONDS = 10.0
SIGTERM_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class DagRunRequest:
    """A full DAG run for ``day`` (its logical date): ``airflow dags test``."""

    day: str
    conf: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"dags-test-{self.day}"

    def cli_args(self) -> list[str]:
        conf = ["--conf", json.dumps(self.conf)] if self.conf else []
        return ["dags", "test", DAG_ID, self.day, *conf]


@dataclass(frozen=True)
class TaskTestRequest:
    """One try of one task for ``day``, no retries, no upstream: ``airflow tasks test``."""

    task_id: str
    day: str
    params: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"tasks-test-{self.task_id}-{self.day}"

    def cli_args(self) -> list[str]:
        params = ["--task-params", json.dumps(self.params)] if self.params else []
        return ["tasks", "test", DAG_ID, self.task_id, self.day, *params]


Request = DagRunRequest | TaskTestRequest


class DagTestRunner:
    """A ``local.airflow.dag_test_child`` process: Airflow starts up now, the DAG runs come later.

    ``env`` is the process environment (AIRFLOW_HOME, DAGS_FOLDER, ...); with ``migrate`` the
    runner first runs ``airflow db migrate`` (log: ``logs/db-migrate.log``), then stores
    ``variables`` in the metastore (by default the local config Variable, as the stack's
    ``sales_etl_config``: runs read it from there, as on MWAA). ``run`` may be
    called again and again, each batch in the same Airflow process. Use it as a context
    manager: leaving it stops the process (by its PID) if it is still running.
    """

    def __init__(
        self,
        env: dict[str, str],
        logs: Path,
        *,
        migrate: bool = False,
        python: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.logs = logs
        self._stamp = time.time_ns()
        self.runner_log = logs / f"dags-test-runner-{self._stamp}.log"
        self.migrate_log = logs / "db-migrate.log" if migrate else None
        logs.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        # ``python``: another venv's interpreter (another Airflow version, make compat).
        command = [python or sys.executable, "-m", CHILD_MODULE, "--result-fd", str(write_end)]
        if self.migrate_log:
            stored = local_variables() if variables is None else dict(variables)
            command += ["--migrate-log", str(self.migrate_log), "--variables", json.dumps(stored)]
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
        self._ready: bool | None = None  # None until start-up has been awaited
        self._usable = True  # False once a batch was cut short: the process is then stopped

    def run(
        self, extra_env: dict[str, str], requests: Sequence[Request], timeout_seconds: int
    ) -> Iterator[CommandResult]:
        """Run each request, in order, as the ``airflow`` CLI runs it, with ``extra_env`` added.

        Yields each result as it finishes. Start-up must end within ``STARTUP_TIMEOUT_SECONDS``
        and each request within ``timeout_seconds``; one that overruns is reported as timed out
        (returncode 124), the process is stopped and the requests after it are not run, so there
        can be fewer results than ``requests`` (and a later call raises ``RuntimeError``).
        ``extra_env`` holds for this batch only.
        """
        if not self._usable:
            raise RuntimeError(f"the dags-test runner was stopped; log: {self.runner_log}")
        started = time.monotonic()
        if self._ready is None:
            ready = self._reports.next_line(STARTUP_TIMEOUT_SECONDS)
            self._ready = bool(ready) and json.loads(ready or "{}")["ready"]
            if not self._ready:
                self._usable = False
                log = self.migrate_log if ready and self.migrate_log else self.runner_log
                yield CommandResult(124 if ready is None else 1, time.monotonic() - started, log)
                return
        log_files = [self.logs / f"{r.name}-{time.time_ns()}.log" for r in requests]
        commands = [
            {"args": r.cli_args(), "log_file": str(f)}
            for r, f in zip(requests, log_files, strict=True)
        ]
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"env": extra_env, "commands": commands}) + "\n")
        self._proc.stdin.flush()
        for log_file in log_files:
            started = time.monotonic()
            line = self._reports.next_line(timeout_seconds)
            seconds = time.monotonic() - started
            if line is None:  # timed out: stop here
                self._usable = False
                self.stop()
                yield CommandResult(124, seconds, log_file)
                return
            if not line:  # the runner died: its own log says why
                self._usable = False
                yield CommandResult(self._proc.wait(), seconds, self.runner_log)
                return
            yield CommandResult(0 if json.loads(line)["ok"] else 1, seconds, log_file)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        """Let a runner that finished its batches exit, else stop its process group by PID."""
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()  # nothing more will be asked of it: the child exits
        self._reports.close()
        _stop(self._proc, grace=EXIT_GRACE_SECONDS if self._usable else 0)

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
    # `airflow dags test` ignores SIGTERM, so waiting long for it would only delay the SIGKILL.
    stop_process_group(proc, grace=SIGTERM_GRACE_SECONDS)
