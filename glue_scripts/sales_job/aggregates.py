"""The job's output tables, as pure functions of classified rows and earlier daily tables.

The recipe's semantics (revenue = quantity * price; inner join with customers; per date and
region: revenue, orders, distinct customers; per customer: totals and average order value)
on decimal money, computed per day so no run re-reads history.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from sales_job.contract import (
    CUSTOMER_DAILY_SCHEMA,
    CUSTOMER_METRICS_SCHEMA,
    DAILY_SALES_SCHEMA,
    QUARANTINE_SCHEMA,
)
from sales_job.csv_lines import LINE_KIND_ROW
from sales_job.validation import passed_checks


def valid_rows(classified: DataFrame) -> DataFrame:
    return classified.where(passed_checks())


def quarantined_rows(classified: DataFrame, run_date: date) -> DataFrame:
    """Every rejected row with its reason and raw line, so nothing is lost."""
    rows = classified.where((F.col("line_kind") == LINE_KIND_ROW) & F.col("reason").isNotNull())
    return _conform(rows.withColumn("order_date", F.lit(run_date)), QUARANTINE_SCHEMA)


def daily_sales(valid: DataFrame, run_date: date) -> DataFrame:
    totals = valid.groupBy("region").agg(
        F.sum("amount").alias("daily_revenue"),
        F.count(F.lit(1)).alias("daily_orders"),
        F.countDistinct("customer_id").alias("unique_customers"),
    )
    return _conform(totals.withColumn("order_date", F.lit(run_date)), DAILY_SALES_SCHEMA)


def customer_daily(valid: DataFrame, run_date: date) -> DataFrame:
    # name/status come from the one snapshot row per customer, so grouping by them is safe.
    totals = valid.groupBy("customer_id", "name", "status").agg(
        F.sum("amount").alias("spent"),
        F.count(F.lit(1)).alias("orders"),
    )
    return _conform(totals.withColumn("order_date", F.lit(run_date)), CUSTOMER_DAILY_SCHEMA)


def customer_metrics(daily_history: DataFrame, customers: DataFrame, as_of: date) -> DataFrame:
    """Totals over customer_daily rows (customer_id, spent, orders) of all days <= as_of.

    name/status come from the snapshot used for as_of (null for a customer no longer in it).
    avg_order_value = total_spent / total_orders, rounded half-up to the cent; it equals the
    recipe's average over orders.
    """
    totals = daily_history.groupBy("customer_id").agg(
        F.sum("spent").alias("total_spent"),
        F.sum("orders").alias("total_orders"),
    )
    named = totals.join(customers.select("customer_id", "name", "status"), "customer_id", "left")
    metrics = named.withColumn(
        "avg_order_value", F.round(F.col("total_spent") / F.col("total_orders"), 2)
    ).withColumn("as_of_date", F.lit(as_of))
    return _conform(metrics, CUSTOMER_METRICS_SCHEMA)


def _conform(df: DataFrame, schema: StructType) -> DataFrame:
    """Select the contract's columns, in order, with the contract's types."""
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
