"""Fixtures for the DAG tests: the DAG folder parsed once, the DAG, the config Variable."""

from __future__ import annotations

import json
import socket
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from local.repo import REPO_ROOT
from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl.config import load_config
from tests.support.airflow_tools.dag_parsing import ParseTimeIOError


@pytest.fixture(scope="session")
def parse_result() -> Iterator[tuple[Any, list[warnings.WarningMessage]]]:
    """Load the DAG folder once, with sockets and Variable lookups forbidden while parsing."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Variable

    def refuse_socket(*args: Any, **kwargs: Any) -> None:
        raise ParseTimeIOError(f"DAG parsing opened a network connection: {args}")

    def refuse_variable(*args: Any, **kwargs: Any) -> None:
        raise ParseTimeIOError(f"DAG parsing read an Airflow Variable: {args}")

    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mp.setattr(socket.socket, "connect", refuse_socket)
        mp.setattr(socket.socket, "connect_ex", refuse_socket)
        mp.setattr(socket, "create_connection", refuse_socket)
        mp.setattr(Variable, "get", refuse_variable)
        # No include_examples: Airflow 3.3 dropped it; tests/conftest.py turns examples off.
        dagbag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    yield dagbag, list(caught)


@pytest.fixture(scope="session")
def dagbag(parse_result):
    return parse_result[0]


@pytest.fixture(scope="session")
def dag(dagbag):
    return dagbag.dags["sales_etl"]


@pytest.fixture
def config_variable(monkeypatch):
    """Set the pipeline's config Variable through Airflow's environment-variable backend."""

    def set_variable(value: str) -> None:
        """A JSON object's keys over the local stack's config; any other text as it is."""
        try:
            overrides = json.loads(value)
        except ValueError:
            overrides = None
        if isinstance(overrides, dict):
            value = json.dumps({**LOCAL_CONFIG_VARIABLE, **overrides})
        monkeypatch.setenv("AIRFLOW_VAR_SALES_ETL_CONFIG", value)

    set_variable("{}")
    return set_variable


@pytest.fixture
def deployed_glue(fake_aws_credentials, monkeypatch, config_variable):
    """moto in this process, holding the Glue job and crawlers as local provisioning deploys
    them for the config Variable's current value; yields the Glue client."""
    import boto3
    from moto import mock_aws

    from local.provision import ensure_glue_job_and_crawlers
    from sales_etl.runtime import config_variable as read_variable

    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        ensure_glue_job_and_crawlers(glue, load_config(read_variable()))
        yield glue
