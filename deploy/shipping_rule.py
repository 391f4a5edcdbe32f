"""What never ships in any artifact: the DAG folder, plugins.zip and the Lambda zip.

Caches, bytecode, version-control and hidden files, and tests stay on the developer's
machine. The one hidden file that ships is ``.airflowignore``: Airflow reads it from the DAG
folder and from plugins.zip. Symlinked folders are followed only while they stay inside the
project root (``deploy.snapshot``), so none is silently left out. Every shipped name must be
UTF-8 (``shipped_name``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from deploy.snapshot import SnapshotError, check_inside

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


def shipped_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, the POSIX name it ships under (an S3 key, a zip member).

    Both must be UTF-8. Python hands a file name in another encoding over with surrogate
    escapes, which fail only when encoded at the upload: for the DAG folder that is after
    UpdateEnvironment. Refused here instead, naming the file, before anything is written.
    """
    name = path.relative_to(root).as_posix()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise SnapshotError(
            f"{shown}: the file name is not UTF-8 (S3 keys and zip member names must be): rename it"
        ) from None
    return name


def walk_inside(root: Path, project_root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """``os.walk`` of ``root`` following symlinked folders, each checked to stay in the project.

    The caller prunes ``dirs`` in place as with ``os.walk``. A folder reached twice (a symlink
    loop) is refused rather than walked forever.
    """
    seen: set[Path] = set()
    for here, dirs, names in os.walk(root, followlinks=True):
        path = Path(here)
        check_inside(path, project_root)
        if path.resolve() in seen:
            raise SnapshotError(f"{path} leads back to a folder already packaged (symlink loop)")
        seen.add(path.resolve())
        yield path, dirs, names


def shippable_files(root: Path, project_root: Path | None = None) -> list[Path]:
    """Every file under ``root`` that may ship, sorted; skipped folders are not entered.

    Each must resolve inside ``project_root`` (default: ``root`` itself).
    """
    project_root = project_root or root
    files = []
    for here, dirs, names in walk_inside(root, project_root):
        dirs[:] = sorted(d for d in dirs if not never_ships(d, is_dir=True))
        files += [here / n for n in names if not never_ships(n, is_dir=False)]
    for path in files:
        check_inside(path, project_root)
        shipped_name(path, root)
    return sorted(files)
