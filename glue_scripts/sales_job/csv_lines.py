"""Read CSV files line by line and split them into fields without ever dropping a line.

Spark's CSV reader would silently skip blank lines and any first line it takes for a header,
so a file such as `invalid,data,format` would vanish. Reading text first keeps every physical
line with its file and position; fields are then split with Spark's own CSV parser
(`from_csv`: RFC 4180 quoting, so `"North, East"` is one field and `""` is an escaped quote).

No step needs the lines in one place: a file's header is read once on the driver (its first
non-blank line), a line's kind follows from its own text, and line numbers come from one small
aggregate per file split. So the files are read once, in parallel splits, with no shuffle.

A line is kept as the reader's bytes: one that is not UTF-8 is never decoded (decoding would
turn each bad byte into U+FFFD, and two different ids into one), and one over the length
limit is neither parsed nor kept whole, so no step holds more than the limit of it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from sales_job.contract import Reason
from sales_job.frames import empty_frame
from sales_job.lake_fs import literal_path

LINE_KIND_HEADER = "header"
LINE_KIND_BLANK = "blank"
LINE_KIND_ROW = "row"
BOM = "\ufeff"

CSV_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": "_corrupt",
    "quote": '"',
    "escape": '"',
}

# A line's place in its file: the byte offset of the split it was read in, then an id that
# grows line by line within the split (Spark's monotonically_increasing_id over the scan).
POSITION_COLUMNS = ("source_file", "_split_start", "_line_id")
LINES_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("_split_start", LongType(), False),
        StructField("_line_id", LongType(), False),
        StructField("raw_line", StringType(), False),
    ]
)


def is_blank(line: str) -> bool:
    """Spark's trim() removes only ASCII spaces; the driver-side rule must be the same."""
    return line.strip(" ") == ""


def first_content_line(lines: Iterable[str | None]) -> str | None:
    """The first non-blank line, without a leading UTF-8 byte order mark; None if none, or if
    that line is over the length limit (None from LakeFs.lines: it is no header)."""
    for line in lines:
        if line is None:
            return None
        if not is_blank(line):
            return line.removeprefix(BOM)
    return None


@dataclass(frozen=True)
class HeaderPlan:
    """What a file's first non-blank line says about the file.

    `text`: that line when it names any expected column (it is the header, and so is any line
    repeating it exactly); None when it names none (the file has no header: it is a row).
    `columns`: the file's column order when the header names exactly the expected columns, in
    any order; None otherwise, and then every row of the file is quarantined as bad_header.
    `delimiter`: when the columns are None, another delimiter (OTHER_DELIMITERS) that splits
    the line into exactly the expected names: the line is then the header of a file written
    with that delimiter, and the run names it (header_hint).
    """

    text: str | None
    columns: tuple[str, ...] | None
    delimiter: str | None = None


# Delimiters a header is tried with when it does not split on ',' into the expected names.
OTHER_DELIMITERS = (";", "\t", "|")


def plan_header(first_line: str | None, expected: Sequence[str]) -> HeaderPlan:
    if first_line is None:
        return HeaderPlan(None, None)
    unquoted = first_line.replace('"', "").split(",")
    if not any(token.strip(" ") in expected for token in unquoted):
        delimiter = other_delimiter(first_line, expected)
        return HeaderPlan(first_line if delimiter else None, None, delimiter)
    # The same quoting rules as from_csv (quote and escape are both '"').
    try:
        [fields] = csv.reader([first_line], quotechar='"', doublequote=True, strict=False)
    except csv.Error:
        return HeaderPlan(first_line, None)
    names = tuple(field.strip(" ") for field in fields)
    if len(names) == len(expected) and sorted(names) == sorted(expected):
        return HeaderPlan(first_line, names)
    return HeaderPlan(first_line, None, other_delimiter(first_line, expected))


def other_delimiter(line: str, expected: Sequence[str]) -> str | None:
    """The first of OTHER_DELIMITERS that splits `line` into exactly the expected names (in
    any order, each trimmed and unquoted), or None."""
    for delimiter in OTHER_DELIMITERS:
        names = [name.strip(" ").strip('"').strip(" ") for name in line.split(delimiter)]
        if len(names) == len(expected) and sorted(names) == sorted(expected):
            return delimiter
    return None


def header_hint(plan: HeaderPlan) -> str | None:
    """What to tell the user about a header that splits on another delimiter, or None."""
    if plan.delimiter is None:
        return None
    return f"the header splits on {plan.delimiter!r}, not ','"


def read_lines(spark: SparkSession, file_uris: Sequence[str]) -> DataFrame:
    """One row per physical line: source_file (file name), _split_start, _line_id, raw_line.

    The files must come from one folder (names are the per-file key). CRLF and a UTF-8 BOM are
    handled by Hadoop's line reader. A zero-byte file yields no line.
    """
    names = [uri.rstrip("/").rsplit("/", 1)[-1] for uri in file_uris]
    if len(set(names)) != len(names):
        raise ValueError(f"file names must be unique, got {sorted(names)}")
    if not file_uris:
        return empty_frame(spark, LINES_SCHEMA)
    # Spark expands a path as a Hadoop glob: escaped, each is read as the one file it names.
    return spark.read.text([literal_path(uri) for uri in file_uris]).select(
        _decoded_file_name().alias("source_file"),
        F.col("_metadata.file_block_start").alias("_split_start"),
        # Within one split, lines come in file order and the id grows by one per line.
        F.monotonically_increasing_id().alias("_line_id"),
        F.col("value").alias("raw_line"),
    )


def _decoded_file_name() -> Column:
    # Spark reports the name URL-encoded ("a%20b.csv"); protect literal '+' from url_decode.
    return F.expr("url_decode(replace(_metadata.file_name, '+', '%2B'))")


def parse_lines(
    lines: DataFrame, plans: Mapping[str, HeaderPlan], header: Sequence[str], max_line_bytes: int
) -> DataFrame:
    """Classify each line and split it into one trimmed string column per header name.

    `plans` holds each file's HeaderPlan (see plan_header). Adds `line_kind` (header | blank |
    row) and `csv_error`, in this order: `line_too_long` for a line over `max_line_bytes`
    (always a row, never parsed, its raw_line cut to that many bytes), `invalid_utf8` for a
    row that is not UTF-8, `bad_header` for every row of a file whose header is missing or
    names a column that is missing, unknown or repeated, `wrong_column_count` for a line that
    is not len(header) fields. Fields are read by the file's header names. Empty fields
    become null. Position columns are kept, for line numbers and first-copy order.
    """
    field_names = [f"_f{i}" for i in range(len(header))]
    schema_ddl = ", ".join(f"{n} STRING" for n in [*field_names, "_corrupt"])
    raw = F.col("raw_line")
    # Every step below that reads a line's text comes after this test, in a CASE that stops
    # at the first true branch: a long line is measured, cut, and never copied whole.
    too_long = F.octet_length(raw) > max_line_bytes
    text = F.when(raw.startswith(BOM), F.expr("substring(raw_line, 2)")).otherwise(raw)
    file = F.col("source_file")
    header_text = _lookup({f: plan.text for f, plan in plans.items()}, file, "string")
    positions = {
        f: [plan.columns.index(name) + 1 for name in header] if plan.columns else None
        for f, plan in plans.items()
    }
    file_positions = _lookup(positions, file, "array<int>")

    line_kind = (
        F.when(too_long, LINE_KIND_ROW)
        .when(F.trim(text) == "", LINE_KIND_BLANK)
        .when(text == header_text, LINE_KIND_HEADER)  # null (no header) never matches
        .otherwise(LINE_KIND_ROW)
    )
    is_row = (F.col("line_kind") == LINE_KIND_ROW) & ~too_long
    # A line without quotes splits exactly as the CSV parser would split it, much faster.
    quoted = text.contains('"')
    csv_fields = F.from_csv(text, schema_ddl, CSV_OPTIONS)
    parsed = (
        lines.withColumn("line_kind", line_kind)
        .withColumn("_csv", F.when(is_row & quoted, csv_fields))
        .withColumn("_split", F.when(is_row & ~quoted, F.split(text, ",", -1)))
    )
    wrong_count = F.when(quoted, F.col("_csv._corrupt").isNotNull()).otherwise(
        F.size("_split") != len(header)
    )
    csv_error = (
        F.when(too_long, Reason.LINE_TOO_LONG)
        .when(~is_row, F.lit(None).cast("string"))
        .when(~_is_utf8(raw), Reason.INVALID_UTF8)
        .when(file_positions.isNull(), Reason.BAD_HEADER)
        .when(wrong_count, Reason.WRONG_COLUMN_COUNT)
    )
    values = F.when(quoted, F.array(*[F.col(f"_csv.{n}") for n in field_names])).otherwise(
        F.col("_split")
    )
    fields = []
    for index, name in enumerate(header):
        # A file without a usable header keeps the positional split, so its quarantined rows
        # still show an order_id.
        at = F.coalesce(F.element_at(file_positions, index + 1), F.lit(index + 1))
        fields.append(_clean(F.element_at(values, at)).alias(name))
    return parsed.select(
        *POSITION_COLUMNS,
        F.when(too_long, _first_bytes(raw, max_line_bytes)).otherwise(raw).alias("raw_line"),
        "line_kind",
        csv_error.alias("csv_error"),
        *fields,
    )


def _is_utf8(text: Column) -> Column:
    """The reader's bytes are UTF-8 when decoding and re-encoding them changes nothing (the
    JVM's decoder turns each malformed sequence into U+FFFD, whose bytes differ)."""
    return text.cast("binary") == F.encode(text, "UTF-8")


def _first_bytes(text: Column, count: int) -> Column:
    """The first `count` bytes, as a string of those bytes (maybe ending inside a character).
    The character cut comes first, so a long line is never copied whole."""
    return F.substring(F.substring(text, 1, count).cast("binary"), 1, count).cast("string")


def _lookup(by_key: Mapping[str, object], key: Column, sql_type: str) -> Column:
    """`by_key[key]` as a column of `sql_type`, for keys that are all in the mapping.

    The usual day has one file (or files with one header) and one split per file: then every
    line gets the same value, and a literal saves a map lookup per line and field.
    """
    literals = {
        k: F.array(*map(F.lit, v)) if isinstance(v, list) else F.lit(v)
        for k, v in by_key.items()
        if v is not None
    }
    values = list(by_key.values())
    if not literals:
        return F.lit(None).cast(sql_type)
    if all(v == values[0] for v in values):
        return next(iter(literals.values())).cast(sql_type)
    pairs = [item for k, literal in literals.items() for item in (F.lit(k), literal)]
    return F.try_element_at(F.create_map(*pairs), key).cast(sql_type)


def _clean(value: Column) -> Column:
    trimmed = F.trim(value)
    return F.when(trimmed == "", F.lit(None).cast("string")).otherwise(trimmed)


@dataclass(frozen=True)
class LineNumbers:
    """1-based line numbers, from each file split's line count and first _line_id."""

    # (source_file, split start) -> the number to add to _line_id for its line number
    shift: dict[tuple[str, int], int]

    @classmethod
    def from_splits(cls, splits: Iterable[tuple[str, int, int, int]]) -> LineNumbers:
        """From (source_file, split start, lines, first _line_id) of every split."""
        shift: dict[tuple[str, int], int] = {}
        lines_before: dict[str, int] = {}
        for file, start, lines, first_id in sorted(splits):
            before = lines_before.get(file, 0)
            shift[(file, start)] = before + 1 - first_id
            lines_before[file] = before + lines
        return cls(shift)

    def add_to(self, lines: DataFrame) -> DataFrame:
        """`lines` with a line_number column (its position columns are kept)."""
        key = F.concat_ws("/", "source_file", F.col("_split_start").cast("string"))
        by_key = {f"{file}/{start}": value for (file, start), value in self.shift.items()}
        shift = _lookup(by_key, key, "long")
        return lines.withColumn("line_number", (F.col("_line_id") + shift).cast("long"))
