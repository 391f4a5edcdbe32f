"""Types across the three vocabularies: the Glue catalog's (Hive), DuckDB's and Athena's.

- ``duckdb_type``: a catalog column type as the DuckDB type the engine reads it as.
- ``column_info``: a result column's DuckDB type as Athena's ``ColumnInfo`` (``varchar``,
  ``bigint``, ``decimal`` with its precision and scale, ...).
- ``athena_value``: a result value as the text Athena returns for it (``VarCharValue`` and
  the results CSV): Java's double formatting, decimals at their scale, timestamps to the
  millisecond (Athena engine 3's ``timestamp(3)``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from local.endpoint.athena.errors import not_supported

_DECIMAL = re.compile(r"^decimal\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")
_SIZED_TEXT = re.compile(r"^(varchar|char)\s*\(\s*\d+\s*\)$")
_CATALOG_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "decimal": "DECIMAL(10,0)",  # Hive's bare decimal
}
# The same Hive types as sqlglot's schema spells them (for type checks before running).
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"}


def duckdb_type(catalog_type: str, column: str) -> str:
    """The DuckDB type for a catalog column type; NOT_SUPPORTED for nested or binary types."""
    text = catalog_type.strip().lower()
    decimal = _DECIMAL.match(text)
    if decimal:
        precision, scale = int(decimal[1]), int(decimal[2] or 0)
        return f"DECIMAL({precision},{scale})"
    if _SIZED_TEXT.match(text):
        return "VARCHAR"
    if text in _CATALOG_TO_DUCKDB:
        return _CATALOG_TO_DUCKDB[text]
    raise not_supported(f"column {column!r} of type {catalog_type!r}")


# DuckDB result type -> (Athena type name, precision) for the scalar types Athena returns.
_RESULT_TYPES = {
    "VARCHAR": ("varchar", 2147483647),
    "BIGINT": ("bigint", 19),
    "INTEGER": ("integer", 10),
    "SMALLINT": ("smallint", 5),
    "TINYINT": ("tinyint", 3),
    "DOUBLE": ("double", 17),
    "FLOAT": ("float", 7),
    "BOOLEAN": ("boolean", 0),
    "DATE": ("date", 0),
    "TIMESTAMP": ("timestamp", 3),
    "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3),
    '"NULL"': ("unknown", 0),
    "NULL": ("unknown", 0),
}
_RESULT_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def column_info(name: str, duck_type: str) -> dict[str, Any]:
    """Athena's ``ColumnInfo`` for one result column."""
    decimal = _RESULT_DECIMAL.match(duck_type)
    if decimal:
        type_name, precision, scale = "decimal", int(decimal[1]), int(decimal[2])
    elif duck_type in _RESULT_TYPES:
        (type_name, precision), scale = _RESULT_TYPES[duck_type], 0
    else:
        raise not_supported(f"a result column of type {duck_type} ({name!r})")
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": type_name,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": type_name == "varchar",
    }


def athena_value(value: Any) -> str | None:
    """The text Athena gives a value; None for NULL (no ``VarCharValue``, an empty CSV field)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S") + f".{value.microsecond // 1000:03d}"
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def java_double(value: float) -> str:
    """``Double.toString``: shortest digits, ``1.0E7`` from 10^7 up and below 10^-3."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = exponent + len(digits) - 1  # type: ignore[operator]
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"
