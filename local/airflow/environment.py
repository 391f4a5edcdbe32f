"""Point an unchanged Airflow and DAG, and plain boto3 processes, at the local AWS endpoint.

The only difference from MWAA is the ``aws_default`` connection (it carries the endpoint URL
and key) and a throwaway AIRFLOW_HOME; the DAG, its config keys and its operators are the same.
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

# Local runs alert the topic local/provision.py creates, unless the overrides say otherwise.


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
    for a process that gets them later.
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
            "AIRFLOW_VAR_SALES_ETL_CONFIG": json.dumps(
                {**LOCAL_CONFIG_VARIABLE, **(config_overrides or {})}
            ),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
    )
    return env
