"""Operator settings that are policy rather than the pipeline's story: timeouts, retries, waits,
and what the Lambda task logs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator

from sales_etl.airflow_compat import conf

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
}


def _seconds_option(key: str, default: float, low: float, high: float) -> float:
    """A parse-time tunable from Airflow config section [sales_etl].

    Set with env AIRFLOW__SALES_ETL__<KEY> or, on MWAA, a custom configuration option. These
    are read from the already-loaded config (no Variable, no I/O) because an operator's waits
    are fixed when the DAG is parsed.
    """
    value = conf.getfloat("sales_etl", key, fallback=default)
    if not low <= value <= high:
        raise ValueError(
            f"Airflow config [sales_etl] {key} must be {low:g}..{high:g}, got {value:g}"
        )
    return value


def _count_option(key: str, default: int, low: int, high: int) -> int:
    """A whole-number tunable from [sales_etl]; a fraction is refused, never rounded."""
    value = _seconds_option(key, default, low, high)
    if not value.is_integer():
        raise ValueError(f"Airflow config [sales_etl] {key} must be a whole number, got {value:g}")
    return int(value)


# How long the sensor waits for a day's sales to land before the run fails.
SALES_WAIT = timedelta(seconds=_seconds_option("sales_wait_seconds", 6 * 3600, 1, 24 * 3600))
# How often the sensor looks for the day's marker: 5 minutes on AWS (a listing each time);
# a few seconds locally, where a test or a demo waits for the day it just wrote.
SALES_POKE_INTERVAL = min(
    timedelta(seconds=_seconds_option("sales_poke_seconds", 300, 1, 3600)), SALES_WAIT
)


# How often crawler and Glue job states are polled (30 s on AWS; a fraction of one locally,
# where a crawl or a small job takes about a second).
POLL_SECONDS = _seconds_option("poll_seconds", 30, 0.1, 600)

CRAWL_TIMEOUT = timedelta(minutes=30)

# The Glue job's own Timeout (config, 60 min by default) ends a stuck run first; the task
# timeout and the deferral cap (delay x attempts) sit above it so Airflow never orphans a run.
GLUE_TASK_TIMEOUT = timedelta(minutes=90)
GLUE_MAX_POLLS = int(GLUE_TASK_TIMEOUT.total_seconds() // POLL_SECONDS)
GLUE_DEFERRAL_CAP = timedelta(seconds=POLL_SECONDS * GLUE_MAX_POLLS)
# Room between the Glue job's own Timeout and Airflow giving up: the run's start-up (Timeout
# counts from when it runs, not from StartJobRun) and the poll that sees it end.
GLUE_START_ALLOWANCE = timedelta(minutes=10)
_GLUE_WATCH = min(GLUE_TASK_TIMEOUT, GLUE_DEFERRAL_CAP) - GLUE_START_ALLOWANCE
MAX_GLUE_TIMEOUT_MINUTES = int(_GLUE_WATCH.total_seconds() - POLL_SECONDS) // 60
# A data-contract failure would fail again; one retry covers transient service errors.
GLUE_RETRIES = _count_option("glue_retries", 1, 0, 3)

# check_day: one small Athena query. A query Athena could not run (a throttle, a missing
# partition still being published) gets one retry; a mismatch with the manifest none.
ATHENA_TIMEOUT = timedelta(minutes=15)
ATHENA_MAX_POLLS = int(ATHENA_TIMEOUT.total_seconds() // POLL_SECONDS)
ATHENA_RETRIES = 1

LAMBDA_TIMEOUT = timedelta(minutes=16)
# Wait for the function's own 15-minute maximum, and never retry at the botocore level:
# a retried request would invoke the function a second time.
LAMBDA_BOTOCORE_CONFIG = {
    "read_timeout": 900,
    "connect_timeout": 10,
    "retries": {"max_attempts": 0},
}

# The Lambda's checks are deterministic, and a retry would publish the day's metrics and
# send its notification a second time: a failed check needs a person, not a retry.
LAMBDA_RETRIES = 0

DAGRUN_TIMEOUT = timedelta(hours=10)

# A run that has not succeeded this long after it was queued gets one "late" alert (the DAG's
# DeadlineAlert). It must come before the run's own timeout: a run that times out gets no
# task failure alert, and a deadline found with the run failed sends no late alert either.
# The margin covers the scheduler seeing both in the same loop.
LATE_AFTER_MAX = DAGRUN_TIMEOUT - timedelta(minutes=30)
LATE_AFTER = timedelta(
    seconds=_seconds_option("late_after_seconds", 8 * 3600, 1, LATE_AFTER_MAX.total_seconds())
)


class _LambdaHookWithoutHeaders(LambdaHook):
    """``invoke_lambda``'s response with ``ResponseMetadata`` cut to its request id and status.

    The operator logs that metadata twice (providers 9.12 to 9.34 alike). Its HTTP headers
    carry ``x-amz-log-result``, the base64 of the log tail the operator also prints decoded;
    the rest is transport detail, the X-Ray trace id, or in the response already (request
    id, executed version, function error).
    """

    def invoke_lambda(self, **kwargs: Any) -> dict[str, Any]:
        response = super().invoke_lambda(**kwargs)
        metadata = response.get("ResponseMetadata") or {}
        kept = {key: value for key, value in metadata.items() if key != "HTTPHeaders"}
        return {**response, "ResponseMetadata": kept}


class QuietLambdaInvokeFunctionOperator(LambdaInvokeFunctionOperator):
    """The provider's operator, unchanged but for the hook: its log lines lose the headers."""

    aws_hook_class = _LambdaHookWithoutHeaders
