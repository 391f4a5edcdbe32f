"""The sales job's data contract: input headers, rejection reasons, output schemas, lake layout.

Everything another component may rely on (the DAG, the Lambda, the crawler, tests) is named
here once, so a change to the contract is one visible edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql.types import (
    DateType,
    DecimalType,
    LongType,
    StringType,
    StructField,
    StructType,
)

SCHEMA_VERSION = 1
DEFAULT_MAX_QUARANTINE_RATIO = 0.05
# A day with fewer data rows fails instead of overwriting its partitions with nothing.
DEFAULT_MIN_ROWS = 1

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
MAX_QUANTITY_DIGITS = 6
MAX_PRICE_INTEGER_DIGITS = 8


class Reason:
    """Why a sales row was quarantined. Checked in this order; the first failing check wins."""

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


# Output schemas (partition column last; Spark stores it in the folder name, not the files).
DAILY_SALES_SCHEMA = StructType(
    [
        StructField("region", StringType(), False),
        StructField("daily_revenue", MONEY_TYPE, False),
        StructField("daily_orders", LongType(), False),
        StructField("unique_customers", LongType(), False),
        StructField("order_date", DateType(), False),
    ]
)
CUSTOMER_DAILY_SCHEMA = StructType(
    [
        StructField("customer_id", StringType(), False),
        StructField("name", StringType(), True),
        StructField("status", StringType(), True),
        StructField("spent", MONEY_TYPE, False),
        StructField("orders", LongType(), False),
        StructField("order_date", DateType(), False),
    ]
)
CUSTOMER_METRICS_SCHEMA = StructType(
    [
        StructField("customer_id", StringType(), False),
        StructField("name", StringType(), True),
        StructField("status", StringType(), True),
        StructField("total_spent", MONEY_TYPE, False),
        StructField("total_orders", LongType(), False),
        StructField("avg_order_value", MONEY_TYPE, False),
        StructField("as_of_date", DateType(), False),
    ]
)
QUARANTINE_SCHEMA = StructType(
    [
        StructField("reason", StringType(), False),
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("order_id", StringType(), True),
        StructField("raw_line", StringType(), False),
        StructField("order_date", DateType(), False),
    ]
)


def partition_name(column: str, day: date) -> str:
    return f"{column}={day.isoformat()}"


@dataclass(frozen=True)
class LakeLayout:
    """Where everything lives under the lake's base URI (s3://bucket or file:///dir).

    The DAG side's ``sales_etl.layout`` names the same keys (Glue cannot import plugins/);
    tests/packaging/test_layout_parity.py keeps the two in step.
    """

    base: str

    @property
    def sales_root(self) -> str:
        return f"{self.base}/raw-data/sales"

    @property
    def customers_root(self) -> str:
        return f"{self.base}/raw-data/customers"

    @property
    def daily_sales_root(self) -> str:
        return f"{self.base}/processed-data/daily_sales"

    @property
    def customer_daily_root(self) -> str:
        return f"{self.base}/processed-data/customer_daily"

    @property
    def customer_metrics_root(self) -> str:
        return f"{self.base}/processed-data/customer_metrics"

    @property
    def quarantine_root(self) -> str:
        return f"{self.base}/quarantine/sales"

    def sales_partition(self, day: date) -> str:
        return f"{self.sales_root}/{partition_name('order_date', day)}"

    def customer_snapshot(self, day: date) -> str:
        return f"{self.customers_root}/{partition_name('snapshot_date', day)}"

    def daily_sales_partition(self, day: date) -> str:
        return f"{self.daily_sales_root}/{partition_name('order_date', day)}"

    def customer_daily_partition(self, day: date) -> str:
        return f"{self.customer_daily_root}/{partition_name('order_date', day)}"

    def customer_metrics_partition(self, day: date) -> str:
        return f"{self.customer_metrics_root}/{partition_name('as_of_date', day)}"

    def quarantine_partition(self, day: date) -> str:
        return f"{self.quarantine_root}/{partition_name('order_date', day)}"

    def manifest(self, day: date) -> str:
        return f"{self.base}/manifests/{partition_name('run_date', day)}/manifest.json"
