"""Test-wide settings that must exist before Airflow is first imported, and shared fixtures."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from local.repo import REPO_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from tests.support.endpoint import CrawlPause

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


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local SparkSession for the whole test session (JVM start-up is slow)."""
    from pyspark.sql import SparkSession

    from local.endpoint.spark.class_archive import driver_java_options
    from tests.support.spark_settings import NO_CODEGEN

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sales-etl-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        # The class archive of `make venv` and the quick JIT, as every local driver, and no
        # code generated per query (tests/support/spark_settings.py): hundreds of runs on a
        # few rows each, where compiling costs more than it saves.
        .config("spark.driver.extraJavaOptions", driver_java_options())
        .config(map=NO_CODEGEN)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # py4j says goodbye at INFO from its connections' finalizers, after pytest has closed the
    # streams Airflow's logging writes to: a "--- Logging error ---" trace at every exit.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    yield session
    session.stop()


@pytest.fixture
def paused_crawls(monkeypatch: pytest.MonkeyPatch) -> Iterator[CrawlPause]:
    """Crawls on the local endpoint stay RUNNING until ``.release()`` (at the latest 120 s)."""
    from tests.support.endpoint import CrawlPause

    pause = CrawlPause(monkeypatch, max_seconds=120)
    yield pause
    pause.release()


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's fake credentials in us-east-1: a developer's real profile or endpoint stays out."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def pytest_itemcollected(item: pytest.Item) -> None:
    # scripts/run_tests.py gives the tests on the shared SparkSession a session of their own.
    if "spark" in getattr(item, "fixturenames", ()):
        item.add_marker("spark_session")


def pytest_unconfigure(config: pytest.Config) -> None:
    # The session is over: spare its exit the collector's last pass over every object
    # Airflow, Spark and moto hold.
    gc.freeze()
