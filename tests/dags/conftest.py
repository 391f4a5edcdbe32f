"""Fixtures for the DAG tests: the DAG folder parsed once, the DAG, the config Variable."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from local.repo import REPO_ROOT
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
        dagbag = DagBag(dag_folder=str(REPO_ROOT / "dags"), include_examples=False)
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
        monkeypatch.setenv("AIRFLOW_VAR_SALES_ETL_CONFIG", value)

    set_variable("{}")
    return set_variable
