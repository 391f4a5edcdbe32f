"""Read back what a day's run produced: its manifest, daily sales and the catalog."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from sales_contract.layout import manifest_key, processed_partition_prefix


@dataclass(frozen=True)
class DayOutput:
    day: str
    manifest: dict[str, Any]
    revenue_by_region: dict[str, Decimal]


def read_manifest(s3: Any, bucket: str, day: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=manifest_key(day))["Body"].read()
    return json.loads(body)


def read_parquet_rows(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """All rows of the Parquet files directly under ``prefix``, in key order."""
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    rows: list[dict[str, Any]] = []
    for obj in sorted(listing, key=lambda o: o["Key"]):
        if obj["Key"].endswith(".parquet"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
    return rows


def read_day(s3: Any, bucket: str, day: str) -> DayOutput:
    daily = read_parquet_rows(s3, bucket, processed_partition_prefix("daily_sales", day))
    revenue = {row["region"]: Decimal(row["daily_revenue"]) for row in daily}
    return DayOutput(day, read_manifest(s3, bucket, day), dict(sorted(revenue.items())))


def catalog_tables(glue: Any, database: str) -> dict[str, int]:
    """Table name -> number of partitions, for the tables the crawlers made."""
    tables = {}
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            partitions = glue.get_partitions(DatabaseName=database, TableName=table["Name"])
            tables[table["Name"]] = len(partitions["Partitions"])
    return dict(sorted(tables.items()))


def format_day(output: DayOutput, seconds: float) -> str:
    m = output.manifest
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(m["quarantine_reasons"].items()))
    revenue = "  ".join(f"{region} {amount}" for region, amount in output.revenue_by_region.items())
    lines = [
        f"{output.day}  ok  {seconds:5.1f}s  rows in {m['rows_in']}, valid {m['rows_valid']}, "
        f"quarantined {m['rows_quarantined']}" + (f" ({reasons})" if reasons else ""),
        f"            revenue by region: {revenue or '-'}",
    ]
    return "\n".join(lines)
