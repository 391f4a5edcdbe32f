"""Athena queries that check one day's published outputs, and a way to run them.

Stdlib only (it ships to MWAA in plugins.zip). ``run_athena_query`` takes either a boto3
Athena client or the Amazon provider's ``AthenaHook`` (its ``.conn`` is the client), so the
same code runs on MWAA and against the local endpoint.
"""

from __future__ import annotations

import re
import time
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class AthenaQueryFailed(RuntimeError):
    """A query ended FAILED or CANCELLED; the message carries Athena's StateChangeReason."""


def _checked(database: str, day: str) -> tuple[str, str]:
    if not _NAME.match(database):
        raise ValueError(f"database name {database!r} is not a plain lower-case Glue name")
    if not _DATE.match(day):
        raise ValueError(f"day {day!r} is not YYYY-MM-DD")
    return database, day


def daily_sales_totals_sql(database: str, day: str) -> str:
    """One row: the day's revenue (decimal), order count and region rows (all regions).

    ``CAST(... AS date)`` reads the partition column whether the catalog types it ``date``
    (declared tables) or ``string`` (crawled ones); Athena still prunes to the day.
    """
    database, day = _checked(database, day)
    return (
        "SELECT CAST(sum(daily_revenue) AS DECIMAL(38, 2)) AS revenue, "
        "sum(daily_orders) AS orders, count(*) AS regions "
        f"FROM {database}.daily_sales WHERE CAST(order_date AS date) = DATE '{day}'"
    )


def day_check_sql(database: str, day: str) -> str:
    """One row: the day's daily_sales totals and its customer_metrics customers, checked.

    ``revenue``/``orders`` are compared with the manifest. The customers expected as of the
    day are derived here, from customer_daily: everyone with an order on any day up to it.
    That is the table's definition (running totals over all days <= D), computed from other
    data than the job's own incremental sum (the latest earlier metrics day plus the days
    after it), so a wrong carry-over is caught. It reads one column of customer_daily's
    history: a few MB after years, under Athena's 10 MB minimum billed per query.
    """
    database, day = _checked(database, day)
    day_literal = f"DATE '{day}'"
    return (
        f"WITH totals AS ({daily_sales_totals_sql(database, day)}), "
        "actual AS (SELECT customer_id FROM "
        f"{database}.customer_metrics WHERE CAST(as_of_date AS date) = {day_literal}), "
        "expected AS (SELECT DISTINCT customer_id FROM "
        f"{database}.customer_daily WHERE CAST(order_date AS date) <= {day_literal}), "
        "compared AS (SELECT e.customer_id AS expected_id, a.customer_id AS actual_id "
        "FROM expected e FULL OUTER JOIN actual a ON a.customer_id = e.customer_id) "
        "SELECT t.revenue, t.orders, t.regions, c.customers, c.expected_customers, "
        "c.missing_customers, c.unexpected_customers FROM totals t CROSS JOIN ("
        "SELECT count(actual_id) AS customers, "
        "count(DISTINCT expected_id) AS expected_customers, "
        "count(CASE WHEN actual_id IS NULL THEN 1 END) AS missing_customers, "
        "count(CASE WHEN expected_id IS NULL THEN 1 END) AS unexpected_customers "
        "FROM compared) c"
    )


def result_rows(results: dict[str, Any]) -> list[dict[str, str | None]]:
    """A ``GetQueryResults`` page of a SELECT as dicts (its first row is the header)."""
    rows = [[c.get("VarCharValue") for c in r["Data"]] for r in results["ResultSet"]["Rows"]]
    if not rows:
        return []
    header, data = rows[0], rows[1:]
    return [dict(zip(header, row, strict=True)) for row in data]


def run_athena_query(
    client_or_hook: Any,
    sql: str,
    *,
    database: str,
    output_location: str,
    workgroup: str = "primary",
    poll_seconds: float = 1.0,
    timeout_seconds: float = 600.0,
) -> list[dict[str, str | None]]:
    """Run ``sql`` and return its rows as dicts (column name -> text, None for NULL).

    Raises ``AthenaQueryFailed`` with the query id and Athena's reason if the query does not
    succeed, ``TimeoutError`` if it is still running after ``timeout_seconds``.
    """
    client = getattr(client_or_hook, "conn", client_or_hook)
    query_id = client.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": output_location},
        WorkGroup=workgroup,
    )["QueryExecutionId"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in TERMINAL_STATES:
            break
        if time.monotonic() > deadline:
            client.stop_query_execution(QueryExecutionId=query_id)
            raise TimeoutError(f"Athena query {query_id} still {status['State']} after timeout")
        time.sleep(poll_seconds)
    if status["State"] != "SUCCEEDED":
        reason = status.get("StateChangeReason", "no reason given")
        raise AthenaQueryFailed(f"Athena query {query_id} {status['State']}: {reason}")
    rows: list[list[str | None]] = []
    token = None
    while True:
        kwargs = {"QueryExecutionId": query_id, "MaxResults": 1000}
        if token:
            kwargs["NextToken"] = token
        page = client.get_query_results(**kwargs)
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            break
    header, data = rows[0], rows[1:]  # a SELECT's first row is its header
    return [dict(zip(header, row, strict=True)) for row in data]
