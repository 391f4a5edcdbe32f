"""The end-to-end tests' pipeline: the days they seed and run, one provisioned, seeded
endpoint with one Airflow process (``DagTestRunner``) for every run, what the runs recorded,
and what they left in Airflow's metadata database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from local.airflow.cli import DAG_ID
from local.airflow.command_result import CommandResult
from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner, Request, TaskTestRequest
from local.aws_local import EndpointClients
from local.data.synthetic_sales import (
    SALES_HEADER,
    sales_file,
    write_csv,
    write_recipe_sample_lake,
)
from local.endpoint import RunningEndpoint
from local.endpoint.http.call_log import Call
from sales_contract.layout import sales_partition_prefix
from sales_etl.config import PipelineConfig
from tests.support.alerts import AlertInbox

# Seeded on top of the recipe's sample: bad rows on 2024-01-16 (under this suite's threshold)
# and on 2024-01-17 (used to push a run over a zero threshold).
EXTRA_ROWS = {
    "2024-01-16": [("1099", "C999", "P001", "1", "10.00", "2024-01-16", "North")],
    "2024-01-17": [("1098", "C998", "P001", "1", "10.00", "2024-01-17", "West")],
}
RECIPE_INVALID_FILE_DAY = "2024-01-16"
E2E_CONFIG = {"max_quarantine_ratio": 0.6}
RUN_TIMEOUT = 300
DAYS = ("2024-01-15", "2024-01-16")
FAILING_DAY = "2024-01-17"  # its bad row fails a zero max_quarantine_ratio


@dataclass
class Pipeline:
    """The seeded endpoint and one Airflow process (a ``DagTestRunner``) for every run."""

    endpoint: RunningEndpoint
    aws: EndpointClients
    cfg: PipelineConfig
    env: dict[str, str]
    airflow_home: Path
    logs: Path
    runner: DagTestRunner
    alerts: AlertInbox

    def run_day(self, day: str, run_conf: dict[str, Any] | None = None) -> CommandResult:
        return self.run_days([day], run_conf)[0]

    def run_days(
        self, days: Sequence[str], run_conf: dict[str, Any] | None = None
    ) -> list[CommandResult]:
        """Full DAG runs, in order; fewer results if one timed out."""
        return self._run([DagRunRequest(day, run_conf) for day in days])

    def run_task(
        self,
        task_id: str,
        day: str,
        env: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> CommandResult:
        """One try of one task (``airflow tasks test``); ``env`` overrides for this call only."""
        return self._run([TaskTestRequest(task_id, day, params)], env)[0]

    def _run(
        self, requests: list[Request], env: dict[str, str] | None = None
    ) -> list[CommandResult]:
        return list(self.runner.run(env or {}, requests, RUN_TIMEOUT))


def write_e2e_lake(base: Path) -> None:
    write_recipe_sample_lake(base)
    for day, rows in EXTRA_ROWS.items():
        write_csv(sales_file(base, date.fromisoformat(day), 1), SALES_HEADER, rows)
    invalid = base / sales_partition_prefix(RECIPE_INVALID_FILE_DAY) / "invalid_data.csv"
    invalid.write_text("invalid,data,format\n")


@dataclass(frozen=True)
class RecordedRuns:
    results: dict[str, CommandResult]
    calls: frozenset[Call]  # what every principal called meanwhile (``call_log.py``)


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
