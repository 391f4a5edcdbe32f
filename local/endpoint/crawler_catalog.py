"""Infer a table's schema from its S3 files and write tables and partitions to the catalog.

Reading: CSV files are sampled from their first MiB, Parquet files by a ranged read of the
footer. Writing goes straight into moto's Glue backend (``create_table``, ``update_table``,
``batch_create_partition`` ...), with the SerDe, formats and table parameters a Glue crawler
sets, so Athena-style consumers and ``GetTable``/``GetPartitions`` see what AWS would show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.glue.models import FakeCrawler, GlueBackend

from local.endpoint.crawl_layout import DataFile, TableLayout
from local.endpoint.csv_schema import infer_csv_schema, merge_types
from local.endpoint.parquet_footer import TAIL_BYTES, ParquetError, footer_length, read_schema

CSV_SAMPLE_BYTES = 1 << 20
MAX_SAMPLED_FILES = 20
CSV_EXTENSIONS = (".csv", ".tsv", ".txt", ".psv")
PARQUET_EXTENSIONS = (".parquet", ".parq", ".snappy.parquet")

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

Log = Callable[[str], None]
RecordCatalogCall = Callable[[str, str | None], None]  # (IAM action, table name or None)


@dataclass
class InferredTable:
    layout: TableLayout
    classification: str
    columns: list[tuple[str, str]]
    serde: str
    serde_parameters: dict[str, str]
    input_format: str
    output_format: str
    parameters: dict[str, str]


@dataclass
class CatalogChanges:
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    tables_deleted: list[str] = field(default_factory=list)
    partitions_added: int = 0
    partitions_deleted: int = 0


# -- reading S3 ----------------------------------------------------------------------------


def file_format(s3: Any, bucket: str, data_file: DataFile) -> str | None:
    name = data_file.key.rsplit("/", 1)[-1].lower()
    if name.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    if name.endswith(CSV_EXTENSIONS):
        return "csv"
    if "." in name.rsplit("/", 1)[-1].lstrip("."):
        return None  # a known-other extension (json, gz, avro ...) is not classified here
    head = _read_range(s3, bucket, data_file.key, 0, min(data_file.size, 4096) - 1)
    if head[:4] == b"PAR1":
        return "parquet"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "csv"


def infer_table(s3: Any, layout: TableLayout, crawler_name: str, log: Log) -> InferredTable | None:
    formats = {f.key: file_format(s3, layout.bucket, f) for f in layout.files}
    counts = Counter(fmt for fmt in formats.values() if fmt)
    if not counts:
        log(f"{layout.location}: no CSV or Parquet data files, no table created")
        return None
    classification = counts.most_common(1)[0][0]
    files = [f for f in layout.files if formats[f.key] == classification]
    skipped = len(layout.files) - len(files)
    if skipped:
        log(f"{layout.location}: ignored {skipped} file(s) that are not {classification}")
    step = max(1, len(files) // MAX_SAMPLED_FILES)
    sampled = files[::step][:MAX_SAMPLED_FILES]
    if classification == "parquet":
        inferred = _infer_parquet(s3, layout, sampled)
    else:
        inferred = _infer_csv(s3, layout, sampled)
    if inferred is None:
        log(f"{layout.location}: could not read a schema from the data files")
        return None
    columns, sampled_rows, extra = inferred
    clashes = [n for n, _ in columns if n in layout.partition_keys]
    if clashes and classification == "parquet":
        # Parquet is read by name: a partition column stored in the files is redundant.
        columns = [(n, t) for n, t in columns if n not in clashes]
    elif clashes:
        # CSV columns are positional, so they stay; Athena rejects such a table on AWS too.
        log(f"WARN : {layout.location}: columns {clashes} are also partition keys")
    total_size = sum(f.size for f in files)
    sampled_size = sum(f.size for f in sampled) or 1
    record_count = round(sampled_rows * total_size / sampled_size)
    parameters = {
        "classification": classification,
        "compressionType": "none",
        "typeOfData": "file",
        "objectCount": str(len(files)),
        "sizeKey": str(total_size),
        "recordCount": str(record_count),
        "averageRecordSize": str(total_size // record_count if record_count else 0),
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
        "UPDATED_BY_CRAWLER": crawler_name,
        **extra["parameters"],
    }
    return InferredTable(
        layout=layout,
        classification=classification,
        columns=columns,
        serde=extra["serde"],
        serde_parameters=extra["serde_parameters"],
        input_format=extra["input_format"],
        output_format=extra["output_format"],
        parameters=parameters,
    )


def _infer_parquet(
    s3: Any, layout: TableLayout, files: list[DataFile]
) -> tuple[list[tuple[str, str]], int, dict[str, Any]] | None:
    columns: dict[str, str] = {}
    rows = 0
    for data_file in files:
        try:
            key, size = data_file.key, data_file.size
            tail = _read_range(s3, layout.bucket, key, size - TAIL_BYTES, size - 1)
            start = size - TAIL_BYTES - footer_length(tail, key)
            footer = _read_range(s3, layout.bucket, key, start, size - 1)
            schema = read_schema(footer, key)
        except ParquetError:
            continue
        rows += schema.num_rows
        _merge_columns(columns, schema.columns)
    if not columns:
        return None
    extra = {
        "serde": PARQUET_SERDE,
        "serde_parameters": {"serialization.format": "1"},
        "input_format": PARQUET_INPUT,
        "output_format": PARQUET_OUTPUT,
        "parameters": {},
    }
    return list(columns.items()), rows, extra


def _infer_csv(
    s3: Any, layout: TableLayout, files: list[DataFile]
) -> tuple[list[tuple[str, str]], int, dict[str, Any]] | None:
    columns: dict[str, str] = {}
    rows = 0
    first = None
    for data_file in files:
        end = min(data_file.size, CSV_SAMPLE_BYTES) - 1
        raw = _read_range(s3, layout.bucket, data_file.key, 0, end)
        schema = infer_csv_schema(
            raw.decode("utf-8", "replace"), truncated=data_file.size > CSV_SAMPLE_BYTES
        )
        if schema is None:
            continue
        first = first or schema
        rows += schema.sampled_rows
        _merge_columns(columns, schema.columns)
    if first is None:
        return None
    if first.quoted:
        serde, serde_parameters = (
            OPEN_CSV_SERDE,
            {"separatorChar": first.delimiter, "quoteChar": '"'},
        )
    else:
        serde, serde_parameters = LAZY_SIMPLE_SERDE, {"field.delim": first.delimiter}
    parameters = {
        "delimiter": first.delimiter,
        "columnsOrdered": "true",
        "areColumnsQuoted": "true" if first.quoted else "false",
    }
    if first.has_header:
        parameters["skip.header.line.count"] = "1"
        serde_parameters["skip.header.line.count"] = "1"
    extra = {
        "serde": serde,
        "serde_parameters": serde_parameters,
        "input_format": TEXT_INPUT,
        "output_format": TEXT_OUTPUT,
        "parameters": parameters,
    }
    return list(columns.items()), rows, extra


def _merge_columns(columns: dict[str, str], new: list[tuple[str, str]]) -> None:
    for name, typ in new:
        columns[name] = merge_types(columns[name], typ) if name in columns else typ


def _read_range(s3: Any, bucket: str, key: str, start: int, end: int) -> bytes:
    if end < start:
        return b""
    response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={max(start, 0)}-{end}")
    return response["Body"].read()


# -- writing the catalog -------------------------------------------------------------------


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
