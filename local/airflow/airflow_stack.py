"""Airflow's four components as separate processes on loopback: a safer ``airflow standalone``.

``airflow standalone`` cannot be used as is: the scheduler and triggerer it starts each run a
log server on 0.0.0.0 (ports 8793/8794, with no setting for the host). Here each component
runs with ``--skip-serve-logs`` (all logs are local files the API server reads directly), the
API server binds 127.0.0.1, and every component sits in its own process group so stopping
it stops everything it forked.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from local.airflow.airflow_api import AirflowApi, ApiError
from local.airflow.cli import AIRFLOW
from local.airflow.stack_settings import (
    ADMIN_USER,
    StackSettings,
    ensure_password_file,
    port_is_free,
)
from local.process_group import GroupProcess, StopsOnExit, run_bounded, spawn, stop_all

# Order matters only for stopping: the API server goes last, so task supervisors can still
# report their final state while the scheduler shuts its workers down.
COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "api-server": ["api-server"],
}
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
POLL_SECONDS = 1.0
STOP_GRACE_SECONDS = 30.0


class StackError(RuntimeError):
    """The stack could not start, or a component died."""


class Cancelled(StackError):
    """The caller asked to stop while the stack was starting."""


def _never() -> bool:
    return False


def use_write_ahead_log(database: Path) -> None:
    """Switch the stack's SQLite database to WAL mode (kept in the file, for every process).

    Five processes share this file. In SQLite's default rollback-journal mode a writer's commit
    must wait for every reader to let go, and a reader that then wants to write is refused at
    once with "database is locked" (SQLite's deadlock rule; no busy timeout helps). In WAL mode
    readers never block a commit (https://www.sqlite.org/wal.html).
    """
    with contextlib.closing(sqlite3.connect(database)) as db:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        raise StackError(f"cannot switch {database} to WAL mode (journal_mode is {mode})")


class AirflowStack(StopsOnExit):
    """Start, watch and stop one local Airflow (usable as a context manager)."""

    def __init__(self, settings: StackSettings, env: dict[str, str], log_dir: Path) -> None:
        self.settings = settings
        self.env = env
        self.log_dir = log_dir
        self.processes: list[GroupProcess] = []
        password = ensure_password_file(settings.password_file)
        self.api = AirflowApi(settings.api_url, ADMIN_USER, password)

    def migrate(self, timeout: float = 300, cancelled: Callable[[], bool] = _never) -> None:
        """``airflow db migrate`` (creates the SQLite DB and airflow.cfg on first run)."""
        log = self.log_dir / "db-migrate.log"
        code = run_bounded(
            "db-migrate", [AIRFLOW, "db", "migrate"], self.env, log, timeout, cancelled
        )
        if cancelled():
            raise Cancelled("stopped during `airflow db migrate`")
        if code != 0:
            why = "timed out" if code is None else f"exit {code}"
            raise StackError(f"`airflow db migrate` failed ({why}); log: {log}")
        use_write_ahead_log(self.settings.airflow_home / "airflow.db")

    def start(self) -> None:
        if not port_is_free(self.settings.api_port):
            raise StackError(
                f"port {self.settings.api_port} on 127.0.0.1 is in use; pick another API port"
            )
        for name, args in COMPONENTS.items():
            log = self.log_dir / f"{name}.log"
            self.processes.append(spawn(name, [AIRFLOW, *args], self.env, log))

    def dead_component(self) -> GroupProcess | None:
        for process in self.processes:
            if not process.alive():
                return process
            process.remember_descendants()
        return None

    def wait_ready(
        self, dag_id: str, timeout: float = 300, cancelled: Callable[[], bool] = _never
    ) -> None:
        """Wait until every component is healthy and ``dag_id`` is parsed without errors."""
        deadline = time.monotonic() + timeout
        waiting_for = "the API server"
        while time.monotonic() < deadline:
            if cancelled():
                raise Cancelled(f"stopped while waiting for {waiting_for}")
            dead = self.dead_component()
            if dead is not None:
                raise StackError(
                    f"{dead.name} exited with code {dead.proc.returncode}; "
                    f"log {dead.log_file}:\n{dead.log_tail()}"
                )
            try:
                waiting_for = self._not_ready(dag_id)
            except ApiError as err:
                waiting_for = f"the API server ({err})"
            if not waiting_for:
                return
            time.sleep(POLL_SECONDS)
        raise StackError(f"not ready after {timeout:.0f}s: still waiting for {waiting_for}")

    def _not_ready(self, dag_id: str) -> str:
        """What the stack still lacks, or "" when it is ready."""
        health = self.api.health()
        unhealthy = [k for k in HEALTH_KEYS if (health.get(k) or {}).get("status") != "healthy"]
        if unhealthy:
            return "healthy " + ", ".join(unhealthy)
        errors = self.api.get("/api/v2/importErrors")
        if errors.get("total_entries"):
            details = "; ".join(
                f"{e.get('filename')}: {e.get('stack_trace', '')[-300:]}"
                for e in errors.get("import_errors", [])
            )
            raise StackError(f"DAG import errors: {details}")
        try:
            self.api.get(f"/api/v2/dags/{dag_id}")
        except ApiError:
            return f"DAG {dag_id!r} to be parsed"
        return ""

    def ensure_variable(self, key: str, value: str, description: str) -> str | None:
        """Create the Variable ``key`` in the metastore unless it exists.

        Returns the stored value when it already existed (it is kept: it may hold the user's
        edits from an earlier start), None when it was created now.
        """
        try:
            return str(self.api.get(f"/api/v2/variables/{key}")["value"])
        except ApiError as err:
            if err.status != 404:
                raise StackError(f"cannot read Variable {key!r}: {err}") from None
        self.api.post("/api/v2/variables", {"key": key, "value": value, "description": description})
        return None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> list[int]:
        """Stop every component's process group; returns PIDs that survived (none expected)."""
        workers = [p for p in self.processes if p.name != "api-server"]
        stop_all(workers, grace)
        stop_all([p for p in self.processes if p.name == "api-server"], grace)
        return sorted(pid for p in self.processes for pid in p.leftovers())
