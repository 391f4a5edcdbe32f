"""One local endpoint and one provisioned, seeded pipeline for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from local.airflow.command_result import CommandResult
from local.airflow.dag_test_runner import DagRunRequest, DagTestRunner, Request, TaskTestRequest
from local.airflow.environment import airflow_environment
from local.data.synthetic_sales import (
    SALES_HEADER,
    sales_file,
    write_csv,
    write_recipe_sample_lake,
)
from local.endpoint import RunningEndpoint
from local.endpoint.call_log import Call
from local.endpoint_clients import EndpointClients
from local.provision import seed
from sales_etl.config import PipelineConfig, load_config
from sales_etl.layout import sales_partition_prefix
from tests.alert_inbox import AlertInbox
from tests.local_endpoint import suite_endpoint

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


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with suite_endpoint(tmp_path_factory.mktemp("e2e-endpoint"), prewarm_spark=True) as running:
        yield running


@pytest.fixture(scope="session")
def pipeline(
    endpoint: RunningEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    work = tmp_path_factory.mktemp("e2e")
    cfg = load_config(E2E_CONFIG)
    env = airflow_environment(endpoint.url, work / "airflow", E2E_CONFIG)
    # A missing partition must fail in seconds here, not after the production 6 hours.
    env["AIRFLOW__SALES_ETL__SALES_WAIT_SECONDS"] = "8"
    # `tasks test` runs one try: a failing job must be the task's last try for its alert.
    env["AIRFLOW__SALES_ETL__GLUE_RETRIES"] = "0"
    logs = work / "logs"
    # Airflow starts (imports, DB migration, DAG parse) while the endpoint is seeded.
    with DagTestRunner(env, logs, migrate=True) as runner:
        aws = EndpointClients(endpoint.url)
        seed(aws, cfg, write_e2e_lake)
        alerts = AlertInbox(aws, "e2e-alerts")
        yield Pipeline(endpoint, aws, cfg, env, work / "airflow", logs, runner, alerts)


@dataclass(frozen=True)
class RecordedRuns:
    results: dict[str, CommandResult]
    calls: frozenset[Call]  # what every principal called meanwhile (``call_log.py``)


@pytest.fixture(scope="session")
def completed(pipeline: Pipeline) -> RecordedRuns:
    """Both days run once, in date order, as a daily schedule would run them."""
    with pipeline.endpoint.call_log.recording() as calls:
        # A run that fails or times out ends the batch: its result is the last one.
        results = dict(zip(DAYS, pipeline.run_days(DAYS), strict=False))
    for day, result in results.items():
        assert result.ok, f"DAG run for {day} failed:\n{result.log_tail(80)}"
    assert len(results) == len(DAYS), results
    return RecordedRuns(results, frozenset(calls))


@pytest.fixture(scope="session")
def failed_transform(pipeline: Pipeline) -> RecordedRuns:
    """One try of ``transform`` whose Glue job fails (``airflow tasks test``)."""
    with pipeline.endpoint.call_log.recording() as calls:
        result = pipeline.run_task("transform", FAILING_DAY, params={"max_quarantine_ratio": 0.0})
    return RecordedRuns({FAILING_DAY: result}, frozenset(calls))
