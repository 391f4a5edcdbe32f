"""Why a task failed, in words an on-call engineer can act on, read from AWS where it lives.

Each task's operator raises a generic error (a Glue run "exited with state: FAILED", a Lambda
"execution resulted in error"); the cause is elsewhere: the Glue run's ``ErrorMessage``
(GetJobRun) and the day's manifest, the Lambda's ``errorMessage`` payload, the crawl's
``LastCrawl.ErrorMessage``. A lookup that fails is reported in the reason, never raised: the
alert must still go out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sales_contract.layout import manifest_key, s3_uri, sales_ready_key
from sales_etl import tasks
from sales_etl.config import PipelineConfig
from sales_etl.run_outcome import ManifestNotWritten, read_manifest, run_manifest

Context = Mapping[str, Any]


def failure_reason(task_id: str, context: Context, cfg: PipelineConfig, day: str) -> str:
    """The reason ``task_id`` failed for ``day``; the exception's own text for other tasks."""
    explain = _REASONS.get(task_id)
    if explain is None:
        return exception_text(context)
    return explain(context, cfg, day)


def exception_text(context: Context) -> str:
    error = context.get("exception")
    if error is None:
        return "no exception recorded"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _lookup(what: str, read: Callable[[], str | None]) -> str:
    try:
        return read() or f"{what}: none recorded"
    except Exception as err:  # the alert must go out even when AWS cannot be read
        return f"{what}: could not be read ({type(err).__name__}: {err})"


def _transform(context: Context, cfg: PipelineConfig, day: str) -> str:
    run_id = context["ti"].xcom_pull(task_ids="transform", key="glue_job_run_id")
    if not run_id:
        return f"the Glue job did not start: {exception_text(context)}"
    run_error = _lookup(
        f"Glue run {run_id} ErrorMessage", lambda: _glue_run_error(cfg.glue_job, run_id)
    )
    manifest = _lookup(
        f"manifest {s3_uri(cfg.bucket, manifest_key(day))} error",
        lambda: _manifest_error(cfg.bucket, day, run_id),
    )
    return f"Glue job {cfg.glue_job} run {run_id}: {run_error}; manifest: {manifest}"


def _glue_run_error(job_name: str, run_id: str) -> str | None:
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    run = GlueJobHook().conn.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    error = run.get("ErrorMessage")
    return f"{run['JobRunState']}: {error}" if error else None


def _manifest_error(bucket: str, day: str, run_id: str) -> str | None:
    try:
        manifest = run_manifest(read_manifest(bucket, day), run_id)
    except ManifestNotWritten as err:
        return str(err)
    return manifest.get("error")


def _post_process(context: Context, cfg: PipelineConfig, day: str) -> str:
    # LambdaInvokeFunctionOperator raises ValueError(text, {"Payload": "<function's JSON>"}).
    error = context.get("exception")
    details = error.args[1] if error is not None and len(error.args) > 1 else None
    payload = details.get("Payload") if isinstance(details, dict) else None
    if not payload:
        return f"Lambda {cfg.lambda_function}: {exception_text(context)}"
    try:
        body = json.loads(payload)
    except ValueError:
        body = {"errorMessage": payload}
    kind = body.get("errorType", "error")
    return f"Lambda {cfg.lambda_function} {kind}: {body.get('errorMessage', payload)}"


def _crawler(
    crawler: Callable[[PipelineConfig], str],
) -> Callable[[Context, PipelineConfig, str], str]:
    def explain(context: Context, cfg: PipelineConfig, day: str) -> str:
        name = crawler(cfg)
        last = _lookup(f"crawler {name} LastCrawl.ErrorMessage", lambda: _last_crawl_error(name))
        return f"{last} ({exception_text(context)})"

    return explain


def _last_crawl_error(name: str) -> str | None:
    from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook

    last = GlueCrawlerHook().get_crawler(name).get("LastCrawl") or {}
    error = last.get("ErrorMessage")
    return f"crawler {name} last crawl {last.get('Status')}: {error}" if error else None


def _wait_for_sales(context: Context, cfg: PipelineConfig, day: str) -> str:
    # What the sensor waited for: the day's completion marker, or any CSV with no marker.
    path = s3_uri(cfg.bucket, sales_ready_key(day, cfg.completion_marker))
    return (
        f"no sales file matching {path} within {tasks.SALES_WAIT} of the sensor's start"
        f" ({exception_text(context)})"
    )


def _check_day(context: Context, cfg: PipelineConfig, day: str) -> str:
    # The operator's error names the query and Athena's StateChangeReason; a mismatch names
    # each difference from the manifest (sales_etl.athena_check).
    return (
        f"Athena check of {day}'s published tables (workgroup {cfg.athena_workgroup},"
        f" database {cfg.glue_database}): {exception_text(context)}"
    )


_REASONS: dict[str, Callable[[Context, PipelineConfig, str], str]] = {
    "wait_for_sales": _wait_for_sales,
    "crawl_raw": _crawler(lambda cfg: cfg.raw_crawler),
    "transform": _transform,
    "check_day": _check_day,
    "post_process": _post_process,
}
