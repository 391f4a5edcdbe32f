"""Tiny lakes on disk for the Glue job run in-process: write them, run a day, read what it wrote."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from sales_contract.layout import DEFAULT_COMPLETION_MARKER
from sales_job.args import JobArgs, validate_job_args
from sales_job.daily_run import run_sales_etl
from tests.support.fake_catalog import catalog_for, published_folder

SALES_HEADER = "order_id,customer_id,product_id,quantity,price,order_date,region"
CUSTOMER_HEADER = "customer_id,name,email,registration_date,status"
CUSTOMERS = (
    "C001,John Smith,john@example.com,2023-01-01,active",
    "C002,Jane Doe,jane@example.com,2023-02-15,active",
    'C003,"Johnson, Bob",bob@example.com,2023-03-20,inactive',
)


def write_file(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def sales_dir(base: Path, day: str) -> Path:
    return base / "raw-data" / "sales" / f"order_date={day}"


def write_sales(base: Path, day: str, rows: list[str], name: str = "part-0000.csv") -> Path:
    """A well-formed sales file: the header, then `rows`, newline-terminated."""
    return write_file(sales_dir(base, day) / name, "\n".join([SALES_HEADER, *rows]) + "\n")


def snapshot_dir(base: Path, snapshot: str) -> Path:
    return base / "raw-data" / "customers" / f"snapshot_date={snapshot}"


def write_customers(
    base: Path,
    snapshot: str = "2024-01-01",
    rows: tuple[str, ...] = CUSTOMERS,
    *,
    name: str = "customers.csv",
    marker: str | None = DEFAULT_COMPLETION_MARKER,
) -> Path:
    """A snapshot file; then, as a producer must, the completion marker (None: no marker)."""
    folder = snapshot_dir(base, snapshot)
    path = write_file(folder / name, "\n".join([CUSTOMER_HEADER, *rows]) + "\n")
    if marker:
        write_file(folder / marker, "")
    return path


def job_args(base: Path, day: str, **extra: str) -> JobArgs:
    return validate_job_args({"run_date": day, "data_uri": str(base), **extra})


def run_day(spark: SparkSession, base: Path, day: str, **extra: str) -> dict[str, Any]:
    """Run the day in-process; it publishes in the lake's own catalog (``catalog_for``)."""
    return run_sales_etl(spark, job_args(base, day, **extra), catalog_for(base))


def read_manifest(base: Path, day: str) -> dict[str, Any]:
    return json.loads((base / "manifests" / f"run_date={day}" / "manifest.json").read_text())


def read_partition(spark: SparkSession, folder: Path) -> list[dict[str, Any]]:
    """The rows of one partition folder, in file order (our files are written sorted)."""
    if not folder.exists():
        return []
    return [row.asDict() for row in spark.read.parquet(str(folder)).collect()]


def output_dir(base: Path, table: str, day: str) -> Path:
    """The quarantine's partition folder; for a processed table, the version the catalog
    publishes for the day (the day's folder when none is published)."""
    published = published_folder(base, table, day) if table != "quarantine" else None
    if published is not None:
        return published
    return day_dir(base, table, day)


def day_dir(base: Path, table: str, day: str) -> Path:
    """A table's folder for one day (a processed table's holds its versions)."""
    roots = {
        "daily_sales": ("processed-data/daily_sales", "order_date"),
        "customer_daily": ("processed-data/customer_daily", "order_date"),
        "customer_metrics": ("processed-data/customer_metrics", "as_of_date"),
        "quarantine": ("quarantine/sales", "order_date"),
    }
    root, column = roots[table]
    return base / root / f"{column}={day}"


def data_files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_")))


def day_of(text: str) -> date:
    return date.fromisoformat(text)
