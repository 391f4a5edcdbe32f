"""Whole runs on tmp_path lakes: idempotency, processing order, failures, incrementality."""

from __future__ import annotations

import csv
import hashlib
import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sales_etl_job import main

from local.data.synthetic_sales import write_synthetic_lake
from sales_job.daily_run import SalesEtlError
from tests.support.fake_catalog import catalog_for
from tests.support.lake import (
    SALES_HEADER,
    data_files,
    day_dir,
    day_of,
    output_dir,
    read_manifest,
    read_partition,
    run_day,
    sales_dir,
    write_customers,
    write_file,
    write_sales,
)

TABLES = ("daily_sales", "customer_daily", "customer_metrics", "quarantine")
PER_DAY_TABLES = ("daily_sales", "customer_daily", "quarantine")


def small_lake(base: Path, days: int = 3) -> list[str]:
    summary = write_synthetic_lake(
        base, start=date(2024, 3, 1), days=days, orders_per_day=40, customers=12,
        bad_row_rate=0.1, seed=11,
    )  # fmt: skip
    return [d.day for d in summary.days]


def partition_state(base: Path, table: str, day: str) -> list[str]:
    """The bytes of every visible file (Parquet holds no paths or times): equal means identical."""
    return sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files(output_dir(base, table, day))
    )


def file_bytes_read(spark) -> int:
    """Bytes read through Hadoop's local FileSystem: the counters Spark's scans report."""
    stats = spark._jvm.org.apache.hadoop.fs.FileSystem.getAllStatistics()
    return sum(s.getBytesRead() for s in stats if s.getScheme() == "file")


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def manifest_without_uris(base: Path, day: str) -> dict:
    m = read_manifest(base, day)
    return {k: v for k, v in m.items() if k not in ("inputs", "outputs", "rebuilt", "published")}


def test_reruns_are_identical_read_only_their_day_and_touch_no_other_day(spark, tmp_path):
    days = small_lake(tmp_path, days=2)
    run_day(spark, tmp_path, days[0], max_quarantine_ratio="1")
    earlier = {t: partition_state(tmp_path, t, days[0]) for t in TABLES}
    # Large raw partitions of other days: a run must not read them at all.
    for n in range(3):
        big = [f"9{n}{i:06d},C000001,P0001,1,1.00,2024-04-0{n + 1},North" for i in range(20000)]
        write_sales(tmp_path, f"2024-04-0{n + 1}", big)
    assert tree_size(tmp_path / "raw-data/sales") > 2_000_000
    own = tree_size(sales_dir(tmp_path, days[1])) + tree_size(tmp_path / "raw-data/customers")

    states = []
    for _ in range(3):
        before = file_bytes_read(spark)
        run_day(spark, tmp_path, days[1], max_quarantine_ratio="1", JOB_RUN_ID="jr_same")
        read = file_bytes_read(spark) - before
        # Its own files once, plus the previous day's small metrics (Parquet footers too).
        history = tree_size(output_dir(tmp_path, "customer_metrics", days[0]))
        assert own <= read <= own + 2 * history + 16_384
        tables = {t: partition_state(tmp_path, t, days[1]) for t in TABLES}
        states.append({"tables": tables, "manifest": manifest_without_uris(tmp_path, days[1])})
    assert states[0] == states[1] == states[2]
    assert all(len(states[0]["tables"][t]) == 1 for t in TABLES)  # one file per partition
    assert {t: partition_state(tmp_path, t, days[0]) for t in TABLES} == earlier

    # Each file is sorted by its key, so equal inputs give equal files whatever Spark's plan.
    keys = {
        "daily_sales": ("region",),
        "customer_daily": ("customer_id",),
        "customer_metrics": ("customer_id",),
        "quarantine": ("source_file", "line_number"),
    }
    for table, key in keys.items():
        rows = read_partition(spark, output_dir(tmp_path, table, days[1]))
        values = [tuple(r[k] for k in key) for r in rows]
        assert len(values) > 1 and values == sorted(values), table

    # The day's raw data is replaced by a header-only file and an empty one: the rerun fails,
    # naming the day, the partition and the files, and overwrites nothing of that day.
    processed = ("daily_sales", "customer_daily", "customer_metrics")
    before = {t: partition_state(tmp_path, t, days[1]) for t in processed}
    shutil.rmtree(sales_dir(tmp_path, days[1]))
    write_file(sales_dir(tmp_path, days[1]) / "part-0000.csv", SALES_HEADER + "\n")
    write_file(sales_dir(tmp_path, days[1]) / "part-0001.csv", "")
    partition = f"file://{sales_dir(tmp_path, days[1])}"
    manifest = expect_failure(
        spark,
        tmp_path,
        days[1],
        f"0 data rows in {partition}, at least 1 required",
        "files seen: part-0000.csv (",
        "part-0001.csv (0 bytes)",
        expect_no_outputs=False,
    )
    assert (manifest["rows_in"], manifest["lines"]["header"]) == (0, 1)
    assert {t: partition_state(tmp_path, t, days[1]) for t in processed} == before
    assert not output_dir(tmp_path, "quarantine", days[1]).exists()  # no rows, none rejected
    assert {t: partition_state(tmp_path, t, days[0]) for t in TABLES} == earlier


def test_min_rows_is_a_configurable_floor(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, "2024-01-15", ["1,C001,P1,1,1.00,2024-01-15,North"])
    expect_failure(spark, tmp_path, "2024-01-15", "1 data rows", "at least 2", min_rows="2")
    assert run_day(spark, tmp_path, "2024-01-15", min_rows="1")["status"] == "succeeded"


def test_days_in_any_order_give_the_same_per_day_outputs(spark, tmp_path):
    forward, backward = tmp_path / "forward", tmp_path / "backward"
    days = small_lake(forward, days=2)
    small_lake(backward, days=2)
    for d in days:
        run_day(spark, forward, d, max_quarantine_ratio="1")
    for d in reversed(days):
        run_day(spark, backward, d, max_quarantine_ratio="1")

    for d in days:
        for table in PER_DAY_TABLES:
            files = partition_state(forward, table, d)
            assert files, (table, d)  # something to compare
            assert files == partition_state(backward, table, d), (table, d)
        assert manifest_without_uris(forward, d) == manifest_without_uris(backward, d)

    # customer_metrics too: processing an earlier day rebuilds every later day's metrics.
    for d in days:
        complete = partition_state(forward, "customer_metrics", d)
        assert partition_state(backward, "customer_metrics", d) == complete, d
    assert read_manifest(backward, days[0])["rebuilt"] == {
        "customer_metrics": [f"file://{output_dir(backward, 'customer_metrics', days[1])}"]
    }
    assert read_manifest(forward, days[0])["rebuilt"] == {"customer_metrics": []}


def raw_orders(base: Path, day: str) -> list[dict[str, str]]:
    rows = []
    for path in sorted(sales_dir(base, day).glob("*.csv")):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def metrics_from_scratch(base: Path, days: list[str], as_of: str) -> list[dict]:
    """customer_metrics as of a day in plain Python from the raw CSV rows (all valid here)."""
    with (base / "raw-data/customers/snapshot_date=2024-03-01/customers.csv").open() as f:
        names = {c["customer_id"]: (c["name"], c["status"]) for c in csv.DictReader(f)}
    spent: dict[str, Decimal] = {}
    orders: dict[str, int] = {}
    for day in (d for d in days if d <= as_of):
        for o in raw_orders(base, day):
            amount = int(o["quantity"]) * Decimal(o["price"])
            spent[o["customer_id"]] = spent.get(o["customer_id"], Decimal(0)) + amount
            orders[o["customer_id"]] = orders.get(o["customer_id"], 0) + 1
    return [
        {
            "customer_id": c,
            "name": names[c][0],
            "status": names[c][1],
            "total_spent": spent[c],
            "total_orders": orders[c],
            "avg_order_value": (spent[c] / orders[c]).quantize(Decimal("0.01"), ROUND_HALF_UP),
        }
        for c in sorted(spent)
    ]


def test_rerunning_an_earlier_day_rebuilds_every_later_day_exactly(spark, tmp_path):
    summary = write_synthetic_lake(
        tmp_path, start=date(2024, 3, 1), days=5, orders_per_day=30, customers=10, seed=5
    )
    days = [d.day for d in summary.days]
    for d in days:
        run_day(spark, tmp_path, d)
    # Day 2 is re-delivered: orders dropped, quantities changed, one new order.
    day2 = sales_dir(tmp_path, days[1]) / "part-0000.csv"
    orders = raw_orders(tmp_path, days[1])[4:]
    for o in orders[::3]:
        o["quantity"] = str(int(o["quantity"]) + 2)
    orders.append({**orders[0], "order_id": "990001", "quantity": "7"})
    write_file(day2, "\n".join([SALES_HEADER, *(",".join(o.values()) for o in orders)]) + "\n")
    later_day_files = {d: partition_state(tmp_path, "customer_daily", d) for d in days[2:]}

    manifest = run_day(spark, tmp_path, days[1])

    assert manifest["rebuilt"]["customer_metrics"] == [
        f"file://{output_dir(tmp_path, 'customer_metrics', d)}" for d in days[2:]
    ]
    for d in days[1:]:
        got = [
            {k: v for k, v in r.items() if k != "as_of_date"}
            for r in read_partition(spark, output_dir(tmp_path, "customer_metrics", d))
        ]
        assert got == metrics_from_scratch(tmp_path, days, d), d
    # Later days' own outputs are not rewritten: only their metrics.
    assert {d: partition_state(tmp_path, "customer_daily", d) for d in days[2:]} == later_day_files


def test_metrics_build_on_the_previous_day_not_on_the_whole_history(spark, tmp_path):
    days = small_lake(tmp_path, days=3)
    for d in days:
        run_day(spark, tmp_path, d, max_quarantine_ratio="1")
    complete = partition_state(tmp_path, "customer_metrics", days[-1])
    # Day 3's metrics come from day 2's metrics plus day 3: day 1's history is not read.
    shutil.rmtree(output_dir(tmp_path, "customer_daily", days[0]))
    run_day(spark, tmp_path, days[-1], max_quarantine_ratio="1")
    assert partition_state(tmp_path, "customer_metrics", days[-1]) == complete


def test_a_later_day_that_cannot_be_rebuilt_fails_the_rerun_before_any_write(spark, tmp_path):
    days = small_lake(tmp_path, days=2)
    for d in days:
        run_day(spark, tmp_path, d, max_quarantine_ratio="1")
    before = {t: partition_state(tmp_path, t, days[0]) for t in TABLES}
    # A complete snapshot folder for the later day without files: its metrics cannot be rebuilt.
    write_file(tmp_path / f"raw-data/customers/snapshot_date={days[1]}/_SUCCESS", "")
    expect_failure(
        spark,
        tmp_path,
        days[0],
        f"cannot rebuild customer_metrics as of {days[1]}",
        expect_no_outputs=False,
        max_quarantine_ratio="1",
    )
    assert {t: partition_state(tmp_path, t, days[0]) for t in TABLES} == before


def expect_failure(
    spark, base: Path, day: str, *fragments: str, expect_no_outputs: bool = True, **extra: str
) -> dict:
    with pytest.raises(SalesEtlError) as caught:
        run_day(spark, base, day, **extra)
    message = str(caught.value)
    for fragment in (f"run_date {day}", *fragments):
        assert fragment in message
    manifest = read_manifest(base, day)
    assert manifest["status"] == "failed"
    assert manifest["error"] == message
    assert manifest["rows_in"] == manifest["rows_valid"] + manifest["rows_quarantined"]
    if expect_no_outputs:  # a day that had output before is checked by its caller
        for table in ("daily_sales", "customer_daily", "customer_metrics"):
            assert not output_dir(base, table, day).exists(), table
    return manifest


def test_a_customer_listed_twice_in_the_snapshot_keeps_its_first_row(spark, tmp_path):
    # The run skips the snapshot's first-row selection only when no customer_id repeats.
    write_customers(
        tmp_path,
        rows=(
            "C001,First Name,a@example.com,2023-01-01,active",
            "C002,Jane Doe,jane@example.com,2023-02-15,active",
            "C001,Second Name,b@example.com,2023-01-01,inactive",
        ),
    )
    write_sales(
        tmp_path,
        "2024-01-15",
        ["1,C001,P1,2,5.00,2024-01-15,North", "2,C002,P1,1,3.00,2024-01-15,North"],
    )
    manifest = run_day(spark, tmp_path, "2024-01-15")
    assert (manifest["rows_in"], manifest["rows_valid"]) == (2, 2)
    snapshot = manifest["customer_snapshot"]
    assert (snapshot["rows_in"], snapshot["customers"]) == (3, 2)
    daily = read_partition(spark, output_dir(tmp_path, "customer_daily", "2024-01-15"))
    assert [(r["customer_id"], r["name"], r["status"], r["orders"]) for r in daily] == [
        ("C001", "First Name", "active", 1),
        ("C002", "Jane Doe", "active", 1),
    ]
    [north] = read_partition(spark, output_dir(tmp_path, "daily_sales", "2024-01-15"))
    assert (north["daily_orders"], north["daily_revenue"]) == (2, Decimal("13.00"))


def test_missing_sales_partition_fails_and_writes_the_manifest(spark, tmp_path):
    write_customers(tmp_path)
    partition = f"file://{sales_dir(tmp_path, '2024-01-15')}"
    manifest = expect_failure(spark, tmp_path, "2024-01-15", partition, "does not exist")
    assert manifest["rows_in"] == 0
    assert manifest["inputs"] == {
        "sales": partition,
        "customers": f"file://{tmp_path}/raw-data/customers/snapshot_date=2024-01-01",
    }


def test_missing_customer_snapshot_fails_but_quarantines_the_rows(spark, tmp_path):
    write_sales(tmp_path, "2024-01-15", ["1,C001,P1,1,1.00,2024-01-15,North"])
    write_customers(tmp_path, snapshot="2024-01-16")  # only a later snapshot: not usable
    manifest = expect_failure(
        spark,
        tmp_path,
        "2024-01-15",
        "no customer snapshot",
        f"file://{tmp_path}/raw-data/customers",
    )
    assert manifest["inputs"]["customers"] is None
    assert manifest["quarantine_reasons"] == {"unknown_customer": 1}
    [q] = read_partition(spark, output_dir(tmp_path, "quarantine", "2024-01-15"))
    assert q["raw_line"] == "1,C001,P1,1,1.00,2024-01-15,North"


def test_quarantine_ratio_above_the_limit_fails_after_writing_the_quarantine(spark, tmp_path):
    write_customers(tmp_path)
    rows = ["1,C001,P1,1,1.00,2024-01-15,North", "2,C001,P1,x,1.00,2024-01-15,North"]
    write_sales(tmp_path, "2024-01-15", rows)
    partition = f"file://{sales_dir(tmp_path, '2024-01-15')}"
    cause = "0.5000 > max_quarantine_ratio 0.4"
    manifest = expect_failure(
        spark, tmp_path, "2024-01-15", partition, "1 of 2 rows", cause, max_quarantine_ratio="0.4"
    )
    assert manifest["quarantine_reasons"] == {"invalid_quantity": 1}
    assert manifest["max_quarantine_ratio"] == 0.4
    [q] = read_partition(spark, output_dir(tmp_path, "quarantine", "2024-01-15"))
    assert (q["reason"], q["line_number"]) == ("invalid_quantity", 3)
    # At the limit (not above it) the same day succeeds.
    assert (
        run_day(spark, tmp_path, "2024-01-15", max_quarantine_ratio="0.5")["status"] == "succeeded"
    )


def test_an_unexpected_error_still_writes_a_failed_manifest(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, "2024-01-15", ["1,C001,P1,1,1.00,2024-01-15,North"])
    # A corrupt published customer_daily file: reading history for customer_metrics fails.
    folder = day_dir(tmp_path, "customer_daily", "2024-01-14") / "run-corrupt"
    write_file(folder / "part-0.parquet", "junk")
    catalog_for(tmp_path).tables["customer_daily"][day_of("2024-01-14")] = f"file://{folder}"
    with pytest.raises(Exception) as caught:
        run_day(spark, tmp_path, "2024-01-15")
    assert not isinstance(caught.value, SalesEtlError)
    manifest = read_manifest(tmp_path, "2024-01-15")
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith(type(caught.value).__name__)
    assert (manifest["rows_in"], manifest["rows_valid"]) == (1, 1)


def test_entry_point_main_in_process_raises_for_a_failed_run(spark, tmp_path):
    write_customers(tmp_path)
    with pytest.raises(SalesEtlError, match="no sales partition"):
        main(
            ["sales_etl_job.py", "--run_date", "2024-01-15", "--data_uri", str(tmp_path)],
            catalog_for(tmp_path),
        )
    assert read_manifest(tmp_path, "2024-01-15")["status"] == "failed"
