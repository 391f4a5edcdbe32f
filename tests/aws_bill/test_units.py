"""The billable units of a run whose calls and figures are known, by AWS's billing rules."""

from __future__ import annotations

import pytest

from local.aws_bill import (
    AthenaQuery,
    CrawlRun,
    GlueJobRun,
    LambdaInvocation,
    RunFigures,
    Units,
    billable_units,
    by_service,
    cost_lines,
    format_day,
    price_table,
)
from local.aws_local import GLUE_ROLE, LAMBDA_ROLE_PRINCIPAL, MWAA_EXECUTION_ROLE
from local.endpoint.http.call_log import UNATTRIBUTED, Call

MB = 2**20
BUCKET = "arn:aws:s3:::sales-etl-local"
TABLE = "arn:aws:glue:us-east-1:123456789012:table/sales_etl/daily_sales"


def obj(key: str) -> str:
    return f"{BUCKET}/{key}"


# A day as the endpoint records it: (call, times made). The recorder's own shapes: ListObjects
# carries s3:prefix, HeadBucket does not; a copy is a PutObject plus a GetObject of its source.
DAY_CALLS = {
    Call(GLUE_ROLE, "s3:PutObject", obj("processed-data/daily_sales/x.parquet")): 3,
    Call(GLUE_ROLE, "s3:ListBucket", BUCKET, (("s3:prefix", "raw-data/sales/"),)): 2,
    Call(GLUE_ROLE, "s3:ListBucket", BUCKET): 1,  # HeadBucket: an "other" request, tier 2
    Call(GLUE_ROLE, "s3:GetObject", obj("raw-data/sales/order_date=2024-01-15/a.csv")): 4,
    Call(GLUE_ROLE, "s3:DeleteObject", obj("processed-data/daily_sales/old.parquet")): 5,
    Call(MWAA_EXECUTION_ROLE, "s3:ListBucket", BUCKET, (("s3:prefix", "raw-data/"),)): 1,
    Call(GLUE_ROLE, "glue:GetTable", TABLE): 2,
    Call(GLUE_ROLE, "glue:BatchCreatePartition", TABLE): 1,
    Call(MWAA_EXECUTION_ROLE, "glue:UpdatePartition", TABLE): 1,
    Call(MWAA_EXECUTION_ROLE, "glue:GetPartitions", TABLE): 3,
    Call(MWAA_EXECUTION_ROLE, "glue:StartJobRun", "job"): 1,  # billed as the run's DPU time
    Call(MWAA_EXECUTION_ROLE, "glue:GetJobRun", "job"): 7,
    Call(MWAA_EXECUTION_ROLE, "glue:StartCrawler", "crawler"): 2,
    Call(MWAA_EXECUTION_ROLE, "lambda:InvokeFunction", "fn"): 1,  # priced from REPORT lines
    Call(MWAA_EXECUTION_ROLE, "athena:StartQueryExecution", "*"): 1,  # priced by bytes
    Call(
        LAMBDA_ROLE_PRINCIPAL, "cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", "S"),)
    ): 1,
    Call(LAMBDA_ROLE_PRINCIPAL, "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"): 1,
    Call(
        LAMBDA_ROLE_PRINCIPAL, "logs:PutLogEvents", "arn:aws:logs:...:log-group:/aws/lambda/fn"
    ): 2,
    # Seeding and tests sign as no principal: not the pipeline's bill.
    Call(UNATTRIBUTED, "s3:PutObject", obj("raw-data/sales/order_date=2024-01-15/a.csv")): 50,
    Call(UNATTRIBUTED, "glue:GetPartitions", TABLE): 9,
}

FIGURES = RunFigures(
    glue_runs=(GlueJobRun("sales_etl_job", seconds=3, workers=2, worker_type="G.1X"),),
    crawls=(CrawlRun("raw", seconds=0.4), CrawlRun("processed", seconds=1.2)),
    lambda_invocations=(
        LambdaInvocation("post_process", billed_ms=350, memory_mb=256),
        LambdaInvocation("post_process", billed_ms=1001, memory_mb=256),
    ),
    athena_queries=(
        AthenaQuery("q1", bytes_scanned=1024, state="SUCCEEDED"),  # under the 10 MB minimum
        AthenaQuery("q2", bytes_scanned=15 * MB + MB // 2, state="SUCCEEDED"),  # up to 16 MB
        AthenaQuery("q3", bytes_scanned=2**30, state="FAILED"),  # failed queries are free
        AthenaQuery("q4", bytes_scanned=3 * MB, state="CANCELLED"),  # billed as scanned
        AthenaQuery("q5", bytes_scanned=0, state="SUCCEEDED", statement_type="DDL"),  # free
    ),
    custom_metrics=5,
    calls=DAY_CALLS,
)


def test_units_of_a_known_run() -> None:
    units = billable_units(FIGURES, price_table())
    assert units == Units(
        glue_job_runs=1,
        glue_job_seconds=3,
        glue_job_dpu_seconds=2 * 60,  # 2 G.1X workers, the run's 3 s billed as 60 s
        crawler_runs=2,
        crawler_seconds=pytest.approx(1.6),
        crawler_dpu_seconds=2 * 600,  # each crawl billed its 10 minutes, 1 DPU assumed
        catalog_requests=2 + 1 + 1 + 3,
        lambda_requests=2,
        lambda_gb_seconds=pytest.approx((0.350 + 1.001) * 0.25),
        athena_queries=3,
        athena_bytes_scanned=1024 + 15 * MB + MB // 2 + 3 * MB,
        athena_bytes_billed=(10 + 16 + 10) * MB,
        s3_tier1_requests=3 + 2 + 1,
        s3_tier2_requests=1 + 4,
        cloudwatch_metric_hours=5,
        cloudwatch_api_requests=1,
        sns_publishes=1,
        unpriced=("logs:PutLogEvents",),
    )


def test_a_set_of_distinct_calls_counts_each_once() -> None:
    figures = RunFigures(calls=dict.fromkeys(DAY_CALLS, 1))
    units = billable_units(figures, price_table())
    assert (units.s3_tier1_requests, units.s3_tier2_requests, units.catalog_requests) == (3, 2, 4)


def test_a_long_glue_run_and_reported_crawl_dpu_hours_bill_as_measured() -> None:
    figures = RunFigures(
        glue_runs=(GlueJobRun("j", seconds=90.2, workers=3, worker_type="G.2X"),),
        crawls=(CrawlRun("c", seconds=700, dpu_hours=0.5),),
    )
    units = billable_units(figures, price_table())
    assert units.glue_job_dpu_seconds == 6 * 91  # per second, rounded up: 3 workers x 2 DPU
    assert units.crawler_dpu_seconds == 0.5 * 3600  # AWS's own DPUHour replaces the assumption


def test_the_processed_crawler_replaced_by_partition_calls() -> None:
    """Today's DAG (two crawls) against publishing partitions (one crawl, catalog calls)."""
    prices = price_table()
    today = billable_units(FIGURES, prices)
    publish = {Call(MWAA_EXECUTION_ROLE, "glue:BatchCreatePartition", TABLE): 3}
    declared = billable_units(
        RunFigures(
            glue_runs=FIGURES.glue_runs,
            crawls=FIGURES.crawls[:1],
            calls={**FIGURES.calls, **publish},
        ),
        prices,
    )
    assert today.crawler_dpu_seconds - declared.crawler_dpu_seconds == 600
    assert declared.catalog_requests - today.catalog_requests == 3
    saved = by_service(cost_lines(today, prices)).get("Glue crawlers", 0) - by_service(
        cost_lines(declared, prices)
    ).get("Glue crawlers", 0)
    assert saved == pytest.approx(600 / 3600 * 0.44)


def test_dollars_are_units_times_the_table() -> None:
    prices = price_table(overrides={"glue_dpu_hour": 0.29})  # e.g. Flex execution
    lines = {
        (line.service, line.item): line
        for line in cost_lines(billable_units(FIGURES, prices), prices)
    }
    assert lines["Glue job", "DPU-hours"].usd == pytest.approx(120 / 3600 * 0.29)
    assert lines["Glue crawlers", "DPU-hours"].usd == pytest.approx(1200 / 3600 * 0.44)
    assert lines["Athena", "data scanned"].usd == pytest.approx(36 * MB / 2**40 * 5.0)
    assert lines["S3", "PUT/COPY/POST/LIST"].usd == pytest.approx(6 * 0.005 / 1000)
    assert lines["CloudWatch", "custom metrics"].usd == pytest.approx(5 / 730 * 0.30)


def test_free_tiers_apply_to_a_month_not_a_day() -> None:
    prices = price_table()
    units = billable_units(FIGURES, prices)
    day = by_service(cost_lines(units, prices))
    month = by_service(cost_lines(units, prices, free_tier=True))
    assert day["Lambda"] > 0 and month["Lambda"] == 0
    assert month["Glue crawlers"] == day["Glue crawlers"]  # no free tier for crawlers


def test_an_unknown_worker_type_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"unknown worker type 'Standard'"):
        GlueJobRun("j", seconds=1, workers=2, worker_type="Standard")


def test_the_day_line_names_the_total_and_what_aws_minimums_made_of_the_run() -> None:
    text = format_day(billable_units(FIGURES, price_table()), price_table())
    total = sum(
        by_service(cost_lines(billable_units(FIGURES, price_table()), price_table())).values()
    )
    assert f"AWS bill estimate ${total:.4f} (us-east-1 list prices)" in text
    assert "Glue job 1 run(s), 3 s -> 120 DPU-s (at least 60 s a run)" in text
    assert "2 crawl(s), 1.6 s -> 1200 DPU-s (at least 600 s a crawl" in text
    assert "not priced: logs:PutLogEvents" in text


def test_a_catalog_call_recorded_on_each_iam_resource_is_billed_once() -> None:
    """The endpoint records a table call on the catalog, the database and the table (IAM's
    three resources); AWS bills the request once."""
    scopes = ("catalog", "database/sales_etl", "table/sales_etl/daily_sales")
    calls = {
        Call(GLUE_ROLE, "glue:GetPartitions", f"arn:aws:glue:us-east-1:123456789012:{scope}"): 4
        for scope in scopes
    }
    units = billable_units(RunFigures(calls=calls), price_table())
    assert units.catalog_requests == 4
