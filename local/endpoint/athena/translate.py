"""Athena engine 3 (Trino) SQL to DuckDB SQL, keeping Trino's semantics or refusing.

sqlglot parses the query in its Athena dialect, resolves every column against the catalog's
schema (``qualify``: unknown columns are COLUMN_NOT_FOUND) and infers types
(``annotate_types``). Then, where DuckDB would answer differently:

- ``int / int`` is Trino's truncating integer division (DuckDB's ``//``); a division or an
  ``avg`` over decimals (Trino keeps decimal precision, DuckDB goes to double) is refused.
- ``varchar`` compared or combined with a number, date or timestamp is TYPE_MISMATCH
  (DuckDB would cast silently; Trino refuses).
- ``date_trunc`` of a date stays a date; ``approx_distinct`` is an exact distinct count
  (within Athena's 2.3% standard error, and what Athena returns for small sets).
- ``date_format``/``date_parse`` take MySQL-style formats; the specifiers Trino rejects fail.
- Identifiers are case-insensitive; result columns are named in lower case, unnamed ones
  ``_col0``, ``_col1``... as Athena names them. NULLs sort last both ways (the engine's
  setting, as in Trino).
- Functions outside a list checked to behave alike are NOT_SUPPORTED: a failure, never a
  different answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from local.endpoint.athena import rewrites
from local.endpoint.athena.catalog import CATALOG
from local.endpoint.athena.errors import AthenaQueryError, Position, not_supported, position_in

DIALECT = "athena"
# sqlglot functions whose DuckDB form answers as Trino's does (types included).
ALLOWED_FUNCTIONS: set[type[exp.Expression]] = {
    exp.Sum, exp.Count, exp.Min, exp.Max, exp.Avg, exp.ApproxDistinct, exp.Coalesce,
    exp.Cast, exp.TryCast, exp.Round, exp.Abs, exp.Lower, exp.Upper, exp.Length,
    exp.Substring, exp.Concat, exp.If, exp.Case, exp.Nullif, exp.Greatest, exp.Least,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.Lag, exp.Lead, exp.FirstValue,
    exp.LastValue, exp.TimestampTrunc, exp.DateTrunc, exp.TimeToStr, exp.StrToTime,
    exp.CurrentDate, exp.Extract, exp.Year, exp.Month, exp.Day, exp.Trim, exp.Replace,
    exp.StrPosition, exp.SplitPart, exp.Ceil, exp.Floor, exp.Sqrt, exp.Ln, exp.Stddev,
    exp.Variance, exp.CountIf, exp.Filter,
}  # fmt: skip
TEXT = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT}
NUMERIC_OR_TIME = exp.DataType.NUMERIC_TYPES | exp.DataType.TEMPORAL_TYPES
# MySQL-style specifiers Trino's date_format/date_parse reject (Trino's documentation).
TRINO_REJECTED_SPECIFIERS = set("DUuVwX")
_COLUMN_ERROR = re.compile(r"Column '([^']+)' could not be resolved")


def _annotate_sum(annotator: Any, node: exp.Sum) -> exp.Expression:
    """Trino's sum types: decimal(38, s) for decimals, bigint for integers."""
    annotator._annotate_by_args(node, "this", "expressions", promote=True)
    typ = node.type
    shape = rewrites.decimal_shape(typ) if typ is not None else None
    if typ is not None and typ.this == exp.DataType.Type.DECIMAL and shape is not None:
        annotator._set_type(node, exp.DataType.build(f"DECIMAL(38, {shape[1]})"))
    elif typ is not None and typ.this in exp.DataType.INTEGER_TYPES:
        annotator._set_type(node, exp.DataType.build("BIGINT"))
    return node


_EXPRESSION_METADATA = {
    **Dialect.get_or_raise(DIALECT).EXPRESSION_METADATA,
    exp.Sum: {"annotator": _annotate_sum},
}


@dataclass
class TableRef:
    """One table named in the query (each reference gets its own relation)."""

    database: str
    name: str
    node: exp.Table
    position: Position | None
    relation: str = ""  # the DuckDB view it is replaced with


@dataclass
class Translation:
    tree: exp.Expression
    tables: list[TableRef] = field(default_factory=list)

    def duckdb_sql(self) -> str:
        return self.tree.sql(dialect="duckdb")


def parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        line, col = first.get("line"), first.get("col")
        where = (
            Position(line, max(1, col - len(first.get("highlight") or "") + 1)) if line else None
        )
        detail = first.get("description") or str(err)
        near = first.get("highlight")
        raise AthenaQueryError(
            "SYNTAX_ERROR", f"mismatched input '{near}'. {detail}" if near else detail, where
        ) from None
    if len(statements) != 1:
        raise AthenaQueryError("SYNTAX_ERROR", "Only one sql statement is allowed")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        kind = tree.key.upper()
        raise not_supported(f"a {kind} statement (only queries run locally)")
    return tree


def table_refs(tree: exp.Expression, sql: str, default_db: str) -> list[TableRef]:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    refs = []
    for table in tree.find_all(exp.Table):
        if not table.name:
            raise not_supported(f"table function {table.sql(DIALECT)!r}")
        if not table.db and table.name.lower() in ctes:
            continue
        position = _position(table, sql)
        if table.catalog and table.catalog.lower() != CATALOG:
            raise AthenaQueryError(
                "CATALOG_NOT_FOUND", f"Catalog '{table.catalog.lower()}' does not exist", position
            )
        refs.append(TableRef((table.db or default_db).lower(), table.name.lower(), table, position))
    return refs


def translate(
    tree: exp.Expression,
    sql: str,
    refs: list[TableRef],
    schema: dict[str, dict[str, dict[str, str]]],
    default_db: str,
) -> Translation:
    """Qualify, type-check and rewrite ``tree``; ``refs[i].relation`` must be set."""
    outer_names = _outer_names(tree)
    for ref in refs:
        ref.node.set("catalog", None)
        ref.node.set("db", exp.to_identifier(ref.database))
    _type_decimal_literals(tree)
    try:
        tree = qualify(
            tree,
            schema=schema,
            dialect=DIALECT,
            db=default_db,
            validate_qualify_columns=True,
            quote_identifiers=True,
        )
    except OptimizeError as err:
        raise _column_error(err, sql) from None
    tree = annotate_types(
        tree, schema=schema, dialect=DIALECT, expression_metadata=_EXPRESSION_METADATA
    )
    _check_and_rewrite(tree, sql)
    for ref in refs:
        alias = ref.node.alias or ref.name
        replacement = exp.to_table(ref.relation)
        replacement.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        ref.node.replace(replacement)
    _name_outputs(tree, outer_names)
    return Translation(tree, refs)


def _type_decimal_literals(tree: exp.Expression) -> None:
    """``1.50`` is ``decimal(3, 2)`` in Trino (a double in sqlglot's and DuckDB's eyes)."""
    for literal in list(tree.find_all(exp.Literal)):
        text = literal.this
        if literal.is_string or "." not in text or any(c in text for c in "eE"):
            continue
        whole, fraction = text.split(".", 1)
        digits = (whole.lstrip("+-").lstrip("0") + fraction) or "0"
        precision, scale = max(len(digits), len(fraction), 1), len(fraction)
        decimal = exp.DataType.build(f"DECIMAL({precision}, {scale})")
        literal.replace(exp.Cast(this=exp.Literal.string(text), to=decimal))


def _position(node: exp.Expression, sql: str) -> Position | None:
    start = node.meta.get("start") if node.meta else None
    if start is None:
        first = (
            node.args.get("catalog") or node.args.get("db") if isinstance(node, exp.Table) else None
        )
        ident = first if isinstance(first, exp.Identifier) else node.find(exp.Identifier)
        start = ident.meta.get("start") if ident is not None and ident.meta else None
    return position_in(sql, start)


def _column_error(err: OptimizeError, sql: str) -> AthenaQueryError:
    match = _COLUMN_ERROR.search(str(err))
    if not match:
        return AthenaQueryError("SYNTAX_ERROR", str(err).split(". Line")[0])
    name = match[1]
    found = re.search(rf"\b{re.escape(name)}\b", sql, re.IGNORECASE)
    return AthenaQueryError(
        "COLUMN_NOT_FOUND",
        f"Column '{name.lower()}' cannot be resolved or requester is not authorized to access "
        "requested resources",
        position_in(sql, found.start()) if found else None,
    )


def _outer_names(tree: exp.Expression) -> list[str | None]:
    """The result names Athena gives, before qualification adds aliases of its own."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.left
    if not isinstance(select, exp.Select):
        return []
    names: list[str | None] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Alias):
            names.append(projection.alias.lower())
        elif isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
            names.append(projection.name.lower())
        elif isinstance(projection, (exp.Star, exp.Column)):
            return []  # a star expands to the columns' own names
        else:
            names.append(None)
    return names


def _name_outputs(tree: exp.Expression, names: list[str | None]) -> None:
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.left
    if not isinstance(select, exp.Select):
        return
    for i, projection in enumerate(select.expressions):
        wanted = names[i] if i < len(names) and names[i] else None
        if wanted is None:
            wanted = projection.alias_or_name.lower() if not names else f"_col{i}"
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        projection.replace(exp.alias_(inner.copy(), wanted, quoted=True))


def _type(node: exp.Expression) -> exp.DataType | None:
    typ = node.type
    if typ is None or typ.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    return typ


def _check_and_rewrite(tree: exp.Expression, sql: str) -> None:
    for node in list(tree.walk()):
        if isinstance(node, exp.Func) and not isinstance(node, exp.Binary):
            _check_function(node, sql)
        if isinstance(node, (exp.Binary, exp.In, exp.Between)):
            _check_operands(node, sql)
    try:
        rewrites.rewrite(tree)
    except AthenaQueryError as err:
        raise err from None


def _check_function(node: exp.Func, sql: str) -> None:
    position = _position(node, sql)
    if isinstance(node, exp.Anonymous):
        raise AthenaQueryError(
            "FUNCTION_NOT_FOUND",
            f"Function '{node.name.lower()}' not registered (or not supported by the local Athena)",
            position,
        )
    if type(node) not in ALLOWED_FUNCTIONS:
        name = node.sql_name().lower()
        raise not_supported(f"function {name!r}", position)
    if isinstance(node, (exp.TimeToStr, exp.StrToTime)):
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal):
            used = set(re.findall(r"%(.)", fmt.this))
            rejected = sorted(used & TRINO_REJECTED_SPECIFIERS)
            if rejected:
                raise AthenaQueryError(
                    "NOT_SUPPORTED", f"%{rejected[0]} not supported in date format string", position
                )


def _check_operands(node: exp.Expression, sql: str) -> None:
    if isinstance(node, (exp.And, exp.Or, exp.DPipe, exp.Like, exp.Is)):
        return
    if isinstance(node, exp.In):
        operands = [node.this, *node.expressions]
    elif isinstance(node, exp.Between):
        operands = [node.this, node.args["low"], node.args["high"]]
    else:
        operands = [node.left, node.right]
    types = [_type(o) for o in operands]
    known = [t for t in types if t is not None]
    text = [t for t in known if t.this in TEXT]
    other = [t for t in known if t.this in NUMERIC_OR_TIME]
    if text and other:
        operator = node.key.upper() if not isinstance(node, exp.Binary) else _operator(node)
        left, right = text[0], other[0]
        if known.index(other[0]) < known.index(text[0]):
            left, right = right, left
        raise AthenaQueryError(
            "TYPE_MISMATCH",
            f"Cannot apply operator: {_trino_type(left)} {operator} {_trino_type(right)}",
            _position(node, sql),
        )


def _operator(node: exp.Binary) -> str:
    symbols = {
        exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
        exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
    }  # fmt: skip
    return symbols.get(type(node), node.key.upper())


def _trino_type(typ: exp.DataType) -> str:
    text = typ.sql(dialect="trino").lower()
    return {"int": "integer", "text": "varchar"}.get(text, text)
