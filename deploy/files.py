"""Which local files a deploy ships: the DAG folder's files and the plugins.zip members.

The DAG folder honours ``.airflowignore`` (Airflow's default "glob" syntax: gitignore rules,
nested files add to their parent's, the last matching pattern wins) so S3 holds exactly what
the scheduler would consider, plus the ignore files themselves. What never ships (caches,
bytecode, hidden files, tests) is ``deploy.shipping_rule``'s to say, for every artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from deploy.errors import DeployError
from deploy.shipping_rule import (
    AIRFLOW_IGNORE_FILE,
    never_ships,
    shippable_files,
    shipped_name,
    walk_inside,
)
from deploy.snapshot import read_text, snapshot


class FileSelectionError(DeployError):
    """A local folder cannot be packaged; the message names it."""


@dataclass(frozen=True)
class _IgnoreRules:
    spec: GitIgnoreSpec
    base: Path

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        relative = path.relative_to(self.base).as_posix() + ("/" if is_dir else "")
        return self.spec.check_file(relative).include


def _ignored(path: Path, is_dir: bool, rules: list[_IgnoreRules]) -> bool:
    ignored = False
    for rule in rules:  # parent folders' files first: a deeper file's later match wins
        verdict = rule.verdict(path, is_dir)
        if verdict is not None:
            ignored = verdict
    return ignored


def _read_rules(directory: Path, project_root: Path) -> list[_IgnoreRules]:
    ignore_file = directory / AIRFLOW_IGNORE_FILE
    if not ignore_file.is_file():
        return []
    text = read_text(ignore_file, project_root)
    # Airflow strips "# comments" anywhere on a line, not only at its start.
    lines = [line.split("#", 1)[0].rstrip() for line in text.splitlines()]
    return [_IgnoreRules(GitIgnoreSpec.from_lines([line for line in lines if line]), directory)]


def dag_files(dags_dir: Path, project_root: Path | None = None) -> dict[str, Path]:
    """Files to sync, keyed by their path relative to ``dags_dir`` (POSIX separators).

    Symlinks must resolve inside ``project_root`` (default: ``dags_dir``).
    """
    dags_dir = Path(dags_dir)
    project_root = project_root or dags_dir
    if not dags_dir.is_dir():
        raise FileSelectionError(f"DAG folder not found: {dags_dir}")
    selected: dict[str, Path] = {}
    rules_by_dir: dict[Path, list[_IgnoreRules]] = {dags_dir: []}
    for here, dirs, files in walk_inside(dags_dir, project_root):
        rules = rules_by_dir[here] + _read_rules(here, project_root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not never_ships(d, is_dir=True) and not _ignored(here / d, True, rules)
        )
        for d in dirs:
            rules_by_dir[here / d] = rules
        for name in files:
            path = here / name
            if never_ships(name, is_dir=False):
                continue
            if name != AIRFLOW_IGNORE_FILE and _ignored(path, False, rules):
                continue
            selected[shipped_name(path, dags_dir)] = path
    return dict(sorted(selected.items()))


def plugin_files(plugins_dir: Path, project_root: Path | None = None) -> list[Path]:
    """Members of plugins.zip: every file but caches, bytecode, hidden files and tests.

    ``plugins/.airflowignore`` ships inside the zip but is not applied here: it tells the
    plugin manager not to import the shared library, which must still be in the zip.
    """
    plugins_dir = Path(plugins_dir)
    if not plugins_dir.is_dir():
        raise FileSelectionError(f"plugins folder not found: {plugins_dir}")
    return shippable_files(plugins_dir, project_root)


def plugin_snapshot(plugins_dir: Path, project_root: Path | None = None) -> dict[str, bytes]:
    """The bytes of plugins.zip's members, keyed by their name in the zip.

    ``deploy.artifacts.build_zip`` of it is plugins.zip, byte-for-byte the same for the same
    tree (so no spurious MWAA update).
    """
    plugins_dir = Path(plugins_dir)
    project_root = project_root or plugins_dir
    members = plugin_files(plugins_dir, project_root)
    if not members:
        raise FileSelectionError(f"plugins folder has no files to package: {plugins_dir}")
    named = {path.relative_to(plugins_dir).as_posix(): path for path in members}
    return snapshot(named, project_root)


# The MWAA Airflow versions this tree is checked on (`make compat`, docs/mwaa-versions.md),
# each with the requirements.txt its environments get (its first line is that version's
# constraint URL). One DAG folder and plugins.zip for all of them.
PRIMARY_AIRFLOW_VERSION = "3.2.1"
REQUIREMENTS_BY_AIRFLOW_VERSION = {
    "3.3.1": "requirements/mwaa/3.3.1.txt",
    PRIMARY_AIRFLOW_VERSION: "requirements.txt",
    "3.0.6": "requirements/mwaa/3.0.6.txt",
    "2.11.2": "requirements/mwaa/2.11.2.txt",
}


def supported_versions() -> str:
    return ", ".join(REQUIREMENTS_BY_AIRFLOW_VERSION)


def requirements_file(project_root: Path, airflow_version: str) -> Path:
    """The requirements.txt for an environment of ``airflow_version``."""
    relative = REQUIREMENTS_BY_AIRFLOW_VERSION.get(airflow_version)
    if relative is None:
        raise FileSelectionError(
            f"Airflow {airflow_version or '(none reported)'} is not a supported MWAA version;"
            f" supported: {supported_versions()} (docs/mwaa-versions.md)"
        )
    return project_root / relative
