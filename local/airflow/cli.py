"""The ``airflow`` command as local tools run it, and the DAG they run."""

from __future__ import annotations

import sys
from pathlib import Path

DAG_ID = "sales_etl"
# The venv's own `airflow`, whatever PATH says.
AIRFLOW = str(Path(sys.executable).parent / "airflow")
# `airflow dags test` ignores SIGTERM: follow up with SIGKILL after this many seconds.
KILL_AFTER_SECONDS = 10
