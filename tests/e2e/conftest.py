"""One local endpoint and one provisioned, seeded pipeline for the end-to-end tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest

from local.dag_runs import CommandResult, migrate_db, run_dag_for_day, run_task_for_day
from local.endpoint import RunningEndpoint, running_endpoint, start_endpoint
from local.endpoint_env import EndpointClients, airflow_environment
from local.provision import provision, upload_tree
from local.synthetic_sales import SALES_HEADER, sales_file, write_csv, write_recipe_sample_lake
from sales_etl.config import PipelineConfig, load_config

# Seeded on top of the recipe's sample: bad rows on 2024-01-16 (under this suite's threshold)
# and on 2024-01-17 (used to push a run over a zero threshold).
EXTRA_ROWS = {
    "2024-01-16": [("1099", "C999", "P001", "1", "10.00", "2024-01-16", "North")],
    "2024-01-17": [("1098", "C998", "P001", "1", "10.00", "2024-01-17", "West")],
}
RECIPE_INVALID_FILE_DAY = "2024-01-16"
E2E_CONFIG = {"max_quarantine_ratio": 0.6}
RUN_TIMEOUT = 300


@dataclass
class Pipeline:
    aws: EndpointClients
    cfg: PipelineConfig
    env: dict[str, str]
    airflow_home: Path
    logs: Path

    def run_day(self, day: str, **kwargs: Any) -> CommandResult:
        return run_dag_for_day(self.env, day, self.logs, RUN_TIMEOUT, **kwargs)

    def run_task(self, task_id: str, day: str, env: dict[str, str] | None = None, **kw: Any):
        return run_task_for_day(env or self.env, task_id, day, self.logs, RUN_TIMEOUT, **kw)


def seed(base: Path) -> None:
    write_recipe_sample_lake(base)
    for day, rows in EXTRA_ROWS.items():
        write_csv(sales_file(base, date.fromisoformat(day), 1), SALES_HEADER, rows)
    invalid = base / f"raw-data/sales/order_date={RECIPE_INVALID_FILE_DAY}/invalid_data.csv"
    invalid.write_text("invalid,data,format\n")


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    shared = running_endpoint()
    if shared is not None:
        yield shared
        return
    running = start_endpoint(work_dir=tmp_path_factory.mktemp("e2e-endpoint"))
    try:
        yield running
    finally:
        children = running.child_pids()
        running.stop()
        assert not [pid for pid in children if psutil.pid_exists(pid)], "children outlived it"


@pytest.fixture(scope="session")
def pipeline(endpoint: RunningEndpoint, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    work = tmp_path_factory.mktemp("e2e")
    cfg = load_config(E2E_CONFIG)
    aws = EndpointClients(endpoint.url)
    provision(aws, cfg)
    lake = work / "lake"
    seed(lake)
    upload_tree(aws.client("s3"), cfg.bucket, lake)
    shutil.rmtree(lake)
    env = airflow_environment(endpoint.url, work / "airflow", E2E_CONFIG)
    # A missing partition must fail in seconds here, not after the production 6 hours.
    env["AIRFLOW__SALES_ETL__SALES_WAIT_SECONDS"] = "8"
    logs = work / "logs"
    migrated = migrate_db(env, logs)
    assert migrated.ok, migrated.log_tail()
    return Pipeline(aws, cfg, env, work / "airflow", logs)
