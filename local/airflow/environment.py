"""Point an unchanged Airflow and DAG, and plain boto3 processes, at the local AWS endpoint.

The only difference from MWAA is the ``aws_default`` connection (it carries the endpoint URL
and key) and a throwaway AIRFLOW_HOME; the DAG, its config keys and its operators are the same.
The pipeline's config Variable is not set here: the local runners store it in the metastore,
as on MWAA (``local.stack_config``), where the UI shows it and an edit takes effect.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.aws_local import REGION, EndpointClients, aws_connection
from local.repo import REPO_ROOT
from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl.config import CONFIG_VARIABLE

# Airflow reads a Variable from this environment variable before its metastore.
CONFIG_ENV_VARIABLE = f"AIRFLOW_VAR_{CONFIG_VARIABLE.upper()}"


def aws_client_environment(endpoint: EndpointClients) -> dict[str, str]:
    """Variables that point plain boto3 clients (and their subprocesses) at the endpoint."""
    return {
        **endpoint.credentials(),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint.url,
    }


def endpoint_variables(endpoint: EndpointClients) -> dict[str, str]:
    """What points Airflow's ``aws_default`` connection and plain boto3 at the endpoint."""
    return {
        **aws_client_environment(endpoint),
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(endpoint),
    }


def airflow_environment(
    endpoint: EndpointClients | None,
    airflow_home: Path,
    config_overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A full process environment for ``airflow`` commands run against the local endpoint.

    Without ``endpoint`` the endpoint's variables (``endpoint_variables``) are left out,
    for a process that gets them later. ``config_overrides`` is for tests only: it sets the
    config Variable in the environment, which shadows the metastore's (and any UI edit).
    """
    env = dict(os.environ if base is None else base)
    # Never let a developer's real AWS profile or session leak into a local run.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(name, None)
    venv_bin = str(Path(sys.executable).parent)
    if endpoint is not None:
        env.update(endpoint_variables(endpoint))
    env.update(
        {
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # The LocalExecutor forks one worker per slot: keep a 2-core laptop responsive.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            # Local crawls and jobs finish in seconds: poll their state often.
            "AIRFLOW__SALES_ETL__POLL_SECONDS": "0.2",
            # A day written locally is noticed in seconds, not at the next 5-minute look.
            "AIRFLOW__SALES_ETL__SALES_POKE_SECONDS": "2",
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
    )
    env.pop(CONFIG_ENV_VARIABLE, None)  # a caller's own would shadow the metastore too
    if config_overrides is not None:
        env[CONFIG_ENV_VARIABLE] = json.dumps({**LOCAL_CONFIG_VARIABLE, **config_overrides})
    return env
