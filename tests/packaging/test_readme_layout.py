"""The README's one-line-per-folder layout lists exactly the folders the repository tracks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from local.repo import REPO_ROOT

TREE_LINE = re.compile(r"^(\S+)/\s{2,}\S")


def readme_folders(readme: str) -> list[str]:
    """Folders named in the first code block after the ``## Layout`` heading."""
    section = readme.split("\n## Layout\n", 1)[1]
    block = section.split("```", 2)[1]
    return [m.group(1) for line in block.splitlines() if (m := TREE_LINE.match(line))]


def tracked_folders() -> set[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {str(Path(f).parent) for f in files} - {"."}


def test_readme_layout_lists_every_tracked_folder_once() -> None:
    listed = readme_folders((REPO_ROOT / "README.md").read_text())
    assert len(listed) == len(set(listed)), "a folder is listed twice"
    assert set(listed) == tracked_folders()


def test_a_missing_or_extra_folder_is_seen() -> None:
    readme = "# x\n\n## Layout\n\n```\ndags/     the DAG\nghost/    gone\n```\n"
    assert readme_folders(readme) == ["dags", "ghost"]
    assert set(readme_folders(readme)) != tracked_folders()
