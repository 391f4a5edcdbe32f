"""The transform task's outcome: its summary, its reason on every try, no retry of a refusal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from airflow.exceptions import AirflowException

from local.stack_config import local_config
from sales_etl import daily_glue_job
from sales_etl.daily_glue_job import AirflowFailException, DailyGlueJobOperator
from sales_etl.run_outcome import SUMMARY_PREFIX

RUN_ID = "jr_this_run"
DAY = "2024-01-15"


class FakeTaskInstance:
    task_id = "transform"

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, **kwargs: Any) -> Any:
        return RUN_ID

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def manifest(**fields: Any) -> dict[str, Any]:
    return {
        "job_run_id": RUN_ID,
        "run_date": DAY,
        "status": "succeeded",
        "error": None,
        "rows_in": 12,
        "rows_valid": 11,
        "rows_quarantined": 1,
        "quarantine_ratio": 0.0833,
        "total_revenue": "1234.50",
        **fields,
    }


@pytest.fixture
def finish(monkeypatch):
    """Finish a transform try with a Glue event, the day's manifest being ``written``."""

    def run(event: dict[str, Any], written: dict[str, Any] | None) -> str:
        def read_manifest(bucket: str, day: str) -> dict[str, Any]:
            assert (bucket, day) == (local_config().bucket, DAY)
            if written is None:
                raise FileNotFoundError("no such key")
            return written

        monkeypatch.setattr(daily_glue_job, "pipeline_config", local_config)
        monkeypatch.setattr(daily_glue_job, "read_manifest", read_manifest)
        monkeypatch.setattr(
            daily_glue_job, "failure_reason", lambda *args: "Glue run ErrorMessage: OOM"
        )
        # The task log, as caplog sees it.
        monkeypatch.setattr(DailyGlueJobOperator, "log", logging.getLogger("transform"))
        operator = DailyGlueJobOperator(task_id="transform", job_name="sales_etl_job")
        context = {"ti": FakeTaskInstance(), "params": {}, "ds": DAY}
        return operator.execute_complete(context, event)

    return run


def test_a_succeeded_run_logs_its_summary(finish, caplog):
    with caplog.at_level(logging.INFO):
        assert finish({"status": "success", "run_id": RUN_ID}, manifest()) == RUN_ID
    assert (
        f"{SUMMARY_PREFIX} {DAY}: 12 rows in, 11 valid, 1 quarantined (ratio 0.0833),"
        " revenue 1234.50"
    ) in caplog.messages


def test_a_refused_day_fails_without_retry_naming_the_reason(finish):
    refused = manifest(status="failed", error="quarantine ratio 0.4 > 0.05")
    with pytest.raises(AirflowFailException, match=r"not retried: quarantine ratio 0\.4 > 0\.05"):
        finish({"status": "error", "run_id": RUN_ID}, refused)


@pytest.mark.parametrize(
    "written",
    [None, manifest(job_run_id="jr_an_earlier_run", status="failed", error="old refusal")],
    ids=["no manifest", "an earlier run's manifest"],
)
def test_a_run_without_its_own_verdict_keeps_its_retries_and_logs_why(finish, caplog, written):
    with pytest.raises(AirflowException) as raised, caplog.at_level(logging.ERROR):
        finish({"status": "error", "run_id": RUN_ID, "message": "FAILED"}, written)
    assert not isinstance(raised.value, AirflowFailException)
    assert "Reason: Glue run ErrorMessage: OOM" in caplog.messages


def test_a_succeeded_run_whose_manifest_is_missing_still_succeeds_and_says_so(finish, caplog):
    with caplog.at_level(logging.WARNING):
        assert finish({"status": "success", "run_id": RUN_ID}, None) == RUN_ID
    assert any("its manifest cannot be read" in message for message in caplog.messages)
