"""The day a run processes, and the `run_date` param a backfill must not take."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.sdk.api.datamodels._generated import DagRun
from airflow.sdk.exceptions import AirflowFailException

from sales_etl.runtime import RunDateRefused, resolve_run_date

DAY = "2024-01-15"


def context(run_type: str, run_date: str | None) -> dict[str, Any]:
    """What a task gets: its run (the Task SDK's own model), its params and ``ds``."""
    logical = datetime(2024, 1, 15, 2, tzinfo=UTC)
    run = DagRun(
        dag_id="sales_etl",
        run_id=f"{run_type}__2024-01-16T02:00:00+00:00",
        logical_date=logical,
        run_after=datetime(2024, 1, 16, 2, tzinfo=UTC),
        run_type=run_type,
        state="running",
        conf={"run_date": run_date},
        consumed_asset_events=[],
    )
    return {"dag_run": run, "params": {"run_date": run_date}, "ds": DAY}


def test_a_backfill_run_given_another_day_fails_at_once_naming_both_days() -> None:
    """The UI's backfill form and `--dag-run-conf` give every run of a backfill the same
    params: with run_date set, each run would otherwise process that one day."""
    with pytest.raises(RunDateRefused) as refused:
        resolve_run_date(context("backfill", "2024-01-10"))
    assert isinstance(refused.value, AirflowFailException)  # no retry: it would fail again
    assert isinstance(refused.value, ValueError)  # the failure alert names the reason as such
    message = str(refused.value)
    assert "param 'run_date' (2024-01-10) is for a single manual run" in message
    assert f"this backfill run's day is {DAY}" in message


@pytest.mark.parametrize("run_date", [None, "", DAY])
def test_a_backfill_run_processes_its_own_day(run_date: str | None) -> None:
    assert resolve_run_date(context("backfill", run_date)) == DAY


@pytest.mark.parametrize("run_type", ["manual", "scheduled"])
def test_other_runs_process_the_day_their_run_date_names(run_type: str) -> None:
    assert resolve_run_date(context(run_type, "2024-01-10")) == "2024-01-10"
    assert resolve_run_date(context(run_type, None)) == DAY
