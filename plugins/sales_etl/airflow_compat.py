"""The Airflow names the DAG and plugins use, from wherever the running Airflow keeps them.

One tree (DAG file, plugins) runs on every MWAA image in ``docs/mwaa-versions.md``: Airflow
2.11, 3.0, 3.2 and 3.3. Airflow 3 has them in ``airflow.sdk``; 3.0 lacks ``conf`` there;
Airflow 2 has the older modules only, and names an asset a ``Dataset``. The provider's
``common.compat.sdk`` would cover Airflow 2 but is not in MWAA 3.0.6's image (common-compat
1.7.3), so the gate is here, one import per name.

What a version lacks is switched off here, not by a fork of the DAG: the late-run
``DeadlineAlert`` (Airflow 3.1+) and operator options newer than a version's provider.
Where versions call the DAG's code differently (a timetable's ``generate_run_id``), the
difference is read here too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import airflow

# The DAG's timetable subclasses the core class, in airflow.timetables on every version. From
# Airflow 3.1 airflow.sdk has a CronDataIntervalTimetable too, but that one is a definition the
# DAG processor swaps for the core class: only core timetables (and plugin-registered
# subclasses of them) are serialized, and the scheduler calls the core object's methods.
from airflow.timetables.base import DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable


def _release(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


AIRFLOW_RELEASE = _release(airflow.__version__)
AIRFLOW_2 = AIRFLOW_RELEASE < (3, 0)
# DAG(deadline=...) and airflow.sdk.definitions.deadline arrived in Airflow 3.1.
HAS_DEADLINE_ALERTS = AIRFLOW_RELEASE >= (3, 1)

if AIRFLOW_2:
    from airflow.configuration import conf
    from airflow.datasets import Dataset
    from airflow.exceptions import AirflowException
    from airflow.models.baseoperator import chain
    from airflow.models.dag import DAG
    from airflow.models.param import Param
    from airflow.models.variable import Variable
    from airflow.operators.python import get_current_context as _current_context

    def get_current_context() -> Any:
        """The running task's context; RuntimeError outside one, as Airflow 3 raises.

        Airflow 2 sets it around ``execute`` only, so a ``pre_execute`` hook sees none.
        """
        try:
            return _current_context()  # noqa: AIR301 - Airflow 2 only
        except AirflowException as exc:
            raise RuntimeError(str(exc)) from exc

    def Asset(name: str) -> Dataset:  # noqa: AIR311 - Airflow 3's class name, for the DAG file
        """Airflow 3's ``Asset(name=...)`` as Airflow 2's Dataset (its URI is the name)."""
        return Dataset(uri=name)  # noqa: AIR311

else:
    from airflow.sdk import DAG, Asset, Param, Variable, chain

    def get_current_context() -> Any:
        """The running task's context; RuntimeError outside one.

        ``airflow.sdk``'s function is looked up at each call, so a patched one is honoured.
        """
        import airflow.sdk

        return airflow.sdk.get_current_context()

    try:  # airflow.sdk exports it from Airflow 3.1
        from airflow.sdk import conf
    except ImportError:
        from airflow.configuration import conf


def _crawler_operator() -> type:
    """The operator that starts an existing crawler named by ``config={"Name": ...}``.

    Up to provider 9.33 that is ``GlueCrawlerOperator`` (with only a Name it never creates or
    changes the crawler). 9.34 (MWAA 3.3.1) deprecates it for ``GlueCrawlerRunOperator``; the
    subclass below is that operator with the same ``config`` argument, so the DAG keeps one
    spelling and parses without the deprecation warning.
    """
    from airflow.providers.amazon.aws.operators import glue_crawler

    run_operator = getattr(glue_crawler, "GlueCrawlerRunOperator", None)
    if run_operator is None:
        return glue_crawler.GlueCrawlerOperator
    from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

    class GlueCrawlerOperator(run_operator):  # type: ignore[misc,valid-type]
        """Start the existing crawler ``config["Name"]`` and wait for its crawl."""

        template_fields = aws_template_fields("config")

        def __init__(self, *, config: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(crawler_name=config["Name"], **kwargs)
            self.config = config

        def execute(self, context: Any) -> str:
            self.crawler_name = self.config["Name"]  # rendered by now
            return super().execute(context)

        def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
            self.crawler_name = self.config["Name"]
            return super().execute_complete(context, event)

    return GlueCrawlerOperator


GlueCrawlerOperator = _crawler_operator()


def get_variable(key: str) -> str | None:
    """An Airflow Variable's stored text, None when it is not set (both APIs' spelling)."""
    if AIRFLOW_2:
        return Variable.get(key, default_var=None)  # noqa: AIR301 - Airflow 2's spelling
    return Variable.get(key, default=None)


def run_id_times(kwargs: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """``(logical_date, run_after)`` from the keywords Airflow passes ``generate_run_id``.

    Airflow 3 passes ``run_after`` (when the run may start: a scheduled run's interval end, a
    manual run's trigger time) and no logical date; Airflow 2.11 passes ``logical_date`` and
    no ``run_after``. The other of the two is None.
    """
    return kwargs.get("logical_date"), kwargs.get("run_after")


def late_run_deadline(
    interval: timedelta, callback: Callable[..., Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """``DAG(**late_run_deadline(...))``: a deadline ``interval`` after the run was queued.

    Empty before Airflow 3.1, which has no deadline alerts: there the late-run alert is
    absent (``docs/mwaa-versions.md``) and a late run is seen only by its ``dagrun_timeout``.
    """
    if not HAS_DEADLINE_ALERTS:
        return {}
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    return {
        "deadline": DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=interval,
            callback=AsyncCallback(callback, kwargs=kwargs),
        )
    }


# Operator options newer than the oldest provider this tree supports. Where the installed
# provider lacks one, the operator runs without it; docs/mwaa-versions.md says what that
# changes: without fail_on_already_running=False (provider 9.12.0, MWAA 3.0.6) a crawl that
# finds its crawler running fails the try (and is retried); without
# resume_glue_job_on_retry (9.12.0, 9.22.0) a retry after a lost deferral starts a new run.
GATED_OPTIONS = frozenset({"fail_on_already_running", "resume_glue_job_on_retry"})


def provider_options(operator: type, **options: Any) -> dict[str, Any]:
    """``Operator(**provider_options(Operator, option=value))``: the options it accepts.

    Only the options in ``GATED_OPTIONS`` may be left out; any other is an error here, so a
    misspelt option still fails the DAG's import instead of being dropped.
    """
    ungated = sorted(set(options) - GATED_OPTIONS)
    if ungated:
        raise TypeError(f"provider_options gates only {sorted(GATED_OPTIONS)}, not {ungated}")
    # A subclass's __init__ may pass the option on in **kwargs: ask every class in the MRO.
    accepted = {
        name
        for cls in operator.__mro__
        if "__init__" in vars(cls)
        for name in inspect.signature(cls.__init__).parameters
    }
    return {name: value for name, value in options.items() if name in accepted}


__all__ = [
    "AIRFLOW_2",
    "DAG",
    "GATED_OPTIONS",
    "HAS_DEADLINE_ALERTS",
    "Asset",
    "CronDataIntervalTimetable",
    "DataInterval",
    "GlueCrawlerOperator",
    "Param",
    "TimeRestriction",
    "chain",
    "conf",
    "get_current_context",
    "get_variable",
    "late_run_deadline",
    "provider_options",
    "run_id_times",
]
