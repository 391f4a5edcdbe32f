"""Pure pieces of the endpoint: table layout, CSV inference, Parquet footers, error lines."""

from __future__ import annotations

import struct

import pytest

from local.endpoint.crawl_layout import dedupe_names, glob_to_regex, plan_tables
from local.endpoint.csv_schema import infer_csv_schema
from local.endpoint.job_errors import error_message_from_stderr
from local.endpoint.parquet_footer import ParquetError, footer_length, read_schema
from local.endpoint.s3_mirror import is_litter, parse_s3_uri

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


class CompactWriter:
    """Just enough of a Thrift compact encoder to build test footers."""

    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while True:
            byte = n & 0x7F
            n >>= 7
            self.out.append(byte | (0x80 if n else 0))
            if not n:
                return

    def struct(self, fields: list[tuple[int, str, object]]) -> None:
        last = 0
        for fid, kind, value in fields:
            type_id = {"i32": 5, "i64": 6, "bin": 8, "list": 9, "struct": 12}[kind]
            self.out.append(((fid - last) << 4) | type_id)
            last = fid
            if kind in ("i32", "i64"):
                self.varint((value << 1) ^ (value >> 63))  # type: ignore[operator]
            elif kind == "bin":
                data = value.encode()  # type: ignore[union-attr]
                self.varint(len(data))
                self.out += data
            elif kind == "list":
                items = value  # list of struct field lists
                self.out.append((min(len(items), 15) << 4) | 12)  # type: ignore[arg-type]
                if len(items) >= 15:  # type: ignore[arg-type]
                    self.varint(len(items))  # type: ignore[arg-type]
                for item in items:  # type: ignore[union-attr]
                    self.struct(item)
            elif kind == "struct":
                self.struct(value)  # type: ignore[arg-type]
        self.out.append(0)


def element(name: str, **kw: object) -> list[tuple[int, str, object]]:
    fields: list[tuple[int, str, object]] = []
    if "type" in kw:
        fields.append((1, "i32", kw["type"]))
    fields.append((3, "i32", kw.get("rep", 1)))
    fields.append((4, "bin", name))
    if "children" in kw:
        fields.append((5, "i32", kw["children"]))
    if "converted" in kw:
        fields.append((6, "i32", kw["converted"]))
    if "logical" in kw:
        fields.append((10, "struct", kw["logical"]))
    return fields


def test_parquet_footer_schema_with_nested_and_logical_types() -> None:
    INT32, INT64, INT96, BYTES, FIXED = 1, 2, 3, 6, 7
    schema = [
        element("spark_schema", rep=0, children=8),
        element("Order_ID", type=INT64, rep=0),
        element("name", type=BYTES, converted=0),
        element("amount", type=FIXED, logical=[(5, "struct", [(1, "i32", 2), (2, "i32", 12)])]),
        element("loaded_at", type=INT96),
        element("small", type=INT32, logical=[(10, "struct", [(1, "i32", 16)])]),
        element("tags", children=1, converted=3),
        element("list", rep=2, children=1),
        element("element", type=BYTES, converted=0),
        element("attrs", children=1, converted=1),
        element("key_value", rep=2, children=2),
        element("key", type=BYTES, rep=0, converted=0),
        element("value", type=INT32),
        element("address", children=2),
        element("city", type=BYTES, converted=0),
        element("zip", type=INT32),
    ]
    writer = CompactWriter()
    writer.struct([(1, "i32", 1), (2, "list", schema), (3, "i64", 42)])
    metadata = bytes(writer.out)
    file_tail = metadata + struct.pack("<I", len(metadata)) + b"PAR1"

    assert footer_length(file_tail[-8:]) == len(metadata)
    parsed = read_schema(file_tail)
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
    with pytest.raises(ParquetError):
        footer_length(b"not a parquet file")


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
    assert error_message_from_stderr(stderr, 1) == (
        "pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not "
        "exist: file:/data/raw."
    )
    assert error_message_from_stderr("quarantine ratio too high\n", 1) == (
        "quarantine ratio too high (script exited with code 1)"
    )
    assert error_message_from_stderr("", -9) == "Glue job script killed by signal 9"


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
