"""Load the DAG folder under whatever Airflow this interpreter has; print what it found as JSON.

Run by ``scripts/compat.py`` with each MWAA version's venv, and with the primary venv for
the reference: the DAG's shape (tasks, order, operators, schedule, params) must be the same
under every version, only the gated features may differ. Parsing may open no network
connection and read no Variable, as on MWAA's DAG processor. Works on Airflow 2.11 to 3.3,
so it imports nothing of the project's tests (they are written for the primary version).

    python scripts/compat_dag_check.py DAG_FOLDER
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any


class ParseTimeIOError(RuntimeError):
    """The DAG file did network or Variable I/O while being parsed."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ParseTimeIOError(f"DAG parsing {what}: {args}")

    return refuse


def load(dag_folder: Path) -> dict[str, Any]:
    import airflow

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2 and 3.0
        from airflow.models.dagbag import DagBag
    from airflow.models.variable import Variable

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        socket.socket.connect = _refuse("opened a network connection")  # type: ignore[method-assign]
        socket.create_connection = _refuse("opened a network connection")
        Variable.get = _refuse("read an Airflow Variable")  # type: ignore[method-assign]
        bag = DagBag(dag_folder=str(dag_folder))
    project = str(dag_folder.parent)
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "tasks": [
                [task.task_id, type(task).__name__, sorted(task.downstream_task_ids)]
                for task in dag.topological_sort()
            ],
            "schedule": [type(dag.timetable).__name__, _cron(dag.timetable)],
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "params": sorted(dag.params),
            "deadline": bool(getattr(dag, "deadline", None)),
        }
    return {
        "airflow": airflow.__version__,
        "import_errors": {Path(k).name: v for k, v in bag.import_errors.items()},
        "dags": dags,
        "project_warnings": sorted(
            {
                f"{Path(w.filename).name}: {w.message}"
                for w in caught
                if str(w.filename).startswith(project) and "/.venv" not in str(w.filename)
            }
        ),
    }


def _cron(timetable: Any) -> str | None:
    # The SDK's timetable has ``expression``; the core one (Airflow 2, 3.0) ``_expression``.
    return getattr(timetable, "expression", None) or getattr(timetable, "_expression", None)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="compat-dag-check-")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    folder = Path(argv[0]).resolve()
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(folder)
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(folder.parent / "plugins")
    result = load(folder)
    # The last line is the result; Airflow may log above it.
    print("\n" + json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
