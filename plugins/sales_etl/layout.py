"""Where everything lives in the pipeline's bucket, as keys (the DAG side's view).

The Glue job cannot import this package, so it has its own copy of the layout
(``glue_scripts/sales_job/contract.py``, ``LakeLayout``); tests/packaging/test_layout_parity.py
keeps the two in step.
"""

from __future__ import annotations

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


def sales_partition_prefix(run_date: str) -> str:
    return f"{RAW_SALES_PREFIX}order_date={run_date}/"


def sales_ready_key(run_date: str, completion_marker: str | None) -> str:
    """What makes a day ready: its completion marker's key, or with no marker a glob of any CSV."""
    return sales_partition_prefix(run_date) + (completion_marker or "*.csv")


def processed_table_prefix(table: str) -> str:
    return f"{PROCESSED_PREFIX}{table}/"


def processed_partition_prefix(table: str, run_date: str) -> str:
    return f"{processed_table_prefix(table)}{PROCESSED_PARTITION_COLUMNS[table]}={run_date}/"


def quarantine_partition_prefix(run_date: str) -> str:
    return f"{QUARANTINE_PREFIX}order_date={run_date}/"


def manifest_key(run_date: str) -> str:
    return f"{MANIFESTS_PREFIX}run_date={run_date}/manifest.json"


def glue_script_key() -> str:
    return SCRIPTS_PREFIX + GLUE_ENTRY_SCRIPT


def glue_library_key() -> str:
    return SCRIPTS_PREFIX + GLUE_LIBRARY_ZIP
