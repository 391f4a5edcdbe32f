"""A local Airflow stack (API server, scheduler, triggerer, DAG processor) on 127.0.0.1.

Used by ``python -m local.airflow_local`` (``make airflow``) and by the backfill test.
"""

from local.standalone.api import AirflowApi, ApiError
from local.standalone.processes import GroupProcess, run_bounded, spawn
from local.standalone.settings import (
    ADMIN_USER,
    LOOPBACK,
    StackSettings,
    ensure_password_file,
    shell_exports,
    stack_environment,
)
from local.standalone.stack import AirflowStack, Cancelled, StackError

__all__ = [
    "ADMIN_USER",
    "LOOPBACK",
    "AirflowApi",
    "AirflowStack",
    "ApiError",
    "Cancelled",
    "GroupProcess",
    "StackError",
    "StackSettings",
    "ensure_password_file",
    "run_bounded",
    "shell_exports",
    "spawn",
    "stack_environment",
]
