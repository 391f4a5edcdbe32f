"""What a task resolves when it runs: the config Variable, the run date, the Lambda's event.

These are registered as the DAG's ``user_defined_macros`` and used inside templates, so the
Variable is read when a task renders its fields, never when the scheduler parses the file,
and once per task try: its templated fields, its pre-run checks and its callbacks share it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from jinja2 import pass_context

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2
    from airflow.exceptions import AirflowFailException

from sales_contract.layout import manifest_key, s3_uri, sales_ready_key
from sales_contract.rules import parse_run_date
from sales_etl import tasks
from sales_etl.config import CONFIG_VARIABLE, ConfigError, PipelineConfig, load_config

log = logging.getLogger(__name__)

# The config of the task try running in this process, with that try's identity.
_loaded: tuple[tuple[Any, ...], PipelineConfig] | None = None


def pipeline_config() -> PipelineConfig:
    """The config for this environment: defaults merged with the ``sales_etl_config`` Variable.

    Read once per task try. A process that runs several tasks (``airflow dags test``) reads
    it again for the next one, so an edit of the Variable takes effect at the next task.
    """
    # Imported here: only ever needed inside a running task.
    from sales_etl.airflow_compat import get_current_context

    global _loaded
    try:
        ti = get_current_context()["ti"]
        key = (ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
    except RuntimeError:  # no task running here (a triggerer's callback): nothing to share
        return load_config(config_variable())
    if _loaded is None or _loaded[0] != key:
        _loaded = key, load_config(config_variable())
    return _loaded[1]


def config_variable() -> str | None:
    """The ``sales_etl_config`` Variable as stored (JSON text), None when it is not set."""
    from sales_etl.airflow_compat import get_variable

    return get_variable(CONFIG_VARIABLE)


class RunDateRefused(AirflowFailException, ValueError):
    """A ``run_date`` param that would make a backfill run process another run's day.

    Never retried (``AirflowFailException``): the param is fixed for the run's lifetime.
    """


def resolve_run_date(context: Mapping[str, Any]) -> str:
    """The day this run processes: the ``run_date`` param if given, else the interval start.

    A backfill gives all its runs the same params (its UI form, or ``airflow backfill create
    --dag-run-conf``), so a ``run_date`` there would make each run process that one day; it is
    refused unless it is the run's own day.
    """
    requested = context["params"].get("run_date")
    ds = context.get("ds")
    if requested and _run_type(context) == "backfill" and requested != ds:
        raise RunDateRefused(
            f"param 'run_date' ({requested}) is for a single manual run: this backfill run's"
            f" day is {ds}, and a backfill gives every run the same params, so each would"
            " process the same day. Create the backfill again with run_date empty."
        )
    if requested:
        today = dt.datetime.now(dt.UTC).date()
        return parse_run_date(requested, "param 'run_date'", latest=today).isoformat()
    if not ds:
        raise ValueError(
            "this run has no logical date; trigger it with a logical date or the 'run_date' param"
        )
    return ds


def _run_type(context: Mapping[str, Any]) -> str:
    """The run's type ("manual", "scheduled", "backfill", ...), "" when the context has none."""
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type or ""))


def sales_ready_pattern(context: Mapping[str, Any]) -> str:
    """The sensor's key: the day's completion marker, or any CSV when the marker is off."""
    return sales_ready_key(resolve_run_date(context), pipeline_config().completion_marker)


def resolve_max_quarantine_ratio(context: Mapping[str, Any]) -> float:
    override = context["params"].get("max_quarantine_ratio")
    if override is not None:
        return float(override)
    return pipeline_config().max_quarantine_ratio


def post_process_payload(context: Mapping[str, Any]) -> str:
    """The Lambda's event: which manifest to check, written by which run, against which threshold.

    The run is the one this DAG run's ``transform`` started: a manifest left by an earlier run
    of the same day must not pass for this one.
    """
    day = resolve_run_date(context)
    event = {
        "run_date": day,
        "manifest_uri": s3_uri(pipeline_config().bucket, manifest_key(day)),
        "job_run_id": context["ti"].xcom_pull(task_ids="transform", key="glue_job_run_id"),
        "max_quarantine_ratio": resolve_max_quarantine_ratio(context),
    }
    return json.dumps(event)


def check_glue_timeout(minutes: int) -> None:
    """Glue's own Timeout must end a stuck run while the transform task still watches it.

    Otherwise Airflow gives up first and the run is orphaned: it keeps going, holding the
    job's one concurrent run, and the retry fails on ConcurrentRunsExceededException.
    """
    if minutes > tasks.MAX_GLUE_TIMEOUT_MINUTES:
        raise ConfigError(
            f"config key 'glue_timeout_minutes' must be at most {tasks.MAX_GLUE_TIMEOUT_MINUTES}"
            f" minutes with Airflow config [sales_etl] poll_seconds = {tasks.POLL_SECONDS:g}"
            f" (transform watches a run for {_minutes(tasks.GLUE_TASK_TIMEOUT)} min, deferral"
            f" cap {_minutes(tasks.GLUE_DEFERRAL_CAP)} min, less"
            f" {_minutes(tasks.GLUE_START_ALLOWANCE)} min for start-up and one poll), got {minutes}"
        )


def _minutes(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 60:g}"


TEMPLATE_MACROS: dict[str, Any] = {
    "pipeline_config": pipeline_config,
    "run_date": pass_context(resolve_run_date),
    "max_quarantine_ratio": pass_context(resolve_max_quarantine_ratio),
    "sales_ready_key": pass_context(sales_ready_pattern),
    "post_process_payload": pass_context(post_process_payload),
}
