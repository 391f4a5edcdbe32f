"""The job's output tables, as pure functions of classified rows and earlier daily tables.

The recipe's semantics (revenue = quantity * price; inner join with customers; per date and
region: revenue, orders, distinct customers; per customer: totals and average order value)
on decimal money, computed per day so no run re-reads history.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from sales_job.contract import (
    CUSTOMER_DAILY_SCHEMA,
    CUSTOMER_METRICS_SCHEMA,
    DAILY_SALES_SCHEMA,
    MAX_MONEY,
    MONEY_SQL_TYPE,
    QUARANTINE_SCHEMA,
    Reason,
)
from sales_job.csv_lines import LINE_KIND_ROW
from sales_job.validation import passed_checks


def valid_rows(classified: DataFrame) -> DataFrame:
    return classified.where(passed_checks())


# Tags the message of a sum too large for the output's money type (raised inside a Spark task,
# so it reaches the driver inside Spark's error text; money_overflow finds it there).
MONEY_OVERFLOW = "money overflow:"


def quarantined_rows(classified: DataFrame, run_date: date) -> DataFrame:
    """Every rejected row with its reason and raw line, so nothing is lost.

    A raw line that is not UTF-8 text, or cut at the length limit, is written as text (each
    malformed byte shown as U+FFFD) and as its exact bytes in raw_base64.
    """
    rows = classified.where((F.col("line_kind") == LINE_KIND_ROW) & F.col("reason").isNotNull())
    inexact = F.col("reason").isin(Reason.INVALID_UTF8, Reason.LINE_TOO_LONG)
    raw_bytes = F.col("raw_line").cast("binary")
    rows = rows.withColumn("raw_base64", F.when(inexact, F.base64(raw_bytes))).withColumn(
        "raw_line", F.when(inexact, F.decode(raw_bytes, "UTF-8")).otherwise(F.col("raw_line"))
    )
    return _conform(rows.withColumn("order_date", F.lit(run_date)), QUARANTINE_SCHEMA)


def customer_region_totals(valid: DataFrame) -> DataFrame:
    """(customer_id, region, spent, orders): the day's valid rows summed per customer and
    region. daily_sales and customer_daily are both sums of these rows, so the day's rows are
    aggregated once for both tables.
    """
    return valid.groupBy("customer_id", "region").agg(
        F.sum("amount").alias("spent"),
        F.count(F.lit(1)).alias("orders"),
    )


def daily_sales(by_customer_region: DataFrame, run_date: date) -> DataFrame:
    """Per region, from customer_region_totals: a customer has one row per region."""
    totals = by_customer_region.groupBy("region").agg(
        F.sum("spent").alias("daily_revenue"),
        F.sum("orders").alias("daily_orders"),
        F.count("customer_id").alias("unique_customers"),
    )
    revenue = _fits_money(
        "daily_revenue", "daily_sales daily_revenue of region", "region", run_date
    )
    totals = totals.withColumn("daily_revenue", revenue)
    return _conform(totals.withColumn("order_date", F.lit(run_date)), DAILY_SALES_SCHEMA)


def customer_daily(
    by_customer_region: DataFrame, customers: DataFrame, run_date: date
) -> DataFrame:
    """Per customer, from customer_region_totals, with name/status from the day's snapshot.

    A valid row's customer is in the snapshot (else it is unknown_customer), once: the join
    neither drops nor repeats a customer.
    """
    totals = by_customer_region.groupBy("customer_id").agg(
        F.sum("spent").alias("spent"),
        F.sum("orders").alias("orders"),
    )
    spent = _fits_money("spent", "customer_daily spent of customer", "customer_id", run_date)
    named = totals.withColumn("spent", spent).join(
        customers.select("customer_id", "name", "status"), "customer_id", "left"
    )
    return _conform(named.withColumn("order_date", F.lit(run_date)), CUSTOMER_DAILY_SCHEMA)


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
    total = _fits_money(
        "total_spent", "customer_metrics total_spent of customer", "customer_id", as_of
    )
    totals = totals.withColumn("total_spent", total)
    named = totals.join(customers.select("customer_id", "name", "status"), "customer_id", "left")
    metrics = named.withColumn(
        "avg_order_value", F.round(F.col("total_spent") / F.col("total_orders"), 2)
    ).withColumn("as_of_date", F.lit(as_of))
    return _conform(metrics, CUSTOMER_METRICS_SCHEMA)


def _fits_money(column: str, what: str, key: str, day: date) -> Column:
    """`column`, a sum; one too large for the output's money type fails the task, naming it
    (Spark's cast would write NULL instead). Amounts are positive: so are their sums."""
    value = F.col(column)
    message = F.concat(
        F.lit(f"{MONEY_OVERFLOW} {what} "),
        F.col(key),
        F.lit(f" as of {day} is "),
        value.cast("string"),
        F.lit(f", over the largest {MONEY_SQL_TYPE} value {MAX_MONEY}"),
    )
    return F.when(value > F.lit(Decimal(MAX_MONEY)), F.raise_error(message)).otherwise(value)


def money_overflow(error: BaseException) -> str | None:
    """The money overflow an error reports (a Spark error quotes the task's message), if any."""
    found = re.search(f"{re.escape(MONEY_OVERFLOW)} (.*?{re.escape(MAX_MONEY)})", str(error))
    return found.group(1) if found else None


def _conform(df: DataFrame, schema: StructType) -> DataFrame:
    """Select the contract's columns, in order, with the contract's types."""
    # One SQL expression list: a Column per field would cost the driver ~10 Py4J calls each.
    return df.selectExpr(
        *(f"CAST(`{f.name}` AS {f.dataType.simpleString()}) AS `{f.name}`" for f in schema.fields)
    )
