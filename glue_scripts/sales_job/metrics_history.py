"""customer_metrics over time: the history a day's metrics sum, and the rebuild of later days.

customer_metrics as of D is the latest earlier customer_metrics partition plus the
customer_daily days after it (never raw sales history). Writing D changes what every later
day sums, so each existing later day is rebuilt, in date order, on the one before it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sales_job.aggregates import customer_metrics
from sales_job.frames import empty_frame
from sales_job.lake_listing import (
    Snapshot,
    customer_daily_dir,
    customer_daily_dirs_before,
    latest_metrics_before,
)
from sales_job.publishing.fault_points import reached
from sales_job.publishing.versions import read_version
from sales_job.run_context import RunContext
from sales_job.spark_io import snapshot_customers, write_table_day

log = logging.getLogger("sales_etl")

CUSTOMER_DAILY_HISTORY_DDL = "customer_id STRING, spent DECIMAL(18,2), orders BIGINT"
CUSTOMER_METRICS_CARRY_DDL = "customer_id STRING, total_spent DECIMAL(18,2), total_orders BIGINT"


def metrics_history(ctx: RunContext, day: date) -> DataFrame:
    """(customer_id, spent, orders) rows summing to customer_metrics just before `day`.

    That is the latest earlier metrics partition P plus the customer_daily days after P: it
    equals the sum over all days < D whenever P is exact, and reads one small partition
    instead of a history that grows every day. Never raw sales history. Earlier days are
    read as published, or as this run rewrote them.
    """
    previous = latest_metrics_before(ctx, day)
    after = previous[0] if previous else date.min
    newer_dirs = [uri for d, uri in customer_daily_dirs_before(ctx, day) if d > after]
    history = empty_frame(ctx.spark, CUSTOMER_DAILY_HISTORY_DDL)
    for uri in newer_dirs:
        history = history.unionByName(_read_customer_daily(ctx, uri))
    if previous:
        carried = read_version(ctx.spark.read, ctx.fs, previous[1], CUSTOMER_METRICS_CARRY_DDL)
        if carried is not None:
            history = history.unionByName(
                carried.select(
                    "customer_id",
                    F.col("total_spent").alias("spent"),
                    F.col("total_orders").alias("orders"),
                )
            )
    return history


def write_metrics(ctx: RunContext, day: date, history: DataFrame, customers: DataFrame) -> None:
    """customer_metrics as of `day`: `history` summed, with names and status of `customers`,
    written as a new version of the day (no rows: a version with none)."""
    write_table_day(ctx, "customer_metrics", customer_metrics(history, customers, day), day)


def rebuild_later_metrics(
    ctx: RunContext,
    later: Sequence[tuple[date, Snapshot]],
    customers_by_snapshot: dict[date, DataFrame],
) -> None:
    """Rebuild every later customer_metrics day, in date order, on the one just written.

    Each builds on its predecessor plus that day's customer_daily partition (no raw sales),
    so a rerun or an out-of-order day leaves every later day as an in-order run would.
    `customers_by_snapshot` holds the customers of each snapshot already read.
    """
    for as_of, snapshot in later:
        if snapshot.snapshot_date not in customers_by_snapshot:
            _totals, customers = snapshot_customers(ctx, snapshot)
            customers_by_snapshot[snapshot.snapshot_date] = customers
        history = metrics_history(ctx, as_of)
        own_day = customer_daily_dir(ctx, as_of)
        if own_day is not None:
            history = history.unionByName(_read_customer_daily(ctx, own_day))
        write_metrics(ctx, as_of, history, customers_by_snapshot[snapshot.snapshot_date])
        ctx.report.rebuilt_metrics.append(ctx.version_folder("customer_metrics", as_of))
        log.info("rebuilt customer_metrics as of %s", as_of)
        reached("during_rebuild")


def _read_customer_daily(ctx: RunContext, folder: str) -> DataFrame:
    rows = read_version(ctx.spark.read, ctx.fs, folder, CUSTOMER_DAILY_HISTORY_DDL)
    return rows if rows is not None else empty_frame(ctx.spark, CUSTOMER_DAILY_HISTORY_DDL)
