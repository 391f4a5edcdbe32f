"""The three processed tables, declared once: columns, types, partition key, storage.

The Glue job writes exactly these columns (its Spark schemas are built from them), the stack
declares them as ``AWS::Glue::Table`` (``infra/sales-etl.yaml``), local provisioning creates
them with ``glue_table_input``, and the job registers each day's partitions in them. A test
keeps the template, these declarations and what the job writes equal.

Each partition of a table points at one *version* folder of its day (write-audit-publish)::

    processed-data/<table>/<partition column>=<YYYY-MM-DD>/<version>/part-00000-....parquet

``<version>`` is ``run-<id>``: no ``=`` in it, so Spark's partition discovery never reads it
as a column, and no leading ``_`` or ``.``, so no reader skips it as hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sales_contract.layout import PROCESSED_PARTITION_COLUMNS, processed_partition_prefix

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

VERSION_PREFIX = "run-"
# Exactly what a run names its folder (12 hex digits): cleanup removes superseded folders of
# this shape only, never a "run-something" a person put there.
_VERSION_NAME = re.compile(r"run-[0-9a-f]{12}")

MONEY = "decimal(18,2)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the Glue (Hive) type name: string, bigint, date, decimal(p,s)
    nullable: bool = False  # the job's own check; Glue columns carry no nullability
    comment: str = ""


@dataclass(frozen=True)
class ProcessedTable:
    name: str
    description: str
    columns: tuple[Column, ...]  # the data columns, in file order
    partition: Column  # one date per partition

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Data columns then the partition column: the job's DataFrame before it is written."""
        return (*self.columns, self.partition)


def _partition(table: str) -> Column:
    return Column(PROCESSED_PARTITION_COLUMNS[table], "date")


PROCESSED_TABLE_DECLARATIONS: dict[str, ProcessedTable] = {
    "daily_sales": ProcessedTable(
        "daily_sales",
        "Revenue, orders and unique customers per region and day",
        (
            Column("region", "string"),
            Column("daily_revenue", MONEY),
            Column("daily_orders", "bigint"),
            Column("unique_customers", "bigint"),
        ),
        _partition("daily_sales"),
    ),
    "customer_daily": ProcessedTable(
        "customer_daily",
        "Spend and orders per customer and day",
        (
            Column("customer_id", "string"),
            Column("name", "string", nullable=True),
            Column("status", "string", nullable=True),
            Column("spent", MONEY),
            Column("orders", "bigint"),
        ),
        _partition("customer_daily"),
    ),
    "customer_metrics": ProcessedTable(
        "customer_metrics",
        "Each customer's running totals as of a day",
        (
            Column("customer_id", "string"),
            Column("name", "string", nullable=True),
            Column("status", "string", nullable=True),
            Column("total_spent", MONEY),
            Column("total_orders", "bigint"),
            Column("avg_order_value", MONEY),
        ),
        _partition("customer_metrics"),
    ),
}


def glue_table_input(table: str, location: str) -> dict[str, Any]:
    """The table as Glue's CreateTable ``TableInput`` (and CloudFormation's) takes it.

    ``location`` is the table's folder, ``s3://<bucket>/processed-data/<table>/``.
    """
    declared = PROCESSED_TABLE_DECLARATIONS[table]
    return {
        "Name": declared.name,
        "Description": declared.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [_glue_column(declared.partition)],
        "StorageDescriptor": storage_descriptor(table, location),
    }


def storage_descriptor(table: str, location: str) -> dict[str, Any]:
    """The table's storage, at ``location``: a partition's is the same at its version folder."""
    declared = PROCESSED_TABLE_DECLARATIONS[table]
    return {
        "Columns": [_glue_column(c) for c in declared.columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT_FORMAT,
        "OutputFormat": PARQUET_OUTPUT_FORMAT,
        "SerdeInfo": {
            "SerializationLibrary": PARQUET_SERDE,
            "Parameters": {"serialization.format": "1"},
        },
    }


def _glue_column(column: Column) -> dict[str, str]:
    entry = {"Name": column.name, "Type": column.type}
    if column.comment:
        entry["Comment"] = column.comment
    return entry


def version_name(run_id: str) -> str:
    """The version folder of a run: ``run-<id>``, the id 12 lower-case hex digits."""
    name = VERSION_PREFIX + run_id
    if not _VERSION_NAME.fullmatch(name):
        raise ValueError(f"run id {run_id!r} cannot name a version folder (12 hex digits)")
    return name


def is_version_name(name: str) -> bool:
    """A folder the pipeline wrote as a version of a table-day (and so may remove)."""
    return bool(_VERSION_NAME.fullmatch(name))


def version_prefix(table: str, day: str, version: str) -> str:
    """``processed-data/<table>/<column>=<day>/<version>/``."""
    return f"{processed_partition_prefix(table, day)}{version}/"
