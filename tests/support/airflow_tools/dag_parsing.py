"""What DAG parsing may not do (its error), and which files are the project's own (the DAG
folder and plugins, as opposed to Airflow's and the providers')."""

from __future__ import annotations

from pathlib import Path

from local.repo import REPO_ROOT

PROJECT_DIRS = (REPO_ROOT / "dags", REPO_ROOT / "plugins")


class ParseTimeIOError(AssertionError):
    pass


def is_project_file(filename: str) -> bool:
    path = Path(filename).resolve()
    return any(path.is_relative_to(directory) for directory in PROJECT_DIRS)
