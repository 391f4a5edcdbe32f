"""Backfill three days through Airflow's scheduler, then rerun one: exact, ordered, idempotent.
On the same stack: failure and late alerts, and a cleared deferred transform resuming its run.

The stack is the one `make airflow` runs (API server, scheduler, triggerer, DAG processor) on
a throwaway AIRFLOW_HOME; runs are created by Airflow's own `airflow backfill create` and
executed by the scheduler and triggerer against the local AWS endpoint. The lake holds five
seeded days, so outputs for days outside the backfill would show a run that read too much.
Tests run in file order and share the stack: the manual runs
(tests/support/airflow_tools/manual_runs.py) come before the rerun, which then also finds the
backfill marked complete (the scheduler does that every 30 s) and a later day processed by
another run.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.airflow.airflow_api import ApiError
from local.airflow.airflow_stack import AirflowStack
from local.airflow.environment import CONFIG_ENV_VARIABLE
from local.run_summary import catalog_tables
from local.stack_config import LOCAL_CONFIG_VARIABLE, local_config_json
from sales_contract.layout import (
    MANIFESTS_PREFIX,
    PROCESSED_PARTITION_COLUMNS,
    PROCESSED_PREFIX,
    PROCESSED_TABLES,
    QUARANTINE_PREFIX,
    manifest_key,
    processed_partition_prefix,
    processed_table_prefix,
    sales_partition_prefix,
)
from sales_contract.processed_tables import version_prefix
from sales_etl.config import CONFIG_VARIABLE
from tests.support.airflow_tools.manual_runs import (
    HELD_DAY,
    SENSOR_DAY,
    ManualRuns,
    run_manual_days,
)
from tests.support.airflow_tools.runs import (
    backfill,
    dag_runs,
    run_deadlines,
    runs_by_day,
    task_instance,
    task_log,
    task_states,
    trigger_run,
    wait_for_backfills_completed,
    wait_for_runs,
)
from tests.support.airflow_tools.stack import LATE_AFTER_SECONDS
from tests.support.alerts import AlertInbox, alert_run, is_late
from tests.support.polling import wait_for, wait_until
from tests.support.seeded_lake import (
    Lake,
    expected_customer_totals,
    expected_day,
    glue_runs_for_day,
    normalized_key,
    output_objects,
    parquet_rows,
    partition_days,
    rows_under,
)

pytestmark = [pytest.mark.e2e, pytest.mark.backfill]

DAYS = ("2024-01-15", "2024-01-16", "2024-01-17")
RERUN_DAY = "2024-01-16"
TASKS = {"wait_for_sales", "crawl_raw", "transform", "check_day", "post_process"}
PARTITIONED = {
    **{processed_table_prefix(t): c for t, c in PROCESSED_PARTITION_COLUMNS.items()},
    MANIFESTS_PREFIX: "run_date",
}
# A finished try's log can lag its state by a moment, more on a busy machine.
LOG_COMPLETE_SECONDS = 30
# One Glue job run takes 7-18 s here, far more on a busy machine; three in a row plus tasks.
BACKFILL_TIMEOUT = 900


@dataclass(frozen=True)
class Backfilled:
    runs: dict[str, dict[str, Any]]
    objects: dict[str, bytes]


@pytest.fixture(scope="module")
def backfilled(stack: AirflowStack, lake: Lake, alerts: AlertInbox) -> Backfilled:
    created = backfill(stack, DAYS[0], DAYS[-1], "backfill-create")
    assert created.ok, f"airflow backfill create failed:\n{created.log_tail()}"
    runs = wait_for_runs(stack.api, DAYS, BACKFILL_TIMEOUT)
    return Backfilled(runs, output_objects(lake.s3, lake.cfg.bucket))


def manifest(objects: dict[str, bytes], day: str) -> dict[str, Any]:
    return json.loads(objects[manifest_key(day)])


# A version folder in a key, a location or a manifest's JSON text:
# processed-data/<table>/<column>=<day>/run-<id>[/...]
_VERSION_FOLDER = re.compile(r"/(run-[0-9a-f]{12})(?=[/\"]|$)")
_PROCESSED_KEY = re.compile(
    re.escape(PROCESSED_PREFIX) + r"([a-z_]+)/[a-z_]+=(\d{4}-\d{2}-\d{2})/(?:(run-[0-9a-f]{12})/)?"
)


def run_version(m: dict[str, Any]) -> str:
    """The one version folder a run wrote all its tables' outputs into."""
    found = {_VERSION_FOLDER.findall(m["outputs"][table])[-1] for table in PROCESSED_TABLES}
    assert len(found) == 1, m["outputs"]
    return found.pop()


def without_versions(m: dict[str, Any]) -> dict[str, Any]:
    """The manifest with every run-<id> path component made run-<id> literally."""
    return json.loads(_VERSION_FOLDER.sub("/run-<id>", json.dumps(m)))


def comparable_key(key: str) -> str:
    return normalized_key(_VERSION_FOLDER.sub("/run-<id>", key))


def version_folders(objects: dict[str, bytes]) -> dict[tuple[str, str], set[str | None]]:
    """(table, day) -> the version folders holding its objects (None: a file outside any)."""
    found: dict[tuple[str, str], set[str | None]] = {}
    for key in objects:
        if key.startswith(PROCESSED_PREFIX):
            m = _PROCESSED_KEY.match(key)
            assert m, f"not in the processed layout: {key}"
            found.setdefault((m.group(1), m.group(2)), set()).add(m.group(3))
    return found


def partition_locations(lake: Lake) -> dict[tuple[str, str], str]:
    """(table, day) -> the catalog partition's Location, for the declared processed tables."""
    found = {}
    for table in PROCESSED_TABLES:
        pages = lake.glue.get_paginator("get_partitions").paginate(
            DatabaseName=lake.cfg.glue_database, TableName=table
        )
        for page in pages:
            for partition in page["Partitions"]:
                [day] = partition["Values"]
                found[(table, day)] = partition["StorageDescriptor"]["Location"]
    return found


def location_folder(location: str) -> str | None:
    found = _VERSION_FOLDER.findall(location.rstrip("/"))
    return found[-1] if found else None


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
    # Each day's run published its own version folder of every table, the one folder the day
    # holds (the runs went in date order: none rebuilt a later day).
    versions = version_folders(backfilled.objects)
    locations = partition_locations(lake)
    assert set(locations) == set(versions) == {(t, d) for t in PROCESSED_TABLES for d in DAYS}
    for (table, day), location in locations.items():
        m = manifest(backfilled.objects, day)
        assert m["rebuilt"]["customer_metrics"] == [], day
        assert location == m["published"][table][day], (table, day)
        assert versions[(table, day)] == {location_folder(location)} == {run_version(m)}


@pytest.fixture(scope="module")
def manual_runs(
    stack: AirflowStack, lake: Lake, alerts: AlertInbox, backfilled: Backfilled
) -> ManualRuns:
    return run_manual_days(stack, lake, alerts, LATE_AFTER_SECONDS)


def alerts_for(alerts: AlertInbox, run_id: str) -> list[dict[str, Any]]:
    alerts.take()
    return [alert for alert in alerts.received if alert_run(alert) == run_id]


def test_missing_sales_partition_times_out_the_sensor_clearly(
    stack: AirflowStack, lake: Lake, alerts: AlertInbox, manual_runs: ManualRuns
) -> None:
    day, run = SENSOR_DAY, manual_runs.sensor_run
    assert run["state"] == "failed"
    states = task_states(stack.api, run["dag_run_id"])
    assert states["wait_for_sales"] == "failed"
    assert states["transform"] != "success"
    # The triggerer enforced the sensor's timeout; the task log names what never arrived.
    text = task_log(stack.api, run["dag_run_id"], "wait_for_sales", 1)
    assert f"{sales_partition_prefix(day)}_SUCCESS" in text
    assert "timeout" in text.lower() or "timed out" in text.lower()
    assert not lake.s3.list_objects_v2(
        Bucket=lake.cfg.bucket,
        Prefix=manifest_key(day).rsplit("/", 1)[0] + "/",
    ).get("Contents")

    # One alert, from the sensor's final failure (a sensor timeout is not retried). The run
    # passes its deadline failed: no late alert follows (checked again at the end).
    sent = alerts_for(alerts, run["dag_run_id"])
    assert len(sent) == 1, [alert["Subject"] for alert in sent]
    alert = sent[0]
    assert alert["Subject"] == f"sales_etl {day}: wait_for_sales failed (try 1)"
    lines = alert["Message"].splitlines()
    assert lines[:5] == [
        "DAG: sales_etl",
        f"Day: {day}",
        f"Run: {run['dag_run_id']}",
        "Task: wait_for_sales",
        "Try: 1",
    ]
    marker = f"s3://{lake.cfg.bucket}/{sales_partition_prefix(day)}_SUCCESS"
    assert lines[5].startswith(
        f"Reason: no sales file matching {marker} within 0:00:10 of the sensor's start ("
    ), lines[5]


def test_a_cleared_deferred_transform_resumes_its_running_glue_run(
    stack: AirflowStack, lake: Lake, manual_runs: ManualRuns
) -> None:
    run_id, glue_run_id = manual_runs.held_run["dag_run_id"], manual_runs.held_glue_run_id
    # The second try re-attached to the Glue run the cleared try left (still STARTING), instead
    # of starting another and failing on the job's one concurrent run.
    assert manual_runs.second_try_state == "deferred"
    assert manual_runs.held_run["state"] == "success"
    transform = task_instance(stack.api, run_id, "transform")
    assert (transform["state"], transform["try_number"]) == ("success", 2)
    glue_runs = glue_runs_for_day(lake.glue, lake.cfg.glue_job, HELD_DAY)
    assert [(r["Id"], r["JobRunState"]) for r in glue_runs] == [(glue_run_id, "SUCCEEDED")]
    second_try = task_log(stack.api, run_id, "transform", 2)
    assert f"{glue_run_id}, state: STARTING" in second_try
    # And the day is complete: the run's manifest is the resumed Glue run's.
    body = lake.s3.get_object(Bucket=lake.cfg.bucket, Key=manifest_key(HELD_DAY))["Body"]
    written = json.loads(body.read())
    assert (written["status"], written["job_run_id"]) == ("succeeded", glue_run_id)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc_stamp(text: str) -> str:
    return when(text).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_a_run_not_succeeded_by_its_deadline_sends_one_late_alert(
    stack: AirflowStack, alerts: AlertInbox, manual_runs: ManualRuns
) -> None:
    run = manual_runs.held_run
    deadlines = run_deadlines(stack.api, run["dag_run_id"])
    assert [d["missed"] for d in deadlines] == [True], deadlines
    deadline = deadlines[0]
    missed_at = when(deadline["deadline_time"])

    sent = alerts_for(alerts, run["dag_run_id"])
    assert len(sent) == 1, [alert["Subject"] for alert in sent]
    alert = sent[0]
    assert alert["Subject"] == (
        f"sales_etl {HELD_DAY}: late, not succeeded by {missed_at:%Y-%m-%d %H:%M} UTC"
    )
    lines = alert["Message"].splitlines()
    assert lines[:3] == ["DAG: sales_etl", f"Day: {HELD_DAY}", f"Run: {run['dag_run_id']}"]
    assert lines[3].startswith(
        f"Deadline: {utc_stamp(deadline['deadline_time'])}, "
        f"{timedelta(seconds=LATE_AFTER_SECONDS)} after the run was queued ("
    ), lines[3]
    # Found late while its transform waited on the held Glue run.
    assert lines[4].startswith("State: running (started "), lines[4]
    assert lines[5].startswith("What to do: open the run in the Airflow UI"), lines[5]


def test_rerun_of_one_day_duplicates_nothing(
    stack: AirflowStack, lake: Lake, backfilled: Backfilled, manual_runs: ManualRuns
) -> None:
    # Airflow allows one active backfill per DAG: the first must be marked complete.
    wait_for_backfills_completed(stack.api, timeout=120)
    before = output_objects(lake.s3, lake.cfg.bucket)
    catalog_before = catalog_tables(lake.glue, lake.cfg.glue_database)
    locations_before = partition_locations(lake)
    previous = runs_by_day(stack.api)[RERUN_DAY]
    rerun = backfill(
        stack, RERUN_DAY, RERUN_DAY, "backfill-rerun", "--reprocess-behavior", "completed"
    )
    assert rerun.ok, f"airflow backfill create (rerun) failed:\n{rerun.log_tail()}"
    runs = wait_for_runs(stack.api, (RERUN_DAY,), BACKFILL_TIMEOUT, previous["end_date"])
    after = output_objects(lake.s3, lake.cfg.bucket)

    # Airflow cleared and re-ran the same run: one backfill run per day, still three.
    assert sorted(day for day, run in runs.items() if run["run_type"] == "backfill") == list(DAYS)
    assert runs[RERUN_DAY]["dag_run_id"] == previous["dag_run_id"]
    assert runs[RERUN_DAY]["state"] == "success"
    assert runs[RERUN_DAY]["end_date"] > previous["end_date"]

    # The Glue job really ran again (new job run id, new version folder), and wrote the same
    # thing. A rerun also rebuilds the later days' customer_metrics (here the backfill's last
    # day and the day a manual run processed), from unchanged inputs.
    old_manifest, new_manifest = manifest(before, RERUN_DAY), manifest(after, RERUN_DAY)
    assert new_manifest["job_run_id"] != old_manifest["job_run_id"]
    old_version, version = run_version(old_manifest), run_version(new_manifest)
    assert version != old_version
    metrics_days = partition_days(before, processed_table_prefix("customer_metrics"))
    later = sorted(day for day in metrics_days if day > RERUN_DAY)
    assert later == [DAYS[-1], HELD_DAY]
    # The backfill's run of the day came before the later days existed: it rebuilt none.
    assert old_manifest["rebuilt"]["customer_metrics"] == []
    assert new_manifest["rebuilt"]["customer_metrics"] == [
        f"s3://{lake.cfg.bucket}/{version_prefix('customer_metrics', day, version).rstrip('/')}"
        for day in later
    ]
    # Per-run fields aside (the version folder in every path, and what the rerun rebuilt and
    # so published beyond its day), the manifest is the one the first run wrote.
    per_run = ("job_run_id", "rebuilt", "published")
    old, new = without_versions(old_manifest), without_versions(new_manifest)
    assert {k: v for k, v in new.items() if k not in per_run} == {
        k: v for k, v in old.items() if k not in per_run
    }
    # What each run published: its day's version of every table, and the rerun also the
    # rebuilt days' customer_metrics; in the rerun's own version folder, as the catalog says.
    republished = {t: {RERUN_DAY} for t in PROCESSED_TABLES}
    republished["customer_metrics"] |= set(later)
    assert {t: set(days) for t, days in new_manifest["published"].items()} == republished
    assert {t: set(days) for t, days in old_manifest["published"].items()} == {
        t: {RERUN_DAY} for t in PROCESSED_TABLES
    }
    for table, days in new["published"].items():
        assert days[RERUN_DAY] == old["published"][table][RERUN_DAY], table
    for table, days in new_manifest["published"].items():
        for day, location in days.items():
            folder = f"s3://{lake.cfg.bucket}/{version_prefix(table, day, version)}"
            assert location.rstrip("/") == folder.rstrip("/"), (table, day, location)

    # Each table-day holds exactly one version folder, before and after: the rerun's for the
    # rerun day and the rebuilt days (the superseded ones removed), the same one elsewhere.
    versions_before, versions_after = version_folders(before), version_folders(after)
    replaced = {(t, RERUN_DAY) for t in PROCESSED_TABLES} | {
        ("customer_metrics", day) for day in later
    }
    assert set(versions_after) == set(versions_before)
    for table_day, found in versions_before.items():
        assert len(found) == 1 and None not in found, (table_day, found)
        expected = {version} if table_day in replaced else found
        assert versions_after[table_day] == expected, (table_day, versions_after[table_day])
    # The catalog points each replaced partition at the rerun's folder, every other partition
    # where it pointed before; no table gained or lost a partition.
    locations_after = partition_locations(lake)
    assert set(locations_after) == set(locations_before)
    for table_day, location in locations_before.items():
        table, day = table_day
        expected = new_manifest["published"][table][day] if table_day in replaced else location
        assert locations_after[table_day] == expected, table_day
        [current] = versions_after[table_day]
        assert location_folder(locations_after[table_day]) == current, table_day
    assert catalog_tables(lake.glue, lake.cfg.glue_database) == catalog_before

    # Same objects (the version folder and Spark's per-write file uuid aside), same Parquet
    # rows, nothing extra.
    assert sorted(map(comparable_key, after)) == sorted(map(comparable_key, before))
    by_name_before = {comparable_key(k): v for k, v in before.items()}
    for key, body in after.items():
        old_body = by_name_before[comparable_key(key)]
        if key.endswith(".parquet"):
            assert parquet_rows(body) == parquet_rows(old_body), key
        elif RERUN_DAY not in key:
            assert body == old_body, key

    # Other days were not touched at all, but for the rebuilt partitions (same rows, above):
    # exact keys and bytes.
    rebuilt = tuple(processed_partition_prefix("customer_metrics", day) for day in later)

    def untouched(objects: dict[str, bytes]) -> dict[str, bytes]:
        return {
            k: v for k, v in objects.items() if RERUN_DAY not in k and not k.startswith(rebuilt)
        }

    assert untouched(after) == untouched(before)


CONFIG_DAY = "2024-01-19"  # seeded, and processed by no other run here


def test_the_config_is_the_metastore_variable_and_a_ui_edit_applies_to_the_next_run(
    stack: AirflowStack,
) -> None:
    """As on MWAA: the Variable is listed in Admin -> Variables, nothing in the environment
    shadows it, and an invalid edit fails the next run with the validation message."""
    api = stack.api
    assert CONFIG_ENV_VARIABLE not in stack.env
    variable = f"/api/v2/variables/{CONFIG_VARIABLE}"
    assert json.loads(api.get(variable)["value"]) == LOCAL_CONFIG_VARIABLE
    # The edit the UI's Variables page makes: a misspelled key and too few workers.
    broken = {**LOCAL_CONFIG_VARIABLE, "bukcet": "typo", "glue_workers": 0}
    api.patch(variable, {"key": CONFIG_VARIABLE, "value": json.dumps(broken)})
    try:
        run_id = trigger_run(api, CONFIG_DAY)["dag_run_id"]

        def first_try_over() -> str | None:
            try:
                state = task_instance(api, run_id, "wait_for_sales")["state"]
            except ApiError:  # a busy API server (one call, 10 s): ask again
                return None
            return state if state in ("up_for_retry", "failed", "success") else None

        state = wait_until("wait_for_sales's first try to end", first_try_over, 120)
        unknown_key = f"unknown key(s) ['bukcet'] in Variable {CONFIG_VARIABLE!r}"
        # The try's state is set before its log is complete: read it until it names the cause.
        log = wait_for(
            lambda: task_log(api, run_id, "wait_for_sales", 1),
            lambda text: unknown_key in text,
            LOG_COMPLETE_SECONDS,
            interval=0.5,
            what=f"the log of the first try (ended {state}) to name the unknown key",
        )
        assert unknown_key in log, f"first try ended {state}:\n{log[-3000:]}"
    finally:
        api.patch(variable, {"key": CONFIG_VARIABLE, "value": local_config_json()})
    # Its retry would pass with the restored Variable; end the run now instead.
    api.patch(f"/api/v2/dags/sales_etl/dagRuns/{run_id}", {"state": "failed"})


def test_each_run_alerted_as_its_deadline_and_outcome_say(
    stack: AirflowStack, alerts: AlertInbox, manual_runs: ManualRuns
) -> None:
    """Over every run on this stack (the backfill's, the rerun, the manual ones): one late
    alert for each run that had not succeeded when its deadline passed, unless it had already
    failed (its failure alert stands); none for a run that succeeded in time."""
    alerts.take()
    met_in_time, missed = [], []
    for run in dag_runs(stack.api):
        run_id = run["dag_run_id"]
        deadlines = run_deadlines(stack.api, run_id)
        late_alerts = [a for a in alerts.received if alert_run(a) == run_id and is_late(a)]
        failed_first = run["state"] == "failed" and all(
            when(run["end_date"]) <= when(d["deadline_time"]) for d in deadlines
        )
        if any(d["missed"] for d in deadlines):
            missed.append(run_id)
        expected = 1 if run_id in missed and not failed_first else 0
        assert len(late_alerts) == expected, (run, deadlines, late_alerts)
        # Airflow deletes a deadline its run met by succeeding.
        if run["state"] == "success" and not deadlines:
            met_in_time.append(run_id)
    assert missed, "no run missed its deadline"
    assert met_in_time, "no run finished before its deadline: a successful run's case is untested"
