"""Operator settings that are policy rather than the pipeline's story: timeouts, retries, waits."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import conf

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

# How often crawler and Glue job states are polled. Airflow config option [sales_etl]
# poll_seconds (env AIRFLOW__SALES_ETL__POLL_SECONDS; on MWAA a custom configuration option):
# read from the loaded config, not from a Variable, because waits are fixed at parse time.
POLL_SECONDS = conf.getint("sales_etl", "poll_seconds", fallback=30)
if not 1 <= POLL_SECONDS <= 600:
    raise ValueError(f"[sales_etl] poll_seconds must be 1..600, got {POLL_SECONDS}")

CRAWL_TIMEOUT = timedelta(minutes=30)

# The Glue job's own Timeout (config, 60 min by default) ends a stuck run first; the task
# timeout and the deferral cap (delay x attempts) sit above it so Airflow never orphans a run.
GLUE_TASK_TIMEOUT = timedelta(minutes=90)
GLUE_MAX_POLLS = int(GLUE_TASK_TIMEOUT.total_seconds() // POLL_SECONDS)
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
