"""Analyst queries over the pipeline's own tables, as the real DAG left them: the e2e session's
days (``completed``), published by the Glue job and cataloged by the raw crawler, queried
through the local Athena and checked against values computed here, with ``Decimal``, from the
raw CSV rows the session seeded.

Other tests of the session may publish more days; every query here that could see them is
limited to the session's ``DAYS``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from local.data.synthetic_sales import RECIPE_CUSTOMERS, RECIPE_SALES
from sales_etl.config import PipelineConfig
from tests.athena.athena_client import Athena
from tests.support.endpoint import Aws
from tests.support.pipeline import DAYS, Pipeline, RecordedRuns

pytestmark = pytest.mark.e2e

FIRST, LAST = DAYS[0], DAYS[-1]
IN_DAYS = f"order_date BETWEEN DATE '{FIRST}' AND DATE '{LAST}'"


def sales(day: str) -> list[tuple[str, ...]]:
    """The day's valid seeded rows: the recipe's (the session's extra rows are all rejected)."""
    return [row for row in RECIPE_SALES if row[5] == day]


def revenue(day: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for _, _, _, qty, price, _, region in sales(day):
        totals[region] += int(qty) * Decimal(price)
    return dict(totals)


@pytest.fixture(scope="module")
def cfg(pipeline: Pipeline, completed: RecordedRuns) -> PipelineConfig:
    return pipeline.cfg


@pytest.fixture(scope="module")
def athena(pipeline: Pipeline) -> Athena:
    aws = Aws(pipeline.aws)
    bucket = f"athena-results-{uuid.uuid4().hex[:8]}"  # an analyst's own results bucket
    aws.s3.create_bucket(Bucket=bucket)
    return Athena(aws, f"s3://{bucket}/results/")


def test_recipe_query(athena: Athena, cfg: PipelineConfig) -> None:
    outcome = athena.ok(f"SELECT * FROM {cfg.glue_database}.daily_sales LIMIT 10")
    assert outcome.header == [
        "region",
        "daily_revenue",
        "daily_orders",
        "unique_customers",
        "order_date",
    ]
    assert outcome.types == ["varchar", "decimal", "bigint", "bigint", "date"]
    got = sorted((r[4], r[0], r[1], r[2]) for r in outcome.rows if r[4] in DAYS)
    expected = sorted(
        (day, region, str(total), str(sum(1 for s in sales(day) if s[6] == region)))
        for day in DAYS
        for region, total in revenue(day).items()
    )
    assert got == expected


def test_revenue_by_region_and_day_in_a_date_range_prunes(
    athena: Athena, cfg: PipelineConfig
) -> None:
    sql = (
        "SELECT order_date, region, sum(daily_revenue) AS revenue FROM daily_sales "
        f"WHERE order_date >= DATE '{LAST}' AND order_date < DATE '{LAST}' + INTERVAL '1' DAY "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    outcome = athena.ok(sql, cfg.glue_database)
    assert outcome.rows == [[LAST, r, str(v)] for r, v in sorted(revenue(LAST).items())]
    everything = athena.ok(f"SELECT count(*) FROM daily_sales WHERE {IN_DAYS}", cfg.glue_database)
    scanned = [o.execution["Statistics"]["DataScannedInBytes"] for o in (outcome, everything)]
    assert 0 < scanned[0] < scanned[1]


def test_customer_metrics_joined_with_raw_customers(athena: Athena, cfg: PipelineConfig) -> None:
    tables = {
        t["Name"]
        for t in athena.aws.athena.list_table_metadata(
            CatalogName="AwsDataCatalog", DatabaseName=cfg.glue_database
        )["TableMetadataList"]
    }
    assert {"daily_sales", "customer_metrics", "raw_customers", "raw_sales"} <= tables
    columns = athena.aws.athena.get_table_metadata(
        CatalogName="AwsDataCatalog", DatabaseName=cfg.glue_database, TableName="raw_customers"
    )["TableMetadata"]["Columns"]
    id_col, name_col = columns[0]["Name"], columns[1]["Name"]  # the crawler's names
    outcome = athena.ok(
        f"SELECT m.customer_id, c.{name_col}, m.total_spent, m.total_orders, m.avg_order_value "
        f"FROM customer_metrics m JOIN raw_customers c ON m.customer_id = c.{id_col} "
        f"WHERE m.as_of_date = DATE '{LAST}' ORDER BY m.customer_id",
        cfg.glue_database,
    )
    spent: dict[str, Decimal] = defaultdict(Decimal)
    orders: dict[str, int] = defaultdict(int)
    for day in DAYS:
        for _, cid, _, qty, price, _, _ in sales(day):
            spent[cid] += int(qty) * Decimal(price)
            orders[cid] += 1
    names = {row[0]: row[1] for row in RECIPE_CUSTOMERS}
    expected = [
        [cid, names[cid], str(spent[cid]), str(orders[cid]),
         str((spent[cid] / orders[cid]).quantize(Decimal("0.01"), ROUND_HALF_UP))]
        for cid in sorted(spent)
    ]  # fmt: skip
    assert outcome.rows == expected


def test_windows_dates_approx_distinct_casts_limit(athena: Athena, cfg: PipelineConfig) -> None:
    outcome = athena.ok(
        "SELECT date_format(CAST(order_date AS timestamp), '%Y/%m/%d') AS day, region, "
        "rank() OVER (PARTITION BY order_date ORDER BY daily_revenue DESC) AS rnk, "
        "CAST(daily_revenue AS double) AS revenue, date_trunc('month', order_date) AS month "
        f"FROM daily_sales WHERE {IN_DAYS} ORDER BY order_date DESC, rnk LIMIT 2",
        cfg.glue_database,
    )
    last = sorted(revenue(LAST).items(), key=lambda kv: -kv[1])[:2]
    assert outcome.rows == [
        [LAST.replace("-", "/"), region, str(rank), str(float(total)), f"{LAST[:7]}-01"]
        for rank, (region, total) in enumerate(last, start=1)
    ]
    distinct = athena.ok(
        "SELECT approx_distinct(region), sum(daily_orders), "
        f"date_parse('{FIRST}', '%Y-%m-%d') FROM daily_sales WHERE {IN_DAYS}",
        cfg.glue_database,
    )
    regions = {row[6] for day in DAYS for row in sales(day)}
    orders = sum(len(sales(day)) for day in DAYS)
    assert distinct.rows == [[str(len(regions)), str(orders), f"{FIRST} 00:00:00.000"]]


def test_raw_sales_duplicate_partition_column_fails_as_on_athena(
    athena: Athena, cfg: PipelineConfig
) -> None:
    # The recipe's CSV carries order_date, also the partition key: Athena refuses the table.
    reason = athena.fails("SELECT count(*) FROM raw_sales", cfg.glue_database)
    assert reason.startswith("HIVE_INVALID_METADATA") and "order_date" in reason
