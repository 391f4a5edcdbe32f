"""Helpers for the backfill test: drive `airflow backfill create`, wait, read what it produced."""

from __future__ import annotations

import io
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import pyarrow.parquet as pq

from local.airflow.airflow_api import AirflowApi
from local.airflow.airflow_stack import AirflowStack
from local.airflow.cli import DAG_ID
from local.airflow.command_result import CommandResult
from local.data.synthetic_sales import RECIPE_SALES
from sales_etl.config import PipelineConfig
from sales_etl.layout import MANIFESTS_PREFIX, PROCESSED_PREFIX, QUARANTINE_PREFIX
from tests.airflow_cli import run_airflow
from tests.endpoint.endpoint_support import wait_for

FINISHED = ("success", "failed")
T = TypeVar("T")
OUTPUT_PREFIXES = (PROCESSED_PREFIX, QUARANTINE_PREFIX, MANIFESTS_PREFIX)
# Spark names each written file part-NNNNN-<uuid>...: the uuid is new on every write.
_SPARK_FILE_UUID = re.compile(
    r"part-(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def backfill(
    stack: AirflowStack, first_day: str, last_day: str, name: str, *extra: str
) -> CommandResult:
    """`airflow backfill create` for the runs whose ``ds`` is first_day..last_day.

    A run's logical date is its day at 02:00 UTC (the DAG's data-interval timetable), and
    --to-date is compared with it, so the last day is named with its 02:00 time. One run at a
    time: backfill runs obey the backfill's max_active_runs (default 10), not the DAG's.
    """
    args = [
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        first_day,
        "--to-date",
        f"{last_day}T02:00:00+00:00",
        "--max-active-runs",
        "1",
        *extra,
    ]
    # Not retried: the command is not idempotent (it may fail after creating the backfill).
    return run_airflow(args, stack.env, stack.log_dir / f"{name}.log", timeout_seconds=180)


def wait_for_runs(
    api: AirflowApi, days: tuple[str, ...], timeout: float, ended_after: str = ""
) -> dict[str, dict[str, Any]]:
    """Wait until the runs for ``days`` have finished (after ``ended_after``); all runs by day."""
    deadline = time.monotonic() + timeout
    runs: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        runs = runs_by_day(api)
        if all(
            day in runs
            and runs[day]["state"] in FINISHED
            and (runs[day]["end_date"] or "") > ended_after
            for day in days
        ):
            return runs
        time.sleep(2)
    states = {day: run["state"] for day, run in runs.items()}
    raise AssertionError(f"runs for {days} not finished after {timeout:.0f}s: {states}")


def wait_for_backfills_completed(api: AirflowApi, timeout: float) -> None:
    """Wait until no backfill of the DAG is active (the scheduler marks them every 30 s)."""

    def all_completed() -> bool | None:
        backfills = api.get("/api/v2/backfills", dag_id=DAG_ID)["backfills"]
        return True if all(b["completed_at"] for b in backfills) else None

    wait_until(f"every backfill of {DAG_ID} to complete", all_completed, timeout)


def dag_runs(api: AirflowApi) -> list[dict[str, Any]]:
    return api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]


def runs_by_day(api: AirflowApi) -> dict[str, dict[str, Any]]:
    """The DAG's runs keyed by the day they process (their logical date's date)."""
    return {run["logical_date"][:10]: run for run in dag_runs(api)}


def task_states(api: AirflowApi, run_id: str) -> dict[str, str]:
    listing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
    return {ti["task_id"]: ti["state"] for ti in listing["task_instances"]}


def wait_until(what: str, found: Callable[[], T | None], timeout: float) -> T:
    """Poll ``found`` every half second until it returns something; fail after ``timeout``."""
    return wait_for(found, lambda value: value is not None, timeout, interval=0.5, what=what)


def trigger_run(api: AirflowApi, day: str) -> dict[str, Any]:
    """A manual run for ``day`` (its logical date is the day at 02:00 UTC, so ``ds`` = day)."""
    return api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": f"{day}T02:00:00Z"})


def task_instance(api: AirflowApi, run_id: str, task_id: str) -> dict[str, Any]:
    return api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}")


def task_log(api: AirflowApi, run_id: str, task_id: str, try_number: int) -> str:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
    return json.dumps(api.get(path))


def clear_task(api: AirflowApi, run_id: str, task_id: str) -> None:
    """Clear one task of one run, as the UI's *Clear* on that task does."""
    api.post(
        f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
        {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [task_id],
            "only_failed": False,
            "include_downstream": False,
        },
    )


def run_deadlines(api: AirflowApi, run_id: str) -> list[dict[str, Any]]:
    """The run's deadlines as the UI lists them (a deadline met by a success is deleted)."""
    return api.get(f"/ui/dags/{DAG_ID}/dagRuns/{run_id}/deadlines")["deadlines"]


def glue_runs_for_day(glue: Any, job_name: str, day: str) -> list[dict]:
    """The Glue job's runs for one day (its ``--run_date`` argument), newest first."""
    runs = glue.get_job_runs(JobName=job_name)["JobRuns"]
    return [run for run in runs if run.get("Arguments", {}).get("--run_date") == day]


def output_objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """Every object the pipeline writes (processed tables, quarantine, manifests): key -> body."""
    objects = {}
    for prefix in OUTPUT_PREFIXES:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                objects[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return objects


def normalized_key(key: str) -> str:
    return _SPARK_FILE_UUID.sub(r"part-\1-<uuid>", key)


def parquet_rows(body: bytes) -> list[dict[str, Any]]:
    rows = pq.read_table(io.BytesIO(body)).to_pylist()
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def partition_days(objects: dict[str, bytes], prefix: str) -> set[str]:
    """Days with at least one object under ``prefix`` (e.g. processed-data/daily_sales/)."""
    found = re.compile(re.escape(prefix) + r"[a-z_]+=(\d{4}-\d{2}-\d{2})/")
    return {m.group(1) for key in objects if (m := found.match(key))}


def rows_under(objects: dict[str, bytes], prefix: str) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(objects):
        if key.startswith(prefix) and key.endswith(".parquet"):
            rows += parquet_rows(objects[key])
    return rows


@dataclass(frozen=True)
class Lake:
    """The seeded bucket and clients for it."""

    cfg: PipelineConfig
    s3: Any
    glue: Any
    seeded_days: tuple[str, ...]


@dataclass(frozen=True)
class Expected:
    """What a day should produce, computed from the seeded CSV rows (not from the job)."""

    orders: int
    revenue_by_region: dict[str, Decimal]


def expected_day(day: str) -> Expected:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders = 0
    for _, _, _, quantity, price, order_date, region in RECIPE_SALES:
        if order_date == day:
            orders += 1
            revenue[region] += int(quantity) * Decimal(price)
    return Expected(orders, dict(revenue))


def expected_customer_totals(as_of: str) -> dict[str, tuple[Decimal, int]]:
    """customer_id -> (total spent, total orders) over the seeded orders up to ``as_of``."""
    totals: dict[str, tuple[Decimal, int]] = {}
    for _, customer, _, quantity, price, order_date, _ in RECIPE_SALES:
        if order_date <= as_of:
            spent, orders = totals.get(customer, (Decimal(0), 0))
            totals[customer] = (spent + int(quantity) * Decimal(price), orders + 1)
    return totals
