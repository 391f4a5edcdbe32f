"""The Glue job, the raw crawler and the processed tables as the deploy defines them, and how
to tell a live job or crawler differs.

The stack (``infra/sales-etl.yaml``; local provisioning on the endpoint) creates them from
these definitions; the DAG only starts the job and the crawler, and the job registers the
processed tables' partitions. Nothing a DAG run does can change their code,
the arguments that load code, or the role they run as: in a shared MWAA environment every
DAG shares the execution role, so those must stay where only the deploy can change them.
"""

from __future__ import annotations

import json
from typing import Any

from sales_contract.layout import (
    PROCESSED_TABLES,
    RAW_CUSTOMERS_PREFIX,
    RAW_SALES_PREFIX,
    TEMP_PREFIX,
    glue_library_key,
    glue_script_key,
    processed_table_prefix,
    s3_uri,
)
from sales_contract.processed_tables import glue_table_input
from sales_etl.config import PipelineConfig

JOB_DESCRIPTION = "Sales ETL: one day of raw sales -> processed tables, quarantine, manifest"

# Each run passes these itself (StartJobRun), from the config Variable.
RUN_TIME_JOB_KEYS = frozenset({"WorkerType", "NumberOfWorkers", "Timeout"})
# Argument maps compared key for key: an extra argument there could load other code.
_EXACT_MAPS = frozenset({"DefaultArguments", "NonOverridableArguments"})

# What a crawler of the raw data never catalogs: producers' completion markers, the S3
# console's folder markers, and a Hadoop/Spark writer's uncommitted output. Glue matches each
# pattern against the key relative to the target (AWS Glue: "Include and exclude patterns"),
# so a day folder's marker needs "**/_SUCCESS" besides the target's own "_SUCCESS".
RAW_EXCLUSIONS = [
    "_SUCCESS",
    "**/_SUCCESS",
    "**_$folder$",
    "**/_temporary/**",
    "**/.spark-staging*/**",
]
# Each dataset is one table at its own folder, raw-data/<dataset>/ (level 1 is the bucket's
# top folder: AWS Glue, "Specifying the table location and partitioning level"), whatever
# schema similarity Glue's grouping would otherwise find between folders.
RAW_TABLE_LEVEL = RAW_SALES_PREFIX.count("/")  # raw-data/sales/ and raw-data/customers/: 2

# Only new partition folders are crawled each day, so a crawl's cost does not grow with
# history; that policy requires the schema-change policy to be LOG.
# Crawlers create partition indexes by default, which needs glue:CreatePartitionIndex; the
# daily partitions need none, so the Glue role is not granted it (AWS Glue: "Generating
# partition indexes").
_INCREMENTAL_CRAWL = {
    "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
    "Configuration": json.dumps(
        {
            "Version": 1.0,
            "Grouping": {"TableLevelConfiguration": RAW_TABLE_LEVEL},
            "CreatePartitionIndex": False,
        }
    ),
}


def glue_job_definition(cfg: PipelineConfig) -> dict[str, Any]:
    """The job as CreateJob takes it (and as the stack's AWS::Glue::Job declares it)."""
    return {
        "Name": cfg.glue_job,
        "Description": JOB_DESCRIPTION,
        "Role": cfg.glue_role_arn,
        "Command": {
            "Name": "glueetl",
            "ScriptLocation": s3_uri(cfg.bucket, glue_script_key()),
            "PythonVersion": "3",
        },
        "GlueVersion": cfg.glue_version,
        "WorkerType": cfg.glue_worker_type,
        "NumberOfWorkers": cfg.glue_workers,
        "Timeout": cfg.glue_timeout_minutes,
        "MaxRetries": 0,  # Airflow owns retries; a Glue-level retry would hide them
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "DefaultArguments": {
            "--job-language": "python",
            # The run date, not a bookmark, decides what a run reads.
            "--job-bookmark-option": "job-bookmark-disable",
            "--TempDir": s3_uri(cfg.bucket, TEMP_PREFIX),
            "--enable-metrics": "true",
        },
        # What loads code: no StartJobRun (so no other DAG) can point the job at other code.
        "NonOverridableArguments": {"--extra-py-files": s3_uri(cfg.bucket, glue_library_key())},
    }


def raw_crawler_definition(cfg: PipelineConfig) -> dict[str, Any]:
    """Catalogs raw sales and customer snapshots as ``<prefix>sales`` and ``<prefix>customers``."""
    return {
        "Name": cfg.raw_crawler,
        "Role": cfg.glue_role_arn,
        "DatabaseName": cfg.glue_database,
        "TablePrefix": cfg.raw_table_prefix,
        "Targets": {
            "S3Targets": [
                {"Path": s3_uri(cfg.bucket, prefix), "Exclusions": list(RAW_EXCLUSIONS)}
                for prefix in (RAW_SALES_PREFIX, RAW_CUSTOMERS_PREFIX)
            ]
        },
        **_INCREMENTAL_CRAWL,
    }


def processed_table_definition(cfg: PipelineConfig, table: str) -> dict[str, Any]:
    """A processed table as CreateTable takes it (and the stack's AWS::Glue::Table declares
    it, with its CatalogId): declared from the job's contract, never crawled."""
    location = s3_uri(cfg.bucket, processed_table_prefix(table))
    return {"DatabaseName": cfg.glue_database, "TableInput": glue_table_input(table, location)}


def processed_table_definitions(cfg: PipelineConfig) -> list[dict[str, Any]]:
    return [processed_table_definition(cfg, table) for table in PROCESSED_TABLES]


def glue_job_arguments() -> dict[str, str]:
    """The job's own arguments for one run, as templates (see glue_scripts/sales_etl_job.py)."""
    return {
        "--run_date": "{{ run_date() }}",
        "--data_uri": "s3://{{ pipeline_config().bucket }}",
        "--max_quarantine_ratio": "{{ max_quarantine_ratio() }}",
        "--min_rows": "{{ pipeline_config().min_rows }}",
        # The job uses a customer snapshot only once this marker is in it ('' = no marker).
        # "none": no marker rule (an empty value may not survive as a job argument).
        "--completion_marker": "{{ pipeline_config().completion_marker or 'none' }}",
        # Where the run publishes the day's partitions (the processed tables' database).
        "--glue_database": "{{ pipeline_config().glue_database }}",
    }


def differences(live: dict[str, Any], defined: dict[str, Any], ignore=frozenset()) -> list[str]:
    """The keys of ``defined`` whose value the live resource does not have, as 'key: live'.

    Values are compared as far as the definition goes (AWS adds fields of its own), except the
    argument maps, which must match key for key.
    """
    return [
        f"{key} is {live.get(key)!r}, the deploy defines {value!r}"
        for key, value in defined.items()
        if key != "Name" and key not in ignore and not _agrees(live.get(key), value, key)
    ]


def _agrees(live: Any, defined: Any, key: str = "") -> bool:
    if isinstance(defined, dict):
        if not isinstance(live, dict) or (key in _EXACT_MAPS and set(live) != set(defined)):
            return False
        return all(_agrees(live.get(k), v, k) for k, v in defined.items())
    if isinstance(defined, list):
        return (
            isinstance(live, list)
            and len(live) == len(defined)
            and all(_agrees(a, d) for a, d in zip(live, defined, strict=True))
        )
    return live == defined
