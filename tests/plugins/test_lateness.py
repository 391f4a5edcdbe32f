"""The late-run callback, called the way Airflow 3.2.1's triggerer calls it (no stack needed).

The context is built as the scheduler builds it when a deadline is missed (the run as the REST
API's ``DAGRunResponse`` dumps it, plus the deadline), sent through a trigger's kwargs
encoding, and handed to Airflow's own ``CallbackTrigger``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from local.stack_config import LOCAL_CONFIG_VARIABLE
from sales_etl import lateness
from sales_etl.config import ConfigError
from tests.support.notifications import record_sns_notifications

TOPIC = "arn:aws:sns:us-east-1:123456789012:sales-etl-alerts"
QUEUED = datetime(2024, 1, 19, 2, 0, 3, tzinfo=UTC)
EIGHT_HOURS = 8 * 3600.0


def dag_run(**overrides: Any) -> dict[str, Any]:
    """The ``dag_run`` part of the context, exactly as ``Deadline.handle_miss`` builds it."""
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse

    fields: dict[str, Any] = {
        "run_id": "scheduled__2024-01-19T02:00:00+00:00",
        "dag_id": "sales_etl",
        "logical_date": datetime(2024, 1, 18, 2, tzinfo=UTC),
        "queued_at": QUEUED,
        "start_date": QUEUED + timedelta(seconds=2),
        "end_date": None,
        "duration": None,
        "data_interval_start": datetime(2024, 1, 18, 2, tzinfo=UTC),
        "data_interval_end": datetime(2024, 1, 19, 2, tzinfo=UTC),
        "run_after": datetime(2024, 1, 19, 2, tzinfo=UTC),
        "last_scheduling_decision": None,
        "run_type": "scheduled",
        "state": "running",
        "triggered_by": "timetable",
        "triggering_user_name": None,
        "conf": {},
        "note": None,
        "dag_versions": [],
        "bundle_version": None,
        "dag_model": SimpleNamespace(dag_display_name="sales_etl"),
        "partition_key": None,
        **overrides,
    }
    return DAGRunResponse.model_validate(SimpleNamespace(**fields)).model_dump(mode="json")


def missed(run: dict[str, Any]) -> dict[str, Any]:
    """The callback's kwargs after the trip through the trigger table, as the triggerer reads
    them (``Trigger.encrypt_kwargs`` / ``_decrypt_kwargs``)."""
    from airflow.models.trigger import Trigger

    context = {
        "dag_run": run,
        "deadline": {"id": uuid.uuid4(), "deadline_time": QUEUED + timedelta(hours=8)},
    }
    kwargs = {"late_after_seconds": EIGHT_HOURS, "context": context}
    return Trigger._decrypt_kwargs(Trigger.encrypt_kwargs(kwargs))


def run_in_triggerer(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Airflow's ``CallbackTrigger`` running the callback by its import path; its last event."""
    from airflow.triggers.callback import CallbackTrigger

    async def last_event() -> dict[str, Any]:
        trigger = CallbackTrigger("sales_etl.lateness.alert_late_run", kwargs)
        events = [event.payload async for event in trigger.run()]
        return events[-1]

    return asyncio.run(last_event())


@pytest.fixture
def notifier(monkeypatch):
    return record_sns_notifications(monkeypatch, sends_with="async_notify")


@pytest.fixture
def config(monkeypatch):
    """The config Variable, through Airflow's environment-variable backend (as in a task)."""

    def set_config(value: dict | str) -> None:
        """Keys over the local stack's config, or the Variable's raw text."""
        text = value if isinstance(value, str) else json.dumps({**LOCAL_CONFIG_VARIABLE, **value})
        monkeypatch.setenv("AIRFLOW_VAR_SALES_ETL_CONFIG", text)

    set_config({"alert_topic_arn": TOPIC})
    return set_config


def test_a_late_run_sends_one_message_naming_day_run_deadline_and_what_to_do(notifier, config):
    event = run_in_triggerer(missed(dag_run()))

    assert event == {"state": "success", "body": f"late alert sent to {TOPIC}"}
    [sent] = notifier.sent
    assert sent["target_arn"] == TOPIC
    assert sent["subject"] == "sales_etl 2024-01-18: late, not succeeded by 2024-01-19 10:00 UTC"
    lines = sent["message"].splitlines()
    assert lines[:5] == [
        "DAG: sales_etl",
        "Day: 2024-01-18",
        "Run: scheduled__2024-01-19T02:00:00+00:00",
        "Deadline: 2024-01-19 10:00:03 UTC, 8:00:00 after the run was queued"
        " (2024-01-19 02:00:03 UTC)",
        "State: running (started 2024-01-19 02:00:05 UTC)",
    ]
    assert lines[5] == f"What to do: {lateness.WHAT_TO_DO['running']}"


def test_the_run_date_param_names_the_day_and_a_queued_backfill_run_says_why(notifier, config):
    run = dag_run(conf={"run_date": "2024-01-10"}, state="queued", run_type="backfill")
    run_in_triggerer(missed(run))

    [sent] = notifier.sent
    assert sent["subject"].startswith("sales_etl 2024-01-10: late")
    assert "State: queued, a backfill run" in sent["message"]
    assert "a backfill runs its days in order" in sent["message"]


def test_a_run_that_succeeded_after_its_deadline_says_there_is_nothing_to_do(notifier, config):
    ended = QUEUED + timedelta(hours=9)
    run_in_triggerer(missed(dag_run(state="success", end_date=ended)))

    [sent] = notifier.sent
    assert "State: success (ended 2024-01-19 11:00:03 UTC)" in sent["message"]
    assert sent["message"].endswith("What to do: nothing: the run succeeded after its deadline.")


def test_a_run_that_already_failed_is_left_to_its_failure_alert(notifier, config, caplog):
    caplog.set_level(logging.INFO, logger="sales_etl.lateness")
    config("not even JSON")  # never read: nothing is sent

    event = run_in_triggerer(missed(dag_run(state="failed", end_date=QUEUED)))

    assert event == {"state": "success", "body": "not sent: the run had already failed"}
    assert notifier.sent == []
    assert "the run had already failed" in caplog.text


def test_an_empty_alert_topic_fails_the_callback_naming_the_key(notifier, config):
    config({"alert_topic_arn": ""})
    with pytest.raises(ConfigError, match=r"config key 'alert_topic_arn' is empty"):
        asyncio.run(lateness.alert_late_run(**missed(dag_run())))
    assert notifier.sent == []
    # In the triggerer the error is the callback's recorded failure.
    event = run_in_triggerer(missed(dag_run()))
    assert event["state"] == "failed"
    assert "config key 'alert_topic_arn' is empty" in event["body"]


def test_a_bad_config_variable_names_its_key(notifier, config):
    config({"alert_topic_arn": "my-topic"})
    with pytest.raises(ConfigError, match=r"'alert_topic_arn' must be empty or an SNS topic ARN"):
        asyncio.run(lateness.alert_late_run(**missed(dag_run())))


def test_context_times_are_read_as_datetimes_or_iso_text():
    as_text = {"dag_run": dag_run(), "deadline": {"deadline_time": "2024-01-19T10:00:03Z"}}
    as_datetime = {
        "dag_run": dag_run(),
        "deadline": {"deadline_time": datetime(2024, 1, 19, 10, 0, 3, tzinfo=UTC)},
    }
    assert lateness.LateRun.from_context(as_text) == lateness.LateRun.from_context(as_datetime)


def test_subject_stays_within_snss_limits():
    late = lateness.LateRun.from_context(
        {
            "dag_run": dag_run(dag_id="é" * 150),
            "deadline": {"deadline_time": QUEUED},
        }
    )
    subject, _ = lateness.late_alert(late, timedelta(hours=8))
    assert len(subject) <= 99 and subject.isascii()
