"""The DAG's runs on a running Airflow stack: create them (`airflow backfill create`, a manual
trigger), wait for them, and read their states, task instances, logs and deadlines."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from local.airflow.airflow_api import AirflowApi
from local.airflow.airflow_stack import AirflowStack
from local.airflow.cli import DAG_ID
from local.airflow.command_result import CommandResult
from tests.support.airflow_tools.cli import run_airflow
from tests.support.polling import wait_until

FINISHED = ("success", "failed")
# `airflow backfill create` commits the backfill, then adds its runs inside SQLite savepoints.
# A savepoint that has read cannot write once another component (the scheduler) has written
# meanwhile: "database is locked" at once (SQLite's busy timeout does not apply), the runs
# rolled back, the backfill left open with none. Seen on a loaded 2-core machine.
DATABASE_LOCKED = "database is locked"
BACKFILL_CREATE_TRIES = 3


def backfill(
    stack: AirflowStack, first_day: str, last_day: str, name: str, *extra: str
) -> CommandResult:
    """`airflow backfill create` for the runs whose ``ds`` is first_day..last_day.

    A run's logical date is its day at 02:00 UTC (the DAG's data-interval timetable), and
    --to-date is compared with it, so the last day is named with its 02:00 time. One run at a
    time: backfill runs obey the backfill's max_active_runs (default 10), not the DAG's.
    """
    args = [
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        first_day,
        "--to-date",
        f"{last_day}T02:00:00+00:00",
        "--max-active-runs",
        "1",
        *extra,
    ]
    for attempt in range(1, BACKFILL_CREATE_TRIES + 1):
        started = time.time()
        log = stack.log_dir / (f"{name}.log" if attempt == 1 else f"{name}-try{attempt}.log")
        created = run_airflow(args, stack.env, log, timeout_seconds=180)
        if created.ok or DATABASE_LOCKED not in created.log_tail():
            return created
        # Tried again after a lock conflict: the runs were rolled back, and the empty backfill
        # it committed is cancelled first, unless the scheduler has already marked it complete.
        _cancel_backfills_created_since(stack.api, started)
    return created


def _cancel_backfills_created_since(api: AirflowApi, started: float) -> None:
    """Cancel the DAG's unfinished backfills created at or after ``started`` (a time.time())."""
    backfills = api.get("/api/v2/backfills", dag_id=DAG_ID)["backfills"]
    left = [
        b
        for b in backfills
        if b["completed_at"] is None
        and datetime.fromisoformat(b["created_at"]).timestamp() >= started - 1
    ]
    for b in left:
        api.put(f"/api/v2/backfills/{b['id']}/cancel")


def wait_for_runs(
    api: AirflowApi, days: tuple[str, ...], timeout: float, ended_after: str = ""
) -> dict[str, dict[str, Any]]:
    """Wait until the runs for ``days`` have finished (after ``ended_after``); all runs by day."""
    deadline = time.monotonic() + timeout
    runs: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        runs = runs_by_day(api)
        if all(
            day in runs
            and runs[day]["state"] in FINISHED
            and (runs[day]["end_date"] or "") > ended_after
            for day in days
        ):
            return runs
        time.sleep(2)
    states = {day: run["state"] for day, run in runs.items()}
    raise AssertionError(f"runs for {days} not finished after {timeout:.0f}s: {states}")


def wait_for_backfills_completed(api: AirflowApi, timeout: float) -> None:
    """Wait until no backfill of the DAG is active (the scheduler marks them every 30 s)."""

    def all_completed() -> bool | None:
        backfills = api.get("/api/v2/backfills", dag_id=DAG_ID)["backfills"]
        return True if all(b["completed_at"] for b in backfills) else None

    wait_until(f"every backfill of {DAG_ID} to complete", all_completed, timeout)


def dag_runs(api: AirflowApi) -> list[dict[str, Any]]:
    return api.get(f"/api/v2/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]


def runs_by_day(api: AirflowApi) -> dict[str, dict[str, Any]]:
    """The DAG's runs keyed by the day they process (their logical date's date)."""
    return {run["logical_date"][:10]: run for run in dag_runs(api)}


def task_states(api: AirflowApi, run_id: str) -> dict[str, str]:
    listing = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
    return {ti["task_id"]: ti["state"] for ti in listing["task_instances"]}


def trigger_run(api: AirflowApi, day: str) -> dict[str, Any]:
    """A manual run for ``day`` (its logical date is the day at 02:00 UTC, so ``ds`` = day)."""
    return api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": f"{day}T02:00:00Z"})


def task_instance(api: AirflowApi, run_id: str, task_id: str) -> dict[str, Any]:
    return api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}")


def task_log(api: AirflowApi, run_id: str, task_id: str, try_number: int) -> str:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
    return json.dumps(api.get(path))


def clear_task(api: AirflowApi, run_id: str, task_id: str) -> None:
    """Clear one task of one run, as the UI's *Clear* on that task does."""
    api.post(
        f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
        {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [task_id],
            "only_failed": False,
            "include_downstream": False,
        },
    )


def run_deadlines(api: AirflowApi, run_id: str) -> list[dict[str, Any]]:
    """The run's deadlines as the UI lists them (a deadline met by a success is deleted)."""
    return api.get(f"/ui/dags/{DAG_ID}/dagRuns/{run_id}/deadlines")["deadlines"]
