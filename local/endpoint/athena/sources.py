"""The DuckDB SQL that reads one table as Athena would: its columns, typed, plus its partitions.

- Parquet: columns by name (case-insensitive), as Athena maps them; a column no file has is
  NULL; a file type the catalog type cannot hold fails with ``HIVE_BAD_DATA``.
- CSV, ``LazySimpleSerDe``: no quoting; fields split on ``field.delim``; ``\\N`` is NULL; a
  value that does not parse as its column's type is NULL; missing trailing fields are NULL.
- CSV, ``OpenCSVSerde``: ``separatorChar``/``quoteChar``/``escapeChar``; string columns keep
  empty strings; ``boolean``/``int``/``bigint``/``double`` columns parse strictly and fail
  the query with ``HIVE_BAD_DATA`` on a bad value (unless ``use.null.for.invalid.data``);
  other types are NOT_SUPPORTED, as Athena reads them only in forms we do not emulate.
- ``skip.header.line.count`` skips that many lines of every file.
- Partition columns are constants per file, from the catalog's partition values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from local.endpoint.athena.catalog import OPEN_CSV_SERDE, Storage, TableDef
from local.endpoint.athena.errors import AthenaQueryError, not_supported
from local.endpoint.athena.storage import DataFile
from local.endpoint.athena.types import INTEGER_TYPES, duckdb_type

FILE_COLUMN = "__athena_file"
_OPEN_CSV_TYPES = INTEGER_TYPES | {"DOUBLE", "BOOLEAN", "VARCHAR"}


@dataclass
class FileGroup:
    """Files read with one storage, with the partition values they carry."""

    storage: Storage
    files: list[DataFile]
    values: tuple[str, ...]


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_sql(con: duckdb.DuckDBPyConnection, table: TableDef, groups: Sequence[FileGroup]) -> str:
    """A SELECT with the table's columns then its partition columns, in catalog order."""
    columns = [(n, duckdb_type(t, n)) for n, t in table.columns]
    keys = [(n, duckdb_type(t, n)) for n, t in table.partition_keys]
    parts = []
    # Partitions differ in location only, as a rule: one reader over all their files.
    readers: dict[tuple, list[FileGroup]] = {}
    for group in groups:
        if group.files:
            readers.setdefault(_reading(group.storage), []).append(group)
    for members in readers.values():
        storage = members[0].storage
        files = [f for g in members for f in g.files]
        if storage.format == "parquet":
            body = _parquet(con, table, columns, files)
        elif storage.serde == OPEN_CSV_SERDE:
            body = _open_csv(storage, columns, files)
        else:
            body = _lazy_simple(storage, columns, files)
        mapping = ", ".join(
            "(" + ", ".join([literal(str(f.path)), *map(literal, g.values)]) + ")"
            for g in members
            for f in g.files
        )
        names = ", ".join([FILE_COLUMN, *(ident(f"__p{i}") for i in range(len(keys)))])
        selected = [ident(n) for n, _ in columns] + [
            f"CAST(m.{ident(f'__p{i}')} AS {t}) AS {ident(n)}" for i, (n, t) in enumerate(keys)
        ]
        if keys:
            parts.append(
                f"SELECT {', '.join(selected)} FROM ({body}) AS d "
                f"JOIN (VALUES {mapping}) AS m({names}) USING ({FILE_COLUMN})"
            )
        else:
            parts.append(f"SELECT {', '.join(selected)} FROM ({body}) AS d")
    if not parts:  # no files: an empty relation of the right types
        typed = [f"CAST(NULL AS {t}) AS {ident(n)}" for n, t in columns + keys]
        return f"SELECT {', '.join(typed)} WHERE false"
    return " UNION ALL ".join(parts)


def _reading(storage: Storage) -> tuple:
    """What decides how a file is read: everything but its location."""
    return (storage.format, storage.serde, tuple(sorted(storage.serde_parameters.items())))


def _file_list(files: Sequence[DataFile]) -> str:
    return "[" + ", ".join(literal(str(f.path)) for f in files) + "]"


def _parquet(
    con: duckdb.DuckDBPyConnection,
    table: TableDef,
    columns: list[tuple[str, str]],
    files: list[DataFile],
) -> str:
    source = (
        f"read_parquet({_file_list(files)}, filename={literal(FILE_COLUMN)}, union_by_name=true)"
    )
    found = {
        row[0].lower(): (row[0], row[1])
        for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    }
    selected = []
    for name, wanted in columns:
        if name not in found:
            selected.append(f"CAST(NULL AS {wanted}) AS {ident(name)}")
            continue
        actual_name, actual = found[name]
        if not _parquet_compatible(actual, wanted):
            raise AthenaQueryError(
                "HIVE_BAD_DATA",
                f"Field {name}'s type {actual} in parquet file {files[0].uri} is incompatible "
                f"with type {wanted.lower()} defined in table schema",
            )
        selected.append(f"CAST({ident(actual_name)} AS {wanted}) AS {ident(name)}")
    selected.append(FILE_COLUMN)
    return f"SELECT {', '.join(selected)} FROM {source}"


def _parquet_compatible(actual: str, wanted: str) -> bool:
    if actual == wanted:
        return True
    if wanted in INTEGER_TYPES:
        return actual in INTEGER_TYPES
    if wanted in ("DOUBLE", "FLOAT"):
        return actual in ("DOUBLE", "FLOAT")
    if wanted.startswith("DECIMAL(") and actual.startswith("DECIMAL("):
        return int(actual[8:-1].split(",")[1]) <= int(wanted[8:-1].split(",")[1])
    if wanted == "TIMESTAMP":
        return actual.startswith("TIMESTAMP")
    return False


def _lazy_simple(storage: Storage, columns: list[tuple[str, str]], files: list[DataFile]) -> str:
    params = storage.serde_parameters
    delim = params.get("field.delim") or params.get("serialization.format") or "\x01"
    if not delim.isprintable() and delim not in ("\t", "\x01"):
        delim = "\x01"
    skip = _skip(storage)
    null_format = params.get("serialization.null.format", "\\N")
    selected = []
    for i, (name, typ) in enumerate(columns, start=1):
        raw = f"fields[{i}]"
        value = f"CASE WHEN {raw} = {literal(null_format)} THEN NULL ELSE {raw} END"
        selected.append(f"{_lenient(value, typ)} AS {ident(name)}")
    split_lines = "regexp_split_to_array(content, '\\r?\\n|\\r') AS lines"
    lines = f"SELECT filename AS {FILE_COLUMN}, {split_lines} FROM read_text({_file_list(files)})"
    numbered = (
        f"SELECT {FILE_COLUMN}, l.line, l.n FROM ({lines}) AS t, "
        f"LATERAL (SELECT unnest(t.lines) AS line, generate_subscripts(t.lines, 1) AS n, "
        f"len(t.lines) AS total) AS l "
        f"WHERE l.n > {skip} AND NOT (l.n = l.total AND l.line = '')"
    )
    split = (
        f"SELECT {FILE_COLUMN}, string_split(line, {literal(delim)}) AS fields FROM ({numbered})"
    )
    return f"SELECT {', '.join(selected)}, {FILE_COLUMN} FROM ({split})"


def _lenient(value: str, typ: str) -> str:
    """Hive's text reading: a value that does not parse is NULL."""
    if typ == "VARCHAR":
        return value
    if typ in INTEGER_TYPES:
        digits = f"regexp_full_match({value}, '[+-]?[0-9]+')"
        return f"CASE WHEN {digits} THEN TRY_CAST({value} AS {typ}) END"
    if typ == "BOOLEAN":
        return f"CASE lower({value}) WHEN 'true' THEN true WHEN 'false' THEN false END"
    return f"TRY_CAST({value} AS {typ})"


def _open_csv(storage: Storage, columns: list[tuple[str, str]], files: list[DataFile]) -> str:
    params = storage.serde_parameters
    sep = params.get("separatorChar", ",")
    quote = params.get("quoteChar", '"')
    escape = params.get("escapeChar")
    null_invalid = params.get("use.null.for.invalid.data", "").lower() == "true"
    names = [n for n, _ in columns]
    spec = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    options = [
        f"delim={literal(sep)}",
        f"quote={literal(quote)}",
        f"escape={literal(escape if escape and len(escape) == 1 else quote)}",
        "header=false",
        f"skip={_skip(storage)}",
        "auto_detect=false",
        f"columns={spec}",
        "null_padding=true",
        "strict_mode=false",
        f"force_not_null=[{', '.join(literal(n) for n in names)}]",
        f"filename={literal(FILE_COLUMN)}",
    ]
    selected = []
    for field, (name, typ) in enumerate(columns):
        if typ not in _OPEN_CSV_TYPES:
            raise not_supported(f"OpenCSVSerde column {name!r} of type {typ.lower()}")
        value = ident(name)
        if typ == "VARCHAR":
            selected.append(value)
            continue
        parsed = f"TRY_CAST({value} AS {typ})"
        if typ == "BOOLEAN":
            parsed = f"CASE lower({value}) WHEN 'true' THEN true WHEN 'false' THEN false END"
        if not null_invalid:
            message = (
                f"'HIVE_BAD_DATA: Error parsing field value ''' || {value} || "
                f"''' for field {field}: For input string: \"' || {value} || '\"'"
            )
            parsed = f"CASE WHEN {parsed} IS NULL THEN error({message}) ELSE {parsed} END"
        selected.append(f"{parsed} AS {value}")
    source = f"read_csv({_file_list(files)}, {', '.join(options)})"
    return f"SELECT {', '.join(selected)}, {FILE_COLUMN} FROM {source}"


def _skip(storage: Storage) -> int:
    raw = storage.serde_parameters.get("skip.header.line.count", "0")
    try:
        return max(0, int(raw))
    except ValueError:
        return 0
