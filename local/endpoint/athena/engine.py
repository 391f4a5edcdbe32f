"""Run one Athena query in an embedded DuckDB over the endpoint's catalog and S3.

parse (``translate.py``) -> load the named tables from the catalog (``catalog.py``) ->
qualify and rewrite -> prune partitions (``pruning.py``) -> read the files under each kept
location (``storage.py``) as typed relations (``sources.py``) -> run -> the rows as Athena
returns them (``types.py``). Every failure is an ``AthenaQueryError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
from moto.glue.models import GlueBackend
from moto.s3.models import S3Backend

from local.endpoint.athena import pruning, translate
from local.endpoint.athena.catalog import RecordRead, TableDef, load_table
from local.endpoint.athena.errors import AthenaQueryError
from local.endpoint.athena.sources import FileGroup, table_sql
from local.endpoint.athena.storage import ObjectCache, RecordS3
from local.endpoint.athena.types import athena_value, column_info, duckdb_type

# No extension is ever installed or loaded at run time: nothing is downloaded.
_DATABASE_SETTINGS = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET threads = 2",
)
_QUERY_SETTINGS = ("SET default_null_order = 'nulls_last'",)
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """A connection of its own for one query (its temporary views are its own), to one
    in-memory database per process: opening a database costs ~0.1 s, a connection ~1 ms."""
    global _database
    with _database_lock:
        if _database is None:
            _database = duckdb.connect(":memory:")
            for setting in _DATABASE_SETTINGS:
                _database.execute(setting)
        return _database.cursor()


@dataclass
class QueryResult:
    columns: list[dict[str, Any]]
    rows: list[list[str | None]]
    scanned_bytes: int
    tables: list[str] = field(default_factory=list)


@dataclass
class Catalogs:
    """Where a query reads from, and how its reads are recorded for the caller."""

    glue: GlueBackend
    s3: S3Backend
    cache: ObjectCache
    record_glue: RecordRead = lambda action, db, table: None
    record_s3: RecordS3 = lambda action, bucket, key, prefix: None


class Cancellable:
    """Lets ``StopQueryExecution`` interrupt the query's DuckDB connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self.cancelled = threading.Event()

    def attach(self, connection: duckdb.DuckDBPyConnection | None) -> None:
        with self._lock:
            self._connection = connection

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            if self._connection is not None:
                self._connection.interrupt()


def run_query(
    sql: str,
    default_db: str,
    catalogs: Catalogs,
    cancel: Cancellable | None = None,
    on_running: Callable[[], None] | None = None,
) -> QueryResult:
    tree = translate.parse(sql)
    refs = translate.table_refs(tree, sql, default_db)
    tables: dict[tuple[str, str], TableDef] = {}
    for ref in refs:
        key = (ref.database, ref.name)
        if key not in tables:
            tables[key] = load_table(
                catalogs.glue, ref.database, ref.name, ref.position, catalogs.record_glue
            )
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db, name), table in tables.items():
        columns = table.columns + table.partition_keys
        schema.setdefault(db, {})[name] = {n: duckdb_type(t, n) for n, t in columns}
    for i, ref in enumerate(refs):
        ref.relation = f"__athena_relation_{i}"
    translation = translate.translate(tree, sql, refs, schema, default_db)
    if on_running:
        on_running()
    con = _connection()
    if cancel:
        cancel.attach(con)
    try:
        if cancel and cancel.cancelled.is_set():  # stopped before it could be interrupted
            raise AthenaQueryError("CANCELLED", "Query was cancelled by the user")
        for setting in _QUERY_SETTINGS:
            con.execute(setting)
        scanned = 0
        for ref in refs:
            table = tables[(ref.database, ref.name)]
            groups = _file_groups(con, table, ref, translation, catalogs)
            scanned += sum(f.size for g in groups for f in g.files)
            con.execute(f'CREATE TEMP VIEW "{ref.relation}" AS {table_sql(con, table, groups)}')
        relation = con.sql(translation.duckdb_sql())
        names, types = relation.columns, [str(t) for t in relation.types]
        infos = [column_info(n, t) for n, t in zip(names, types, strict=True)]
        rows = [[athena_value(v) for v in row] for row in relation.fetchall()]
    except duckdb.Error as err:
        if cancel and cancel.cancelled.is_set():
            raise AthenaQueryError("CANCELLED", "Query was cancelled by the user") from None
        raise engine_error(err) from None
    finally:
        if cancel:
            cancel.attach(None)
        con.close()
    return QueryResult(infos, rows, scanned, [f"{db}.{t}" for db, t in tables])


def _file_groups(
    con: duckdb.DuckDBPyConnection,
    table: TableDef,
    ref: translate.TableRef,
    translation: translate.Translation,
    catalogs: Catalogs,
) -> list[FileGroup]:
    listings: dict = {}

    def files(location: str) -> list:
        return catalogs.cache.files_under(
            catalogs.s3, location, catalogs.record_s3, ref.position, listings
        )

    if not table.partition_keys:
        return [FileGroup(table.storage, files(table.storage.location), ())]
    kept = pruning.matching_partitions(con, table, ref, translation.tree)
    return [FileGroup(p.storage, files(p.storage.location), p.values) for p in kept]


def engine_error(err: duckdb.Error) -> AthenaQueryError:
    """A DuckDB failure in Athena's words."""
    message = str(err)
    for category in ("HIVE_BAD_DATA", "DIVISION_BY_ZERO"):
        marker = f"{category}: "
        if marker in message:
            return AthenaQueryError(category, message.split(marker, 1)[1].strip())
    detail = message.split(": ", 1)[-1].split("\n")[0]
    if "must appear in the GROUP BY clause" in message:
        return AthenaQueryError(
            "EXPRESSION_NOT_AGGREGATE",
            f"{detail.split(' must appear')[0]} must be an aggregate expression or appear in "
            "GROUP BY clause",
        )
    if isinstance(err, duckdb.ConversionException):
        return AthenaQueryError("INVALID_CAST_ARGUMENT", detail)
    if isinstance(err, duckdb.OutOfRangeException):
        return AthenaQueryError("NUMERIC_VALUE_OUT_OF_RANGE", detail)
    return AthenaQueryError(
        "NOT_SUPPORTED", f"the local engine could not run this query as Athena would: {detail}"
    )
