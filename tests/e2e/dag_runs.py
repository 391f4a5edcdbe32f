"""DAG runs, task tries and XComs for the end-to-end tests, against the local endpoint."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from local.airflow.cli import DAG_ID
from local.airflow.command_result import CommandResult
from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner
from tests.airflow_cli import run_airflow


def migrate_db(env: dict[str, str], logs: Path) -> CommandResult:
    return run_airflow(["db", "migrate"], env, logs / "db-migrate.log", timeout_seconds=300)


def run_dag_for_days(
    env: dict[str, str], requests: list[DagRunRequest], logs: Path, timeout_seconds: int
) -> list[CommandResult]:
    """``DagTestRunner.run`` in a runner of its own (see there)."""
    with DagTestRunner(env, logs) as runner:
        return list(runner.run({}, requests, timeout_seconds))


def run_dag_for_day(
    env: dict[str, str],
    day: str,
    logs: Path,
    timeout_seconds: int,
    run_conf: dict[str, Any] | None = None,
) -> CommandResult:
    """One full DAG run for ``day`` (its logical date), as ``airflow dags test`` runs it."""
    return run_dag_for_days(env, [DagRunRequest(day, run_conf)], logs, timeout_seconds)[0]


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
