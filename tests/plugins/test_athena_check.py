"""check_day's post_execute hook: Athena's row against the run's manifest, and the alert."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sales_etl import athena_check
from sales_etl.config import PipelineConfig
from sales_etl.failure_reasons import failure_reason

CFG = PipelineConfig(
    bucket="sales-etl-unit",
    glue_role_arn="arn:aws:iam::123456789012:role/glue",
    alert_topic_arn="",
    athena_workgroup="analytics",
)
DAY = "2024-01-15"
RUN_ID = "jr_unit"
MANIFEST = {"job_run_id": RUN_ID, "run_date": DAY, "total_revenue": "109.97", "rows_valid": 3}
AGREEING = {
    "revenue": "109.97",
    "orders": "3",
    "regions": "2",
    "customers": "2",
    "expected_customers": "2",
    "missing_customers": "0",
    "unexpected_customers": "0",
}


class FakeHook:
    """The AthenaHook's get_query_results: one page, header row first, as Athena returns it."""

    def __init__(self, row: dict[str, str]) -> None:
        self.row = row
        self.asked: list[str] = []

    def get_query_results(self, query_execution_id: str) -> dict[str, Any]:
        self.asked.append(query_execution_id)
        rows = [list(self.row), list(self.row.values())]
        return {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in r]} for r in rows]}}


def context_for(row: dict[str, str]) -> dict[str, Any]:
    ti = SimpleNamespace(
        xcom_pull=lambda task_ids, key: RUN_ID if task_ids == "transform" else None
    )
    return {"task": SimpleNamespace(hook=FakeHook(row)), "ti": ti, "params": {}, "ds": DAY}


@pytest.fixture(autouse=True)
def manifest(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    written = dict(MANIFEST)
    monkeypatch.setattr(athena_check, "pipeline_config", lambda: CFG)
    monkeypatch.setattr(athena_check, "read_manifest", lambda bucket, day: written)
    return written


def test_agreeing_tables_pass_and_the_hook_read_the_operators_query() -> None:
    context = context_for(AGREEING)
    athena_check.check_day_results(context, "q-1")
    assert context["task"].hook.asked == ["q-1"]


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"revenue": "109.96"}, "daily_sales revenue 109.96, manifest total_revenue 109.97"),
        ({"revenue": None}, "daily_sales revenue None, manifest total_revenue 109.97"),
        ({"orders": "4"}, "daily_sales orders 4, manifest rows_valid 3"),
        (
            {"missing_customers": "1", "customers": "1"},
            "customer_metrics has 1 customer rows as of the day, 2 expected",
        ),
        ({"unexpected_customers": "1", "customers": "3"}, "0 missing, 1 unexpected"),
        # The same customers, one of them twice.
        ({"customers": "3"}, "customer_metrics has 3 customer rows as of the day, 2 expected"),
    ],
)
def test_a_mismatch_fails_without_retries_and_the_alert_names_it(
    changed: dict[str, str | None], named: str
) -> None:
    context = context_for({**AGREEING, **changed})
    with pytest.raises(AirflowFailException) as failure:
        athena_check.check_day_results(context, "q-2")
    message = str(failure.value)
    assert message.startswith(athena_check.MISMATCH_PREFIX)
    assert named in message and "Athena query q-2" in message and RUN_ID in message

    reason = failure_reason("check_day", {**context, "exception": failure.value}, CFG, DAY)
    assert named in reason
    assert f"Athena check of {DAY}'s published tables (workgroup analytics" in reason


def test_another_runs_manifest_is_not_compared(manifest: dict[str, Any]) -> None:
    manifest["job_run_id"] = "jr_older"
    with pytest.raises(LookupError, match="written by run jr_older"):
        athena_check.check_day_results(context_for(AGREEING), "q-3")


def test_a_query_that_returns_no_row_fails() -> None:
    context = context_for(AGREEING)
    context["task"].hook.get_query_results = lambda _id: {
        "ResultSet": {"Rows": [{"Data": [{"VarCharValue": k} for k in AGREEING]}]}
    }
    with pytest.raises(AirflowFailException, match="returned 0 rows, not 1"):
        athena_check.check_day_results(context, "q-4")
