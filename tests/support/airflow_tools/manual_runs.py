"""Two manual runs on the backfill stack, for the alert, deadline and resume tests.

- A day whose completion marker never lands: its sensor times out and the run fails.
- A seeded day whose Glue run the test holds in STARTING (``glue_runs_held``): its transform
  defers on that run, the run's deadline passes while it waits, and then the deferred
  transform is cleared, as someone clearing a stuck task in the UI would. Once the retry has
  settled, the Glue run is let go.

They go one at a time (the DAG's max_active_runs=1): the sensor day first, so that the held
run waits behind it and never the reverse (a sensor day stuck behind a held run would be late).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.airflow.airflow_stack import AirflowStack
from tests.support.airflow_tools.runs import (
    FINISHED,
    clear_task,
    dag_runs,
    runs_by_day,
    task_instance,
    trigger_run,
    wait_for_runs,
)
from tests.support.alerts import AlertInbox, alert_run, is_late
from tests.support.endpoint import glue_runs_held
from tests.support.polling import wait_until
from tests.support.seeded_lake import Lake, glue_runs_for_day

SENSOR_DAY = "2024-02-01"  # nothing seeded
HELD_DAY = "2024-01-18"  # seeded, and outside the backfill
RUN_TIMEOUT = 300
# A missed deadline is handled in the scheduler's next loop and its callback run by the
# triggerer within seconds; this much more is only for a loaded machine.
LATE_ALERT_LAG = 120


@dataclass(frozen=True)
class ManualRuns:
    sensor_run: dict[str, Any]
    held_run: dict[str, Any]
    held_glue_run_id: str  # the Glue run transform's first try started and deferred on
    second_try_state: str  # transform's state once its second try had settled


def run_manual_days(
    stack: AirflowStack, lake: Lake, alerts: AlertInbox, late_after_seconds: float
) -> ManualRuns:
    api = stack.api
    with glue_runs_held(lake.cfg.bucket):
        sensor_id = trigger_run(api, SENSOR_DAY)["dag_run_id"]
        # Not while its task starts: the API server writes the trigger's audit log on its event
        # loop, and on SQLite that waits for the task-start transaction, which needs that loop
        # to commit (both stall until the 60 s lock timeout). Once the sensor defers, no task
        # starts until it fails.
        wait_until("the sensor day's sensor to defer", lambda: _deferred(stack, sensor_id), 60)
        held_id = trigger_run(api, HELD_DAY)["dag_run_id"]
        glue_run_id = wait_until(
            "transform deferred on a Glue run held in STARTING",
            lambda: _deferred_on_held_glue_run(stack, lake, held_id, HELD_DAY),
            RUN_TIMEOUT,
        )
        # Clear only once the deadline has passed: a clear re-queues the run, and Airflow then
        # moves a deadline not yet missed (taskinstance.py _recalculate_dagrun_queued_at_deadlines).
        # Without an alert (a test's own assertion says so) the scenario still goes on.
        alerts.wait_for(
            lambda alert: is_late(alert) and alert_run(alert) == held_id,
            timeout=late_after_seconds + LATE_ALERT_LAG,
        )
        clear_task(api, held_id, "transform")
        second_try_state = wait_until(
            "transform's second try to defer or fail",
            lambda: _second_try_settled(stack, held_id),
            RUN_TIMEOUT,
        )
    if second_try_state == "deferred":
        runs = wait_for_runs(api, (SENSOR_DAY, HELD_DAY), RUN_TIMEOUT)
    else:
        # A try that failed to re-attach is retried minutes later (retry_delay): report the
        # runs as they are, for the tests to say what went wrong, rather than wait for it.
        runs = runs_by_day(api)
    return ManualRuns(runs[SENSOR_DAY], runs[HELD_DAY], glue_run_id, second_try_state)


def _deferred(stack: AirflowStack, run_id: str) -> bool | None:
    run = next(r for r in dag_runs(stack.api) if r["dag_run_id"] == run_id)
    if run["state"] in FINISHED:
        return True
    state = task_instance(stack.api, run_id, "wait_for_sales")["state"]
    return True if state in ("deferred", "failed", "up_for_retry") else None


def _deferred_on_held_glue_run(
    stack: AirflowStack, lake: Lake, run_id: str, day: str
) -> str | None:
    ti = task_instance(stack.api, run_id, "transform")
    if ti["state"] in ("failed", "upstream_failed", "success"):
        raise AssertionError(f"transform ended before it could be cleared: {ti['state']}")
    if ti["state"] != "deferred":
        return None
    glue_runs = glue_runs_for_day(lake.glue, lake.cfg.glue_job, day)
    assert len(glue_runs) == 1, glue_runs
    assert glue_runs[0]["JobRunState"] == "STARTING", glue_runs[0]
    return str(glue_runs[0]["Id"])


def _second_try_settled(stack: AirflowStack, run_id: str) -> str | None:
    ti = task_instance(stack.api, run_id, "transform")
    settled = ("deferred", "up_for_retry", "failed", "success")
    return ti["state"] if ti["try_number"] >= 2 and ti["state"] in settled else None
