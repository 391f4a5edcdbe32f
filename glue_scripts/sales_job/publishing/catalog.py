"""The processed tables' partitions in the Glue Data Catalog: what is published, and publishing.

The catalog is the one record of which version folder each table-day is: readers through it
(Athena, Spark on the Glue catalog) and the job's own reads of earlier days follow it. A
partition's Location is kept in the catalog's terms (``s3://bucket/...``); the job reads and
writes under its own ``--data_uri`` (the same ``s3://`` on Glue, a local mirror folder on the
local endpoint), so locations are mapped through the table's own Location, which must end
with the table's folder in the lake layout.

Calls (IAM, on the three tables only): glue:GetTable, glue:GetPartitions,
glue:BatchCreatePartition, glue:UpdatePartition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Protocol

from sales_contract.layout import PROCESSED_PREFIX, PROCESSED_TABLES
from sales_contract.processed_tables import PROCESSED_TABLE_DECLARATIONS, storage_descriptor

MAX_BATCH_CREATE = 100  # partitions per BatchCreatePartition (Glue API limit)


class CatalogError(RuntimeError):
    """The catalog's tables are missing, differ from the contract or refused a partition."""


class PartitionCatalog(Protocol):
    """The few catalog operations the job needs; Glue on AWS and locally, a fake in tests."""

    def table_location(self, table: str) -> str: ...

    def table_columns(self, table: str) -> list[tuple[str, str]]: ...

    def partitions(self, table: str) -> dict[date, str]: ...

    def put_partitions(self, table: str, locations: Mapping[date, str]) -> None: ...


class GlueCatalog:
    """The processed tables of one Glue database, through boto3's Glue client."""

    def __init__(self, client: Any, database: str) -> None:
        self._glue = client
        self.database = database

    @classmethod
    def connect(cls, database: str) -> GlueCatalog:
        import boto3  # the Glue runtime ships it; imported here so tests need no AWS set-up

        return cls(boto3.client("glue"), database)

    def _table(self, table: str) -> dict[str, Any]:
        try:
            return self._glue.get_table(DatabaseName=self.database, Name=table)["Table"]
        except self._glue.exceptions.EntityNotFoundException as exc:
            raise CatalogError(
                f"table {self.database}.{table} does not exist: the stack declares it "
                "(infra/sales-etl.yaml; locally, provisioning creates it)"
            ) from exc

    def table_location(self, table: str) -> str:
        return self._table(table)["StorageDescriptor"]["Location"]

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        found = self._table(table)
        columns = found["StorageDescriptor"].get("Columns", [])
        keys = found.get("PartitionKeys", [])
        return [(c["Name"], c["Type"]) for c in [*columns, *keys]]

    def partitions(self, table: str) -> dict[date, str]:
        found = {}
        pages = self._glue.get_paginator("get_partitions").paginate(
            DatabaseName=self.database, TableName=table
        )
        for page in pages:
            for partition in page["Partitions"]:
                [value] = partition["Values"]
                found[date.fromisoformat(value)] = partition["StorageDescriptor"]["Location"]
        return found

    def put_partitions(self, table: str, locations: Mapping[date, str]) -> None:
        """Create or update each day's partition to point at its location (idempotent)."""
        existing = self.partitions(table)
        new = sorted(day for day in locations if day not in existing)
        for start in range(0, len(new), MAX_BATCH_CREATE):
            batch = new[start : start + MAX_BATCH_CREATE]
            answer = self._glue.batch_create_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionInputList=[_partition_input(table, d, locations[d]) for d in batch],
            )
            # Created meanwhile by someone else: updated below like any existing partition.
            raced = [e for e in answer.get("Errors", [])]
            if any(e["ErrorDetail"].get("ErrorCode") != "AlreadyExistsException" for e in raced):
                raise CatalogError(f"registering partitions of {table} failed: {raced}")
            existing.update({date.fromisoformat(e["PartitionValues"][0]): "" for e in raced})
        for day in sorted(locations):
            if day in existing and existing[day] != locations[day]:
                self._glue.update_partition(
                    DatabaseName=self.database,
                    TableName=table,
                    PartitionValueList=[day.isoformat()],
                    PartitionInput=_partition_input(table, day, locations[day]),
                )


def _partition_input(table: str, day: date, location: str) -> dict[str, Any]:
    return {"Values": [day.isoformat()], "StorageDescriptor": storage_descriptor(table, location)}


class CatalogPaths:
    """Maps the catalog's locations to the job's paths and back, per table.

    ``table_roots`` are the job's table folders (``LakeLayout.table_root``). Each table's
    catalog Location must end with ``processed-data/<table>/`` (and equal the job's folder when
    the job writes to ``s3://`` itself), else the catalog and the job disagree on the lake.
    """

    def __init__(
        self, catalog: PartitionCatalog, table_roots: Mapping[str, str], *, same_uris: bool
    ) -> None:
        self._roots: dict[str, tuple[str, str]] = {}
        for table in PROCESSED_TABLES:
            location = catalog.table_location(table).rstrip("/") + "/"
            root = table_roots[table].rstrip("/") + "/"
            expected = f"{PROCESSED_PREFIX}{table}/"
            if not location.endswith("/" + expected) or (same_uris and location != root):
                raise CatalogError(
                    f"table {table} is at {location} in the catalog, but the job writes it "
                    f"under {root}: the stack's table and the job's --data_uri disagree"
                )
            _require_contract_columns(table, catalog.table_columns(table))
            self._roots[table] = (location, root)

    def to_catalog(self, table: str, job_path: str) -> str:
        location, root = self._roots[table]
        return location + _relative(job_path.rstrip("/") + "/", root, table)

    def to_job(self, table: str, catalog_location: str) -> str:
        location, root = self._roots[table]
        return (root + _relative(catalog_location.rstrip("/") + "/", location, table)).rstrip("/")


def _relative(path: str, root: str, table: str) -> str:
    if not path.startswith(root):
        raise CatalogError(f"{path} is outside table {table}'s folder {root}")
    return path[len(root) :]


def _require_contract_columns(table: str, columns: Iterable[tuple[str, str]]) -> None:
    declared = [(c.name, c.type) for c in PROCESSED_TABLE_DECLARATIONS[table].all_columns]
    found = [(name, kind.lower()) for name, kind in columns]
    if found != declared:
        raise CatalogError(
            f"table {table}'s columns in the catalog {found} are not the job's contract "
            f"{declared}: update the stack"
        )
