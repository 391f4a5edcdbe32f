"""The stack's Glue job, crawler and processed tables are the definitions the DAG checks, the
job writes and local runs create."""

from __future__ import annotations

import pytest

from local.stack_config import LOCAL_ACCOUNT_ID, local_config
from sales_contract.layout import PROCESSED_TABLES
from sales_contract.processed_tables import PROCESSED_TABLE_DECLARATIONS
from sales_etl.glue_resources import (
    RAW_EXCLUSIONS,
    glue_job_definition,
    processed_table_definition,
    raw_crawler_definition,
)
from sales_job.contract import table_schema
from tests.support.iam.policies import _template, render_properties

TABLE_RESOURCES = {
    "daily_sales": "DailySalesTable",
    "customer_daily": "CustomerDailyTable",
    "customer_metrics": "CustomerMetricsTable",
}


@pytest.mark.parametrize(
    ("logical_id", "definition"),
    [("SalesEtlJob", glue_job_definition), ("RawCrawler", raw_crawler_definition)],
)
def test_the_template_declares_exactly_the_python_definition(logical_id, definition):
    cfg = local_config()  # the template's defaults, rendered for the local names
    assert render_properties(cfg, logical_id) == definition(cfg)


def test_code_loading_arguments_cannot_be_overridden_by_a_run():
    job = render_properties(local_config(), "SalesEtlJob")
    assert set(job["NonOverridableArguments"]) == {"--extra-py-files"}
    assert "--extra-py-files" not in job["DefaultArguments"]


@pytest.mark.parametrize("table", PROCESSED_TABLES)
def test_each_processed_table_is_declared_as_the_contract_says(table):
    cfg = local_config()
    rendered = render_properties(cfg, TABLE_RESOURCES[table])
    assert rendered.pop("CatalogId") == LOCAL_ACCOUNT_ID
    assert rendered == processed_table_definition(cfg, table)
    # The job's Spark schema (what it writes, partition column last) is the same columns.
    declared = processed_table_definition(cfg, table)["TableInput"]
    columns = [*declared["StorageDescriptor"]["Columns"], *declared["PartitionKeys"]]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        (f.name, f.dataType.simpleString()) for f in table_schema(table).fields
    ]
    assert declared["StorageDescriptor"]["Location"] == f"s3://{cfg.bucket}/processed-data/{table}/"


def test_only_the_declared_tables_and_the_raw_crawler_catalog_the_lake():
    resources = _template()["Resources"]
    glue = {k: v["Type"] for k, v in resources.items() if v["Type"].startswith("AWS::Glue::")}
    assert sorted(k for k, t in glue.items() if t == "AWS::Glue::Table") == sorted(
        TABLE_RESOURCES.values()
    )
    assert [k for k, t in glue.items() if t == "AWS::Glue::Crawler"] == ["RawCrawler"]
    assert set(PROCESSED_TABLE_DECLARATIONS) == set(PROCESSED_TABLES)


def test_the_raw_crawler_has_one_target_per_dataset_with_the_exclusions_and_a_pinned_level():
    crawler = raw_crawler_definition(local_config())
    targets = crawler["Targets"]["S3Targets"]
    assert [t["Path"].split("/", 3)[3] for t in targets] == [
        "raw-data/sales/",
        "raw-data/customers/",
    ]
    for target in targets:
        assert target["Exclusions"] == RAW_EXCLUSIONS
    assert '"Grouping": {"TableLevelConfiguration": 2}' in crawler["Configuration"]
