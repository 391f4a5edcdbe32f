"""Typed validation of parsed sales lines and selection of the customer snapshot's rows.

Pure DataFrame -> DataFrame functions. Every sales line keeps exactly one outcome: a header or
blank line, a valid row (reason null), or a quarantined row with the first failing reason.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from sales_job.contract import (
    MAX_PRICE_INTEGER_DIGITS,
    MAX_QUANTITY_DIGITS,
    MONEY_TYPE,
    PRICE_TYPE,
    SALES_COLUMNS,
    Reason,
)
from sales_job.csv_lines import LINE_KIND_ROW

QUANTITY_PATTERN = rf"^[+-]?\d{{1,{MAX_QUANTITY_DIGITS}}}$"
# Up to 2 decimals (trailing zeros allowed): a price is never silently rounded.
PRICE_PATTERN = rf"^[+-]?\d{{1,{MAX_PRICE_INTEGER_DIGITS}}}(\.\d{{0,2}}0*)?$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def select_customers(parsed_customers: DataFrame) -> DataFrame:
    """customer_id, name, status: rows of a well-formed snapshot file with a customer_id.

    A customer_id listed twice keeps its first occurrence (file name, then line order), so the
    choice is deterministic.
    """
    usable = parsed_customers.where(customer_row_is_usable())
    first = Window.partitionBy("customer_id").orderBy("source_file", "line_number")
    return (
        usable.withColumn("_rank", F.row_number().over(first))
        .where(F.col("_rank") == 1)
        .select("customer_id", "name", "status")
    )


def customer_row_is_usable() -> Column:
    return (
        (F.col("line_kind") == LINE_KIND_ROW)
        & F.col("csv_error").isNull()
        & F.col("customer_id").isNotNull()
    )


def classify_sales(parsed_sales: DataFrame, customers: DataFrame, run_date: date) -> DataFrame:
    """Add typed columns, `reason` (null when valid), name/status and `amount` to every line.

    Checks run in Reason.ALL order. Duplicates are judged last, among rows that passed every
    other check: the first by (source_file, line_number) is kept, later ones are quarantined.
    """
    rows = parsed_sales.withColumn("_is_row", F.col("line_kind") == LINE_KIND_ROW)
    typed = (
        rows.withColumn("quantity_value", _parse_int("quantity"))
        .withColumn("price_value", _parse_price("price"))
        .withColumn("order_date_value", _parse_date("order_date"))
    )
    typed = typed.withColumn("reason", _row_reason(run_date))

    known = customers.select("customer_id", "name", "status", F.lit(True).alias("_known_customer"))
    joined = typed.join(known, on="customer_id", how="left")  # customers are unique: no fan-out
    joined = joined.withColumn(
        "reason",
        F.when(
            F.col("_is_row") & F.col("reason").isNull() & F.col("_known_customer").isNull(),
            Reason.UNKNOWN_CUSTOMER,
        ).otherwise(F.col("reason")),
    )

    candidate = F.col("_is_row") & F.col("reason").isNull()
    earlier_first = Window.partitionBy("order_id", "_candidate").orderBy(
        "source_file", "line_number"
    )
    deduped = joined.withColumn("_candidate", candidate).withColumn(
        "reason",
        F.when(
            F.col("_candidate") & (F.row_number().over(earlier_first) > 1),
            Reason.DUPLICATE_ORDER_ID,
        ).otherwise(F.col("reason")),
    )
    is_valid = F.col("_is_row") & F.col("reason").isNull()
    amount = (F.col("quantity_value").cast("decimal(10,0)") * F.col("price_value")).cast(MONEY_TYPE)
    return deduped.select(
        "source_file",
        "line_number",
        "raw_line",
        "line_kind",
        "reason",
        "order_id",
        "customer_id",
        "product_id",
        F.col("quantity_value").alias("quantity"),
        F.col("price_value").alias("price"),
        F.col("order_date_value").alias("order_date"),
        "region",
        "name",
        "status",
        F.when(is_valid, amount).alias("amount"),
    )


def _row_reason(run_date: date) -> Column:
    """The first failing check that needs only the row itself (no other rows, no customers)."""
    missing = F.lit(False)
    for name in SALES_COLUMNS:
        missing = missing | F.col(name).isNull()
    return (
        F.when(~F.col("_is_row"), F.lit(None).cast("string"))
        .when(F.col("csv_error").isNotNull(), F.col("csv_error"))
        .when(missing, Reason.MISSING_FIELD)
        .when(F.col("quantity_value").isNull(), Reason.INVALID_QUANTITY)
        .when(F.col("quantity_value") <= 0, Reason.NON_POSITIVE_QUANTITY)
        .when(F.col("price_value").isNull(), Reason.INVALID_PRICE)
        .when(F.col("price_value") <= 0, Reason.NON_POSITIVE_PRICE)
        .when(F.col("order_date_value").isNull(), Reason.INVALID_ORDER_DATE)
        .when(F.col("order_date_value") != F.lit(run_date), Reason.ORDER_DATE_MISMATCH)
    )


def _parse_int(name: str) -> Column:
    # Regex first: the cast can then neither overflow nor accept "2.0" / "1e3".
    value = F.col(name)
    return F.when(value.rlike(QUANTITY_PATTERN), value.cast("int"))


def _parse_price(name: str) -> Column:
    value = F.col(name)
    return F.when(value.rlike(PRICE_PATTERN), value.cast(PRICE_TYPE))


def _parse_date(name: str) -> Column:
    # A cast (not to_date with a pattern) turns 2024-02-30 into null instead of raising
    # Spark's parser-upgrade exception; the regex rules out "2024-01-15 junk".
    value = F.col(name)
    return F.when(value.rlike(DATE_PATTERN), F.expr(f"try_cast(`{name}` AS DATE)"))
