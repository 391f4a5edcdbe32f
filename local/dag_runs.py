"""Run Airflow commands against the local endpoint, each bounded in time and logged to a file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DAG_ID = "sales_etl"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
# `airflow dags test` ignores SIGTERM: `timeout -k` follows up with SIGKILL.
KILL_AFTER_SECONDS = 10


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    seconds: float
    log_file: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode in (124, 137)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def run_airflow(
    args: list[str], env: dict[str, str], log_file: Path, timeout_seconds: int
) -> CommandResult:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = ["timeout", "-k", str(KILL_AFTER_SECONDS), str(timeout_seconds), AIRFLOW, *args]
    started = time.monotonic()
    with log_file.open("w") as log:
        completed = subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return CommandResult(completed.returncode, time.monotonic() - started, log_file)


def migrate_db(env: dict[str, str], logs: Path) -> CommandResult:
    return run_airflow(["db", "migrate"], env, logs / "db-migrate.log", timeout_seconds=300)


def run_dag_for_day(
    env: dict[str, str],
    day: str,
    logs: Path,
    timeout_seconds: int,
    run_conf: dict[str, Any] | None = None,
) -> CommandResult:
    """One full DAG run for ``day`` (its logical date), as ``airflow dags test`` runs it."""
    args = ["dags", "test", DAG_ID, day]
    if run_conf:
        args += ["--conf", json.dumps(run_conf)]
    return run_airflow(args, env, logs / f"dags-test-{day}-{time.time_ns()}.log", timeout_seconds)


def run_task_for_day(
    env: dict[str, str],
    task_id: str,
    day: str,
    logs: Path,
    timeout_seconds: int,
    params: dict[str, Any] | None = None,
) -> CommandResult:
    """One try of one task for ``day`` (``airflow tasks test``: no retries, no dependencies)."""
    args = ["tasks", "test", DAG_ID, task_id, day]
    if params:
        args += ["--task-params", json.dumps(params)]
    log_file = logs / f"tasks-test-{task_id}-{day}-{time.time_ns()}.log"
    return run_airflow(args, env, log_file, timeout_seconds)


def latest_xcom(airflow_home: Path, task_id: str, logical_day: str) -> Any:
    """The return value a task pushed in the newest run of ``logical_day`` (SQLite metadata DB)."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        row = db.execute(
            "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.dag_run_id"
            " WHERE x.dag_id = ? AND x.task_id = ? AND x.key = 'return_value'"
            " AND date(r.logical_date) = ? ORDER BY r.id DESC LIMIT 1",
            (DAG_ID, task_id, logical_day),
        ).fetchone()
    if row is None:
        raise LookupError(f"no XCom from {task_id} for a {DAG_ID} run of {logical_day}")
    return json.loads(row[0])
