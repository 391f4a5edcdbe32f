"""The failure callback: what it says, where it says it, and that it never hides a failure."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from local.stack_config import local_config
from sales_etl import alerts
from sales_etl.failure_reasons import failure_reason
from tests.support.notifications import record_sns_notifications

TOPIC = "arn:aws:sns:us-east-1:123456789012:sales-etl-alerts"


@dataclass
class FakeTaskInstance:
    task_id: str
    dag_id: str = "sales_etl"
    run_id: str = "scheduled__2024-01-16T02:00:00+00:00"
    try_number: int = 2

    def xcom_pull(self, **kwargs: Any) -> Any:
        return None


def context(task_id: str, error: BaseException | None) -> dict[str, Any]:
    return {"ti": FakeTaskInstance(task_id), "params": {}, "ds": "2024-01-15", "exception": error}


def lambda_error(message: str) -> ValueError:
    # What LambdaInvokeFunctionOperator raises for a function error (provider 9.25.0).
    payload = json.dumps({"errorMessage": message, "errorType": "ValueError"})
    return ValueError("Lambda function execution resulted in error", {"Payload": payload})


def test_lambda_reason_is_the_functions_error_message():
    cfg = local_config()
    error = lambda_error("manifest rows_in 3 != rows_valid 2 + rows_quarantined 0")
    reason = failure_reason("post_process", context("post_process", error), cfg, "2024-01-15")
    assert reason == (
        "Lambda sales_etl_post_process ValueError:"
        " manifest rows_in 3 != rows_valid 2 + rows_quarantined 0"
    )


@pytest.mark.parametrize(
    ("marker", "waited_for"), [("_SUCCESS", "_SUCCESS"), ("_READY", "_READY"), (None, "*.csv")]
)
def test_sensor_reason_names_the_key_it_waited_for(marker, waited_for):
    cfg = local_config(bucket="acme-sales", completion_marker=marker)
    reason = failure_reason("wait_for_sales", context("wait_for_sales", None), cfg, "2024-01-15")
    assert reason.startswith(
        f"no sales file matching s3://acme-sales/raw-data/sales/order_date=2024-01-15/{waited_for}"
        " within 6:00:00 of the sensor's start"
    )


def test_transform_that_never_started_a_run_says_so():
    cfg = local_config()
    error = RuntimeError("AccessDeniedException: glue:StartJobRun")
    reason = failure_reason("transform", context("transform", error), cfg, "2024-01-15")
    assert (
        reason
        == "the Glue job did not start: RuntimeError: AccessDeniedException: glue:StartJobRun"
    )


def test_alert_names_dag_day_task_try_and_reason():
    ctx = context("post_process", None)
    subject, message = alerts.failure_alert(ctx, "Lambda x ValueError: bad ✗", "2024-01-15")
    assert subject == "sales_etl 2024-01-15: post_process failed (try 2)"
    assert message.splitlines() == [
        "DAG: sales_etl",
        "Day: 2024-01-15",
        "Run: scheduled__2024-01-16T02:00:00+00:00",
        "Task: post_process",
        "Try: 2",
        "Reason: Lambda x ValueError: bad ✗",
    ]


def test_subject_stays_within_snss_limits():
    ctx = context("post_process", None)
    ctx["ti"].dag_id = "é" * 150
    subject, _ = alerts.failure_alert(ctx, "reason", "2024-01-15")
    assert len(subject) <= 99 and subject.isascii()


@pytest.fixture
def notifier(monkeypatch):
    return record_sns_notifications(monkeypatch, sends_with="notify")


@pytest.mark.parametrize("topic", ["", TOPIC])
def test_the_reason_is_logged_and_sent_only_when_a_topic_is_set(
    monkeypatch, caplog, notifier, topic
):
    monkeypatch.setattr(alerts, "pipeline_config", lambda: local_config(alert_topic_arn=topic))
    caplog.set_level(logging.INFO, logger="sales_etl.alerts")
    error = lambda_error("manifest check failed for 2024-01-15")

    alerts.alert_on_failure(context("post_process", error))

    assert "Reason: Lambda sales_etl_post_process ValueError: manifest check failed" in caplog.text
    expected = [
        {"target_arn": topic, "subject": "sales_etl 2024-01-15: post_process failed (try 2)"}
    ]
    sent = [{k: v for k, v in kw.items() if k != "message"} for kw in notifier.sent]
    assert sent == (expected if topic else [])


def test_a_broken_config_still_alerts_the_topic_it_names(monkeypatch, caplog, notifier):
    # A typo in the Variable fails every task; the alert must not fail with it.
    broken = json.dumps({"alert_topic_arn": TOPIC, "bukcet": "acme-sales", "glue_workers": 0})
    monkeypatch.setenv("AIRFLOW_VAR_SALES_ETL_CONFIG", broken)
    caplog.set_level(logging.INFO, logger="sales_etl.alerts")

    alerts.alert_on_failure(context("transform", RuntimeError("config check failed")))

    [sent] = notifier.sent
    assert sent["target_arn"] == TOPIC
    assert "Reason: config Variable 'sales_etl_config' is invalid" in sent["message"]
    assert "'bukcet'" in sent["message"]
    assert "RuntimeError: config check failed" in sent["message"]
    assert "Day: 2024-01-15" in sent["message"]


@pytest.mark.parametrize(
    "variable", ['{"alert_topic_arn": "not-an-arn", "bukcet": 1}', "{not json", "[1]"]
)
def test_a_broken_config_without_a_valid_topic_still_logs_the_reason(
    monkeypatch, caplog, notifier, variable
):
    monkeypatch.setenv("AIRFLOW_VAR_SALES_ETL_CONFIG", variable)
    caplog.set_level(logging.INFO, logger="sales_etl.alerts")

    alerts.alert_on_failure(context("wait_for_sales", RuntimeError("boom")))

    assert notifier.sent == []
    assert "Reason: config Variable 'sales_etl_config' is invalid" in caplog.text
