"""What the end-to-end tests read back from Airflow's metadata database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from local.airflow.cli import DAG_ID


def latest_xcom(airflow_home: Path, task_id: str, logical_day: str) -> Any:
    """The return value a task pushed in the newest run of ``logical_day`` (SQLite metadata DB)."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        row = db.execute(
            "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.dag_run_id"
            " WHERE x.dag_id = ? AND x.task_id = ? AND x.key = 'return_value'"
            " AND date(r.logical_date) = ? ORDER BY r.id DESC LIMIT 1",
            (DAG_ID, task_id, logical_day),
        ).fetchone()
    if row is None:
        raise LookupError(f"no XCom from {task_id} for a {DAG_ID} run of {logical_day}")
    return json.loads(row[0])
