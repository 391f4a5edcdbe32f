"""A query's failure as Athena reports it: ``FAILED`` with ``<CATEGORY>: line L:C: message``.

The categories are Athena engine 3's (Trino's error codes): ``SYNTAX_ERROR``,
``TABLE_NOT_FOUND``, ``SCHEMA_NOT_FOUND``, ``COLUMN_NOT_FOUND``, ``TYPE_MISMATCH``,
``FUNCTION_NOT_FOUND``, ``NOT_SUPPORTED``, ``HIVE_BAD_DATA``, ``INVALID_CAST_ARGUMENT``,
``DIVISION_BY_ZERO``, ``NUMERIC_VALUE_OUT_OF_RANGE``. ``NOT_SUPPORTED`` is also what the local
engine answers for SQL it cannot run the way Athena does: a failure, never a different answer.
"""

from __future__ import annotations

from dataclasses import dataclass

# Athena's ErrorCategory: 1 system, 2 user, 3 unknown.
USER_ERROR = 2
SYSTEM_ERROR = 1


@dataclass
class Position:
    line: int
    column: int


class AthenaQueryError(Exception):
    """Why a query FAILED; ``reason`` is its ``StateChangeReason``."""

    def __init__(
        self,
        category: str,
        message: str,
        position: Position | None = None,
        error_category: int = USER_ERROR,
    ) -> None:
        self.category = category
        self.message = message
        self.position = position
        self.error_category = error_category
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        where = f"line {self.position.line}:{self.position.column}: " if self.position else ""
        return f"{self.category}: {where}{self.message}"


def position_in(sql: str, offset: int | None) -> Position | None:
    """Trino's 1-based line and column of a character offset into ``sql``."""
    if offset is None or offset < 0:
        return None
    before = sql[:offset]
    line = before.count("\n") + 1
    return Position(line, offset - (before.rfind("\n") + 1) + 1)


def not_supported(what: str, position: Position | None = None) -> AthenaQueryError:
    return AthenaQueryError(
        "NOT_SUPPORTED",
        f"{what} is not supported by the local Athena (it cannot answer it as Athena does)",
        position,
    )
