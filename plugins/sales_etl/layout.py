"""Where everything lives in the pipeline's bucket (the Glue job uses the same layout)."""

from __future__ import annotations

RAW_SALES_PREFIX = "raw-data/sales/"
RAW_CUSTOMERS_PREFIX = "raw-data/customers/"
PROCESSED_PREFIX = "processed-data/"
SCRIPTS_PREFIX = "scripts/"
TEMP_PREFIX = "temp/"

GLUE_ENTRY_SCRIPT = "sales_etl_job.py"
# The job's supporting modules, zipped so the job definition names one fixed object.
GLUE_LIBRARY_ZIP = "sales_etl_lib.zip"

PROCESSED_TABLES = ("daily_sales", "customer_daily", "customer_metrics")


def s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def sales_partition_prefix(run_date: str) -> str:
    return f"{RAW_SALES_PREFIX}order_date={run_date}/"


def manifest_key(run_date: str) -> str:
    return f"manifests/run_date={run_date}/manifest.json"


def glue_script_key() -> str:
    return SCRIPTS_PREFIX + GLUE_ENTRY_SCRIPT


def glue_library_key() -> str:
    return SCRIPTS_PREFIX + GLUE_LIBRARY_ZIP
