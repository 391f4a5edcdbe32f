"""The bytes a deploy ships, read once, and only from inside the project.

Pre-flight checks, the plan and the uploads all use these bytes, so what was checked is what
ships even when a file changes while the deploy runs. A symlink may point anywhere inside the
project root; one that resolves outside it (``dags/x.py -> ~/.aws/credentials``) is refused,
so a deploy can never ship the deployer's own files. Every read error becomes a
``SnapshotError`` naming the file, raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deploy.errors import DeployError


class SnapshotError(DeployError):
    """A local file cannot be shipped (outside the project, unreadable); the message names it."""


def check_inside(path: Path, project_root: Path) -> None:
    """Refuse ``path`` when it (or a symlink on its way) resolves outside ``project_root``."""
    target = path.resolve()
    if not target.is_relative_to(project_root.resolve()):
        raise SnapshotError(
            f"{path} resolves to {target}, outside the project root {project_root}: "
            "a deploy ships only the project's own files"
        )


def read_bytes(path: Path, project_root: Path | None) -> bytes:
    """The bytes of ``path``; ``project_root`` None for a file the deployer named explicitly."""
    if project_root is not None:
        check_inside(path, project_root)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_text(path: Path, project_root: Path) -> str:
    body = read_bytes(path, project_root)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path} is not UTF-8 text: {exc}") from exc


def snapshot(files: Mapping[str, Path], project_root: Path) -> dict[str, bytes]:
    """``{name: bytes}`` of ``{name: path}``, each checked and read once."""
    return {name: read_bytes(path, project_root) for name, path in files.items()}
