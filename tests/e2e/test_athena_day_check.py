"""check_day in the real DAG's runs: each day's query, as the endpoint's Athena ran it.

No run of its own: it reads what the session's two DAG runs (``completed``) left in the
endpoint's query history, the S3 results and the task's XCom.
"""

from __future__ import annotations

import json

import pytest

from local.aws_local import MWAA_EXECUTION_ROLE, REGION
from local.endpoint.athena.api import query_history
from local.endpoint.http.call_recorder import ACCOUNT
from sales_contract.layout import manifest_key
from sales_etl.athena_check import PASSED_PREFIX, compare
from sales_etl.day_queries import day_check_sql, result_rows
from tests.support.pipeline import DAYS, Pipeline, RecordedRuns, latest_xcom

pytestmark = pytest.mark.e2e


def test_each_day_was_queried_through_athena_and_agrees_with_its_manifest(
    pipeline: Pipeline, completed: RecordedRuns
) -> None:
    cfg = pipeline.cfg
    athena, s3 = pipeline.aws.client("athena"), pipeline.aws.client("s3")
    history = {query["QueryExecutionId"]: query for query in query_history()}
    for day in DAYS:
        query_id = latest_xcom(pipeline.airflow_home, "check_day", day)
        query = history[query_id]
        assert query["Query"] == day_check_sql(cfg.glue_database, day)
        assert query["Principal"] == MWAA_EXECUTION_ROLE
        assert query["WorkGroup"] == cfg.athena_workgroup
        assert query["QueryExecutionContext"]["Database"] == cfg.glue_database
        assert query["Status"]["State"] == "SUCCEEDED", query["Status"]
        # Where Athena writes it, under the prefix the bucket's lifecycle expires.
        output = query["ResultConfiguration"]["OutputLocation"]
        assert output == f"s3://{cfg.bucket}/{cfg.athena_results_prefix}{query_id}.csv"
        s3.head_object(Bucket=cfg.bucket, Key=f"{cfg.athena_results_prefix}{query_id}.csv")

        # The row the task compared, read back: it matches the manifest, and not vacuously.
        [row] = result_rows(athena.get_query_results(QueryExecutionId=query_id))
        manifest = json.loads(
            s3.get_object(Bucket=cfg.bucket, Key=manifest_key(day))["Body"].read()
        )
        assert compare(row, manifest) == []
        assert (row["revenue"], int(row["orders"])) == (
            manifest["total_revenue"],
            manifest["rows_valid"],
        )
        assert int(row["customers"]) > 0 and row["customers"] == row["expected_customers"]
        assert f"{PASSED_PREFIX} {day}" in completed.results[day].log_file.read_text()


def test_later_day_carries_the_earlier_days_customers(
    pipeline: Pipeline, completed: RecordedRuns
) -> None:
    athena = pipeline.aws.client("athena")
    counts = []
    for day in DAYS:
        query_id = latest_xcom(pipeline.airflow_home, "check_day", day)
        [row] = result_rows(athena.get_query_results(QueryExecutionId=query_id))
        counts.append(int(row["customers"]))
    # customer_metrics holds running totals: a later day has at least the earlier customers.
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_the_queries_are_recorded_on_the_workgroup_for_the_policy_check(
    pipeline: Pipeline, completed: RecordedRuns
) -> None:
    # What tests/e2e/test_recorded_calls_allowed.py evaluates against the MWAA policy.
    workgroup = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{pipeline.cfg.athena_workgroup}"
    athena_calls = {
        (call.action, call.resource)
        for call in completed.calls
        if call.principal == MWAA_EXECUTION_ROLE and call.action.startswith("athena:")
    }
    assert athena_calls == {
        ("athena:StartQueryExecution", workgroup),
        ("athena:GetQueryExecution", workgroup),
        ("athena:GetQueryResults", workgroup),
    }
