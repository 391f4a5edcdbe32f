"""Lateness alert: the callback of the DAG's ``DeadlineAlert``, run by Airflow's triggerer.

When a run has not succeeded ``late_after_seconds`` after it was queued, the scheduler marks
its deadline missed and hands this coroutine to the triggerer (Airflow 3.2.1:
``airflow/models/deadline.py`` ``Deadline.handle_miss``, ``airflow/triggers/callback.py``
``CallbackTrigger.run``). There is no task context there: the coroutine gets its
``AsyncCallback`` kwargs plus ``context`` = ``{"dag_run": <the run as the REST API shows it>,
"deadline": {"id", "deadline_time"}}``, taken when the deadline was missed. It reads the
pipeline config like a task does (the ``sales_etl_config`` Variable) and publishes one message
to config ``alert_topic_arn`` with the provider's ``SnsNotifier.async_notify``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_contract.rules import parse_run_date, sns_subject
from sales_etl.config import ConfigError
from sales_etl.runtime import pipeline_config

log = logging.getLogger(__name__)

# What an on-call engineer can do about a late run, by the run's state when it was found late.
WHAT_TO_DO = {
    "queued": (
        "the run has not started: another run of this DAG is still active (runs go one at a"
        " time, and a backfill runs its days in order, all queued when it was created), or the"
        " DAG is paused. Check the DAG's runs in the Airflow UI."
    ),
    "running": (
        "open the run in the Airflow UI and find the task still going: wait_for_sales waiting"
        " means the day's completion marker has not landed (ask the producer); transform"
        " deferred means the Glue run is slow (its log: /aws-glue/jobs/output, stream"
        " <run id>-driver); a task up for retry has its error in its log. Clear a stuck task"
        " to run it again."
    ),
    "success": "nothing: the run succeeded after its deadline.",
}


@dataclass(frozen=True)
class LateRun:
    """What the scheduler told the callback about the run that missed its deadline."""

    dag_id: str
    run_id: str
    day: str
    state: str
    run_type: str
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    deadline: datetime

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> LateRun:
        run = context["dag_run"]
        return cls(
            dag_id=run["dag_id"],
            run_id=run["dag_run_id"],
            day=_day(run),
            state=str(run["state"]),
            run_type=str(run.get("run_type")),
            queued_at=_utc(run.get("queued_at")),
            start_date=_utc(run.get("start_date")),
            end_date=_utc(run.get("end_date")),
            deadline=_utc(context["deadline"]["deadline_time"]),
        )


def _day(run: Mapping[str, Any]) -> str:
    """The day the run processes: its ``run_date`` param if given, else its logical date."""
    requested = (run.get("conf") or {}).get("run_date")
    if requested:
        try:
            return parse_run_date(requested, "param 'run_date'").isoformat()
        except ValueError as err:
            return f"unknown ({err})"
    logical = _utc(run.get("logical_date"))
    return logical.date().isoformat() if logical else "unknown (the run has no logical date)"


def _utc(value: Any) -> Any:
    """A datetime from the context (a datetime, or ISO text once it went through JSON)."""
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "unknown"


def late_alert(late: LateRun, late_after: timedelta) -> tuple[str, str]:
    """The late alert's subject and message."""
    subject = f"{late.dag_id} {late.day}: late, not succeeded by {late.deadline:%Y-%m-%d %H:%M} UTC"
    if late.state == "running":
        state = f"running (started {_stamp(late.start_date)})"
    elif late.end_date and late.state in ("success", "failed"):
        state = f"{late.state} (ended {_stamp(late.end_date)})"
    else:
        state = late.state
    if late.run_type == "backfill":
        state += ", a backfill run"
    message = "\n".join(
        [
            f"DAG: {late.dag_id}",
            f"Day: {late.day}",
            f"Run: {late.run_id}",
            f"Deadline: {_stamp(late.deadline)}, {late_after} after the run was queued"
            f" ({_stamp(late.queued_at)})",
            f"State: {state}",
            f"What to do: {WHAT_TO_DO.get(late.state, 'check the run in the Airflow UI.')}",
        ]
    )
    return sns_subject(subject), message


async def alert_late_run(context: Mapping[str, Any], late_after_seconds: float) -> str:
    """Send one "late" alert for the run in ``context``; the returned text is the callback's
    recorded output. A run that has already failed is left to its failure alert."""
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier
    from asgiref.sync import sync_to_async

    late = LateRun.from_context(context)
    subject, message = late_alert(late, timedelta(seconds=late_after_seconds))
    if late.state == "failed":
        # Airflow keeps a failed run's deadline (it prunes deadlines only when a run succeeds,
        # airflow/models/dagrun.py DagRun.update_state), but the task that failed it has already
        # sent a failure alert: a second message about the same run would only be noise.
        log.info("%s: the run had already failed; its failure alert stands, no late alert", subject)
        return "not sent: the run had already failed"
    log.warning("%s\n%s", subject, message)
    # Variable.get asks the triggerer's supervisor through a synchronous call that must not run
    # on the event loop; sync_to_async is how the provider reads connections here too
    # (airflow/providers/amazon/aws/hooks/base_aws.py AwsBaseHook.get_async_conn).
    cfg = await sync_to_async(pipeline_config)()
    if not cfg.alert_topic_arn:
        raise ConfigError(
            f"config key 'alert_topic_arn' is empty: the late alert for {late.dag_id}"
            f" {late.day} (run {late.run_id}) was not sent; set it in the"
            " sales_etl_config Variable"
        )
    notifier = SnsNotifier(target_arn=cfg.alert_topic_arn, subject=subject, message=message)
    # async_notify publishes the text as it is (notifier(context) would render it as Jinja).
    await notifier.async_notify(context)
    log.info("late alert sent to %s", cfg.alert_topic_arn)
    return f"late alert sent to {cfg.alert_topic_arn}"
