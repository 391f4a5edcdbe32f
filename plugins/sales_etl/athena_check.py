"""check_day: the day's published tables, queried through Athena, against the run's manifest.

The task is the provider's ``AthenaOperator`` running ``day_check_sql`` (one query, one
row); ``check_day_results`` is its ``post_execute`` hook. It reads the row with the
operator's own ``AthenaHook`` and compares it with the manifest this DAG run's ``transform``
wrote: the day's revenue and order count (``total_revenue``, ``rows_valid``), and the
customers ``customer_metrics`` holds as of the day against those the query derives from
``customer_daily``. A mismatch is the data's verdict, the same on every try: the task fails
at once, without retries, naming each difference. Everything runs with the ``aws_default``
connection: no Athena connection is needed on MWAA.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import pass_context

try:  # Airflow 3's task SDK; Airflow 2 has it only in airflow.exceptions
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:
    from airflow.exceptions import AirflowFailException

from sales_contract.layout import s3_uri
from sales_etl.day_queries import day_check_sql, result_rows
from sales_etl.run_outcome import read_manifest, run_manifest
from sales_etl.runtime import pipeline_config, resolve_run_date

log = logging.getLogger(__name__)

# The log line on success; the failure's message starts with the other.
PASSED_PREFIX = "Athena day check passed:"
MISMATCH_PREFIX = "the day's published tables disagree with the manifest"


class DayCheckMismatch(AirflowFailException):
    """What Athena reads back differs from the run's manifest (never retried)."""


def day_check_query(context: Mapping[str, Any]) -> str:
    """The check's SQL for the run's day, in the config's database (a template macro)."""
    return day_check_sql(pipeline_config().glue_database, resolve_run_date(context))


def results_location() -> str:
    """``s3://<bucket>/<athena_results_prefix>``: Athena writes ``<id>.csv`` there."""
    cfg = pipeline_config()
    return s3_uri(cfg.bucket, cfg.athena_results_prefix)


TEMPLATE_MACROS: dict[str, Any] = {
    "day_check_sql": pass_context(day_check_query),
    "athena_results_location": results_location,
}


def check_day_results(context: Mapping[str, Any], query_execution_id: Any) -> None:
    """``post_execute`` of the AthenaOperator: compare its one row with the manifest."""
    hook = _athena_hook(context)
    rows = result_rows(hook.get_query_results(query_execution_id))
    if len(rows) != 1:
        raise DayCheckMismatch(
            f"Athena query {query_execution_id} returned {len(rows)} rows, not 1"
        )
    day = resolve_run_date(context)
    run_id = context["ti"].xcom_pull(task_ids="transform", key="glue_job_run_id")
    manifest = run_manifest(read_manifest(pipeline_config().bucket, day), run_id)
    differences = compare(rows[0], manifest)
    if differences:
        raise DayCheckMismatch(
            f"{MISMATCH_PREFIX} (Athena query {query_execution_id}, Glue run {run_id}): "
            + "; ".join(differences)
        )
    log.info(
        "%s %s: revenue %s, %s orders, %s customers as of the day (query %s)",
        PASSED_PREFIX,
        day,
        rows[0]["revenue"],
        rows[0]["orders"],
        rows[0]["customers"],
        query_execution_id,
    )


def compare(row: Mapping[str, str | None], manifest: Mapping[str, Any]) -> list[str]:
    """Each way the query's row differs from the manifest, in words; empty when they agree."""
    differences = []
    revenue, expected_revenue = _decimal(row.get("revenue")), _decimal(manifest["total_revenue"])
    if revenue != expected_revenue:
        differences.append(
            f"daily_sales revenue {row.get('revenue')}, manifest total_revenue"
            f" {manifest['total_revenue']}"
        )
    orders, expected_orders = _int(row.get("orders")), int(manifest["rows_valid"])
    if orders != expected_orders:
        differences.append(
            f"daily_sales orders {row.get('orders')}, manifest rows_valid {expected_orders}"
        )
    customers, expected = _int(row.get("customers")), _int(row.get("expected_customers"))
    missing, unexpected = _int(row.get("missing_customers")), _int(row.get("unexpected_customers"))
    if missing or unexpected or customers != expected:
        differences.append(
            f"customer_metrics has {customers} customer rows as of the day, {expected} expected"
            f" (customers with orders in customer_daily up to the day): {missing} missing,"
            f" {unexpected} unexpected"
        )
    return differences


def _decimal(text: Any) -> Decimal | None:
    # No rows for the day: sum() is NULL, which must not pass for a zero-revenue manifest.
    try:
        return None if text is None else Decimal(str(text))
    except InvalidOperation:
        return None


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _athena_hook(context: Mapping[str, Any]) -> Any:
    """The operator's own hook (its connection and region); a default one without it."""
    hook = getattr(context.get("task"), "hook", None)
    if hook is not None:
        return hook
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    return AthenaHook()
