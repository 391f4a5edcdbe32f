"""Clients unchanged against the local Athena: PyAthena, the Amazon provider's AthenaSQLHook
and a common-sql check over it, the catalog calls, the history and StopQueryExecution."""

from __future__ import annotations

import json
import uuid

import pytest

from local.aws_local import MWAA_EXECUTION_ROLE
from local.endpoint import RunningEndpoint
from local.endpoint.athena.api import query_history
from plugins.sales_etl.day_queries import AthenaQueryFailed, run_athena_query
from tests.athena import tables
from tests.athena.athena_client import Athena
from tests.support.endpoint import Aws

DB = "athena_clients"


@pytest.fixture(scope="module")
def lake(aws: Aws) -> str:
    bucket = f"athena-clients-{uuid.uuid4().hex[:8]}"
    tables.create(aws, bucket, DB)
    return bucket


def test_pyathena_cursor_reads_typed_rows(
    endpoint: RunningEndpoint, athena: Athena, lake: str
) -> None:
    from pyathena import connect

    creds = endpoint.clients.credentials("LOCALDEVELOPER")
    cursor = connect(
        s3_staging_dir=athena.output,
        region_name="us-east-1",
        endpoint_url=endpoint.url,
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        schema_name=DB,
        poll_interval=0.02,
    ).cursor()
    cursor.execute(
        "SELECT region, revenue, orders FROM daily_sales "
        "WHERE order_date = '2024-01-15' ORDER BY region"
    )
    expected = [
        (r["region"], r["revenue"], r["orders"]) for r in tables.daily_sales_rows("2024-01-15")
    ]
    assert cursor.fetchall() == expected


def test_provider_hook_and_sql_check(
    endpoint: RunningEndpoint, athena: Athena, lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.athena_sql import AthenaSQLHook
    from airflow.providers.common.sql.operators.sql import SQLCheckOperator

    creds = endpoint.clients.credentials("LOCALMWAAEXECUTIONROLE")
    conn = {
        "conn_type": "athena",
        "login": creds["AWS_ACCESS_KEY_ID"],
        "password": creds["AWS_SECRET_ACCESS_KEY"],
        "extra": {
            "region_name": "us-east-1",
            "endpoint_url": endpoint.url,
            "s3_staging_dir": athena.output,
            "poll_interval": 0.02,
            "schema_name": DB,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_ATHENA_LOCAL", json.dumps(conn))
    hook = AthenaSQLHook(athena_conn_id="athena_local")
    assert hook.get_records("SELECT count(*) FROM daily_sales") == [
        (sum(len(tables.daily_sales_rows(d)) for d in tables.DAYS),)
    ]
    check = SQLCheckOperator(
        task_id="check", conn_id="athena_local", sql="SELECT count(*) > 0 FROM raw_sales"
    )
    check.execute(context={})
    failing = SQLCheckOperator(
        task_id="failing", conn_id="athena_local", sql="SELECT count(*) = 0 FROM raw_sales"
    )
    with pytest.raises(Exception, match="Test failed"):
        failing.execute(context={})
    # The endpoint's history names who ran each query: here the MWAA execution role.
    mine = [q for q in query_history() if q["Principal"] == MWAA_EXECUTION_ROLE]
    assert [q["Query"] for q in mine[-3:]] == [
        "SELECT count(*) FROM daily_sales",
        "SELECT count(*) > 0 FROM raw_sales",
        "SELECT count(*) = 0 FROM raw_sales",
    ]
    assert all(q["Status"]["State"] == "SUCCEEDED" for q in mine[-3:])


def test_provider_athena_operator(
    endpoint: RunningEndpoint, athena: Athena, lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    creds = endpoint.clients.credentials("LOCALMWAAEXECUTIONROLE")
    conn = {
        "conn_type": "aws",
        "login": creds["AWS_ACCESS_KEY_ID"],
        "password": creds["AWS_SECRET_ACCESS_KEY"],
        "extra": {"region_name": "us-east-1", "endpoint_url": endpoint.url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_ATHENA_LOCAL", json.dumps(conn))
    common = {"database": DB, "output_location": athena.output, "sleep_time": 0}
    query = AthenaOperator(
        task_id="query", query="SELECT count(*) FROM daily_sales", aws_conn_id="aws_athena_local",
        **common,
    )  # fmt: skip
    query_id = query.execute(context={})
    assert athena.wait(query_id)["Status"]["State"] == "SUCCEEDED"
    failing = AthenaOperator(
        task_id="failing", query="SELECT * FROM nope", aws_conn_id="aws_athena_local", **common
    )
    with pytest.raises(Exception, match="TABLE_NOT_FOUND"):
        failing.execute(context={})


def test_day_queries_run_through_the_plugin_helper(aws: Aws, athena: Athena, lake: str) -> None:
    from plugins.sales_etl import day_queries

    rows = run_athena_query(
        aws.athena,
        "SELECT region, sum(revenue) AS revenue FROM daily_sales "
        "WHERE order_date = '2024-01-16' GROUP BY region ORDER BY region",
        database=DB,
        output_location=athena.output,
        poll_seconds=0.02,
    )
    assert rows == [
        {"region": r["region"], "revenue": str(r["revenue"])}
        for r in tables.daily_sales_rows("2024-01-16")
    ]
    with pytest.raises(AthenaQueryFailed, match="TABLE_NOT_FOUND"):
        run_athena_query(
            aws.athena,
            "SELECT * FROM nope",
            database=DB,
            output_location=athena.output,
            poll_seconds=0.02,
        )
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        day_queries.daily_sales_totals_sql(DB, "2024-1-5")


def test_catalog_calls_and_history(aws: Aws, athena: Athena, lake: str) -> None:
    names = [
        d["Name"] for d in aws.athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]
    ]
    assert DB in names
    metadata = aws.athena.get_table_metadata(
        CatalogName="AwsDataCatalog", DatabaseName=DB, TableName="daily_sales"
    )["TableMetadata"]
    assert [c["Name"] for c in metadata["PartitionKeys"]] == ["order_date"]
    listed = aws.athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB)[
        "TableMetadataList"
    ]
    assert {t["Name"] for t in listed} >= {"daily_sales", "raw_sales", "raw_customers"}
    assert aws.athena.get_work_group(WorkGroup="primary")["WorkGroup"]["Name"] == "primary"
    ok, bad = athena.start("SELECT 1"), athena.start("SELECT * FROM nope")
    athena.wait(ok), athena.wait(bad)
    history = aws.athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    assert history[:2] == [bad, ok]  # newest first
    batch = aws.athena.batch_get_query_execution(QueryExecutionIds=[ok, bad, "missing"])
    states = {e["QueryExecutionId"]: e["Status"]["State"] for e in batch["QueryExecutions"]}
    assert states == {ok: "SUCCEEDED", bad: "FAILED"}
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "missing"
    with pytest.raises(aws.athena.exceptions.InvalidRequestException):
        aws.athena.get_query_results(QueryExecutionId=bad)


def test_stop_query_execution_cancels(aws: Aws, athena: Athena, lake: str) -> None:
    # Ten copies of the table cross-joined: far longer than the stop takes to arrive.
    joined = ", ".join(f"{DB}.raw_sales t{i}" for i in range(10))
    query_id = athena.start(f"SELECT count(*) FROM {joined}")
    aws.athena.stop_query_execution(QueryExecutionId=query_id)
    assert athena.wait(query_id)["Status"]["State"] == "CANCELLED"
