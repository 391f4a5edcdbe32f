"""One local endpoint and one provisioned, seeded pipeline for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.airflow.dag_test_runner import DagTestRunner
from local.airflow.environment import airflow_environment
from local.endpoint import RunningEndpoint
from local.provision import seed
from local.stack_config import local_config
from tests.support.alerts import AlertInbox
from tests.support.endpoint import suite_endpoint
from tests.support.pipeline import (
    DAYS,
    E2E_CONFIG,
    FAILING_DAY,
    Pipeline,
    RecordedRuns,
    write_e2e_lake,
)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with suite_endpoint(tmp_path_factory.mktemp("e2e-endpoint"), prewarm_spark=True) as running:
        yield running


@pytest.fixture(scope="session")
def pipeline(
    endpoint: RunningEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    work = tmp_path_factory.mktemp("e2e")
    cfg = local_config(**E2E_CONFIG)
    env = airflow_environment(endpoint.clients, work / "airflow", E2E_CONFIG)
    # A missing partition must fail in seconds here, not after the production 6 hours.
    env["AIRFLOW__SALES_ETL__SALES_WAIT_SECONDS"] = "8"
    # `tasks test` runs one try: a failing job must be the task's last try for its alert.
    env["AIRFLOW__SALES_ETL__GLUE_RETRIES"] = "0"
    logs = work / "logs"
    # Airflow starts (imports, DB migration, DAG parse) while the endpoint is seeded.
    with DagTestRunner(env, logs, migrate=True) as runner:
        aws = endpoint.clients
        seed(aws, cfg, write_e2e_lake)
        alerts = AlertInbox(aws, "e2e-alerts")
        yield Pipeline(endpoint, aws, cfg, env, work / "airflow", logs, runner, alerts)


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
