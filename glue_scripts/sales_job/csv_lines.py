"""Read CSV files line by line and split them into fields without ever dropping a line.

Spark's CSV reader would silently skip blank lines and any first line it takes for a header,
so a file such as `invalid,data,format` would vanish. Reading text first keeps every physical
line with its file and line number; fields are then split with Spark's own CSV parser
(`from_csv`: RFC 4180 quoting, so `"North, East"` is one field and `""` is an escaped quote).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from sales_job.contract import Reason

LINE_KIND_HEADER = "header"
LINE_KIND_BLANK = "blank"
LINE_KIND_ROW = "row"

CSV_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": "_corrupt",
    "quote": '"',
    "escape": '"',
}

LINES_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("raw_line", StringType(), False),
    ]
)


def read_lines(spark: SparkSession, file_uris: Sequence[str]) -> DataFrame:
    """One row per physical line: source_file (file name), line_number (1-based), raw_line.

    The files must come from one folder (names are the per-file key). CRLF and a UTF-8 BOM are
    handled by Hadoop's line reader. A zero-byte file yields no line.
    """
    names = [uri.rstrip("/").rsplit("/", 1)[-1] for uri in file_uris]
    if len(set(names)) != len(names):
        raise ValueError(f"file names must be unique, got {sorted(names)}")
    if not file_uris:
        return spark.createDataFrame([], LINES_SCHEMA)
    text = spark.read.text(list(file_uris)).select(
        F.col("value").alias("raw_line"),
        _decoded_file_name().alias("source_file"),
        # Within one split, lines come in file order; splits are ordered by start offset.
        F.col("_metadata.file_block_start").alias("_block_start"),
        F.monotonically_increasing_id().alias("_read_order"),
    )
    in_file_order = Window.partitionBy("source_file").orderBy("_block_start", "_read_order")
    return text.select(
        "source_file",
        F.row_number().over(in_file_order).cast("long").alias("line_number"),
        "raw_line",
    )


def _decoded_file_name() -> Column:
    # Spark reports the name URL-encoded ("a%20b.csv"); protect literal '+' from url_decode.
    return F.expr("url_decode(replace(_metadata.file_name, '+', '%2B'))")


def parse_lines(lines: DataFrame, header: Sequence[str]) -> DataFrame:
    """Classify each line and split it into one trimmed string column per header name.

    A file's first non-blank line is its header when it names any of the `header` columns; a
    header naming exactly those columns, in any order, maps each field to its column by name.
    Adds `line_kind` (header | blank | row) and `csv_error`: `bad_header` for every row of a
    file whose header is missing or names a column that is missing, unknown or repeated (a
    first line naming none of the columns may be data, so it is a row itself),
    `wrong_column_count` for a line that is not len(header) fields. Empty fields become null.
    """
    field_names = [f"_f{i}" for i in range(len(header))]
    schema_ddl = ", ".join(f"{n} STRING" for n in [*field_names, "_corrupt"])
    # Hadoop's reader already drops a leading BOM; strip one defensively on line 1 anyway.
    text = F.when(F.col("line_number") == 1, F.regexp_replace("raw_line", "^\ufeff", "")).otherwise(
        F.col("raw_line")
    )
    parsed = lines.withColumn("_csv", F.from_csv(text, schema_ddl, CSV_OPTIONS))

    is_blank = F.trim(text) == ""
    per_file = Window.partitionBy("source_file")
    first_content_line = F.min(F.when(~is_blank, F.col("line_number"))).over(per_file)
    names = F.array(*[F.trim(F.col(f"_csv.{n}")) for n in field_names])
    is_header = (F.col("line_number") == first_content_line) & _names_any(text, header)
    names_exactly = F.col("_csv._corrupt").isNull() & (
        F.array_sort(F.array_distinct(names)) == F.array(*[F.lit(h) for h in sorted(header)])
    )
    parsed = (
        parsed.withColumn("_is_blank", is_blank)
        .withColumn("_is_header", is_header)
        .withColumn("_names", F.when(F.col("_is_header") & names_exactly, names))
    )
    # The file's column order, when its header names exactly the expected columns.
    file_columns = F.first("_names", ignorenulls=True).over(per_file)
    parsed = parsed.withColumn("_file_columns", file_columns)

    line_kind = (
        F.when(F.col("_is_blank"), LINE_KIND_BLANK)
        .when(F.col("_is_header"), LINE_KIND_HEADER)
        .otherwise(LINE_KIND_ROW)
    )
    csv_error = (
        F.when(line_kind != LINE_KIND_ROW, F.lit(None).cast("string"))
        .when(F.col("_file_columns").isNull(), Reason.BAD_HEADER)
        .when(F.col("_csv._corrupt").isNotNull(), Reason.WRONG_COLUMN_COUNT)
    )
    values = F.array(*[F.col(f"_csv.{n}") for n in field_names])
    fields = []
    for position, name in enumerate(header, start=1):
        # By name where the header allows it; a file without one keeps the positional split
        # so its quarantined rows still show an order_id.
        at = F.coalesce(F.array_position("_file_columns", name).cast("int"), F.lit(position))
        fields.append(_clean(F.element_at(values, at)).alias(name))
    return parsed.select(
        "source_file",
        "line_number",
        "raw_line",
        line_kind.alias("line_kind"),
        csv_error.alias("csv_error"),
        *fields,
    )


def _names_any(text: Column, header: Sequence[str]) -> Column:
    """Whether a line names any expected column (quotes and spaces ignored): a header, not data."""
    tokens = F.split(F.regexp_replace(text, '"', ""), ",")
    return F.exists(tokens, lambda token: F.trim(token).isin(*header))


def _clean(value: Column) -> Column:
    trimmed = F.trim(value)
    return F.when(trimmed == "", F.lit(None).cast("string")).otherwise(trimmed)
