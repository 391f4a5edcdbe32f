"""Parse-time tunables come from Airflow config [sales_etl] and are range-checked."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

import sales_etl.tasks
from local.airflow.environment import airflow_environment


@pytest.fixture
def reload_tasks(monkeypatch):
    # A reload re-runs the module in place: put its own objects back after the test, not
    # fresh copies (the DAG, parsed once per test run, holds the module's operator class).
    original = dict(vars(sales_etl.tasks))

    def reload(**options: str):
        for key, value in options.items():
            monkeypatch.setenv(f"AIRFLOW__SALES_ETL__{key.upper()}", value)
        return importlib.reload(sales_etl.tasks)

    yield reload
    monkeypatch.undo()
    vars(sales_etl.tasks).update(original)


def test_defaults_suit_aws(reload_tasks):
    tasks = reload_tasks()
    assert tasks.POLL_SECONDS == 30
    assert tasks.GLUE_RETRIES == 1
    assert timedelta(hours=6) == tasks.SALES_WAIT
    assert timedelta(minutes=5) == tasks.SALES_POKE_INTERVAL
    assert timedelta(hours=8) == tasks.LATE_AFTER


def test_late_after_sets_the_deadline_which_stays_before_the_run_timeout(reload_tasks):
    assert timedelta(seconds=40) == reload_tasks(late_after_seconds="40").LATE_AFTER
    tasks = reload_tasks(late_after_seconds="34200")
    assert tasks.LATE_AFTER == tasks.LATE_AFTER_MAX < tasks.DAGRUN_TIMEOUT


def test_options_override_waits_and_derived_limits(reload_tasks):
    tasks = reload_tasks(poll_seconds="2", sales_wait_seconds="20")
    assert tasks.POLL_SECONDS == 2
    assert tasks.GLUE_TASK_TIMEOUT.total_seconds() <= tasks.GLUE_MAX_POLLS * 2
    assert timedelta(seconds=20) == tasks.SALES_WAIT
    assert timedelta(seconds=20) == tasks.SALES_POKE_INTERVAL


def test_local_stacks_notice_a_written_day_in_seconds(reload_tasks, tmp_path):
    env = airflow_environment(None, tmp_path)
    prefix = "AIRFLOW__SALES_ETL__"
    tasks = reload_tasks(
        **{k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    )
    assert timedelta(seconds=2) >= tasks.SALES_POKE_INTERVAL
    assert timedelta(seconds=7) == reload_tasks(sales_poke_seconds="7").SALES_POKE_INTERVAL


def test_local_runs_may_poll_more_than_once_a_second(reload_tasks):
    tasks = reload_tasks(poll_seconds="0.2")
    assert tasks.POLL_SECONDS == 0.2
    assert tasks.GLUE_TASK_TIMEOUT.total_seconds() <= tasks.GLUE_MAX_POLLS * 0.2 + 0.2


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("poll_seconds", "0", r"\[sales_etl\] poll_seconds must be 0.1..600, got 0$"),
        ("poll_seconds", "0.05", r"\[sales_etl\] poll_seconds must be 0.1..600, got 0.05"),
        ("sales_wait_seconds", "999999", r"\[sales_etl\] sales_wait_seconds must be 1..86400"),
        ("sales_poke_seconds", "0", r"\[sales_etl\] sales_poke_seconds must be 1..3600, got 0$"),
        ("glue_retries", "4", r"\[sales_etl\] glue_retries must be 0..3, got 4"),
        ("glue_retries", "1.5", r"\[sales_etl\] glue_retries must be a whole number, got 1.5"),
        ("late_after_seconds", "0", r"\[sales_etl\] late_after_seconds must be 1..34200, got 0$"),
        ("late_after_seconds", "34201", r"\[sales_etl\] late_after_seconds must be 1..34200"),
    ],
)
def test_out_of_range_options_name_the_option(reload_tasks, key, value, message):
    with pytest.raises(ValueError, match=message):
        reload_tasks(**{key: value})


@pytest.mark.parametrize("poll_seconds", ["0.2", "7", "30", "600"])
def test_glue_timeout_limit_ends_a_run_before_airflow_stops_watching(reload_tasks, poll_seconds):
    tasks = reload_tasks(poll_seconds=poll_seconds)
    glue_timeout = timedelta(minutes=tasks.MAX_GLUE_TIMEOUT_MINUTES)
    watched = min(tasks.GLUE_TASK_TIMEOUT, tasks.GLUE_DEFERRAL_CAP)
    assert timedelta(seconds=tasks.POLL_SECONDS * tasks.GLUE_MAX_POLLS) == tasks.GLUE_DEFERRAL_CAP
    assert glue_timeout + tasks.GLUE_START_ALLOWANCE + timedelta(seconds=tasks.POLL_SECONDS) <= (
        watched
    )
    # The default config fits whatever the poll interval.
    assert tasks.MAX_GLUE_TIMEOUT_MINUTES >= 60
