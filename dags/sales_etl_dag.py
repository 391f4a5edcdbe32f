"""Daily sales ETL: S3 -> Glue crawler -> Glue Spark job (publishes the day) -> Lambda.

Replaces the Glue cron trigger (cron 0 2 * * ? *, 02:00 UTC daily). Each run processes
exactly one day, its data interval start (the logical date), so reruns and backfills are
safe and repeatable.
"""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

from sales_contract.layout import PROCESSED_TABLES
from sales_etl import athena_check, tasks
from sales_etl import glue_resources as glue
from sales_etl.airflow_compat import (
    DAG,
    Asset,
    GlueCrawlerOperator,
    chain,
    late_run_deadline,
    provider_options,
)
from sales_etl.alerts import alert_on_failure
from sales_etl.as_deployed import check_crawler, prepare_transform
from sales_etl.daily_glue_job import DailyGlueJobOperator
from sales_etl.lateness import alert_late_run
from sales_etl.params import MANUAL_RUN_PARAMS, DayRunIdTimetable
from sales_etl.runtime import TEMPLATE_MACROS
from sales_etl.tasks import QuietLambdaInvokeFunctionOperator

PROCESSED_ASSETS = [Asset(name=f"sales_etl.{table}") for table in PROCESSED_TABLES]

with DAG(
    dag_id="sales_etl",
    description="One day of raw sales into validated, cataloged daily tables",
    doc_md=__doc__,
    # The 02:00 UTC run on D+1 covers the finished day D: a data-interval timetable makes
    # ``ds`` = D (a plain cron string would make it D+1, a day that has just begun). Its run
    # ids name the day, e.g. scheduled__2024-01-15__20240116T020000 (plugins/sales_etl_plugin.py
    # registers it, as Airflow requires of a custom timetable).
    schedule=DayRunIdTimetable("0 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    # Missed days are recovered on purpose with `airflow backfill create`, never by a flood of
    # catch-up runs after a deploy or a pause.
    catchup=False,
    # Runs of different days share the customer_metrics history and the crawlers: one at a
    # time, in date order, keeps backfills exact.
    max_active_runs=1,
    dagrun_timeout=tasks.DAGRUN_TIMEOUT,
    # A run not succeeded late_after_seconds after it was queued sends one "late" alert, from
    # the triggerer. Counted from when the run was queued, not from its logical date: the
    # logical date is the start of the day processed, a day before the run may even start,
    # and years before a backfill's; queued_at is the scheduled start for a scheduled run,
    # the trigger time for a manual one, and is reset when a run is cleared.
    # Airflow 3.1+ only: on older Airflow the argument is left out (docs/mwaa-versions.md).
    **late_run_deadline(
        tasks.LATE_AFTER,
        alert_late_run,
        kwargs={"late_after_seconds": tasks.LATE_AFTER.total_seconds()},
    ),
    # A task's final failure logs its reason and alerts the topic in config.
    default_args={**tasks.DEFAULT_ARGS, "on_failure_callback": alert_on_failure},
    params=MANUAL_RUN_PARAMS,
    user_defined_macros={**TEMPLATE_MACROS, **athena_check.TEMPLATE_MACROS},
    tags=["sales", "etl", "glue", "lambda"],
) as dag:
    wait_for_sales = S3KeySensor(
        task_id="wait_for_sales",
        doc_md="Wait until the day's sales partition is complete: its completion marker landed.",
        bucket_name="{{ pipeline_config().bucket }}",
        bucket_key="{{ sales_ready_key() }}",
        # A listing, also for the exact marker key (it holds no glob characters): it needs only
        # the s3:ListBucket grant on raw-data/sales/. HeadObject would need s3:GetObject, and
        # answers 403, not 404, for a missing key to a caller that may not list the bucket.
        wildcard_match=True,
        deferrable=True,
        poke_interval=tasks.SALES_POKE_INTERVAL.total_seconds(),
        timeout=tasks.SALES_WAIT.total_seconds(),
        execution_timeout=tasks.SALES_WAIT,
    )

    crawl_raw = GlueCrawlerOperator(
        task_id="crawl_raw",
        doc_md="Catalog the raw sales and customer snapshots.",
        # The crawler as deployed, started by name: the DAG never creates or changes it.
        config={"Name": "{{ pipeline_config().raw_crawler }}"},
        pre_execute=check_crawler(glue.raw_crawler_definition),
        poll_interval=tasks.POLL_SECONDS,
        **provider_options(GlueCrawlerOperator, fail_on_already_running=False),
        execution_timeout=tasks.CRAWL_TIMEOUT,
    )

    # The provider's GlueJobOperator; it logs the run's summary or reason from its manifest,
    # and a day the job refuses (a data-contract failure) fails at once, without retries.
    transform = DailyGlueJobOperator(
        task_id="transform",
        # The job also publishes the day: it points the declared tables' partitions at the
        # outputs it wrote and checked (no crawler guesses what the job's contract fixes).
        doc_md="Run the Spark job for the day: validate, quarantine, aggregate, publish.",
        # The job as deployed, started by name: its code, code-loading arguments and role are
        # the stack's (checked before each run); the run sets only its sizing and arguments.
        job_name="{{ pipeline_config().glue_job }}",
        update_config=False,
        script_args=glue.glue_job_arguments(),
        pre_execute=prepare_transform,
        stop_job_run_on_kill=True,
        # A retry after a cleared or timed-out deferral re-attaches to the run still going.
        **provider_options(DailyGlueJobOperator, resume_glue_job_on_retry=True),
        deferrable=True,
        # verbose=False: the provider's verbose wait counts a STOPPED run as success and reads
        # a log stream Glue 5.0 never writes; the plain waiter fails on STOPPED, ERROR, TIMEOUT.
        verbose=False,
        waiter_delay=tasks.POLL_SECONDS,
        waiter_max_attempts=tasks.GLUE_MAX_POLLS,
        retries=tasks.GLUE_RETRIES,
        execution_timeout=tasks.GLUE_TASK_TIMEOUT,
    )

    # The day as analysts will query it: through Athena, on the catalog the job published.
    # One query; its post_execute hook compares the row with this run's manifest and fails
    # the run, without retries, on any difference (sales_etl.athena_check).
    check_day = AthenaOperator(
        task_id="check_day",
        doc_md="Query the day's tables through Athena; fail unless they match the manifest.",
        query="{{ day_check_sql() }}",
        database="{{ pipeline_config().glue_database }}",
        workgroup="{{ pipeline_config().athena_workgroup }}",
        output_location="{{ athena_results_location() }}",
        sleep_time=tasks.POLL_SECONDS,
        max_polling_attempts=tasks.ATHENA_MAX_POLLS,
        deferrable=False,
        post_execute=athena_check.check_day_results,
        retries=tasks.ATHENA_RETRIES,
        execution_timeout=tasks.ATHENA_TIMEOUT,
    )

    # The provider's LambdaInvokeFunctionOperator; it logs the function's decoded log tail
    # and the response status, without the raw HTTP headers (a base64 copy of that tail).
    post_process = QuietLambdaInvokeFunctionOperator(
        task_id="post_process",
        doc_md="Check the run's manifest, publish metrics, notify on quarantined rows.",
        function_name="{{ pipeline_config().lambda_function }}",
        payload="{{ post_process_payload() }}",
        invocation_type="RequestResponse",
        log_type="Tail",
        botocore_config=tasks.LAMBDA_BOTOCORE_CONFIG,
        retries=tasks.LAMBDA_RETRIES,
        execution_timeout=tasks.LAMBDA_TIMEOUT,
        outlets=PROCESSED_ASSETS,
    )

    chain(wait_for_sales, crawl_raw, transform, check_day, post_process)
