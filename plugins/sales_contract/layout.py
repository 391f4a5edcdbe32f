"""Where everything lives in the pipeline's bucket: keys for the DAG side, URIs for the job.

One day's data sits in Hive-style ``column=YYYY-MM-DD`` folders, so Spark, crawlers and Athena
read the day from the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

RAW_SALES_PREFIX = "raw-data/sales/"
RAW_CUSTOMERS_PREFIX = "raw-data/customers/"
PROCESSED_PREFIX = "processed-data/"
QUARANTINE_PREFIX = "quarantine/sales/"
MANIFESTS_PREFIX = "manifests/"
SCRIPTS_PREFIX = "scripts/"
TEMP_PREFIX = "temp/"

# The file a producer writes into a day's sales partition once every data file is there (the
# Hadoop/Spark convention); configurable per environment as ``completion_marker``.
DEFAULT_COMPLETION_MARKER = "_SUCCESS"

GLUE_ENTRY_SCRIPT = "sales_etl_job.py"
# The job's library package, zipped so the job definition names one fixed object.
GLUE_LIBRARY_ZIP = "sales_etl_lib.zip"

# Each processed table and the column its partitions are named by (customer_metrics holds
# running totals as of a day, the others one day's figures).
PROCESSED_PARTITION_COLUMNS = {
    "daily_sales": "order_date",
    "customer_daily": "order_date",
    "customer_metrics": "as_of_date",
}
PROCESSED_TABLES = tuple(PROCESSED_PARTITION_COLUMNS)


def s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def partition_name(column: str, day: str) -> str:
    return f"{column}={day}"


def sales_partition_prefix(run_date: str) -> str:
    return f"{RAW_SALES_PREFIX}{partition_name('order_date', run_date)}/"


def customer_snapshot_prefix(snapshot_date: str) -> str:
    return f"{RAW_CUSTOMERS_PREFIX}{partition_name('snapshot_date', snapshot_date)}/"


def sales_ready_key(run_date: str, completion_marker: str | None) -> str:
    """What makes a day ready: its completion marker's key, or with no marker a glob of any CSV."""
    return sales_partition_prefix(run_date) + (completion_marker or "*.csv")


def processed_table_prefix(table: str) -> str:
    return f"{PROCESSED_PREFIX}{table}/"


def processed_partition_prefix(table: str, run_date: str) -> str:
    column = PROCESSED_PARTITION_COLUMNS[table]
    return f"{processed_table_prefix(table)}{partition_name(column, run_date)}/"


def quarantine_partition_prefix(run_date: str) -> str:
    return f"{QUARANTINE_PREFIX}{partition_name('order_date', run_date)}/"


def manifest_key(run_date: str) -> str:
    return f"{MANIFESTS_PREFIX}{partition_name('run_date', run_date)}/manifest.json"


def glue_script_key() -> str:
    return SCRIPTS_PREFIX + GLUE_ENTRY_SCRIPT


def glue_library_key() -> str:
    return SCRIPTS_PREFIX + GLUE_LIBRARY_ZIP


@dataclass(frozen=True)
class LakeLayout:
    """The same keys as URIs under the lake's base (``s3://bucket`` or ``file:///dir``).

    Folders are named without their trailing slash, as Spark and Hadoop name them.
    """

    base: str

    def _uri(self, prefix: str) -> str:
        return f"{self.base}/{prefix.rstrip('/')}"

    @property
    def sales_root(self) -> str:
        return self._uri(RAW_SALES_PREFIX)

    @property
    def customers_root(self) -> str:
        return self._uri(RAW_CUSTOMERS_PREFIX)

    @property
    def quarantine_root(self) -> str:
        return self._uri(QUARANTINE_PREFIX)

    def table_root(self, table: str) -> str:
        return self._uri(processed_table_prefix(table))

    @property
    def daily_sales_root(self) -> str:
        return self.table_root("daily_sales")

    @property
    def customer_daily_root(self) -> str:
        return self.table_root("customer_daily")

    @property
    def customer_metrics_root(self) -> str:
        return self.table_root("customer_metrics")

    def sales_partition(self, day: date) -> str:
        return self._uri(sales_partition_prefix(day.isoformat()))

    def customer_snapshot(self, day: date) -> str:
        return self._uri(customer_snapshot_prefix(day.isoformat()))

    def table_partition(self, table: str, day: date) -> str:
        return self._uri(processed_partition_prefix(table, day.isoformat()))

    def daily_sales_partition(self, day: date) -> str:
        return self.table_partition("daily_sales", day)

    def customer_daily_partition(self, day: date) -> str:
        return self.table_partition("customer_daily", day)

    def customer_metrics_partition(self, day: date) -> str:
        return self.table_partition("customer_metrics", day)

    def quarantine_partition(self, day: date) -> str:
        return self._uri(quarantine_partition_prefix(day.isoformat()))

    def manifest(self, day: date) -> str:
        return self._uri(manifest_key(day.isoformat()))
