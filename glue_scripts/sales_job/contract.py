"""The sales job's data contract: input headers, rejection reasons, output schemas.

What the DAG and the Lambda also rely on (the lake layout, thresholds, the manifest version)
is in the ``sales_contract`` package every runtime carries.
"""

from __future__ import annotations

import re

from pyspark.sql.types import (
    DataType,
    DateType,
    DecimalType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from sales_contract.processed_tables import PROCESSED_TABLE_DECLARATIONS

# Input headers: the first non-blank line of every file must name exactly these columns, in any
# order (each name trimmed, case as written; a UTF-8 BOM is ignored). Fields are read by name.
SALES_COLUMNS: tuple[str, ...] = (
    "order_id",
    "customer_id",
    "product_id",
    "quantity",
    "price",
    "order_date",
    "region",
)
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "email",
    "registration_date",
    "status",
)

# Money is decimal, never double. A price has at most 2 decimals and < 1e8; a quantity is a
# whole number 1..999999, so one line's amount (< 1e14) and any realistic day's total fit
# DECIMAL(18,2) (an 8-byte integer in Parquet).
PRICE_TYPE = DecimalType(10, 2)
MONEY_TYPE = DecimalType(18, 2)
MONEY_SQL_TYPE = "DECIMAL(18,2)"  # as messages name it
MAX_MONEY = "9999999999999999.99"  # the largest MONEY_TYPE value: a larger sum fails the day
MAX_QUANTITY_DIGITS = 6
MAX_PRICE_INTEGER_DIGITS = 8
# A line longer than this (in bytes, its terminator not counted) is quarantined without being
# parsed, its raw line cut to this length: real lines are under a kilobyte, and one line is
# held whole in memory by the reader and by every step that reads its text.
MAX_LINE_BYTES = 1024 * 1024


class Reason:
    """Why a sales row was quarantined. Checked in this order; the first failing check wins."""

    LINE_TOO_LONG = "line_too_long"  # over MAX_LINE_BYTES: not parsed, raw line truncated
    INVALID_UTF8 = "invalid_utf8"  # not UTF-8 text: raw bytes kept in raw_base64
    BAD_HEADER = "bad_header"  # the file's header does not name exactly SALES_COLUMNS
    WRONG_COLUMN_COUNT = "wrong_column_count"  # not exactly 7 CSV fields (or broken quoting)
    MISSING_FIELD = "missing_field"  # a field is empty or blank
    INVALID_QUANTITY = "invalid_quantity"  # not a whole number of at most 6 digits
    NON_POSITIVE_QUANTITY = "non_positive_quantity"  # quantity <= 0
    INVALID_PRICE = "invalid_price"  # not a decimal with <= 2 decimals and < 1e8
    NON_POSITIVE_PRICE = "non_positive_price"  # price <= 0
    INVALID_ORDER_DATE = "invalid_order_date"  # not a real YYYY-MM-DD date
    ORDER_DATE_MISMATCH = "order_date_mismatch"  # order_date differs from the partition's date
    UNKNOWN_CUSTOMER = "unknown_customer"  # customer_id not in the customer snapshot used
    DUPLICATE_ORDER_ID = "duplicate_order_id"  # a valid row with this order_id came earlier

    ALL: tuple[str, ...] = (
        LINE_TOO_LONG,
        INVALID_UTF8,
        BAD_HEADER,
        WRONG_COLUMN_COUNT,
        MISSING_FIELD,
        INVALID_QUANTITY,
        NON_POSITIVE_QUANTITY,
        INVALID_PRICE,
        NON_POSITIVE_PRICE,
        INVALID_ORDER_DATE,
        ORDER_DATE_MISMATCH,
        UNKNOWN_CUSTOMER,
        DUPLICATE_ORDER_ID,
    )


# Output schemas (partition column last; Spark stores it in the folder name, not the files),
# built from the tables' one declaration (sales_contract.processed_tables), which the stack's
# AWS::Glue::Table resources and local provisioning are built from too.
_SPARK_TYPES = {"string": StringType(), "bigint": LongType(), "date": DateType()}


def spark_type(glue_type: str) -> DataType:
    """The Spark type of a declared Glue column type (the few the tables use)."""
    if glue_type in _SPARK_TYPES:
        return _SPARK_TYPES[glue_type]
    if found := re.fullmatch(r"decimal\((\d+),(\d+)\)", glue_type):
        return DecimalType(int(found[1]), int(found[2]))
    raise ValueError(f"no Spark type for the declared column type {glue_type!r}")


def table_schema(table: str) -> StructType:
    declared = PROCESSED_TABLE_DECLARATIONS[table]
    return StructType(
        [StructField(c.name, spark_type(c.type), c.nullable) for c in declared.all_columns]
    )


DAILY_SALES_SCHEMA = table_schema("daily_sales")
CUSTOMER_DAILY_SCHEMA = table_schema("customer_daily")
CUSTOMER_METRICS_SCHEMA = table_schema("customer_metrics")
QUARANTINE_SCHEMA = StructType(
    [
        StructField("reason", StringType(), False),
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("order_id", StringType(), True),
        StructField("raw_line", StringType(), False),
        # The raw line's exact bytes, base64, when raw_line cannot hold them: invalid_utf8
        # (raw_line shows each bad byte as U+FFFD) and line_too_long (its first bytes only).
        StructField("raw_base64", StringType(), True),
        StructField("order_date", DateType(), False),
    ]
)
