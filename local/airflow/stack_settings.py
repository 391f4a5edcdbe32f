"""The environment of a local Airflow stack: loopback-only, small, wired to the local endpoint.

Everything is set through ``AIRFLOW__SECTION__KEY`` variables on top of
``local.airflow.environment.airflow_environment`` (DAG folder, plugins, the ``aws_default``
connection, the pipeline config Variable), so the same dict drives the components and any
``airflow`` CLI command run against them.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from local.airflow.environment import airflow_environment
from local.aws_local import EndpointClients
from local.endpoint_file import write_private

LOOPBACK = "127.0.0.1"
ADMIN_USER = "admin"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
# The stack's SQLite database has several writers (scheduler, triggerer, API server, CLI
# commands such as `airflow backfill create`); sqlite3's default 5 s wait for the write lock
# ran out on a loaded 2-core machine ("database is locked"). Airflow reads this by import path.
SQLITE_CONNECT_ARGS = {"timeout": 60}
# By import path (importing it here would import Airflow into the launcher).
TASK_LOGS_CONFIG = "local.airflow.task_logs.LOGGING_CONFIG"


@dataclass(frozen=True)
class StackSettings:
    """Where a local stack keeps its state and how it listens."""

    airflow_home: Path
    password_file: Path
    api_port: int = 8080
    # Each executor slot is a forked worker process; two keep a 2-core laptop usable.
    parallelism: int = 2

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"


def stack_environment(
    endpoint: EndpointClients,
    settings: StackSettings,
    extra: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The full environment for every component and CLI call of one local stack."""
    env = airflow_environment(endpoint, settings.airflow_home, base=base)
    env.update(
        {
            # The API server (UI, REST API, Execution API) listens on loopback only; its
            # default host is 0.0.0.0. Task supervisors reach the Execution API there too.
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(settings.api_port),
            "AIRFLOW__API__BASE_URL": settings.api_url + "/",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": settings.api_url + "/execution/",
            "AIRFLOW__API__WORKERS": "1",
            # The scheduler's optional health server would bind 0.0.0.0: keep it off.
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": f"{__name__}.SQLITE_CONNECT_ARGS",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(settings.parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(settings.parallelism),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # One fixed local user whose password lives in a file under .local-run.
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.password_file),
            # Local only: no scheduled runs (their days have no data here and would wait
            # hours in the sensor); manual runs and backfills still run. The DAG is active
            # on first parse so a trigger or backfill runs without unpausing it first.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # When a deferred transform's trigger fires before the executor has reported the
            # deferring process's exit, Airflow 3.2.1's scheduler takes that stale report for an
            # external state change and fails the try ("finished with state success, but the
            # task instance's state attribute is queued"). A task supervisor that misses its
            # child's EOF notices the exit only when its select() times out, after
            # min_heartbeat_interval (5 s by default): about as long as a local Glue run. One
            # second keeps that window shorter than any local run, and a one-second poll (not
            # the 0.2 s `dags test` uses) adds margin. On MWAA a Glue run takes far longer.
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            # No component serves logs here: the API server reads local files only.
            "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": TASK_LOGS_CONFIG,
            "AIRFLOW__SALES_ETL__POLL_SECONDS": "1",
            "AIRFLOW__SALES_ETL__SALES_POKE_SECONDS": "2",
        }
    )
    env.update(extra or {})
    return env


def ensure_password_file(path: Path) -> str:
    """The admin password, generated once into ``path`` (0600) in the auth manager's format.

    A random per-checkout value instead of a fixed one: nothing guessable is ever served,
    even on loopback, and nothing secret is committed.
    """
    if path.exists():
        passwords = json.loads(path.read_text() or "{}")
        if passwords.get(ADMIN_USER):
            return str(passwords[ADMIN_USER])
    password = secrets.token_urlsafe(12)
    write_private(path, json.dumps({ADMIN_USER: password}) + "\n")
    return password


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def shell_exports(
    endpoint: EndpointClients, settings: StackSettings, extra: Mapping[str, str] | None = None
) -> str:
    """``export`` lines for the stack's own settings (never the caller's environment)."""
    own = stack_environment(endpoint, settings, extra, base={})
    path = own.pop("PATH").split(os.pathsep, 1)[0]  # the venv's bin folder, put first
    lines = [
        "# Written by `make airflow`: this stack's Airflow settings, with the local AWS",
        "# endpoint's key (valid while that endpoint runs). Keep it private (mode 0600).",
    ]
    lines.append(f'export PATH={shlex.quote(path)}:"$PATH"')
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(own.items())]
    return "\n".join(lines) + "\n"
