"""Pure pieces of the endpoint: table layout, CSV inference, Parquet footers, error lines."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local.endpoint.glue_crawlers.csv_schema import infer_csv_schema
from local.endpoint.glue_crawlers.layout import dedupe_names, glob_to_regex, plan_tables
from local.endpoint.glue_crawlers.parquet_footer import (
    TAIL_BYTES,
    ParquetError,
    footer_length,
    hive_type,
    read_schema,
)
from local.endpoint.glue_jobs.job_errors import error_message_from_output
from local.endpoint.s3.mirror import BucketMirror, is_litter, parse_s3_uri

# -- crawl layout --------------------------------------------------------------------------


def test_partitioned_target_is_one_table_named_after_the_folder() -> None:
    objects = [
        ("raw-data/sales/order_date=2024-01-15/a.csv", 10),
        ("raw-data/sales/order_date=2024-01-16/a.csv", 10),
        ("raw-data/sales/order_date=2024-01-16/b.csv", 10),
        ("raw-data/sales/_SUCCESS", 0),
        ("raw-data/sales/order_date=2024-01-16/.b.csv.crc", 4),
        ("raw-data/sales/_temporary/0/x.csv", 10),
        ("raw-data/sales/order_date=2024-01-17/", 0),
    ]
    tables, warnings = plan_tables("b", "raw-data/sales/", objects)
    assert warnings == []
    [sales] = tables
    assert (sales.name, sales.root, sales.partition_keys) == (
        "sales",
        "raw-data/sales/",
        ["order_date"],
    )
    assert sales.partitions() == {
        ("2024-01-15",): "s3://b/raw-data/sales/order_date=2024-01-15/",
        ("2024-01-16",): "s3://b/raw-data/sales/order_date=2024-01-16/",
    }


def test_subfolders_become_tables_with_their_own_partitions() -> None:
    objects = [
        ("processed-data/daily_sales/order_date=2024-01-15/part-0.parquet", 10),
        ("processed-data/customer-daily/order_date=2024-01-15/part-0.parquet", 10),
        ("processed-data/customer_metrics/as_of_date=2024-01-15/region=eu%2Dwest/p.parquet", 10),
    ]
    tables, _ = plan_tables("b", "processed-data", objects)
    found = {t.name: t.partition_keys for t in tables}
    assert found == {
        "daily_sales": ["order_date"],
        "customer_daily": ["order_date"],
        "customer_metrics": ["as_of_date", "region"],
    }
    metrics = next(t for t in tables if t.name == "customer_metrics")
    assert list(metrics.partitions()) == [("2024-01-15", "eu-west")]


def test_inconsistent_partitions_and_exclusions() -> None:
    objects = [
        ("t/day=1/a.csv", 5),
        ("t/month=1/a.csv", 5),
        ("t/day=2/a.json", 5),
        ("t/day=3/sub/a.csv", 5),
    ]
    tables, warnings = plan_tables("b", "t/", objects, exclusions=["**.json"])
    [table] = tables
    assert [f.key for f in table.files] == ["t/day=1/a.csv"]
    assert len(warnings) == 2


def test_glob_semantics_and_name_collisions() -> None:
    assert glob_to_regex("*.csv").match("a.csv")
    assert not glob_to_regex("*.csv").match("x/a.csv")
    assert glob_to_regex("**/*.{csv,txt}").match("x/y/a.txt")
    a, _ = plan_tables("b", "x/sales/", [("x/sales/a.csv", 1)])
    b, _ = plan_tables("b", "y/sales/", [("y/sales/a.csv", 1)])
    tables = a + b
    dedupe_names(tables)
    assert tables[0].name == "sales"
    assert tables[1].name.startswith("sales_") and len(tables[1].name) == len("sales_") + 8


# -- CSV -----------------------------------------------------------------------------------


def test_csv_header_types_and_delimiter() -> None:
    schema = infer_csv_schema("id|price|ok|name\n1|2.5|true|x\n2|3|false|\n")
    assert schema is not None
    assert schema.delimiter == "|"
    assert schema.has_header
    assert schema.columns == [
        ("id", "bigint"),
        ("price", "double"),
        ("ok", "boolean"),
        ("name", "string"),
    ]


def test_csv_all_string_columns_get_no_header_like_glue() -> None:
    schema = infer_csv_schema("name,city\nann,oslo\nbob,rome\n")
    assert schema is not None
    assert not schema.has_header
    assert schema.columns == [("col0", "string"), ("col1", "string")]


def test_csv_truncated_sample_drops_the_partial_line() -> None:
    schema = infer_csv_schema("a,b\n1,2\n3,x-partial", truncated=True)
    assert schema is not None
    assert schema.columns == [("a", "bigint"), ("b", "bigint")]
    assert infer_csv_schema("\n\n") is None


# -- Parquet footer ------------------------------------------------------------------------

ROWS = 42


def parquet_bytes(columns: dict[str, pa.Array], **write_options: object) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, **write_options)
    return sink.getvalue()


def footer_of(data: bytes, name: str) -> bytes:
    """The file's end as the crawler reads it: the metadata block, its length and PAR1."""
    return data[-TAIL_BYTES - footer_length(data[-TAIL_BYTES:], name) :]


def test_parquet_footer_schema_with_nested_and_logical_types() -> None:
    # Written as Spark writes: INT96 timestamps and no stored Arrow schema, so the Hive types
    # come from the Parquet schema alone.
    address = pa.struct([("City", pa.string()), ("zip", pa.int32())])
    data = parquet_bytes(
        {
            "Order_ID": pa.array(range(ROWS), pa.int64()),
            "name": pa.array(["ann"] * ROWS, pa.string()),
            "amount": pa.array([Decimal("9.99")] * ROWS, pa.decimal128(12, 2)),
            "loaded_at": pa.array([datetime(2024, 1, 15)] * ROWS, pa.timestamp("us")),
            "small": pa.array([7] * ROWS, pa.int16()),
            "tags": pa.array([["new"]] * ROWS, pa.list_(pa.string())),
            "attrs": pa.array([[("k", 1)]] * ROWS, pa.map_(pa.string(), pa.int32())),
            "address": pa.array([{"City": "oslo", "zip": 150}] * ROWS, address),
        },
        use_deprecated_int96_timestamps=True,
        store_schema=False,
    )
    metadata = pq.read_metadata(io.BytesIO(data))
    assert metadata.schema.column(3).physical_type == "INT96"

    assert footer_length(data[-TAIL_BYTES:], "orders.parquet") == metadata.serialized_size
    parsed = read_schema(footer_of(data, "orders.parquet"), "orders.parquet")
    assert parsed.num_rows == 42
    assert parsed.columns == [
        ("order_id", "bigint"),
        ("name", "string"),
        ("amount", "decimal(12,2)"),
        ("loaded_at", "timestamp"),
        ("small", "smallint"),
        ("tags", "array<string>"),
        ("attrs", "map<string,int>"),
        ("address", "struct<city:string,zip:int>"),
    ]


def test_parquet_footer_types_from_a_stored_arrow_schema() -> None:
    # pyarrow stores its own schema in the footer, which restores dictionaries and unsigned ints.
    data = parquet_bytes(
        {
            "region": pa.array(["north"] * ROWS).dictionary_encode(),
            "units": pa.array([3] * ROWS, pa.uint8()),
            "day": pa.array([date(2024, 1, 15)] * ROWS, pa.date32()),
            "opens": pa.array([time(9)] * ROWS, pa.time32("ms")),
            "ratio": pa.array([0.5] * ROWS, pa.float64()),
            "ok": pa.array([True] * ROWS, pa.bool_()),
            "raw": pa.array([b"\x00"] * ROWS, pa.binary()),
        }
    )
    parsed = read_schema(footer_of(data, "mixed.parquet"), "mixed.parquet")
    assert parsed.columns == [
        ("region", "string"),
        ("units", "smallint"),
        ("day", "date"),
        ("opens", "int"),
        ("ratio", "double"),
        ("ok", "boolean"),
        ("raw", "binary"),
    ]


def test_non_parquet_and_truncated_files_raise_errors_naming_them() -> None:
    with pytest.raises(ParquetError, match=r"^notes\.parquet: missing PAR1"):
        footer_length(b"not a parquet file", "notes.parquet")
    footer = footer_of(parquet_bytes({"a": pa.array([1])}), "a.parquet")
    with pytest.raises(ParquetError, match=r"^cut\.parquet: unreadable Parquet footer"):
        read_schema(footer[1:], "cut.parquet")  # shorter than its length field says
    garbled = bytes(len(footer) - TAIL_BYTES) + footer[-TAIL_BYTES:]
    with pytest.raises(ParquetError, match=r"^zeros\.parquet: unreadable Parquet footer"):
        read_schema(garbled, "zeros.parquet")


@pytest.mark.parametrize(
    ("arrow_type", "hive"),
    [
        (pa.uuid(), "string"),
        (pa.json_(), "string"),
        (pa.timestamp("ms", tz="UTC"), "timestamp"),
        (pa.time64("us"), "bigint"),
        (pa.duration("s"), "bigint"),
        (pa.uint64(), "bigint"),
        (pa.float16(), "binary"),
        (pa.binary(12), "binary"),
        (pa.null(), "int"),
        (pa.large_list(pa.int8()), "array<tinyint>"),
        (pa.list_(pa.large_string(), 2), "array<string>"),
        (pa.list_(pa.struct([("Qty", pa.int32())])), "array<struct<qty:int>>"),
    ],
)
def test_hive_types_of_less_common_arrow_types(arrow_type: pa.DataType, hive: str) -> None:
    assert hive_type(arrow_type) == hive


# -- errors and S3 paths -------------------------------------------------------------------


def test_error_line_is_the_last_traceback_exception() -> None:
    stderr = (
        "26/01/01 10:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library\n"
        "Traceback (most recent call last):\n"
        '  File "job.py", line 3, in <module>\n'
        "KeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "job.py", line 5, in <module>\n'
        "pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not "
        "exist: file:/data/raw.\n"
        "26/01/01 10:00:01 INFO ShutdownHookManager: Shutdown hook called\n"
    )
    assert error_message_from_output(stderr, 1) == (
        "pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not "
        "exist: file:/data/raw."
    )
    assert error_message_from_output("quarantine ratio too high\n", 1) == (
        "quarantine ratio too high (script exited with code 1)"
    )
    assert error_message_from_output("", -9) == "Glue job script killed by signal 9"


def test_s3_uris_and_litter() -> None:
    assert parse_s3_uri("s3://my-bucket/a/b/") == ("my-bucket", "a/b/")
    assert parse_s3_uri("s3://my-bucket") == ("my-bucket", "")
    assert parse_s3_uri("/local/path") is None
    assert parse_s3_uri("2024-01-15") is None
    assert is_litter("t/d=1/.part-0.parquet.crc")
    assert is_litter("t/_temporary/0/part-0")
    assert is_litter("t/.spark-staging-1/d=1/part-0")
    assert not is_litter("t/_SUCCESS")
    assert not is_litter("t/d=1/part-0.parquet")


def test_mirror_paths_a_job_reports_become_the_s3_uris_they_stand_for(tmp_path: Path) -> None:
    mirror = BucketMirror(tmp_path, "lake", s3=None)
    folder = tmp_path / "s3" / "lake"
    assert mirror.local_path("raw/a.csv") == folder / "raw" / "a.csv"  # where the bucket lives
    reported = (
        f"read file://{folder}/raw/a.csv, Hadoop's file:{folder}/raw/b.csv, bare {folder}/raw/; "
        f"kept: {tmp_path}/s3/lake-2/x s3://lake/y {folder}"
    )
    assert mirror.to_s3_uris(reported.encode()).decode() == (
        "read s3://lake/raw/a.csv, Hadoop's s3://lake/raw/b.csv, bare s3://lake/raw/; "
        f"kept: {tmp_path}/s3/lake-2/x s3://lake/y {folder}"
    )
