"""Failure alerts: the DAG's ``on_failure_callback``.

A task's final failure (not a try that will be retried) writes its reason to the task's own
log and, when config ``alert_topic_arn`` is set, publishes one message to that SNS topic with
the Amazon provider's ``SnsNotifier``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sales_contract.rules import sns_subject
from sales_etl.config import CONFIG_VARIABLE, ConfigError, salvage_alert_topic
from sales_etl.failure_reasons import exception_text, failure_reason
from sales_etl.runtime import config_variable, pipeline_config, resolve_run_date

log = logging.getLogger(__name__)


def failure_alert(context: Mapping[str, Any], reason: str, day: str) -> tuple[str, str]:
    """The alert's subject and message for a failed task."""
    ti = context["ti"]
    subject = f"{ti.dag_id} {day}: {ti.task_id} failed (try {ti.try_number})"
    message = "\n".join(
        [
            f"DAG: {ti.dag_id}",
            f"Day: {day}",
            f"Run: {ti.run_id}",
            f"Task: {ti.task_id}",
            f"Try: {ti.try_number}",
            f"Reason: {reason}",
        ]
    )
    return sns_subject(subject), message


def alert_on_failure(context: Mapping[str, Any]) -> None:
    """Log why the task failed and, if a topic is configured, send one alert there."""
    try:
        day = resolve_run_date(context)
    except ValueError as err:
        day = f"unknown ({err})"
    try:
        cfg = pipeline_config()
    except ConfigError as err:
        # Every task fails the same way then; the alert still goes out, to the topic the
        # broken Variable names if that key is valid, saying what is broken.
        reason = (
            f"config Variable {CONFIG_VARIABLE!r} is invalid: {err} ({exception_text(context)})"
        )
        _send(context, reason, day, salvage_alert_topic(config_variable()))
        return
    _send(
        context, failure_reason(context["ti"].task_id, context, cfg, day), day, cfg.alert_topic_arn
    )


def _send(context: Mapping[str, Any], reason: str, day: str, topic_arn: str) -> None:
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    subject, message = failure_alert(context, reason, day)
    log.error("%s\n%s", subject, message)
    if not topic_arn:
        log.info("config key 'alert_topic_arn' is empty: no alert sent")
        return
    notifier = SnsNotifier(target_arn=topic_arn, subject=subject, message=message)
    # notify() rather than notifier(context): the text is final, and a reason quoting "{{"
    # must not be rendered as a template.
    notifier.notify(context)
    log.info("alert sent to %s", topic_arn)
