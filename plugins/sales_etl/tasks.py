"""Operator settings that are policy rather than the pipeline's story: timeouts, retries, waits."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
}

# How long the sensor waits for a day's sales to land before the run fails.
SALES_WAIT = timedelta(hours=6)
SALES_POKE_INTERVAL = timedelta(minutes=5)

CRAWL_TIMEOUT = timedelta(minutes=30)
CRAWL_POLL_SECONDS = 15

# The Glue job's own Timeout (config, 60 min by default) ends a stuck run first; the task
# timeout and the deferral cap (delay x attempts) sit above it so Airflow never orphans a run.
GLUE_TASK_TIMEOUT = timedelta(minutes=90)
GLUE_POLL_SECONDS = 30
GLUE_MAX_POLLS = int(GLUE_TASK_TIMEOUT.total_seconds() // GLUE_POLL_SECONDS)
# A data-contract failure would fail again; one retry covers transient service errors.
GLUE_RETRIES = 1

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
