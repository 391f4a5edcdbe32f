"""Fixtures for the backfill test: endpoint, seeded lake and a scheduler-based Airflow stack.

Each fixture stops what it started in its teardown, also when setup fails halfway: the stack's
components by their process groups (never by name), the endpoint by its object (which stops
its Glue job and Lambda processes by PID). Teardown then checks that nothing survived.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.airflow.airflow_stack import AirflowStack
from local.airflow.stack_settings import StackSettings, stack_environment
from local.data.synthetic_sales import write_recipe_sample_lake
from local.endpoint import RunningEndpoint
from local.provision import seed
from local.stack_config import CONFIG_DESCRIPTION, local_config, local_variables
from tests.support.airflow_tools.stack import STACK_READY_SECONDS, TEST_TUNING, free_loopback_port
from tests.support.alerts import AlertInbox
from tests.support.endpoint import suite_endpoint
from tests.support.seeded_lake import Lake


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    work = tmp_path_factory.mktemp("backfill-endpoint")
    with suite_endpoint(work, prewarm_spark=True) as running:
        yield running


@pytest.fixture(scope="module")
def lake(endpoint: RunningEndpoint) -> Lake:
    """The recipe's five sample days (2024-01-15..19) and customers, on a provisioned bucket."""
    cfg = local_config()
    aws = endpoint.clients
    summary = seed(aws, cfg, write_recipe_sample_lake)
    days = tuple(day.day for day in summary.days)
    return Lake(cfg, aws.client("s3"), aws.client("glue"), days)


@pytest.fixture(scope="module")
def alerts(endpoint: RunningEndpoint, lake: Lake) -> AlertInbox:
    """The alert topic's inbox, subscribed before any run starts."""
    return AlertInbox(endpoint.clients, "backfill-alerts")


@pytest.fixture(scope="module")
def stack(
    endpoint: RunningEndpoint, lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowStack]:
    work = tmp_path_factory.mktemp("backfill-airflow")
    settings = StackSettings(
        airflow_home=work / "home",
        password_file=work / "passwords.json",
        api_port=free_loopback_port(),
    )
    env = stack_environment(endpoint.clients, settings, extra=TEST_TUNING)
    running = AirflowStack(settings, env, work / "logs")
    try:
        running.migrate()
        running.start()
        running.wait_ready("sales_etl", STACK_READY_SECONDS)
        # As `make airflow` does: the config Variable in the metastore, as on MWAA.
        for key, value in local_variables().items():
            running.ensure_variable(key, value, CONFIG_DESCRIPTION)
        yield running
    finally:
        leftovers = running.stop()
    assert not leftovers, f"Airflow processes survived the stack: {leftovers}"
