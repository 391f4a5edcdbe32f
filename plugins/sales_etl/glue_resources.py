"""Glue crawler and job definitions as Jinja templates, rendered when each task runs.

The operators create or update these resources from the dicts below, so the code is the
single source of truth for what the crawlers and the job look like in every environment.
"""

from __future__ import annotations

import json
from typing import Any

from sales_contract.layout import (
    PROCESSED_PREFIX,
    RAW_CUSTOMERS_PREFIX,
    RAW_SALES_PREFIX,
    TEMP_PREFIX,
    glue_library_key,
    glue_script_key,
)

CONFIG = "pipeline_config()"
BUCKET_URI = "s3://{{ pipeline_config().bucket }}/"
RUN_DATE = "{{ run_date() }}"


def _cfg(key: str) -> str:
    return "{{ " + CONFIG + "." + key + " }}"


# Only new partition folders are crawled each day, so a crawl's cost does not grow with
# history; that policy requires the schema-change policy to be LOG (our schemas are fixed by
# the job's contract, not discovered).
# Crawlers create partition indexes by default, which needs glue:CreatePartitionIndex; the
# job's daily partitions need none, so the Glue role is not granted it (AWS Glue: "Generating
# partition indexes").
_INCREMENTAL_CRAWL = {
    "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
    "Configuration": json.dumps({"Version": 1.0, "CreatePartitionIndex": False}),
}


def raw_crawler_config() -> dict[str, Any]:
    """Catalogs raw sales and customer snapshots as ``<prefix>sales`` and ``<prefix>customers``."""
    return {
        "Name": _cfg("raw_crawler"),
        "Role": _cfg("glue_role_arn"),
        "DatabaseName": _cfg("glue_database"),
        "TablePrefix": _cfg("raw_table_prefix"),
        "Targets": {
            "S3Targets": [
                {"Path": BUCKET_URI + RAW_SALES_PREFIX},
                {"Path": BUCKET_URI + RAW_CUSTOMERS_PREFIX},
            ]
        },
        **_INCREMENTAL_CRAWL,
    }


def processed_crawler_config() -> dict[str, Any]:
    """Catalogs each processed table (one folder each) so Athena can query them."""
    return {
        "Name": _cfg("processed_crawler"),
        "Role": _cfg("glue_role_arn"),
        "DatabaseName": _cfg("glue_database"),
        "Targets": {"S3Targets": [{"Path": BUCKET_URI + PROCESSED_PREFIX}]},
        **_INCREMENTAL_CRAWL,
    }


def glue_job_definition() -> dict[str, Any]:
    """The job's fixed settings; sizing is applied at run time by ``apply_glue_job_sizing``."""
    return {
        "DefaultArguments": {
            "--job-language": "python",
            # The run date, not a bookmark, decides what a run reads.
            "--job-bookmark-option": "job-bookmark-disable",
            "--TempDir": BUCKET_URI + TEMP_PREFIX,
            "--extra-py-files": BUCKET_URI + glue_library_key(),
            "--enable-metrics": "true",
            "--enable-continuous-cloudwatch-log": "true",
        },
    }


def glue_script_location() -> str:
    return BUCKET_URI + glue_script_key()


def glue_job_arguments() -> dict[str, str]:
    """The job's own arguments for one run (see glue_scripts/sales_etl_job.py)."""
    return {
        "--run_date": RUN_DATE,
        "--data_uri": "s3://{{ pipeline_config().bucket }}",
        "--max_quarantine_ratio": "{{ max_quarantine_ratio() }}",
        "--min_rows": _cfg("min_rows"),
    }
