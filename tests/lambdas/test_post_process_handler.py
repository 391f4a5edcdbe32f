"""Tests for the post-process Lambda handler, against moto in-process (S3, CloudWatch, SNS)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.post_process.handler import (
    CheckFailedError,
    InvalidEventError,
    ManifestError,
    lambda_handler,
)
from sales_contract.lambda_environment import VARIABLES as FUNCTION_ENVIRONMENT

REGION = "us-east-1"
BUCKET = "sales-etl-test"
RUN_DATE = "2024-01-15"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, fake_aws_credentials: None) -> None:
    for name in FUNCTION_ENVIRONMENT:  # the function's settings come from each test
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


def make_manifest(**overrides: Any) -> dict[str, Any]:
    """A consistent manifest: 200 rows in, 196 valid, 4 quarantined for two reasons."""
    manifest: dict[str, Any] = {
        "schema_version": 1,
        "run_date": RUN_DATE,
        "job_run_id": "jr_0123456789abcdef",
        "status": "succeeded",
        "error": None,
        "rows_in": 200,
        "rows_valid": 196,
        "rows_quarantined": 4,
        "quarantine_reasons": {"non_numeric_price": 3, "unknown_customer": 1},
        "quarantine_ratio": 0.02,
        "max_quarantine_ratio": 0.05,
        "total_revenue": "12345.67",
        "inputs": {
            "sales": f"s3://{BUCKET}/raw-data/sales/order_date={RUN_DATE}/",
            "customers": f"s3://{BUCKET}/raw-data/customers/snapshot_date={RUN_DATE}/",
        },
        "outputs": {
            "daily_sales": f"s3://{BUCKET}/processed-data/daily_sales/order_date={RUN_DATE}/",
            "customer_daily": f"s3://{BUCKET}/processed-data/customer_daily/order_date={RUN_DATE}/",
            "customer_metrics": (
                f"s3://{BUCKET}/processed-data/customer_metrics/as_of_date={RUN_DATE}/"
            ),
            "quarantine": f"s3://{BUCKET}/quarantine/sales/order_date={RUN_DATE}/",
        },
    }
    manifest.update(overrides)
    return manifest


def manifest_key(run_date: str = RUN_DATE) -> str:
    return f"manifests/run_date={run_date}/manifest.json"


@pytest.fixture
def put_manifest(aws: None) -> Callable[..., str]:
    """Write a manifest (dict -> JSON, bytes/str as is) and return its s3:// URI."""

    def _put(body: dict[str, Any] | str | bytes, key: str | None = None) -> str:
        key = key or manifest_key()
        data = json.dumps(body) if isinstance(body, dict) else body
        boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=data)
        return f"s3://{BUCKET}/{key}"

    return _put


@pytest.fixture
def topic_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """An SNS topic set as SNS_TOPIC_ARN, with an SQS queue subscribed; returns the queue URL."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="sales-etl-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="sales-etl-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("SNS_TOPIC_ARN", topic_arn)
    return queue_url


# --------------------------------------------------------------------------- helpers

METRICS = ("RowsIn", "RowsValid", "RowsQuarantined", "QuarantineRatio", "Revenue")


def metric_sums(namespace: str, pipeline: str) -> dict[str, float]:
    """Sum of each pipeline metric over the last few minutes, read back from CloudWatch."""
    now = datetime.now(UTC)
    response = boto3.client("cloudwatch", region_name=REGION).get_metric_data(
        MetricDataQueries=[
            {
                "Id": name.lower(),
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": "Pipeline", "Value": pipeline}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for name in METRICS
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
    )
    by_id = {name.lower(): name for name in METRICS}
    return {
        by_id[result["Id"]]: sum(result["Values"])
        for result in response["MetricDataResults"]
        if result["Values"]
    }


def published_metric_names(namespace: str = "SalesEtl") -> list[str]:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    return sorted(m["MetricName"] for m in metrics)


def received(queue_url: str) -> list[dict[str, Any]]:
    messages = (
        boto3.client("sqs", region_name=REGION)
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        .get("Messages", [])
    )
    # SNS wraps the notification in a JSON envelope with Subject and Message.
    return [json.loads(m["Body"]) for m in messages]


def event(uri: str, **extra: Any) -> dict[str, Any]:
    return {"run_date": RUN_DATE, "manifest_uri": uri, **extra}


# --------------------------------------------------------------------------- happy paths


def test_clean_run_publishes_metrics_and_returns_summary(
    put_manifest: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("METRIC_NAMESPACE", "SalesEtlTest")
    monkeypatch.setenv("PIPELINE_NAME", "sales_etl_dev")
    uri = put_manifest(
        make_manifest(
            rows_in=150,
            rows_valid=150,
            rows_quarantined=0,
            quarantine_reasons={},
            total_revenue="9876.50",
        )
    )
    caplog.set_level(logging.INFO, logger="post_process")

    summary = lambda_handler(event(uri), None)

    assert summary == {
        "run_date": RUN_DATE,
        "job_run_id": "jr_0123456789abcdef",
        "rows_in": 150,
        "rows_valid": 150,
        "rows_quarantined": 0,
        "quarantine_ratio": 0.0,
        "max_quarantine_ratio": 0.05,
        "quarantine_reasons": {},
        "total_revenue": "9876.50",
        "notified": False,
        "checks": "passed",
    }
    assert json.loads(json.dumps(summary)) == summary
    assert metric_sums("SalesEtlTest", "sales_etl_dev") == {
        "RowsIn": 150.0,
        "RowsValid": 150.0,
        "RowsQuarantined": 0.0,
        "QuarantineRatio": 0.0,
        "Revenue": 9876.5,
    }
    summary_lines = [r.getMessage() for r in caplog.records if r.name == "post_process"]
    assert len(summary_lines) == 1
    assert f"run_date={RUN_DATE}" in summary_lines[0]
    assert "rows_in=150" in summary_lines[0]


def test_defaults_for_namespace_and_pipeline(put_manifest: Callable[..., str]) -> None:
    lambda_handler(event(put_manifest(make_manifest())), None)

    sums = metric_sums("SalesEtl", "sales_etl")
    assert sums["RowsIn"] == 200.0
    assert sums["RowsQuarantined"] == 4.0
    assert sums["QuarantineRatio"] == pytest.approx(0.02)
    assert sums["Revenue"] == pytest.approx(12345.67)


@pytest.mark.parametrize("topic", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_quarantined_rows_without_topic_skip_notification(
    put_manifest: Callable[..., str], monkeypatch: pytest.MonkeyPatch, topic: str | None
) -> None:
    if topic is not None:
        monkeypatch.setenv("SNS_TOPIC_ARN", topic)

    summary = lambda_handler(event(put_manifest(make_manifest())), None)

    assert summary["notified"] is False
    assert summary["rows_quarantined"] == 4
    assert summary["quarantine_ratio"] == pytest.approx(0.02)
    assert summary["quarantine_reasons"] == {"non_numeric_price": 3, "unknown_customer": 1}


def test_quarantined_rows_notify_topic(put_manifest: Callable[..., str], topic_queue: str) -> None:
    summary = lambda_handler(event(put_manifest(make_manifest())), None)

    assert summary["notified"] is True
    [notification] = received(topic_queue)
    assert RUN_DATE in notification["Subject"]
    assert "4 of 200 rows quarantined" in notification["Subject"]
    assert "threshold exceeded" not in notification["Subject"]
    message = notification["Message"]
    assert RUN_DATE in message
    assert "non_numeric_price: 3" in message
    assert "unknown_customer: 1" in message
    assert f"s3://{BUCKET}/quarantine/sales/order_date={RUN_DATE}/" in message


def test_clean_run_with_topic_does_not_notify(
    put_manifest: Callable[..., str], topic_queue: str
) -> None:
    uri = put_manifest(
        make_manifest(rows_in=10, rows_valid=10, rows_quarantined=0, quarantine_reasons={})
    )

    assert lambda_handler(event(uri), None)["notified"] is False
    assert received(topic_queue) == []


# --------------------------------------------------------------------------- thresholds


def test_ratio_exceeded_raises_after_publishing_and_notifying(
    put_manifest: Callable[..., str], topic_queue: str
) -> None:
    uri = put_manifest(make_manifest())  # 4 / 200 = 0.02

    with pytest.raises(CheckFailedError) as excinfo:
        lambda_handler(event(uri, max_quarantine_ratio=0.01), None)

    assert excinfo.value.check == "quarantine_ratio"
    message = str(excinfo.value)
    assert message.startswith(f"run_date={RUN_DATE}: check 'quarantine_ratio' failed")
    assert "0.0200 > max_quarantine_ratio 0.0100" in message
    # The bad day is the one whose numbers must reach the dashboard and the inbox.
    assert metric_sums("SalesEtl", "sales_etl")["QuarantineRatio"] == pytest.approx(0.02)
    [notification] = received(topic_queue)
    assert "threshold exceeded" in notification["Subject"]


def test_ratio_at_threshold_passes(put_manifest: Callable[..., str]) -> None:
    summary = lambda_handler(event(put_manifest(make_manifest()), max_quarantine_ratio=0.02), None)
    assert summary["checks"] == "passed"
    assert summary["max_quarantine_ratio"] == 0.02


def test_environment_threshold_applies_and_event_wins(
    put_manifest: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = put_manifest(make_manifest())  # ratio 0.02
    monkeypatch.setenv("MAX_QUARANTINE_RATIO", "0.01")

    with pytest.raises(CheckFailedError, match=re.escape("max_quarantine_ratio 0.0100")):
        lambda_handler(event(uri), None)

    summary = lambda_handler(event(uri, max_quarantine_ratio=0.5), None)
    assert summary["max_quarantine_ratio"] == 0.5


def test_bad_environment_threshold_is_named(
    put_manifest: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_QUARANTINE_RATIO", "five percent")
    with pytest.raises(InvalidEventError, match="MAX_QUARANTINE_RATIO"):
        lambda_handler(event(put_manifest(make_manifest())), None)


# --------------------------------------------------------------------------- failed checks


@pytest.mark.parametrize(
    ("overrides", "check", "detail"),
    [
        pytest.param(
            {"rows_valid": 195},
            "reconciliation",
            "rows_in (200) != rows_valid (195) + rows_quarantined (4)",
            id="reconciliation",
        ),
        pytest.param(
            {"quarantine_reasons": {"non_numeric_price": 3}},
            "quarantine_reasons",
            "reasons sum to 3 but rows_quarantined is 4",
            id="reasons-sum",
        ),
        pytest.param(
            {"status": "failed", "error": "no readable rows in partition"},
            "status",
            "Glue job reported status 'failed': no readable rows in partition",
            id="status-failed",
        ),
        pytest.param(
            {
                "rows_in": 0,
                "rows_valid": 0,
                "rows_quarantined": 0,
                "quarantine_reasons": {},
                "quarantine_ratio": 0.0,
                "total_revenue": "0.00",
            },
            "rows_in",
            "the run claims success but read no rows",
            id="succeeded-with-no-rows",
        ),
        pytest.param(
            {"run_date": "2024-01-14"},
            "run_date",
            "is for run_date '2024-01-14'",
            id="run-date-mismatch",
        ),
    ],
)
def test_failed_check_raises_and_publishes_nothing(
    put_manifest: Callable[..., str],
    topic_queue: str,
    overrides: dict[str, Any],
    check: str,
    detail: str,
) -> None:
    uri = put_manifest(make_manifest(**overrides))

    with pytest.raises(CheckFailedError) as excinfo:
        lambda_handler(event(uri), None)

    assert excinfo.value.check == check
    assert excinfo.value.run_date == RUN_DATE
    assert str(excinfo.value).startswith(f"run_date={RUN_DATE}: check '{check}' failed: ")
    assert detail in str(excinfo.value)
    # Numbers that failed an integrity check are not trustworthy enough to publish.
    assert published_metric_names() == []
    assert received(topic_queue) == []


def test_a_manifest_of_another_glue_run_fails_even_when_it_succeeded(
    put_manifest: Callable[..., str],
) -> None:
    # An earlier run of the day left this manifest; the run the DAG started wrote none.
    uri = put_manifest(make_manifest(job_run_id="jr_earlier"))
    with pytest.raises(CheckFailedError) as excinfo:
        lambda_handler(event(uri, job_run_id="jr_this_run"), None)
    assert excinfo.value.check == "job_run_id"
    assert "written by Glue run 'jr_earlier', not by run 'jr_this_run'" in str(excinfo.value)
    assert published_metric_names() == []


def test_the_run_that_wrote_the_manifest_passes(put_manifest: Callable[..., str]) -> None:
    uri = put_manifest(make_manifest())
    summary = lambda_handler(event(uri, job_run_id="jr_0123456789abcdef"), None)
    assert summary["job_run_id"] == "jr_0123456789abcdef"


@pytest.mark.parametrize("job_run_id", [None, "", 7])
def test_a_job_run_id_that_names_no_run_is_refused(
    put_manifest: Callable[..., str], job_run_id: object
) -> None:
    with pytest.raises(InvalidEventError, match=r"event\.job_run_id must be the id"):
        lambda_handler(event(put_manifest(make_manifest()), job_run_id=job_run_id), None)


def test_failed_status_needs_no_counts(put_manifest: Callable[..., str]) -> None:
    manifest = {"schema_version": 1, "run_date": RUN_DATE, "status": "failed", "error": "boom"}
    with pytest.raises(CheckFailedError, match="status 'failed': boom"):
        lambda_handler(event(put_manifest(manifest)), None)


# --------------------------------------------------------------------------- manifest errors


def test_missing_manifest_names_uri(aws: None) -> None:
    uri = f"s3://{BUCKET}/{manifest_key()}"
    with pytest.raises(ManifestError, match=re.escape(f"manifest not found at {uri}")):
        lambda_handler(event(uri), None)


def test_missing_bucket_names_uri(aws: None) -> None:
    uri = f"s3://no-such-bucket/{manifest_key()}"
    with pytest.raises(ManifestError, match=re.escape(f"manifest not found at {uri}")):
        lambda_handler(event(uri), None)


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", "[1, 2]"], ids=["truncated", "binary", "list"]
)
def test_malformed_manifest_names_uri(put_manifest: Callable[..., str], body: bytes | str) -> None:
    uri = put_manifest(body)
    with pytest.raises(ManifestError, match=re.escape(f"manifest {uri}")):
        lambda_handler(event(uri), None)


def test_manifest_missing_keys_are_listed(put_manifest: Callable[..., str]) -> None:
    manifest = make_manifest()
    del manifest["rows_valid"], manifest["total_revenue"]
    uri = put_manifest(manifest)
    with pytest.raises(
        ManifestError, match=re.escape(f"{uri} is missing required keys: rows_valid, total_revenue")
    ):
        lambda_handler(event(uri), None)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"rows_in": "200"}, "rows_in must be a non-negative integer"),
        ({"rows_quarantined": -1}, "rows_quarantined must be a non-negative integer"),
        ({"quarantine_reasons": {"x": "4"}}, "quarantine_reasons must map"),
        ({"total_revenue": "12,345.67"}, "total_revenue must be a decimal"),
        ({"schema_version": 2}, "unsupported schema_version 2"),
    ],
)
def test_manifest_bad_values(
    put_manifest: Callable[..., str], overrides: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ManifestError, match=re.escape(needle)):
        lambda_handler(event(put_manifest(make_manifest(**overrides))), None)


# --------------------------------------------------------------------------- bad events


GOOD_URI = f"s3://{BUCKET}/{manifest_key()}"


@pytest.mark.parametrize(
    ("bad_event", "needle"),
    [
        pytest.param("2024-01-15", "event must be a JSON object", id="not-a-dict"),
        pytest.param({"manifest_uri": GOOD_URI}, "event.run_date", id="no-run-date"),
        pytest.param(
            {"run_date": "20240115", "manifest_uri": GOOD_URI}, "event.run_date", id="compact-date"
        ),
        pytest.param(
            {"run_date": "2024-02-30", "manifest_uri": GOOD_URI},
            "event.run_date must be a real date",
            id="impossible-date",
        ),
        pytest.param({"run_date": RUN_DATE}, "event.manifest_uri", id="no-uri"),
        pytest.param(
            {"run_date": RUN_DATE, "manifest_uri": "https://x/manifest.json"},
            "event.manifest_uri",
            id="not-s3",
        ),
        pytest.param(
            {"run_date": RUN_DATE, "manifest_uri": f"s3://{BUCKET}/"},
            "event.manifest_uri",
            id="no-key",
        ),
        *(
            pytest.param(
                {"run_date": RUN_DATE, "manifest_uri": GOOD_URI, "max_quarantine_ratio": ratio},
                "event.max_quarantine_ratio",
                id=f"ratio-{name}",
            )
            for name, ratio in [
                (">1", 1.5),
                ("<0", -0.1),
                ("text", "abc"),
                ("bool", True),
                ("nan", "nan"),
            ]
        ),
    ],
)
def test_bad_event_is_rejected_before_any_aws_call(
    aws_env: None, bad_event: Any, needle: str
) -> None:
    # No mock and no endpoint: reaching AWS would fail differently than InvalidEventError.
    with pytest.raises(InvalidEventError, match=re.escape(needle)):
        lambda_handler(bad_event, None)


def test_ratio_as_numeric_string_is_accepted(put_manifest: Callable[..., str]) -> None:
    # Templated Airflow payloads can turn numbers into strings.
    summary = lambda_handler(event(put_manifest(make_manifest()), max_quarantine_ratio="0.1"), None)
    assert summary["max_quarantine_ratio"] == 0.1
