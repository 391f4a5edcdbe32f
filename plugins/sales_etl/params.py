"""Which day a run processes, as people see it: the run's id, and a manual run's params.

The params are the ones a person can set when triggering a run by hand, validated by Airflow
before the run starts.

``DayRunIdTimetable`` is the DAG's schedule: ``CronDataIntervalTimetable`` whose run ids name
the day the run processes, e.g. ``manual__2024-01-15__20261206T054217.123456`` instead of
Airflow's ``manual__2026-12-06T05:42:17.123456+00:00`` (the trigger time). Airflow asks the
timetable for an id only on some paths (docs/local-airflow.md lists them); it accepts a custom
timetable only from a plugin, ``plugins/sales_etl_plugin.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pendulum

from sales_etl.airflow_compat import (
    CronDataIntervalTimetable,
    DataInterval,
    Param,
    TimeRestriction,
    run_id_times,
)

MANUAL_RUN_PARAMS = {
    "run_date": Param(
        None,
        type=["null", "string"],
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        title="Run date",
        description=(
            "Day to process (YYYY-MM-DD), for a single manual run. Empty: the run's own"
            " logical date. Leave it empty in a backfill: each backfill run processes its own"
            " day, and a backfill run given another day fails at once. The run's id cannot"
            " name this day: to see the day in the runs list, set the logical date to it"
            " instead (e.g. 2024-01-15 02:00 UTC)."
        ),
    ),
    "max_quarantine_ratio": Param(
        None,
        type=["null", "number"],
        minimum=0,
        maximum=1,
        title="Max quarantine ratio",
        description="Fail the run above this share of rejected rows. Empty: the config value.",
    ),
}


def day_run_id(run_type: Any, day: date, stamp: datetime) -> str:
    """``<type>__<day>__<stamp>``: the day processed, then the UTC time that keeps ids unique.

    The stamp is what Airflow's own ids are unique by: ``run_after`` on Airflow 3 (a manual
    run's trigger time, to the microsecond), the logical date on Airflow 2. It is written
    without ``:`` and ``+``, with microseconds only when there are any.
    """
    at = stamp.astimezone(UTC)
    suffix = at.strftime("%Y%m%dT%H%M%S") + (f".{at.microsecond:06d}" if at.microsecond else "")
    return f"{run_type}__{day.isoformat()}__{suffix}"


class DayRunIdTimetable(CronDataIntervalTimetable):
    """A daily ``CronDataIntervalTimetable`` whose run ids name the (UTC) day processed.

    A run processes its logical date's day (``ds``). A scheduled or backfill run's logical
    date is its data interval's start, but Airflow gives ``generate_run_id`` no logical date
    (Airflow 3), only the data interval: for a manual run that interval is inferred from the
    logical date, so ``infer_manual_data_interval`` makes it start on that same day.
    """

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The scheduled interval that starts on ``run_after``'s day, as that day's run has.

        Airflow's default, the last complete interval before ``run_after``, starts a day or
        two earlier: a run for 2024-01-15 00:00 would cover 01-13 02:00 to 01-14 02:00.
        """
        day_start = pendulum.instance(run_after).in_timezone("UTC").start_of("day")
        info = self.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(earliest=day_start, latest=None, catchup=True),
        )
        if info is None:  # only with a restriction's latest, which there is none of here
            raise ValueError(f"no scheduled interval starts on {day_start.date()}")
        return info.data_interval

    def generate_run_id(
        self, *, run_type: Any, data_interval: DataInterval | None = None, **kwargs: Any
    ) -> str:
        logical_date, run_after = run_id_times(kwargs)
        day = self._processed_day(data_interval, logical_date, run_after)
        stamp = run_after or logical_date
        if day is None or stamp is None:  # the day is unknown: Airflow's own id
            return super().generate_run_id(run_type=run_type, data_interval=data_interval, **kwargs)
        return day_run_id(run_type, day, stamp)

    def _processed_day(
        self,
        data_interval: DataInterval | None,
        logical_date: datetime | None,
        run_after: datetime | None,
    ) -> date | None:
        if logical_date is not None:  # Airflow 2 passes it: the run's ds
            return logical_date.astimezone(UTC).date()
        if data_interval is None:  # a manual run without a logical date
            return None
        # Airflow 3's CLI trigger and TriggerDagRunOperator infer the interval from the
        # trigger time, whatever the logical date: such an interval tells nothing of the day
        # (nor does a logical date of "now", the UI form's, which gives the same interval).
        if run_after is not None and data_interval == self.infer_manual_data_interval(
            run_after=run_after
        ):
            return None
        return data_interval.start.astimezone(UTC).date()
