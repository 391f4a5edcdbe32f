"""Partition pruning: read only the partitions the query's filters can match.

The conditions of the table's own ``WHERE`` (top-level ``AND`` terms) that name only its
partition columns are evaluated, in DuckDB, against the catalog's partition values; the
partitions they reject are never listed or read. The whole ``WHERE`` still runs on the rows,
so pruning changes what is scanned (``DataScannedInBytes``), never the answer. A table on
the nullable side of an outer join is not pruned, nor is one whose conditions cannot be
evaluated on the values alone (subqueries, other tables' columns).
"""

from __future__ import annotations

import duckdb
from sqlglot import exp

from local.endpoint.athena.catalog import Partition, TableDef
from local.endpoint.athena.sources import ident, literal
from local.endpoint.athena.translate import TableRef
from local.endpoint.athena.types import duckdb_type


def matching_partitions(
    con: duckdb.DuckDBPyConnection, table: TableDef, ref: TableRef, tree: exp.Expression
) -> list[Partition]:
    partitions = [p for p in table.partitions if len(p.values) == len(table.partition_keys)]
    conditions = _conditions(table, ref, tree)
    if not conditions or not partitions:
        return partitions
    alias = _alias(ref, tree)
    keys = [(n, duckdb_type(t, n)) for n, t in table.partition_keys]
    rows = ", ".join(
        "(" + ", ".join([str(i), *(literal(v) for v in p.values)]) + ")"
        for i, p in enumerate(partitions)
    )
    typed = ", ".join(f"TRY_CAST(v{j} AS {t}) AS {ident(n)}" for j, (n, t) in enumerate(keys))
    names = ", ".join(["__i", *(f"v{j}" for j in range(len(keys)))])
    where = " AND ".join(c.sql(dialect="duckdb") for c in conditions)
    query = (
        f"SELECT __i FROM (SELECT __i, {typed} FROM (VALUES {rows}) AS raw({names})) "
        f"AS {ident(alias)} WHERE {where}"
    )
    try:
        kept = {row[0] for row in con.execute(query).fetchall()}
    except duckdb.Error:
        return partitions  # the query itself reports what is wrong with its filters
    return [p for i, p in enumerate(partitions) if i in kept]


def _alias(ref: TableRef, tree: exp.Expression) -> str:
    node = _relation_node(ref, tree)
    return node.alias_or_name if node is not None else ref.name


def _relation_node(ref: TableRef, tree: exp.Expression) -> exp.Table | None:
    for table in tree.find_all(exp.Table):
        if table.name == ref.relation:
            return table
    return None


def _conditions(table: TableDef, ref: TableRef, tree: exp.Expression) -> list[exp.Expression]:
    node = _relation_node(ref, tree)
    if node is None:
        return []
    select = node.find_ancestor(exp.Select)
    if select is None or node.find_ancestor(exp.Subquery, exp.Select) is not select:
        return []
    if any(join.side for join in select.args.get("joins") or []):
        return []
    where = select.args.get("where")
    if where is None:
        return []
    alias = node.alias_or_name
    keys = {n for n, _ in table.partition_keys}
    kept = []
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if condition.find(exp.Select, exp.Subquery):
            continue
        columns = list(condition.find_all(exp.Column))
        if columns and all(c.table == alias and c.name in keys for c in columns):
            kept.append(condition)
    return kept
