"""What never ships in any artifact: the DAG folder, plugins.zip and the Lambda zip.

Caches, bytecode, version-control and hidden files, and tests stay on the developer's
machine. The one hidden file that ships is ``.airflowignore``: Airflow reads it from the DAG
folder and from plugins.zip.
"""

from __future__ import annotations

import os
from pathlib import Path

AIRFLOW_IGNORE_FILE = ".airflowignore"
_NEVER_SHIPPED_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", "tests", "test"}
)
_NEVER_SHIPPED_SUFFIXES = (".pyc", ".pyo")


def is_test_file(name: str) -> bool:
    if name == "conftest.py":
        return True
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def never_ships(name: str, is_dir: bool) -> bool:
    """True for a file or folder ``name`` that no artifact may contain."""
    if is_dir:
        return name in _NEVER_SHIPPED_DIRS or name.startswith(".")
    if name == AIRFLOW_IGNORE_FILE:
        return False
    return name.startswith(".") or name.endswith(_NEVER_SHIPPED_SUFFIXES) or is_test_file(name)


def shippable_files(root: Path) -> list[Path]:
    """Every file under ``root`` that may ship, sorted; skipped folders are not entered."""
    files = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not never_ships(d, is_dir=True))
        files += [Path(here) / n for n in names if not never_ships(n, is_dir=False)]
    return sorted(files)
