"""Fixtures for the backfill test: endpoint, seeded lake and a scheduler-based Airflow stack.

Each fixture stops what it started in its teardown, also when setup fails halfway: the stack's
components by their process groups (never by name), the endpoint by its object (which stops
its Glue job and Lambda processes by PID). Teardown then checks that nothing survived.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from local.airflow.airflow_stack import AirflowStack
from local.airflow.stack_settings import StackSettings, stack_environment
from local.data.synthetic_sales import write_recipe_sample_lake
from local.endpoint import RunningEndpoint
from local.endpoint_clients import EndpointClients
from local.provision import seed
from sales_etl.config import PipelineConfig
from tests.alert_inbox import AlertInbox
from tests.backfill.backfill_support import Lake
from tests.local_endpoint import suite_endpoint

LATE_AFTER_SECONDS = 45

# Scheduler-side settings that only make this test faster on a loaded machine; the DAG and
# its operators are untouched (the stack polls once a second, see stack_settings.py).
TEST_TUNING = {
    # Parse the DAG file once at start instead of every 30 s: less CPU for the runs.
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
    # A day whose file never lands must fail in seconds, not after the production 6 hours.
    "AIRFLOW__SALES_ETL__SALES_WAIT_SECONDS": "10",
    # The scheduler fails a deferred task past its timeout when it checks, every 15 s by
    # default: check every second, so that sensor fails 10 s after it starts, not up to 25 s.
    "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "1",
    # A run is late LATE_AFTER_SECONDS after it was queued, not after the production 8 hours:
    # longer than a run that fails or succeeds normally here, short enough to wait for.
    "AIRFLOW__SALES_ETL__LATE_AFTER_SECONDS": str(LATE_AFTER_SECONDS),
}
STACK_READY_SECONDS = 300


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    work = tmp_path_factory.mktemp("backfill-endpoint")
    with suite_endpoint(work, prewarm_spark=True) as running:
        yield running


@pytest.fixture(scope="module")
def lake(endpoint: RunningEndpoint) -> Lake:
    """The recipe's five sample days (2024-01-15..19) and customers, on a provisioned bucket."""
    cfg = PipelineConfig()
    aws = EndpointClients(endpoint.url)
    summary = seed(aws, cfg, write_recipe_sample_lake)
    days = tuple(day.day for day in summary.days)
    return Lake(cfg, aws.client("s3"), aws.client("glue"), days)


@pytest.fixture(scope="module")
def alerts(endpoint: RunningEndpoint, lake: Lake) -> AlertInbox:
    """The alert topic's inbox, subscribed before any run starts."""
    return AlertInbox(EndpointClients(endpoint.url), "backfill-alerts")


@pytest.fixture(scope="module")
def stack(
    endpoint: RunningEndpoint, lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    work = tmp_path_factory.mktemp("backfill-airflow")
    settings = StackSettings(
        airflow_home=work / "home",
        password_file=work / "passwords.json",
        api_port=_free_loopback_port(),
    )
    env = stack_environment(endpoint.url, settings, extra=TEST_TUNING)
    running = AirflowStack(settings, env, work / "logs")
    try:
        running.migrate()
        running.start()
        running.wait_ready("sales_etl", STACK_READY_SECONDS)
        yield running
    finally:
        leftovers = running.stop()
    assert not leftovers, f"Airflow processes survived the stack: {leftovers}"
