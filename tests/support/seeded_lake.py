"""The seeded lake on the local endpoint: its bucket and clients, what the pipeline wrote to
it and which Glue runs did, and what a day should produce (computed from the seeded rows)."""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from local.data.synthetic_sales import RECIPE_SALES
from sales_contract.layout import MANIFESTS_PREFIX, PROCESSED_PREFIX, QUARANTINE_PREFIX
from sales_etl.config import PipelineConfig

OUTPUT_PREFIXES = (PROCESSED_PREFIX, QUARANTINE_PREFIX, MANIFESTS_PREFIX)
# Spark names each written file part-NNNNN-<uuid>...: the uuid is new on every write.
_SPARK_FILE_UUID = re.compile(
    r"part-(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


@dataclass(frozen=True)
class Lake:
    """The seeded bucket and clients for it."""

    cfg: PipelineConfig
    s3: Any
    glue: Any
    seeded_days: tuple[str, ...]


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
