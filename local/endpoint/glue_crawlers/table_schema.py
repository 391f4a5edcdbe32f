"""Infer a table's schema from its S3 files, with the SerDe and formats a Glue crawler sets.

CSV files are sampled from their first MiB (``csv_schema.py``), Parquet files by a ranged read
of the footer (``parquet_footer.py``); up to ``MAX_SAMPLED_FILES`` files of a table are read
and their columns merged. ``catalog.py`` writes the result to the catalog.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.endpoint.glue_crawlers.csv_schema import infer_csv_schema, merge_types
from local.endpoint.glue_crawlers.layout import DataFile, TableLayout
from local.endpoint.glue_crawlers.parquet_footer import (
    TAIL_BYTES,
    ParquetError,
    footer_length,
    read_schema,
)

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
