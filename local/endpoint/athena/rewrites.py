"""Rewrites that make DuckDB compute what Trino computes, types included.

Applied children first, on a tree whose types ``annotate_types`` inferred:

- ``int / int``: truncating integer division; a zero divisor fails (``DIVISION_BY_ZERO``).
- ``decimal / x`` and ``x / decimal`` (x an integer or decimal): Trino's exact decimal
  division, scale ``max(s1, s2)``, precision ``min(38, p1 + s2 + max(0, s2 - s1))``, rounded
  half up, computed on the unscaled integers (DuckDB would go to double).
- ``avg`` of a decimal: a decimal of the same type, rounded half up (DuckDB: double).
- ``round(decimal, d)`` is ``decimal(p + 1, s)``, ``round(decimal)`` ``decimal(p - s + 1, 0)``.
- ``CAST(double AS integer)`` rounds half away from zero (DuckDB rounds half to even).
- ``sum`` of integers is a ``bigint`` (DuckDB: int128); ``date_trunc`` of a date is a date;
  ``approx_distinct`` is an exact distinct count (within Athena's standard error).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from local.endpoint.athena.errors import not_supported

T = exp.DataType.Type
# Trino's integer types as decimals when they meet one (DecimalType of each).
_INTEGER_PRECISION = {T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 19}
_ZERO_DIVISOR = "error('DIVISION_BY_ZERO: Division by zero')"


def known(node: exp.Expression) -> exp.DataType | None:
    typ = node.type
    if typ is None or typ.this in (T.UNKNOWN, T.NULL):
        return None
    return typ


def decimal_shape(typ: exp.DataType) -> tuple[int, int] | None:
    """(precision, scale) of a decimal or integer type as Trino widens it; None otherwise."""
    if typ.this in _INTEGER_PRECISION:
        return _INTEGER_PRECISION[typ.this], 0
    if typ.this != T.DECIMAL:
        return None
    params = [int(p.this.this) for p in typ.expressions if isinstance(p.this, exp.Literal)]
    if not params:
        return 38, 0  # a bare decimal
    return params[0], params[1] if len(params) > 1 else 0


def _duck(node: exp.Expression) -> str:
    return node.sql(dialect="duckdb")


def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def _unscaled(sql: str, scale: int) -> str:
    return f"CAST(({sql}) * {10**scale} AS HUGEINT)"


def _rounded_quotient(numerator: str, denominator: str, precision: int, scale: int) -> str:
    """numerator / denominator (integers) rounded half up, as decimal(precision, scale) with
    the quotient's last ``scale`` digits as its fraction."""
    half_up = (
        f"sign({numerator}) * sign({denominator}) * "
        f"((2 * abs({numerator}) + abs({denominator})) // (2 * abs({denominator})))"
    )
    unit = f"CAST('1e-{scale}' AS DECIMAL({scale + 1}, {scale}))" if scale else "1"
    value = f"CAST(CAST({half_up} AS DECIMAL(38, 0)) * {unit} AS DECIMAL({precision}, {scale}))"
    return value


def rewrite(tree: exp.Expression) -> None:
    # Reversed pre-order: every node's children are rewritten before it.
    for node in reversed(list(tree.walk())):
        replacement = _rewritten(node)
        if replacement is not None:
            node.replace(replacement)


def _rewritten(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.Div):
        return _division(node)
    if isinstance(node, exp.Avg):
        return _decimal_avg(node)
    if isinstance(node, exp.Round):
        return _decimal_round(node)
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return _double_to_integer(node)
    if isinstance(node, exp.Sum):
        arg = known(node.this)
        if arg is not None and arg.this in exp.DataType.INTEGER_TYPES:
            if isinstance(node.parent, (exp.Window, exp.Filter)):
                return None  # cast around the window instead (below)
            return exp.cast(node.copy(), exp.DataType.build("BIGINT"))
    if isinstance(node, (exp.Window, exp.Filter)) and isinstance(node.this, exp.Sum):
        arg = known(node.this.this)
        if arg is not None and arg.this in exp.DataType.INTEGER_TYPES:
            return exp.cast(node.copy(), exp.DataType.build("BIGINT"))
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        arg = known(node.this)
        if arg is not None and arg.this == T.DATE:
            return exp.cast(node.copy(), exp.DataType.build("DATE"))
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this.copy()]))
    return None


def _division(node: exp.Div) -> exp.Expression | None:
    left, right = known(node.left), known(node.right)
    if left is None or right is None:
        raise not_supported("a division whose operand types are not known")
    kinds = {left.this, right.this}
    a, b = _duck(node.left), _duck(node.right)
    if kinds <= exp.DataType.INTEGER_TYPES:
        result = _parse(f"CASE WHEN ({b}) = 0 THEN {_ZERO_DIVISOR} ELSE ({a}) // ({b}) END")
        wider = max((left, right), key=lambda t: _INTEGER_PRECISION.get(t.this, 0))
        result.type = wider.copy()  # what an enclosing expression sees (annotated earlier)
        return result
    if T.DECIMAL not in kinds:
        return None  # double or real arithmetic: the same in both engines
    left_shape, right_shape = decimal_shape(left), decimal_shape(right)
    if left_shape is None or right_shape is None:
        return None  # a decimal with a double: Trino divides as doubles too
    (p1, s1), (_, s2) = left_shape, right_shape
    scale, precision = max(s1, s2), min(38, p1 + s2 + max(0, s2 - s1))
    numerator = f"({_unscaled(a, s1)} * {10 ** (scale + s2 - s1)})"
    denominator = _unscaled(b, s2)
    quotient = _rounded_quotient(numerator, denominator, precision, scale)
    result = _parse(f"CASE WHEN ({denominator}) = 0 THEN {_ZERO_DIVISOR} ELSE {quotient} END")
    result.type = exp.DataType.build(f"DECIMAL({precision}, {scale})")
    return result


def _decimal_avg(node: exp.Avg) -> exp.Expression | None:
    arg = known(node.this)
    shape = decimal_shape(arg) if arg is not None and arg.this == T.DECIMAL else None
    if shape is None:
        return None
    if isinstance(node.parent, exp.Filter):
        raise not_supported("avg over a decimal with FILTER")
    precision, scale = shape
    value = node.this
    distinct = isinstance(value, exp.Distinct)
    inner = _duck(value.expressions[0]) if distinct else _duck(value)
    prefix = "DISTINCT " if distinct else ""
    over = ""
    window = node.parent if isinstance(node.parent, exp.Window) else None
    if window is not None:
        spec = window.copy()
        spec.set("this", exp.Star())
        over = " OVER " + _duck(spec).split(" OVER ", 1)[1]
    total = f"sum({prefix}{_unscaled(inner, scale)}){over}"
    count = f"count({prefix}{inner}){over}"
    quotient = _rounded_quotient(total, count, precision, scale)
    result = _parse(f"CASE WHEN {count} = 0 THEN NULL ELSE {quotient} END")
    result.type = exp.DataType.build(f"DECIMAL({precision}, {scale})")
    if window is not None:
        window.replace(result)
        return None
    return result


def _decimal_round(node: exp.Round) -> exp.Expression | None:
    arg = known(node.this)
    shape = decimal_shape(arg) if arg is not None and arg.this == T.DECIMAL else None
    if shape is None:
        return None
    precision, scale = shape
    if node.args.get("decimals") is None:
        wanted = f"DECIMAL({min(38, precision - scale + min(1, scale))}, 0)"
    else:
        wanted = f"DECIMAL({min(38, precision + 1)}, {scale})"
    result = exp.cast(node.copy(), exp.DataType.build(wanted, dialect="duckdb"))
    result.type = exp.DataType.build(wanted, dialect="duckdb")
    return result


def _double_to_integer(node: exp.Cast) -> exp.Expression | None:
    source, target = known(node.this), node.to
    if source is None or source.this not in (T.DOUBLE, T.FLOAT):
        return None
    if target.this not in exp.DataType.INTEGER_TYPES:
        return None
    rounded = exp.Round(this=node.this.copy())
    return node.__class__(this=rounded, to=target.copy())
