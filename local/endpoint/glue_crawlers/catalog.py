"""Write a crawl's tables and partitions to the Glue Data Catalog, as a Glue crawler does.

Writing goes straight into moto's Glue backend (``create_table``, ``update_table``,
``batch_create_partition`` ...), with the SerDe, formats and table parameters a Glue crawler
sets (``table_schema.py`` infers them), so Athena-style consumers and
``GetTable``/``GetPartitions`` see what AWS would show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.glue.models import FakeCrawler, GlueBackend

from local.endpoint.glue_crawlers.table_schema import InferredTable, Log

RecordCatalogCall = Callable[[str, str | None], None]  # (IAM action, table name or None)


@dataclass
class CatalogChanges:
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    tables_deleted: list[str] = field(default_factory=list)
    partitions_added: int = 0
    partitions_deleted: int = 0


def table_input(name: str, table: InferredTable) -> dict[str, Any]:
    return {
        "Name": name,
        "Owner": "owner",
        "Retention": 0,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in table.layout.partition_keys],
        "Parameters": dict(table.parameters),
        "StorageDescriptor": _storage_descriptor(table, table.layout.location),
    }


def _storage_descriptor(table: InferredTable, location: str) -> dict[str, Any]:
    return {
        "Columns": [{"Name": n, "Type": t} for n, t in table.columns],
        "Location": location,
        "InputFormat": table.input_format,
        "OutputFormat": table.output_format,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": {
            "SerializationLibrary": table.serde,
            "Parameters": dict(table.serde_parameters),
        },
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(table.parameters),
        "StoredAsSubDirectories": False,
    }


def _schema_signature(data: dict[str, Any]) -> tuple[Any, ...]:
    sd = data.get("StorageDescriptor") or {}
    return (
        [(c.get("Name"), c.get("Type")) for c in sd.get("Columns") or []],
        [(c.get("Name"), c.get("Type")) for c in data.get("PartitionKeys") or []],
        sd.get("Location"),
        sd.get("InputFormat"),
        (sd.get("SerdeInfo") or {}).get("SerializationLibrary"),
        (sd.get("SerdeInfo") or {}).get("Parameters"),
        (data.get("Parameters") or {}).get("classification"),
    )


def apply_to_catalog(
    backend: GlueBackend,
    crawler: FakeCrawler,
    tables: list[InferredTable],
    crawled_locations: list[str],
    log: Log,
    record: RecordCatalogCall,
) -> CatalogChanges:
    """Create/update the tables and partitions; handle tables that disappeared.

    Each catalog read and write is passed to ``record`` as (IAM action, table or None), as
    the crawler's role makes it on AWS.
    """
    changes = CatalogChanges()
    database = crawler.database_name
    if not database:
        raise ValueError(f"crawler {crawler.name} has no DatabaseName")
    record("glue:GetDatabase", None)
    if database not in backend.databases:
        record("glue:CreateDatabase", None)
        backend.create_database(database, {"Name": database})
        log(f"created database {database}")
    policy = crawler.schema_change_policy or {}
    update_behavior = policy.get("UpdateBehavior", "UPDATE_IN_DATABASE")
    delete_behavior = policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE")
    prefix = crawler.table_prefix or ""
    found = set()
    for table in tables:
        name = prefix + table.layout.name
        found.add(name)
        wanted = table_input(name, table)
        record("glue:GetTable", name)
        existing = backend.databases[database].tables.get(name)
        schema_changed = False
        if existing is None:
            record("glue:CreateTable", name)
            backend.create_table(database, name, wanted)
            changes.tables_created.append(name)
            log(f"created table {database}.{name} ({table.classification})")
        elif _schema_signature(existing.as_dict()) != _schema_signature(wanted):
            if update_behavior == "LOG":
                log(f"schema of {database}.{name} changed; not updated (UpdateBehavior=LOG)")
            else:
                record("glue:UpdateTable", name)
                backend.update_table(database, name, wanted)
                changes.tables_updated.append(name)
                schema_changed = True
                log(f"updated table {database}.{name}")
        _sync_partitions(
            backend, database, name, table, schema_changed, delete_behavior, changes, record
        )

    record("glue:GetTables", None)
    for name, existing in list(backend.databases[database].tables.items()):
        current = existing.as_dict()
        params = current.get("Parameters") or {}
        location = (current.get("StorageDescriptor") or {}).get("Location") or ""
        if (
            name in found
            or params.get("UPDATED_BY_CRAWLER") != crawler.name
            or not any(location.startswith(root) for root in crawled_locations)
        ):
            continue
        if delete_behavior == "DELETE_FROM_DATABASE":
            record("glue:DeleteTable", name)
            backend.delete_table(database, name)
            changes.tables_deleted.append(name)
            log(f"deleted table {database}.{name}: its data is gone")
        elif delete_behavior == "DEPRECATE_IN_DATABASE" and "DEPRECATED_BY_CRAWLER" not in params:
            deprecated = {k: v for k, v in current.items() if k in _TABLE_INPUT_KEYS}
            deprecated["Parameters"] = {**params, "DEPRECATED_BY_CRAWLER": "1"}
            record("glue:UpdateTable", name)
            backend.update_table(database, name, deprecated)
            log(f"deprecated table {database}.{name}: its data is gone")
    return changes


_TABLE_INPUT_KEYS = {
    "Name",
    "Owner",
    "Retention",
    "TableType",
    "PartitionKeys",
    "Parameters",
    "StorageDescriptor",
}


def _sync_partitions(
    backend: GlueBackend,
    database: str,
    name: str,
    table: InferredTable,
    schema_changed: bool,
    delete_behavior: str,
    changes: CatalogChanges,
    record: RecordCatalogCall,
) -> None:
    record("glue:GetPartitions", name)
    fake_table = backend.get_table(database, name)
    existing = {tuple(p.values) for p in fake_table.partitions.values()}
    wanted = table.layout.partitions()

    def partition_input(values: tuple[str, ...], location: str) -> dict[str, Any]:
        return {
            "Values": list(values),
            "StorageDescriptor": _storage_descriptor(table, location),
            "Parameters": dict(table.parameters),
        }

    new = [partition_input(v, loc) for v, loc in sorted(wanted.items()) if v not in existing]
    if new:
        record("glue:BatchCreatePartition", name)
        backend.batch_create_partition(database, name, new)
        changes.partitions_added += len(new)
    if schema_changed:  # partitions inherit the table's new schema
        entries = [
            {"PartitionValueList": list(v), "PartitionInput": partition_input(v, wanted[v])}
            for v in sorted(existing & set(wanted))
        ]
        if entries:
            record("glue:BatchUpdatePartition", name)
            backend.batch_update_partition(database, name, entries)
    gone = sorted(existing - set(wanted))
    if gone and delete_behavior == "DELETE_FROM_DATABASE":
        record("glue:BatchDeletePartition", name)
        backend.batch_delete_partition(database, name, [{"Values": list(v)} for v in gone])
        changes.partitions_deleted += len(gone)
