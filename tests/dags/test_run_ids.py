"""Run ids name the day a run processes, on the paths where Airflow asks the timetable.

Airflow 3.2.1 asks the DAG's timetable for the id of a scheduled run (the scheduler), a
manual run from the UI or REST API (``TriggerDAGRunPostBody.validate_context``) or from the
CLI (``api.common.trigger_dag``), and a partitioned backfill's runs; Airflow 2.11 also asks it
for a backfill's runs. The scheduler and API server ask the timetable they deserialized, so
the tests do too.
"""

from __future__ import annotations

import re

import pendulum
import pytest
from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils.types import DagRunType

from sales_etl.params import DayRunIdTimetable

# Airflow's default [scheduler] allowed_run_id_pattern, which MWAA keeps.
ALLOWED_RUN_ID = re.compile(r"^[A-Za-z0-9_.~:+-]+$")
TRIGGERED = pendulum.datetime(2026, 12, 6, 5, 42, 17, 123456, tz="UTC")


def utc(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


@pytest.fixture(scope="module")
def scheduler_dag(dag):
    """The DAG as the scheduler and API server have it: serialized, then loaded back."""
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def manual_run_id(scheduler_dag, **body) -> str:
    """The id of a run triggered from the UI's form or the REST API with ``body``."""
    return TriggerDAGRunPostBody(**body).validate_context(scheduler_dag)["run_id"]


def test_the_plugin_registers_the_dags_timetable(dag) -> None:
    from airflow import plugins_manager

    timetables = plugins_manager.get_timetables_plugins()
    assert timetables["sales_etl.params.DayRunIdTimetable"] is DayRunIdTimetable
    assert type(dag.timetable) is DayRunIdTimetable


def test_the_serialized_dag_keeps_the_timetable_and_its_schedule(dag, scheduler_dag) -> None:
    timetable = scheduler_dag.timetable
    assert type(timetable) is DayRunIdTimetable
    assert timetable.serialize() == {"expression": "0 2 * * *", "timezone": "UTC"}
    assert isinstance(timetable, CronDataIntervalTimetable)  # the scheduler's own methods


def test_a_scheduled_run_is_named_after_the_day_it_processes(scheduler_dag) -> None:
    timetable = scheduler_dag.timetable
    previous = DataInterval(utc(2024, 1, 14, 2), utc(2024, 1, 15, 2))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=previous,
        restriction=TimeRestriction(earliest=scheduler_dag.start_date, latest=None, catchup=True),
    )
    # As the scheduler calls it (Airflow 3.2.1 scheduler_job_runner, 3.3.1 the same).
    run_id = timetable.generate_run_id(
        run_type=DagRunType.SCHEDULED,
        run_after=info.run_after,
        data_interval=info.data_interval,
        partition_key=None,
    )
    assert info.logical_date == utc(2024, 1, 15, 2)  # ds 2024-01-15
    assert run_id == "scheduled__2024-01-15__20240116T020000"


@pytest.mark.parametrize("hour", [0, 2, 23])
def test_a_manual_run_given_a_logical_date_is_named_after_that_day(scheduler_dag, hour) -> None:
    body = {"logical_date": utc(2024, 1, 15, hour), "run_after": TRIGGERED}
    context = TriggerDAGRunPostBody(**body).validate_context(scheduler_dag)
    assert context["run_id"] == "manual__2024-01-15__20261206T054217.123456"
    # Its data interval is the one the day's scheduled run has (Airflow's default would end
    # before the logical date: 2024-01-13 or -14 02:00 to the next 02:00).
    assert context["data_interval"] == DataInterval(utc(2024, 1, 15, 2), utc(2024, 1, 16, 2))


def test_two_manual_runs_of_the_same_day_get_different_ids(scheduler_dag) -> None:
    first = manual_run_id(scheduler_dag, logical_date=utc(2024, 1, 15, 2), run_after=TRIGGERED)
    second = manual_run_id(
        scheduler_dag,
        logical_date=utc(2024, 1, 15, 3),
        run_after=TRIGGERED.add(microseconds=1),
    )
    assert first != second
    assert first.startswith("manual__2024-01-15__") and second.startswith("manual__2024-01-15__")


def test_a_run_without_a_logical_date_keeps_airflows_id(scheduler_dag) -> None:
    # The day is the run_date param's (or today): nothing the timetable is given tells it.
    run_id = manual_run_id(
        scheduler_dag, logical_date=None, run_after=TRIGGERED, conf={"run_date": "2024-01-15"}
    )
    assert run_id == "manual__2026-12-06T05:42:17.123456+00:00"


def test_an_interval_inferred_from_the_trigger_time_keeps_airflows_id(scheduler_dag) -> None:
    # Airflow 3.2.1's CLI trigger (`airflow dags trigger --logical-date`) and the
    # TriggerDagRunOperator infer the interval from the trigger time, not the logical date;
    # the UI's form does the same when its logical date is left at "now".
    timetable = scheduler_dag.timetable
    run_id = timetable.generate_run_id(
        run_type=DagRunType.MANUAL,
        run_after=TRIGGERED,
        data_interval=timetable.infer_manual_data_interval(run_after=TRIGGERED),
    )
    assert run_id == "manual__2026-12-06T05:42:17.123456+00:00"
    assert manual_run_id(scheduler_dag, logical_date=TRIGGERED, run_after=TRIGGERED) == run_id


def test_a_backfill_run_is_named_after_the_day_it_processes(scheduler_dag) -> None:
    timetable = scheduler_dag.timetable
    day = DataInterval(utc(2024, 1, 15, 2), utc(2024, 1, 16, 2))
    # As a partitioned backfill calls it (Airflow 3.2.1 models/backfill.py); Airflow 3's
    # backfill of this DAG names its runs itself: backfill__<run_after>.
    assert (
        timetable.generate_run_id(
            run_type=DagRunType.BACKFILL_JOB, run_after=day.end, data_interval=day
        )
        == "backfill__2024-01-15__20240116T020000"
    )
    # As Airflow 2.11 calls it, for a backfill's runs and the others: a logical date, no
    # run_after.
    assert (
        timetable.generate_run_id(
            run_type=DagRunType.BACKFILL_JOB, logical_date=day.start, data_interval=day
        )
        == "backfill__2024-01-15__20240115T020000"
    )


@pytest.mark.parametrize(
    "run_id",
    [
        "scheduled__2024-01-15__20240116T020000",
        "manual__2024-01-15__20261206T054217.123456",
        "backfill__2024-01-15__20240116T020000",
    ],
)
def test_the_ids_are_valid_airflow_run_ids_of_their_type(run_id) -> None:
    assert ALLOWED_RUN_ID.match(run_id)
    assert DagRunType.from_run_id(run_id).value == run_id.split("__")[0]
