"""Typed validation of parsed sales lines and selection of the customer snapshot's rows.

Pure DataFrame -> DataFrame functions. Every sales line keeps exactly one outcome: a header or
blank line, a valid row (reason null), or a quarantined row with the first failing reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from sales_job.contract import (
    MAX_PRICE_INTEGER_DIGITS,
    MAX_QUANTITY_DIGITS,
    MONEY_TYPE,
    PRICE_TYPE,
    SALES_COLUMNS,
    Reason,
)
from sales_job.csv_lines import LINE_KIND_ROW, LINES_SCHEMA, POSITION_COLUMNS

QUANTITY_PATTERN = rf"^[+-]?\d{{1,{MAX_QUANTITY_DIGITS}}}$"
# Up to 2 decimals (trailing zeros allowed): a price is never silently rounded.
PRICE_PATTERN = rf"^[+-]?\d{{1,{MAX_PRICE_INTEGER_DIGITS}}}(\.\d{{0,2}}0*)?$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def select_customers(parsed_customers: DataFrame, *, ids_unique: bool = False) -> DataFrame:
    """customer_id, name, status: rows of a well-formed snapshot file with a customer_id.

    A customer_id listed twice keeps its first occurrence (file name, then line order), so the
    choice is deterministic. `ids_unique`: the caller has counted no customer_id listed twice
    among the usable rows, so no row needs to be dropped and the window's sort is skipped.
    """
    usable = parsed_customers.where(customer_row_is_usable())
    if ids_unique:
        return usable.select("customer_id", "name", "status")
    first = Window.partitionBy("customer_id").orderBy(*POSITION_COLUMNS)
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


def check_rows(parsed_sales: DataFrame, customers: DataFrame, run_date: date) -> DataFrame:
    """Add typed columns, `reason` (null when valid), name/status and `amount` to every line.

    Checks run in Reason.ALL order, all but the last: duplicates are judged by
    mark_duplicates, among the rows that pass every check here.
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
    reason = F.when(
        F.col("_is_row") & F.col("reason").isNull() & F.col("_known_customer").isNull(),
        Reason.UNKNOWN_CUSTOMER,
    ).otherwise(F.col("reason"))
    joined = joined.withColumn("reason", reason)
    amount = (F.col("quantity_value").cast("decimal(10,0)") * F.col("price_value")).cast(MONEY_TYPE)
    return joined.select(
        *POSITION_COLUMNS,
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
        F.when(passed_checks(), amount).alias("amount"),
    )


FIRST_COPIES_SCHEMA = StructType(
    [
        StructField("order_id", StringType(), False),
        StructField(
            "_first_copy",
            StructType([LINES_SCHEMA[name] for name in POSITION_COLUMNS]),
            False,
        ),
    ]
)


def repeated_id_hashes(checked: DataFrame) -> DataFrame:
    """(_id_hash): 64-bit hashes of the order_ids on two or more rows that passed check_rows.

    Grouping by a long instead of a string is the cheap way to learn that a day repeats no
    order_id (the usual answer); a hash shared by two different ids only costs a closer look.
    """
    return (
        checked.where(passed_checks())
        .groupBy(F.xxhash64("order_id").alias("_id_hash"))
        .count()
        .where(F.col("count") > 1)
        .select("_id_hash")
    )


def first_copies(checked: DataFrame, hashes: Sequence[int] | None = None) -> DataFrame:
    """(order_id, _first_copy): the first position of each order_id on two or more rows that
    passed check_rows; only among ids with one of `hashes` (see repeated_id_hashes) if given.
    """
    candidates = checked.where(passed_checks())
    if hashes is not None:
        candidates = candidates.where(F.xxhash64("order_id").isin(list(hashes)))
    return (
        candidates.groupBy("order_id")
        .agg(
            F.count(F.lit(1)).alias("_copies"),
            F.min(F.struct(*POSITION_COLUMNS)).alias("_first_copy"),
        )
        .where(F.col("_copies") > 1)
        .select("order_id", "_first_copy")
    )


def mark_duplicates(checked: DataFrame, copies: DataFrame) -> DataFrame:
    """Quarantine every later copy of an order_id: the first by (file, line) is kept."""
    joined = checked.join(F.broadcast(copies), on="order_id", how="left")
    is_later_copy = (
        passed_checks()
        & F.col("_first_copy").isNotNull()
        & (F.struct(*POSITION_COLUMNS) != F.col("_first_copy"))
    )
    later = F.col("_later_copy")
    return (
        joined.withColumn("_later_copy", is_later_copy)
        .withColumn("reason", F.when(later, Reason.DUPLICATE_ORDER_ID).otherwise(F.col("reason")))
        .withColumn("amount", F.when(~later, F.col("amount")))
        .select(*checked.columns)
    )


def passed_checks() -> Column:
    """A row with no reason: valid, once mark_duplicates has run."""
    return (F.col("line_kind") == LINE_KIND_ROW) & F.col("reason").isNull()


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
