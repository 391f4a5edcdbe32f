"""Params a person can set when triggering a run by hand; validated by Airflow before it starts."""

from __future__ import annotations

from sales_etl.airflow_compat import Param

MANUAL_RUN_PARAMS = {
    "run_date": Param(
        None,
        type=["null", "string"],
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        title="Run date",
        description=(
            "Day to process (YYYY-MM-DD), for a single manual run. Empty: the run's own"
            " logical date. Leave it empty in a backfill: each backfill run processes its own"
            " day, and a backfill run given another day fails at once."
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
