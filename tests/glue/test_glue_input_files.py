"""Which files a run reads: every listed file exactly once, whatever its name; nothing in a
sub-folder unread without a failure; hidden files skipped and listed; a customer snapshot used
only once its completion marker is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from sales_job.daily_run import SalesEtlError
from tests.support.lake import (
    SALES_HEADER,
    output_dir,
    read_manifest,
    read_partition,
    run_day,
    sales_dir,
    snapshot_dir,
    write_customers,
    write_file,
    write_sales,
)

DAY = "2024-01-15"


def orders(first: int, count: int, customer: str = "C001") -> list[str]:
    return [f"{n},{customer},P1,1,1.00,{DAY},North" for n in range(first, first + count)]


def test_every_listed_file_is_read_exactly_once_whatever_its_name(spark, tmp_path):
    # Names Hadoop would take for globs: each must be read as itself, once.
    files = {
        "a.csv": orders(1, 100),
        "sales[1].csv": orders(1001, 50),
        "sales1.csv": orders(2001, 1),
        "sales*.csv": orders(3001, 3),
        "{a,b}.csv": orders(4001, 2),
        "sales?.csv": orders(5001, 4),
        "back\\slash.csv": orders(6001, 5),
    }
    for name, rows in files.items():
        write_sales(tmp_path, DAY, rows, name=name)
    # The snapshot's file name is a glob too (it matches no other file).
    write_customers(tmp_path, name="customers[1].csv")

    manifest = run_day(spark, tmp_path, DAY)

    expected = sum(len(rows) for rows in files.values())
    assert (manifest["rows_in"], manifest["rows_valid"]) == (expected, expected) == (165, 165)
    assert manifest["quarantine_reasons"] == {}
    assert manifest["customer_snapshot"]["customers"] == 3
    [north] = read_partition(spark, output_dir(tmp_path, "daily_sales", DAY))
    assert north["daily_orders"] == expected


def test_a_colon_in_a_file_name_fails_the_day_naming_the_file(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, orders(1, 3))
    write_sales(tmp_path, DAY, orders(11, 2), name="b:c.csv")
    with pytest.raises(SalesEtlError, match=r"'b:c\.csv'") as caught:
        run_day(spark, tmp_path, DAY)
    manifest = read_manifest(tmp_path, DAY)
    assert (manifest["status"], manifest["error"]) == ("failed", str(caught.value))
    assert not output_dir(tmp_path, "daily_sales", DAY).exists()


def test_files_in_sub_folders_fail_the_day_naming_the_folders(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, orders(1, 3))
    folder = sales_dir(tmp_path, DAY)
    write_file(folder / "batch2" / "x.csv", "\n".join([SALES_HEADER, *orders(11, 2)]) + "\n")
    # A Spark-style output folder, with its own marker.
    write_file(folder / "sales.csv" / "part-00000.csv", SALES_HEADER + "\n" + orders(21, 1)[0])
    write_file(folder / "sales.csv" / "_SUCCESS", "")

    with pytest.raises(SalesEtlError) as caught:
        run_day(spark, tmp_path, DAY)

    message = str(caught.value)
    assert "batch2/" in message and "sales.csv/" in message
    manifest = read_manifest(tmp_path, DAY)
    assert manifest["status"] == "failed"
    assert {"name": "batch2/", "reason": "sub_folder"} in manifest["input_files"]["skipped"]
    assert not output_dir(tmp_path, "daily_sales", DAY).exists()


def test_hidden_files_are_skipped_and_the_manifest_says_why(spark, tmp_path):
    write_customers(tmp_path)
    write_sales(tmp_path, DAY, orders(1, 3))
    folder = sales_dir(tmp_path, DAY)
    write_file(folder / "_SUCCESS", "")
    write_file(folder / ".DS_Store", "junk")
    write_file(folder / "_temporary" / "0" / "part-0001.csv", "\n".join(orders(11, 2)))

    manifest = run_day(spark, tmp_path, DAY)

    assert (manifest["status"], manifest["rows_in"], manifest["input_files"]["count"]) == (
        "succeeded",
        3,
        1,
    )
    assert manifest["input_files"]["skipped"] == [
        {"name": ".DS_Store", "reason": "hidden"},
        {"name": "_SUCCESS", "reason": "completion_marker"},
        {"name": "_temporary/", "reason": "hidden"},
    ]


def snapshot_lake(base: Path) -> None:
    """A complete snapshot of three customers, then a newer one half-uploaded: no marker yet,
    and only its first customer so far. The day's orders are almost all C001's, one is C002's."""
    write_customers(base, "2024-01-01")
    write_customers(
        base, "2024-01-10", rows=("C001,John Smith,j@x.com,2023-01-01,vip",), marker=None
    )
    write_sales(base, DAY, [*orders(1, 40), *orders(100, 1, customer="C002")])


def test_a_snapshot_without_its_completion_marker_is_not_used_and_is_named(spark, tmp_path):
    snapshot_lake(tmp_path)

    manifest = run_day(spark, tmp_path, DAY)

    assert (manifest["rows_in"], manifest["rows_valid"]) == (41, 41)
    assert manifest["inputs"]["customers"] == f"file://{snapshot_dir(tmp_path, '2024-01-01')}"
    assert manifest["customer_snapshot"]["snapshot_date"] == "2024-01-01"
    assert manifest["skipped_snapshots"] == [
        {
            "uri": f"file://{snapshot_dir(tmp_path, '2024-01-10')}",
            "reason": "no completion marker _SUCCESS",
        }
    ]
    daily = read_partition(spark, output_dir(tmp_path, "customer_daily", DAY))
    assert [(r["customer_id"], r["status"]) for r in daily] == [
        ("C001", "active"),
        ("C002", "active"),
    ]


def test_the_snapshot_marker_is_the_configured_one_or_none(spark, tmp_path):
    snapshot_lake(tmp_path)
    write_file(snapshot_dir(tmp_path, "2024-01-10") / "_READY", "")

    # Its own marker name: the newer snapshot is complete.
    manifest = run_day(spark, tmp_path, DAY, completion_marker="_READY", max_quarantine_ratio="1")
    assert manifest["customer_snapshot"]["snapshot_date"] == "2024-01-10"
    assert manifest["skipped_snapshots"] == []
    assert manifest["quarantine_reasons"] == {"unknown_customer": 1}

    # No marker rule: the newest snapshot is used, as the producer left it.
    (snapshot_dir(tmp_path, "2024-01-10") / "_READY").unlink()
    manifest = run_day(spark, tmp_path, DAY, completion_marker="", max_quarantine_ratio="1")
    assert manifest["customer_snapshot"]["snapshot_date"] == "2024-01-10"


def test_no_complete_snapshot_fails_the_day_naming_the_incomplete_one(spark, tmp_path):
    write_customers(tmp_path, "2024-01-10", marker=None)
    write_sales(tmp_path, DAY, orders(1, 3))
    with pytest.raises(SalesEtlError, match="no customer snapshot") as caught:
        run_day(spark, tmp_path, DAY)
    assert "snapshot_date=2024-01-10 (no completion marker _SUCCESS)" in str(caught.value)
