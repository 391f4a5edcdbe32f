"""Infer a CSV file's columns the way Glue's built-in CSV classifier does.

- Delimiter: one of ``,`` ``|`` tab ``;`` (sniffed from the sample).
- Types per column over the sampled rows: ``boolean``, ``bigint``, ``double``, else ``string``
  (empty cells are ignored; an all-empty column is ``string``).
- Header: Glue treats the first row as a header only if every value in it is a non-empty
  string, the values are unique, and at least one column of the *other* rows is not a string.
  A file whose columns are all strings therefore gets ``col0``, ``col1``, ... and its header
  row is read as data. That is Glue's documented behaviour, kept on purpose for parity.
- Quoted fields select ``OpenCSVSerde``, otherwise ``LazySimpleSerDe`` (as Glue does).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

DELIMITERS = ",|\t;"
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_INT64 = 2**63


@dataclass(frozen=True)
class CsvSchema:
    columns: list[tuple[str, str]]
    delimiter: str
    has_header: bool
    quoted: bool
    sampled_rows: int


def infer_csv_schema(sample: str, truncated: bool = False) -> CsvSchema | None:
    """Schema of a CSV sample; ``None`` if it holds no rows. Drop a cut-off last line if
    ``truncated``."""
    sample = sample.lstrip("\ufeff")
    if truncated and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return None
    delimiter = _sniff_delimiter(lines[:50])
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    quoted = any(f'{delimiter}"' in line or line.startswith('"') for line in lines[:200])
    width = len(rows[0])
    first, rest = rows[0], [r for r in rows[1:] if len(r) == width]
    rest_types = [_column_type([r[i] for r in rest]) for i in range(width)]
    first_all_strings = all(v.strip() and _value_type(v.strip()) == "string" for v in first)
    has_header = (
        first_all_strings
        and len({v.strip().lower() for v in first}) == width
        and any(t != "string" for t in rest_types)
    )
    if has_header:
        names = [_column_name(v) for v in first]
        types = rest_types
        sampled = len(rest)
    else:
        names = [f"col{i}" for i in range(width)]
        body = [first, *rest]
        types = [_column_type([r[i] for r in body]) for i in range(width)]
        sampled = len(body)
    return CsvSchema(list(zip(names, types, strict=True)), delimiter, has_header, quoted, sampled)


def merge_types(a: str, b: str) -> str:
    """The type that holds values of both (bigint + double -> double, else string)."""
    if a == b:
        return a
    if {a, b} <= {"bigint", "double", "int", "float"}:
        return "bigint" if {a, b} == {"int", "bigint"} else "double"
    return "string"


def _sniff_delimiter(lines: list[str]) -> str:
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _column_type(values: list[str]) -> str:
    seen: str | None = None
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        kind = _value_type(value)
        seen = kind if seen is None else merge_types(seen, kind)
        if seen == "string":
            break
    return seen or "string"


def _value_type(value: str) -> str:
    if value.lower() in ("true", "false"):
        return "boolean"
    if _INT.match(value) and -_INT64 <= int(value) < _INT64:
        return "bigint"
    if _FLOAT.match(value):
        return "double"
    return "string"


def _column_name(value: str) -> str:
    return value.strip().strip('"').lower()
