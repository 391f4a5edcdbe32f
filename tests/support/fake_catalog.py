"""One in-memory catalog per lake folder for the Glue job run in-process in tests
(``local.in_memory_catalog``), shared by every run on the lake in a test session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from local.in_memory_catalog import InMemoryCatalog

_CATALOGS: dict[str, InMemoryCatalog] = {}


def catalog_for(base: Path) -> InMemoryCatalog:
    """The lake's catalog: the same object for every run on the lake in this test session."""
    key = str(Path(base).resolve())
    if key not in _CATALOGS:
        _CATALOGS[key] = InMemoryCatalog(base)
    return _CATALOGS[key]


def published_folder(base: Path, table: str, day: str) -> Path | None:
    """The folder the catalog's partition of ``table`` and ``day`` points at, if any."""
    location = catalog_for(base).tables[table].get(date.fromisoformat(day))
    return Path(location.removeprefix("file://").rstrip("/")) if location else None
