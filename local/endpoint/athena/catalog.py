"""The Glue Data Catalog as Athena reads it: databases, tables, their partitions and formats.

Read straight from moto's Glue backend in the endpoint process (the catalog crawls,
provisioning and the pipeline write). Each read is also passed to ``record`` as the IAM call
Athena makes for the caller on AWS (``glue:GetDatabase``, ``glue:GetTable``,
``glue:GetPartitions``), so policies can be evaluated against a query's catalog reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.glue.models import GlueBackend

from local.endpoint.athena.errors import AthenaQueryError, Position, not_supported

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
CATALOG = "awsdatacatalog"

RecordRead = Callable[[str, str, "str | None"], None]  # (IAM action, database, table)


@dataclass(frozen=True)
class Storage:
    """How a table's or partition's files are read."""

    location: str
    format: str  # "parquet" or "csv"
    serde: str
    serde_parameters: dict[str, str]


@dataclass(frozen=True)
class Partition:
    values: tuple[str, ...]
    storage: Storage


@dataclass
class TableDef:
    database: str
    name: str
    columns: list[tuple[str, str]]  # (name, catalog type), in order
    partition_keys: list[tuple[str, str]]
    storage: Storage
    parameters: dict[str, str]
    partitions: list[Partition] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{CATALOG}.{self.database}.{self.name}"


def find_database(backend: GlueBackend, name: str) -> Any | None:
    wanted = name.lower()
    for db_name, database in backend.databases.items():
        if db_name.lower() == wanted:
            return database
    return None


def load_table(
    backend: GlueBackend,
    database: str,
    table: str,
    position: Position | None,
    record: RecordRead,
) -> TableDef:
    """The table with its partitions; TABLE_NOT_FOUND / SCHEMA_NOT_FOUND as Athena says it."""
    record("glue:GetDatabase", database, None)
    found_db = find_database(backend, database)
    if found_db is None:
        raise AthenaQueryError(
            "SCHEMA_NOT_FOUND", f"Schema '{database.lower()}' does not exist", position
        )
    record("glue:GetTable", found_db.name, table.lower())
    found = next((t for n, t in found_db.tables.items() if n.lower() == table.lower()), None)
    if found is None:
        raise AthenaQueryError(
            "TABLE_NOT_FOUND",
            f"Table '{CATALOG}.{database.lower()}.{table.lower()}' does not exist",
            position,
        )
    data = found.as_dict()
    if data.get("TableType") == "VIRTUAL_VIEW":
        raise not_supported(f"view {table!r}", position)
    sd = data.get("StorageDescriptor") or {}
    storage = _storage(sd, data.get("Parameters") or {}, f"table {table!r}", position)
    definition = TableDef(
        database=found_db.name,
        name=found.name,
        columns=[(c["Name"].lower(), c["Type"]) for c in sd.get("Columns") or []],
        partition_keys=[(c["Name"].lower(), c["Type"]) for c in data.get("PartitionKeys") or []],
        storage=storage,
        parameters=dict(data.get("Parameters") or {}),
    )
    names = [n for n, _ in definition.columns + definition.partition_keys]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:  # e.g. a crawled CSV column that is also a partition key
        raise AthenaQueryError(
            "HIVE_INVALID_METADATA",
            f"Hive metadata for table {found.name} is invalid: Table descriptor contains "
            f"duplicate columns ({', '.join(duplicates)})",
            position,
        )
    if definition.partition_keys:
        record("glue:GetPartitions", found_db.name, found.name)
        for partition in list(found.partitions.values()):
            pdata = partition.as_dict()
            psd = pdata.get("StorageDescriptor") or {}
            pstorage = _storage(
                {**sd, **{k: v for k, v in psd.items() if v}},
                definition.parameters,
                f"a partition of {table!r}",
                position,
            )
            definition.partitions.append(Partition(tuple(pdata.get("Values") or []), pstorage))
    return definition


def _storage(
    sd: dict[str, Any], table_parameters: dict[str, str], what: str, position: Position | None
) -> Storage:
    serde_info = sd.get("SerdeInfo") or {}
    serde = serde_info.get("SerializationLibrary") or ""
    input_format = sd.get("InputFormat") or ""
    parameters = dict(serde_info.get("Parameters") or {})
    # Athena reads skip.header.line.count from the table's properties.
    for key in ("skip.header.line.count", "use.null.for.invalid.data"):
        if key in table_parameters:
            parameters.setdefault(key, table_parameters[key])
    if serde == PARQUET_SERDE or input_format == PARQUET_INPUT:
        fmt = "parquet"
    elif input_format == TEXT_INPUT and serde in (LAZY_SIMPLE_SERDE, OPEN_CSV_SERDE):
        fmt = "csv"
    else:
        raise not_supported(f"{what} stored as {serde or input_format or 'unknown'}", position)
    location = sd.get("Location") or ""
    if not location:
        raise AthenaQueryError("HIVE_METASTORE_ERROR", f"{what} has no Location", position)
    return Storage(location, fmt, serde, parameters)


def table_metadata(table: Any) -> dict[str, Any]:
    """``TableMetadata`` for ``GetTableMetadata``/``ListTableMetadata``, from a Glue table."""
    data = table.as_dict()
    sd = data.get("StorageDescriptor") or {}
    serde_info = sd.get("SerdeInfo") or {}
    parameters = dict(data.get("Parameters") or {})
    parameters.update(
        {
            "inputformat": sd.get("InputFormat", ""),
            "outputformat": sd.get("OutputFormat", ""),
            "location": sd.get("Location", ""),
            "serde.serialization.lib": serde_info.get("SerializationLibrary", ""),
        }
    )
    for key, value in (serde_info.get("Parameters") or {}).items():
        parameters[f"serde.param.{key}"] = value
    metadata: dict[str, Any] = {
        "Name": data["Name"],
        "CreateTime": data.get("CreateTime"),
        "TableType": data.get("TableType", "EXTERNAL_TABLE"),
        "Columns": [_column(c) for c in sd.get("Columns") or []],
        "PartitionKeys": [_column(c) for c in data.get("PartitionKeys") or []],
        "Parameters": parameters,
    }
    return metadata


def _column(column: dict[str, Any]) -> dict[str, Any]:
    out = {"Name": column["Name"], "Type": column["Type"]}
    if column.get("Comment"):
        out["Comment"] = column["Comment"]
    return out
