"""Test-wide settings that must exist before Airflow is first imported."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Airflow reads its config at import time: give every test session its own throwaway home.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="sales-etl-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session", autouse=True)
def _remove_airflow_home():
    yield
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
