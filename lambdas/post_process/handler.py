"""Post-processing step of the sales ETL pipeline.

Invoked by Airflow after the Glue job with
``{"run_date": "YYYY-MM-DD", "manifest_uri": "s3://...", "max_quarantine_ratio": 0.05}``.
It reads the run manifest the Glue job wrote, checks it, publishes CloudWatch metrics,
notifies SNS when rows were quarantined and returns a JSON summary (Airflow keeps it in XCom).

A failed check raises, so the invocation returns ``FunctionError`` and the Airflow task fails
with the message. Deployed as the root of a zip (handler ``handler.lambda_handler``), so this
file imports only the standard library, boto3 and the ``sales_contract`` package the zip
carries beside it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sales_contract import lambda_environment as env
from sales_contract.rules import (
    DEFAULT_MAX_QUARANTINE_RATIO,
    MANIFEST_SCHEMA_VERSION,
    parse_run_date,
    sns_subject,
)

logger = logging.getLogger("post_process")
logger.setLevel(logging.INFO)

SUPPORTED_SCHEMA_VERSIONS = frozenset({MANIFEST_SCHEMA_VERSION})

_S3_URI_RE = re.compile(r"^s3://([^/]+)/(.+)$")
# A manifest is a few KiB; one far larger is not the job's, and read whole it could exhaust
# the function's memory before any check ran.
MAX_MANIFEST_BYTES = 1024 * 1024
# CloudWatch rejects metric values outside -2^360..2^360 (PutMetricData, MetricDatum Value).
MAX_METRIC_VALUE = Decimal(2) ** 360


class PostProcessError(Exception):
    """Base class: every error this function raises on purpose."""


class InvalidEventError(PostProcessError, ValueError):
    """The invocation event is missing a field or has a bad value."""


class ManifestError(PostProcessError):
    """The manifest cannot be read, is not JSON, or lacks required keys."""


class CheckFailedError(PostProcessError):
    """A data-quality check on the manifest failed."""

    def __init__(self, run_date: str, check: str, detail: str) -> None:
        self.run_date = run_date
        self.check = check
        self.detail = detail
        super().__init__(f"run_date={run_date}: check '{check}' failed: {detail}")


@dataclass(frozen=True)
class RunFigures:
    """A run's numbers, as its manifest states them once every check passed."""

    rows_in: int
    rows_valid: int
    rows_quarantined: int
    reasons: dict[str, int]
    revenue: Decimal

    @property
    def ratio(self) -> float:
        return self.rows_quarantined / self.rows_in


# --------------------------------------------------------------------------- event / config


def _parse_ratio(value: Any, source: str) -> float:
    ratio = math.nan
    # bool is an int subclass; `true` as a ratio is a mistake, not 1.0.
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with suppress(ValueError):
            ratio = float(value)
    if not 0.0 <= ratio <= 1.0:  # NaN fails every comparison
        raise InvalidEventError(f"{source} must be a number between 0 and 1, got {value!r}")
    return ratio


def parse_event(event: Any) -> tuple[str, str, str, float]:
    """Return (run_date, manifest_bucket, manifest_key, max_quarantine_ratio)."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")

    try:
        run_date = parse_run_date(event.get("run_date"), "event.run_date").isoformat()
    except ValueError as exc:
        raise InvalidEventError(str(exc)) from None

    manifest_uri = event.get("manifest_uri")
    match = _S3_URI_RE.match(manifest_uri) if isinstance(manifest_uri, str) else None
    if match is None:
        raise InvalidEventError(
            f"event.manifest_uri must look like 's3://bucket/key', got {manifest_uri!r}"
        )
    bucket, key = match.groups()

    # The event's threshold wins over the function's environment default.
    if event.get("max_quarantine_ratio") is not None:
        ratio = _parse_ratio(event["max_quarantine_ratio"], "event.max_quarantine_ratio")
    else:
        env_value = os.environ.get(env.MAX_QUARANTINE_RATIO, "").strip()
        ratio = (
            _parse_ratio(env_value, f"environment variable {env.MAX_QUARANTINE_RATIO}")
            if env_value
            else DEFAULT_MAX_QUARANTINE_RATIO
        )
    return run_date, bucket, key, ratio


def expected_job_run(event: dict[str, Any]) -> str | None:
    """The Glue run whose manifest this must be; None for a direct invocation that names none."""
    if "job_run_id" not in event:
        return None
    value = event["job_run_id"]
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError(
            f"event.job_run_id must be the id of the Glue run to check, got {value!r}"
        )
    return value


# --------------------------------------------------------------------------- manifest


def read_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    uri = f"s3://{bucket}/{key}"
    try:
        stream = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"NoSuchKey", "NoSuchBucket", "404"}:
            raise ManifestError(f"manifest not found at {uri} ({code})") from exc
        raise ManifestError(f"cannot read manifest {uri}: {exc}") from exc
    with closing(stream):
        body = stream.read(MAX_MANIFEST_BYTES + 1)  # one byte more tells "too large"
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest {uri} is larger than 1 MiB: not a manifest the job writes")
    try:
        manifest = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"manifest {uri} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ManifestError(f"manifest {uri} must be a JSON object, got {type(manifest).__name__}")
    return manifest


def _require(manifest: dict[str, Any], keys: tuple[str, ...], uri: str) -> None:
    missing = [k for k in keys if k not in manifest]
    if missing:
        raise ManifestError(f"manifest {uri} is missing required keys: {', '.join(missing)}")


def _count(manifest: dict[str, Any], key: str, uri: str) -> int:
    value = manifest[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"manifest {uri}: {key} must be a non-negative integer, got {value!r}")
    return value


def _reasons(manifest: dict[str, Any], uri: str) -> dict[str, int]:
    value = manifest["quarantine_reasons"]
    if not isinstance(value, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value.values()
    ):
        raise ManifestError(
            f"manifest {uri}: quarantine_reasons must map reason -> non-negative integer, "
            f"got {value!r}"
        )
    return {str(k): v for k, v in value.items()}


def _revenue(manifest: dict[str, Any], uri: str) -> Decimal:
    value = manifest["total_revenue"]
    revenue = Decimal("NaN")
    # The job writes a decimal string so no precision is lost on the way; accept plain numbers.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        with suppress(InvalidOperation):
            revenue = Decimal(str(value))
    # Sales are never negative (the job quarantines non-positive prices), and the figure is
    # published as a metric, which CloudWatch refuses beyond 2^360.
    if not (revenue.is_finite() and 0 <= revenue <= MAX_METRIC_VALUE):
        raise ManifestError(
            f"manifest {uri}: total_revenue must be a decimal from 0 to 2^360, got {value!r}"
        )
    return revenue


def check_manifest(
    manifest: dict[str, Any], run_date: str, uri: str, job_run_id: str | None = None
) -> RunFigures:
    """Run the integrity checks; return the run's figures.

    These checks guard the numbers themselves, so they run before anything is published.
    """
    _require(manifest, ("schema_version", "run_date", "status"), uri)
    if manifest["schema_version"] not in SUPPORTED_SCHEMA_VERSIONS:
        raise ManifestError(
            f"manifest {uri}: unsupported schema_version {manifest['schema_version']!r} "
            f"(supported: {sorted(SUPPORTED_SCHEMA_VERSIONS)})"
        )
    if manifest["run_date"] != run_date:
        raise CheckFailedError(
            run_date, "run_date", f"manifest {uri} is for run_date {manifest['run_date']!r}"
        )
    if job_run_id is not None and manifest.get("job_run_id") != job_run_id:
        # A manifest an earlier run of the day left behind says nothing about this run.
        raise CheckFailedError(
            run_date,
            "job_run_id",
            f"manifest {uri} was written by Glue run {manifest.get('job_run_id')!r}, "
            f"not by run {job_run_id!r} that this pipeline run started",
        )
    if manifest["status"] != "succeeded":
        error = manifest.get("error") or "no error message"
        raise CheckFailedError(
            run_date, "status", f"Glue job reported status {manifest['status']!r}: {error}"
        )

    counts = ("rows_in", "rows_valid", "rows_quarantined")
    _require(manifest, (*counts, "quarantine_reasons", "total_revenue"), uri)
    rows_in, rows_valid, rows_quarantined = (_count(manifest, key, uri) for key in counts)
    reasons = _reasons(manifest, uri)
    revenue = _revenue(manifest, uri)

    if rows_in != rows_valid + rows_quarantined:
        raise CheckFailedError(
            run_date,
            "reconciliation",
            f"rows_in ({rows_in}) != rows_valid ({rows_valid}) + "
            f"rows_quarantined ({rows_quarantined})",
        )
    if rows_in == 0:
        # The job fails an empty day itself; a success with no rows means nothing was checked.
        raise CheckFailedError(
            run_date, "rows_in", "the run claims success but read no rows (rows_in = 0)"
        )
    if sum(reasons.values()) != rows_quarantined:
        raise CheckFailedError(
            run_date,
            "quarantine_reasons",
            f"reasons sum to {sum(reasons.values())} but rows_quarantined is {rows_quarantined}",
        )
    return RunFigures(rows_in, rows_valid, rows_quarantined, reasons, revenue)


# --------------------------------------------------------------------------- side effects


def publish_metrics(cloudwatch: Any, namespace: str, pipeline: str, figures: RunFigures) -> None:
    # Timestamp is "now", not the run date: CloudWatch rejects data points older than two
    # weeks, and backfills process old days. The run date is in the logs and the summary.
    # No RunDate dimension either: one metric per day would be a new (billed) metric daily.
    now = datetime.now(UTC)
    dims = [{"Name": "Pipeline", "Value": pipeline}]
    values = [
        ("RowsIn", float(figures.rows_in), "Count"),
        ("RowsValid", float(figures.rows_valid), "Count"),
        ("RowsQuarantined", float(figures.rows_quarantined), "Count"),
        ("QuarantineRatio", figures.ratio, "None"),
        ("Revenue", float(figures.revenue), "None"),
    ]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Timestamp": now, "Value": value, "Unit": unit}
            for name, value, unit in values
        ],
    )


def notify_quarantine(
    sns: Any,
    topic_arn: str,
    pipeline: str,
    run_date: str,
    figures: RunFigures,
    *,
    threshold: float,
    manifest: dict[str, Any],
    manifest_uri: str,
) -> None:
    rows_in, rows_quarantined, ratio = figures.rows_in, figures.rows_quarantined, figures.ratio
    exceeded = ratio > threshold
    subject = f"[{pipeline}] {run_date}: {rows_quarantined} of {rows_in} rows quarantined"
    if exceeded:
        subject += " (threshold exceeded)"
    by_count = sorted(figures.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    outputs = manifest.get("outputs")
    quarantine_uri = outputs.get("quarantine") if isinstance(outputs, dict) else None
    lines = [
        f"Pipeline {pipeline}, run date {run_date}: {rows_quarantined} of {rows_in} input rows "
        f"were quarantined (ratio {ratio:.4f}, threshold {threshold:.4f}"
        f"{', EXCEEDED' if exceeded else ''}).",
        "",
        "Reasons:",
        *(f"  {reason}: {count}" for reason, count in by_count),
        "",
        f"Quarantined rows: {quarantine_uri or 'n/a'}",
        f"Manifest: {manifest_uri}",
    ]
    sns.publish(TopicArn=topic_arn, Subject=sns_subject(subject), Message="\n".join(lines))


# --------------------------------------------------------------------------- entry point


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    if not logging.getLogger().handlers:
        # The Lambda runtime installs a root handler; a plain local process has none, and the
        # summary line would be dropped.
        logging.basicConfig(level=logging.INFO)
    run_date, bucket, key, threshold = parse_event(event)
    job_run_id = expected_job_run(event)
    uri = f"s3://{bucket}/{key}"
    namespace = os.environ.get(env.METRIC_NAMESPACE) or env.METRIC_NAMESPACE_VALUE
    pipeline = os.environ.get(env.PIPELINE_NAME) or env.PIPELINE_NAME_VALUE
    topic_arn = os.environ.get(env.SNS_TOPIC_ARN, "").strip()

    # Clients per invocation (not at import): region and endpoint come from the environment
    # (AWS_ENDPOINT_URL for the local endpoint) and tests can mock before the first call.
    session = boto3.session.Session()
    manifest = read_manifest(session.client("s3"), bucket, key)
    figures = check_manifest(manifest, run_date, uri, job_run_id)

    # Metrics and the notification go out before the ratio check: a day over the threshold is
    # exactly the day someone needs to see the ratio on a dashboard and get the message.
    publish_metrics(session.client("cloudwatch"), namespace, pipeline, figures)
    notified = figures.rows_quarantined > 0 and bool(topic_arn)
    if notified:
        notify_quarantine(
            session.client("sns"),
            topic_arn,
            pipeline,
            run_date,
            figures,
            threshold=threshold,
            manifest=manifest,
            manifest_uri=uri,
        )

    logger.info(
        "post_process run_date=%s rows_in=%d rows_valid=%d rows_quarantined=%d "
        "quarantine_ratio=%.4f threshold=%.4f revenue=%s notified=%s",
        run_date,
        figures.rows_in,
        figures.rows_valid,
        figures.rows_quarantined,
        figures.ratio,
        threshold,
        figures.revenue,
        notified,
    )
    if figures.ratio > threshold:
        raise CheckFailedError(
            run_date,
            "quarantine_ratio",
            f"{figures.rows_quarantined}/{figures.rows_in} rows quarantined = {figures.ratio:.4f} "
            f"> max_quarantine_ratio {threshold:.4f}",
        )

    return {
        "run_date": run_date,
        "job_run_id": manifest.get("job_run_id"),
        "rows_in": figures.rows_in,
        "rows_valid": figures.rows_valid,
        "rows_quarantined": figures.rows_quarantined,
        "quarantine_ratio": figures.ratio,
        "max_quarantine_ratio": threshold,
        "quarantine_reasons": figures.reasons,
        "total_revenue": str(figures.revenue),
        "notified": notified,
        "checks": "passed",
    }
