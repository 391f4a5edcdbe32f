"""Backfill three days through Airflow's scheduler, then rerun one: exact, ordered, idempotent.

The stack is the one `make airflow` runs (API server, scheduler, triggerer, DAG processor) on
a throwaway AIRFLOW_HOME; runs are created by Airflow's own `airflow backfill create` and
executed by the scheduler and triggerer against the local AWS endpoint. The lake holds five
seeded days, so outputs for days outside the backfill would show a run that read too much.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from local.airflow.airflow_stack import AirflowStack
from local.airflow.cli import DAG_ID
from local.run_summary import catalog_tables
from sales_etl.layout import (
    MANIFESTS_PREFIX,
    PROCESSED_PARTITION_COLUMNS,
    PROCESSED_TABLES,
    QUARANTINE_PREFIX,
    manifest_key,
    processed_partition_prefix,
    processed_table_prefix,
    sales_partition_prefix,
)
from tests.airflow_cli import run_airflow
from tests.backfill.backfill_support import (
    Lake,
    backfill,
    expected_customer_totals,
    expected_day,
    normalized_key,
    output_objects,
    parquet_rows,
    partition_days,
    rows_under,
    task_states,
    wait_for_backfills_completed,
    wait_for_runs,
)

pytestmark = [pytest.mark.e2e, pytest.mark.backfill]

DAYS = ("2024-01-15", "2024-01-16", "2024-01-17")
RERUN_DAY = "2024-01-16"
TASKS = {"wait_for_sales", "crawl_raw", "transform", "crawl_processed", "post_process"}
PARTITIONED = {
    **{processed_table_prefix(t): c for t, c in PROCESSED_PARTITION_COLUMNS.items()},
    MANIFESTS_PREFIX: "run_date",
}
# One Glue job run takes 15-90 s here depending on machine load; three in a row plus tasks.
BACKFILL_TIMEOUT = 900


@dataclass(frozen=True)
class Backfilled:
    runs: dict[str, dict[str, Any]]
    objects: dict[str, bytes]


@pytest.fixture(scope="module")
def backfilled(stack: AirflowStack, lake: Lake) -> Backfilled:
    created = backfill(stack, DAYS[0], DAYS[-1], "backfill-create")
    assert created.ok, f"airflow backfill create failed:\n{created.log_tail()}"
    runs = wait_for_runs(stack.api, DAYS, BACKFILL_TIMEOUT)
    return Backfilled(runs, output_objects(lake.s3, lake.cfg.bucket))


def manifest(objects: dict[str, bytes], day: str) -> dict[str, Any]:
    return json.loads(objects[manifest_key(day)])


def test_one_successful_backfill_run_per_day(stack: AirflowStack, backfilled: Backfilled) -> None:
    assert sorted(backfilled.runs) == list(DAYS)
    for day, run in backfilled.runs.items():
        assert run["run_type"] == "backfill", day
        assert run["state"] == "success", (day, run)
        states = task_states(stack.api, run["dag_run_id"])
        assert states == dict.fromkeys(TASKS, "success"), (day, states)
    # max_active_runs=1: each run started after the previous day's run had ended.
    ordered = [backfilled.runs[day] for day in DAYS]
    for earlier, later in itertools.pairwise(ordered):
        assert earlier["end_date"] <= later["start_date"], (earlier, later)


def test_each_run_processed_exactly_its_own_day(lake: Lake, backfilled: Backfilled) -> None:
    objects = backfilled.objects
    seeded_not_backfilled = set(lake.seeded_days) - set(DAYS)
    assert seeded_not_backfilled, "the lake must hold days outside the backfill"
    for prefix in PARTITIONED:
        assert partition_days(objects, prefix) == set(DAYS), prefix
    assert not rows_under(objects, QUARANTINE_PREFIX), "recipe days have no bad rows"

    for day in DAYS:
        expected = expected_day(day)
        m = manifest(objects, day)
        assert m["run_date"] == day
        assert m["status"] == "succeeded"
        assert (m["rows_in"], m["rows_valid"], m["rows_quarantined"]) == (
            expected.orders,
            expected.orders,
            0,
        )
        assert m["inputs"]["sales"].endswith(f"/raw-data/sales/order_date={day}")
        daily = rows_under(objects, processed_partition_prefix("daily_sales", day))
        revenue = {row["region"]: Decimal(row["daily_revenue"]) for row in daily}
        assert revenue == expected.revenue_by_region, day
        assert sum(row["daily_orders"] for row in daily) == expected.orders, day


def test_customer_metrics_accumulate_in_date_order(backfilled: Backfilled) -> None:
    """Each day's metrics include the earlier days: the runs ran in date order."""
    for day in DAYS:
        rows = rows_under(backfilled.objects, processed_partition_prefix("customer_metrics", day))
        got = {
            row["customer_id"]: (Decimal(row["total_spent"]), row["total_orders"]) for row in rows
        }
        assert got == expected_customer_totals(day), day


def test_processed_tables_cataloged_once_per_day(lake: Lake, backfilled: Backfilled) -> None:
    partitions = catalog_tables(lake.glue, lake.cfg.glue_database)
    for table in PROCESSED_TABLES:
        assert partitions.get(table) == len(DAYS), partitions


def test_rerun_of_one_day_duplicates_nothing(
    stack: AirflowStack, lake: Lake, backfilled: Backfilled
) -> None:
    before = backfilled.objects
    previous = backfilled.runs[RERUN_DAY]
    # Airflow allows one active backfill per DAG: the first must be marked complete.
    wait_for_backfills_completed(stack.api, timeout=120)
    rerun = backfill(
        stack, RERUN_DAY, RERUN_DAY, "backfill-rerun", "--reprocess-behavior", "completed"
    )
    assert rerun.ok, f"airflow backfill create (rerun) failed:\n{rerun.log_tail()}"
    runs = wait_for_runs(stack.api, (RERUN_DAY,), BACKFILL_TIMEOUT, previous["end_date"])
    after = output_objects(lake.s3, lake.cfg.bucket)

    # Airflow cleared and re-ran the same run: one run per day, still three.
    assert sorted(runs) == list(DAYS)
    assert runs[RERUN_DAY]["dag_run_id"] == previous["dag_run_id"]
    assert runs[RERUN_DAY]["state"] == "success"
    assert runs[RERUN_DAY]["end_date"] > previous["end_date"]

    # The Glue job really ran again (new job run id), and wrote the same thing. A rerun also
    # rebuilds the later days' customer_metrics (here the last day's), from unchanged inputs.
    old_manifest, new_manifest = manifest(before, RERUN_DAY), manifest(after, RERUN_DAY)
    assert new_manifest["job_run_id"] != old_manifest["job_run_id"]
    per_run = ("job_run_id", "rebuilt")
    assert {k: v for k, v in new_manifest.items() if k not in per_run} == {
        k: v for k, v in old_manifest.items() if k not in per_run
    }
    later = [day for day in DAYS if day > RERUN_DAY]
    rebuilt = [processed_partition_prefix("customer_metrics", day) for day in later]
    assert new_manifest["rebuilt"]["customer_metrics"] == [
        f"s3://{lake.cfg.bucket}/{prefix.rstrip('/')}" for prefix in rebuilt
    ]

    # Same objects (Spark's per-write file uuid aside), same Parquet rows, nothing extra.
    assert sorted(map(normalized_key, after)) == sorted(map(normalized_key, before))
    by_name_before = {normalized_key(k): v for k, v in before.items()}
    for key, body in after.items():
        old = by_name_before[normalized_key(key)]
        if key.endswith(".parquet"):
            assert parquet_rows(body) == parquet_rows(old), key
        elif RERUN_DAY not in key:
            assert body == old, key
    # The processed crawler ran again without adding partitions.
    partitions = catalog_tables(lake.glue, lake.cfg.glue_database)
    assert all(partitions[t] == len(DAYS) for t in PROCESSED_TABLES), partitions

    # Other days were not touched at all, but for the rebuilt partitions (same rows, above):
    # exact keys and bytes.
    def untouched(objects: dict[str, bytes]) -> dict[str, bytes]:
        return {
            k: v
            for k, v in objects.items()
            if RERUN_DAY not in k and not k.startswith(tuple(rebuilt))
        }

    assert untouched(after) == untouched(before)


def test_missing_sales_partition_times_out_the_sensor_clearly(
    stack: AirflowStack, lake: Lake, backfilled: Backfilled
) -> None:
    day = "2024-02-01"  # nothing was seeded for this day
    triggered = run_airflow(
        ["dags", "trigger", DAG_ID, "--logical-date", f"{day}T02:00:00+00:00"],
        stack.env,
        stack.log_dir / "trigger-missing-day.log",
        timeout_seconds=120,
    )
    assert triggered.ok, triggered.log_tail()
    run = wait_for_runs(stack.api, (day,), BACKFILL_TIMEOUT)[day]

    assert run["state"] == "failed"
    states = task_states(stack.api, run["dag_run_id"])
    assert states["wait_for_sales"] == "failed"
    assert states["transform"] != "success"
    # The triggerer enforced the sensor's timeout; the task log names what never arrived.
    log = stack.api.get(
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/wait_for_sales/logs/1"
    )
    text = json.dumps(log)
    assert f"{sales_partition_prefix(day)}_SUCCESS" in text
    assert "timeout" in text.lower() or "timed out" in text.lower()
    assert not lake.s3.list_objects_v2(
        Bucket=lake.cfg.bucket,
        Prefix=manifest_key(day).rsplit("/", 1)[0] + "/",
    ).get("Contents")
