"""The unchanged DAG, run by Airflow against the local endpoint: outputs, catalog, faults."""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psutil
import pytest

from local.airflow.command_result import CommandResult
from local.aws_local import GLUE_ROLE
from local.data.synthetic_sales import RECIPE_CUSTOMERS, RECIPE_SALES, SALES_HEADER
from local.run_summary import catalog_tables, read_manifest, read_parquet_rows
from sales_contract.layout import (
    PROCESSED_TABLES,
    processed_partition_prefix,
    quarantine_partition_prefix,
    sales_partition_prefix,
)
from tests.support.endpoint import CrawlPause
from tests.support.pipeline import DAYS, FAILING_DAY, Pipeline, RecordedRuns, latest_xcom

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
RUN_TIMEOUT_SECONDS = 360
CUSTOMERS = {row[0]: row for row in RECIPE_CUSTOMERS}
GLUE_ARN = "arn:aws:glue:us-east-1:123456789012"


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def recipe_rows(day: str) -> list[tuple[str, ...]]:
    return [row for row in RECIPE_SALES if row[5] == day]


def expected_daily_sales(day: str) -> dict[str, tuple[Decimal, int, int]]:
    """Region -> (revenue, orders, distinct customers), computed from the seeded CSV rows."""
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    customers: dict[str, set[str]] = defaultdict(set)
    for _, customer, _, quantity, price, _, region in recipe_rows(day):
        revenue[region] += int(quantity) * Decimal(price)
        orders[region] += 1
        customers[region].add(customer)
    return {r: (money(revenue[r]), orders[r], len(customers[r])) for r in revenue}


def expected_customer_metrics(days: tuple[str, ...]) -> dict[str, tuple[str, str, Decimal, int]]:
    spent: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    for day in days:
        for _, customer, _, quantity, price, _, _ in recipe_rows(day):
            spent[customer] += int(quantity) * Decimal(price)
            orders[customer] += 1
    return {
        c: (CUSTOMERS[c][1], CUSTOMERS[c][4], money(spent[c]), orders[c]) for c in sorted(spent)
    }


def listening_addresses(root: psutil.Process) -> set[str]:
    pids = {root.pid} | {child.pid for child in root.children(recursive=True)}
    return {
        conn.laddr.ip
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids
    }


def s3_objects(pipeline: Pipeline, prefix: str) -> list[dict[str, Any]]:
    s3 = pipeline.aws.client("s3")
    return s3.list_objects_v2(Bucket=pipeline.cfg.bucket, Prefix=prefix).get("Contents", [])


def test_successful_runs_send_no_alert(pipeline: Pipeline, completed) -> None:
    assert pipeline.alerts.take() == []


def published_partitions(pipeline: Pipeline, table: str) -> dict[str, str]:
    """Day -> Location of each of the table's partitions, as Athena's GetPartitions sees them."""
    glue = pipeline.aws.client("glue")
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=pipeline.cfg.glue_database, TableName=table
    )
    found: dict[str, str] = {}
    for page in pages:
        for partition in page["Partitions"]:
            [day] = partition["Values"]
            assert day not in found, f"{table} has two partitions of {day}"
            found[day] = partition["StorageDescriptor"]["Location"]
    return found


def test_the_job_publishes_its_days_and_only_the_raw_data_is_crawled(
    pipeline: Pipeline, completed: RecordedRuns
) -> None:
    glue = pipeline.aws.client("glue")
    tables = catalog_tables(glue, pipeline.cfg.glue_database)
    assert set(tables) == {
        "raw_sales",
        "raw_customers",
        "daily_sales",
        "customer_daily",
        "customer_metrics",
    }
    assert tables["raw_customers"] == 1
    assert tables["raw_sales"] >= len(DAYS)
    for table in ("daily_sales", "customer_daily", "customer_metrics"):
        assert tables[table] == len(DAYS), table
    partitions = glue.get_partitions(
        DatabaseName=pipeline.cfg.glue_database, TableName="daily_sales"
    )
    assert sorted(p["Values"] for p in partitions["Partitions"]) == [[d] for d in DAYS]
    daily = glue.get_table(DatabaseName=pipeline.cfg.glue_database, Name="daily_sales")["Table"]
    columns = {c["Name"] for c in daily["StorageDescriptor"]["Columns"]}
    assert {"region", "daily_revenue", "daily_orders", "unique_customers"} <= columns
    assert [k["Name"] for k in daily["PartitionKeys"]] == ["order_date"]
    # Each day's partitions point at the version folders its run published, and hold its data.
    s3 = pipeline.aws.client("s3")
    partitions_of = {table: published_partitions(pipeline, table) for table in PROCESSED_TABLES}
    for day in DAYS:
        published = read_manifest(s3, pipeline.cfg.bucket, day)["published"]
        for table in PROCESSED_TABLES:
            location = partitions_of[table][day]
            assert published[table][day] == location
            prefix = location.removeprefix(f"s3://{pipeline.cfg.bucket}/")
            assert prefix.startswith(processed_partition_prefix(table, day) + "run-")
            assert any(o["Key"].endswith(".parquet") for o in s3_objects(pipeline, prefix))
    # No crawl of processed-data/: the only crawler started is the raw one, and the catalog's
    # processed partitions were created by the Glue job's role, not by a crawl.
    started = {c.resource for c in completed.calls if c.action == "glue:StartCrawler"}
    assert started == {f"{GLUE_ARN}:crawler/{pipeline.cfg.raw_crawler}"}
    creators = {
        c.principal
        for c in completed.calls
        if c.action == "glue:BatchCreatePartition" and c.resource.endswith("/daily_sales")
    }
    assert creators == {GLUE_ROLE}


@pytest.mark.parametrize("day", DAYS)
def test_daily_sales_equal_an_independent_computation(pipeline: Pipeline, completed, day) -> None:
    rows = read_parquet_rows(
        pipeline.aws.client("s3"),
        pipeline.cfg.bucket,
        processed_partition_prefix("daily_sales", day),
    )
    actual = {
        r["region"]: (money(r["daily_revenue"]), r["daily_orders"], r["unique_customers"])
        for r in rows
    }
    assert actual == expected_daily_sales(day)


def test_customer_metrics_accumulate_every_processed_day(pipeline: Pipeline, completed) -> None:
    rows = read_parquet_rows(
        pipeline.aws.client("s3"),
        pipeline.cfg.bucket,
        processed_partition_prefix("customer_metrics", DAYS[-1]),
    )
    actual = {
        r["customer_id"]: (r["name"], r["status"], money(r["total_spent"]), r["total_orders"])
        for r in rows
    }
    assert actual == expected_customer_metrics(DAYS)
    for r in rows:
        assert money(r["avg_order_value"]) == money(Decimal(r["total_spent"]) / r["total_orders"])


def test_manifest_reconciles_and_counts_the_bad_rows(pipeline: Pipeline, completed) -> None:
    s3 = pipeline.aws.client("s3")
    clean = read_manifest(s3, pipeline.cfg.bucket, "2024-01-15")
    assert (clean["status"], clean["rows_in"], clean["rows_quarantined"]) == ("succeeded", 2, 0)
    bad = read_manifest(s3, pipeline.cfg.bucket, "2024-01-16")
    assert bad["status"] == "succeeded"
    assert bad["rows_valid"] == len(recipe_rows("2024-01-16"))
    assert bad["rows_in"] == bad["rows_valid"] + bad["rows_quarantined"]
    assert bad["quarantine_reasons"] == {"unknown_customer": 1, "bad_header": 1}
    assert money(bad["total_revenue"]) == sum(
        (v[0] for v in expected_daily_sales("2024-01-16").values()), Decimal(0)
    )


def test_quarantine_keeps_each_rejected_row_with_its_reason(pipeline: Pipeline, completed) -> None:
    rows = quarantine_rows(pipeline, "2024-01-16")
    by_reason = {r["reason"]: r for r in rows}
    assert set(by_reason) == {"unknown_customer", "bad_header"}
    assert "C999" in by_reason["unknown_customer"]["raw_line"]
    assert by_reason["bad_header"]["raw_line"] == "invalid,data,format"
    assert quarantine_rows(pipeline, "2024-01-15") == []


def quarantine_rows(pipeline: Pipeline, day: str) -> list[dict[str, Any]]:
    return read_parquet_rows(
        pipeline.aws.client("s3"),
        pipeline.cfg.bucket,
        quarantine_partition_prefix(day),
    )


def test_lambda_summary_lands_in_xcom(pipeline: Pipeline, completed) -> None:
    import json

    summary = json.loads(latest_xcom(pipeline.airflow_home, "post_process", "2024-01-16"))
    manifest = read_manifest(pipeline.aws.client("s3"), pipeline.cfg.bucket, "2024-01-16")
    assert summary["checks"] == "passed"
    assert summary["run_date"] == "2024-01-16"
    for key in ("rows_in", "rows_valid", "rows_quarantined", "quarantine_reasons"):
        assert summary[key] == manifest[key], key
    assert summary["notified"] is True  # rows were quarantined and the topic is configured


def snapshot(pipeline: Pipeline, day: str) -> dict[str, Any]:
    """What a day's run wrote: file count and rows per output, and the manifest's counts."""
    s3 = pipeline.aws.client("s3")
    outputs = {table: processed_partition_prefix(table, day) for table in PROCESSED_TABLES}
    outputs["quarantine"] = quarantine_partition_prefix(day)
    result: dict[str, Any] = {}
    for name, prefix in outputs.items():
        keys = [o["Key"] for o in s3_objects(pipeline, prefix)]
        rows = read_parquet_rows(s3, pipeline.cfg.bucket, prefix)
        result[name] = (len(keys), sorted(map(repr, rows)))
    manifest = read_manifest(s3, pipeline.cfg.bucket, day)
    # The run's own: its id, version folders and what it published (checked where it matters).
    for key in ("job_run_id", "rebuilt", "outputs", "published"):
        manifest.pop(key)
    result["manifest"] = manifest
    return result


def test_rerun_while_the_crawler_runs_waits_and_changes_nothing(
    pipeline: Pipeline, completed, paused_crawls: CrawlPause
) -> None:
    day = DAYS[0]
    before = snapshot(pipeline, day)
    after_first_runs = snapshot(pipeline, DAYS[1])
    pipeline.aws.client("glue").start_crawler(Name=pipeline.cfg.raw_crawler)  # a crawl in flight
    outcome: dict[str, CommandResult] = {}
    started = time.time_ns()
    runner = threading.Thread(target=lambda: outcome.update(run=pipeline.run_day(day)))
    addresses: set[str] = set()
    sampler = threading.Thread(target=sample_listening, args=(runner, addresses))
    runner.start()
    sampler.start()
    try:
        text = "Crawler 'sales_etl_raw' is already running"
        log = wait_for_log_text(pipeline, text, 120, since_ns=started)
    finally:
        paused_crawls.release()
        runner.join(RUN_TIMEOUT_SECONDS)
        sampler.join(RUN_TIMEOUT_SECONDS)
    assert outcome["run"].ok, outcome["run"].log_tail(80)
    assert "Waiting for the existing run to complete instead of failing" in log.read_text()
    assert snapshot(pipeline, day) == before
    # The later day's customer_metrics was rebuilt on the rerun day, to the same rows.
    manifest = read_manifest(pipeline.aws.client("s3"), pipeline.cfg.bucket, day)
    later_metrics = processed_partition_prefix("customer_metrics", DAYS[1])
    [rebuilt] = manifest["rebuilt"]["customer_metrics"]
    assert rebuilt.startswith(f"s3://{pipeline.cfg.bucket}/{later_metrics}run-")
    assert snapshot(pipeline, DAYS[1]) == after_first_runs
    # One partition per table and day, pointing at the rerun's outputs: the rerun's day in
    # each table, and the later day it rebuilt in customer_metrics.
    for table in PROCESSED_TABLES:
        locations = published_partitions(pipeline, table)
        assert locations[day] == manifest["published"][table][day]
        assert locations[day].rstrip("/") == manifest["outputs"][table]
    assert published_partitions(pipeline, "customer_metrics")[DAYS[1]].rstrip("/") == rebuilt
    assert nothing_unpublished(pipeline)
    # Airflow, the endpoint, Spark and the Lambda all ran: none listened beyond loopback.
    assert addresses and all(is_loopback(a) for a in addresses), addresses


def nothing_unpublished(pipeline: Pipeline) -> bool:
    """Every object under processed-data/ lies in a folder a partition points at."""
    locations = [
        loc.removeprefix(f"s3://{pipeline.cfg.bucket}/").rstrip("/") + "/"
        for table in PROCESSED_TABLES
        for loc in published_partitions(pipeline, table).values()
    ]
    stray = [
        o["Key"]
        for o in s3_objects(pipeline, "processed-data/")
        if not any(o["Key"].startswith(loc) for loc in locations)
    ]
    assert not stray, f"objects no partition points at: {stray}"
    return True


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    # A JVM's IPv6 socket reports an IPv4 loopback bind as ::ffff:127.0.0.1.
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def sample_listening(runner: threading.Thread, addresses: set[str]) -> None:
    me = psutil.Process()
    while runner.is_alive():
        addresses |= listening_addresses(me)
        time.sleep(0.5)


def wait_for_log_text(pipeline: Pipeline, text: str, seconds: float, since_ns: int):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for log in pipeline.logs.glob("dags-test-*.log"):
            if log.stat().st_mtime_ns >= since_ns and text in log.read_text(errors="replace"):
                return log
        time.sleep(0.5)
    raise AssertionError(f"no run log mentioned {text!r} within {seconds}s")


# `airflow tasks test` records no task state and exits 0 either way: the task log is the record.
TASK_FAILED = "Task failed with exception"


def test_failing_glue_job_fails_transform_with_the_jobs_message(
    pipeline: Pipeline, failed_transform: RecordedRuns
) -> None:
    day = FAILING_DAY
    log = failed_transform.results[day].log_file.read_text()
    assert TASK_FAILED in log
    manifest = read_manifest(pipeline.aws.client("s3"), pipeline.cfg.bucket, day)
    assert "max_quarantine_ratio 0.0" in manifest["error"]
    assert manifest["status"] == "failed"
    assert manifest["quarantine_reasons"] == {"unknown_customer": 1}
    # The endpoint writes only Glue 5.0's <run id>-driver streams, which the provider does not
    # read: the cause reaches the task log through the failure callback (GetJobRun, manifest).
    run_id = manifest["job_run_id"]
    cause = f"sales_job.daily_run.SalesEtlError: {manifest['error']}"
    reason = (
        f"Reason: Glue job {pipeline.cfg.glue_job} run {run_id}: FAILED: {cause};"
        f" manifest: {manifest['error']}"
    )
    assert reason in log
    [alert] = pipeline.alerts.take()
    try_number = alert_try(alert, f"sales_etl {day}: transform failed")
    lines = alert["Message"].splitlines()
    assert lines[:2] == ["DAG: sales_etl", f"Day: {day}"]
    assert lines[3:] == ["Task: transform", f"Try: {try_number}", reason]


def alert_try(alert: dict[str, Any], subject: str) -> str:
    """The try number an alert's subject names (`tasks test` does not count tries the way a
    scheduler does: it reports 0, or the try of the day's earlier full run)."""
    match = re.fullmatch(re.escape(subject) + r" \(try (\d+)\)", alert["Subject"])
    assert match, alert["Subject"]
    return match.group(1)


FAILING_HANDLER = """
def lambda_handler(event, context):
    raise RuntimeError("manifest check exploded on purpose for " + event["run_date"])
"""


def test_failing_lambda_fails_post_process_with_its_message(pipeline: Pipeline, tmp_path) -> None:
    import json

    from deploy.artifacts import build_lambda_zip, publish_lambda

    (tmp_path / "handler.py").write_text(FAILING_HANDLER)
    iam = pipeline.aws.client("iam")
    role = iam.get_role(RoleName="sales-etl-post-process")["Role"]["Arn"]
    publish_lambda(
        pipeline.aws.client("lambda"),
        "sales_etl_failing_check",
        role,
        build_lambda_zip(tmp_path),
        waiter_delay=1,
    )
    env = dict(pipeline.env)
    config = {**json.loads(env["AIRFLOW_VAR_SALES_ETL_CONFIG"])}
    config["lambda_function"] = "sales_etl_failing_check"
    env["AIRFLOW_VAR_SALES_ETL_CONFIG"] = json.dumps(config)

    result = pipeline.run_task("post_process", "2024-01-15", env=env)

    log = result.log_file.read_text()
    assert TASK_FAILED in log
    reason = (
        "Reason: Lambda sales_etl_failing_check RuntimeError:"
        " manifest check exploded on purpose for 2024-01-15"
    )
    assert reason in log
    [alert] = pipeline.alerts.take()
    try_number = alert_try(alert, "sales_etl 2024-01-15: post_process failed")
    assert alert["Message"].splitlines()[3:] == ["Task: post_process", f"Try: {try_number}", reason]


SPLIT_DAY = "2024-01-22"
SPLIT_FILES = {
    "part-0000.csv": [("2201", "C001", "P001", "2", "29.99", SPLIT_DAY, "North")],
    "part-0001.csv": [
        ("2202", "C002", "P002", "1", "49.99", SPLIT_DAY, "South"),
        ("2203", "C004", "P003", "3", "19.99", SPLIT_DAY, "East"),
    ],
}


def put_sales_file(pipeline: Pipeline, name: str, body: str) -> None:
    key = sales_partition_prefix(SPLIT_DAY) + name
    pipeline.aws.client("s3").put_object(Bucket=pipeline.cfg.bucket, Key=key, Body=body)


def csv_text(rows: list[tuple[str, ...]]) -> str:
    return "\n".join([",".join(SALES_HEADER), *(",".join(r) for r in rows)]) + "\n"


def test_a_day_in_two_files_waits_for_its_completion_marker(pipeline: Pipeline) -> None:
    s3 = pipeline.aws.client("s3")
    put_sales_file(pipeline, "part-0000.csv", csv_text(SPLIT_FILES["part-0000.csv"]))
    outcome: dict[str, CommandResult] = {}
    started = time.time_ns()
    runner = threading.Thread(target=lambda: outcome.update(run=pipeline.run_day(SPLIT_DAY)))
    runner.start()
    try:
        partition = f"s3://{pipeline.cfg.bucket}/{sales_partition_prefix(SPLIT_DAY)}"
        log = wait_for_log_text(pipeline, f"Poking for key : {partition}", 120, started)
        # The real sensor saw the first file and no marker: the run is still waiting.
        time.sleep(2)
        assert runner.is_alive()
        assert "starting task_id=crawl_raw" not in log.read_text()
        manifests = f"manifests/run_date={SPLIT_DAY}/"
        assert s3.list_objects_v2(Bucket=pipeline.cfg.bucket, Prefix=manifests)["KeyCount"] == 0
        # The producer finishes the day: the second file, then the marker.
        put_sales_file(pipeline, "part-0001.csv", csv_text(SPLIT_FILES["part-0001.csv"]))
        put_sales_file(pipeline, "_SUCCESS", "")
    finally:
        runner.join(RUN_TIMEOUT_SECONDS)
    assert outcome["run"].ok, outcome["run"].log_tail(80)
    manifest = read_manifest(s3, pipeline.cfg.bucket, SPLIT_DAY)
    rows = [r for rows in SPLIT_FILES.values() for r in rows]
    assert (manifest["status"], manifest["rows_in"], manifest["rows_valid"]) == ("succeeded", 3, 3)
    assert manifest["input_files"]["count"] == 2  # the marker is not a data file
    revenue = sum(int(r[3]) * Decimal(r[4]) for r in rows)
    assert Decimal(manifest["total_revenue"]) == revenue
