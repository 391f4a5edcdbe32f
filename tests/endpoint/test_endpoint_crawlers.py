"""Crawlers catalog CSV data: tables per folder, header and types, partitions, re-crawls."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from local.stack_config import local_config
from sales_etl.glue_resources import raw_crawler_definition
from tests.support.endpoint import ROLE_ARN, Aws, CrawlPause, unique, wait_for_crawler
from tests.support.polling import wait_for

SALES_HEADER = "order_id,customer_id,quantity,unit_price,order_date\n"


def put_sales(aws: Aws, bucket: str, day: str, rows: str, name: str = "orders.csv") -> None:
    key = f"raw-data/sales/order_date={day}/{name}"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=(SALES_HEADER + rows).encode())


@pytest.fixture
def raw_data(aws: Aws, bucket: str) -> str:
    put_sales(aws, bucket, "2024-01-15", "1,C1,2,9.99,2024-01-15\n2,C2,1,5,2024-01-15\n")
    put_sales(aws, bucket, "2024-01-16", "3,C1,4,1.25,2024-01-16\n")
    aws.s3.put_object(
        Bucket=bucket,
        Key="raw-data/customers/snapshot_date=2024-01-15/customers.csv",
        Body=b'customer_id,name,active\nC1,"Doe, Jane",true\nC2,Bob,false\n',
    )
    # things a crawler must ignore
    aws.s3.put_object(Bucket=bucket, Key="raw-data/sales/_SUCCESS", Body=b"")
    aws.s3.put_object(Bucket=bucket, Key="raw-data/sales/order_date=2024-01-15/", Body=b"")
    aws.s3.put_object(Bucket=bucket, Key="raw-data/sales/.hidden/x.csv", Body=b"a\n1\n")
    aws.s3.put_object(
        Bucket=bucket, Key="raw-data/sales/order_date=2024-01-15/.x.csv.crc", Body=b"c"
    )
    return bucket


def create_crawler(aws: Aws, bucket: str, **overrides) -> tuple[str, str]:
    name, database = unique("crawler"), unique("db").replace("-", "_")
    targets = {
        "S3Targets": [
            {"Path": f"s3://{bucket}/raw-data/sales/"},
            {"Path": f"s3://{bucket}/raw-data/customers/"},
        ]
    }
    aws.glue.create_crawler(
        **{
            "Name": name,
            "Role": ROLE_ARN,
            "DatabaseName": database,
            "Targets": targets,
            "TablePrefix": "raw_",
            **overrides,
        }
    )
    return name, database


def columns(table: dict) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]


def partitions(aws: Aws, database: str, table: str) -> dict[tuple[str, ...], str]:
    response = aws.glue.get_partitions(DatabaseName=database, TableName=table)
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in response["Partitions"]}


def test_crawl_creates_csv_tables_with_types_and_partitions(aws: Aws, raw_data: str) -> None:
    bucket = raw_data
    name, database = create_crawler(aws, bucket)
    aws.glue.start_crawler(Name=name)
    crawler = wait_for_crawler(aws, name)

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert "ErrorMessage" not in crawler["LastCrawl"]
    tables = {t["Name"]: t for t in aws.glue.get_tables(DatabaseName=database)["TableList"]}
    assert sorted(tables) == ["raw_customers", "raw_sales"]

    sales = tables["raw_sales"]
    assert columns(sales) == [
        ("order_id", "bigint"),
        ("customer_id", "string"),
        ("quantity", "bigint"),
        ("unit_price", "double"),
        ("order_date", "string"),
    ]
    assert sales["PartitionKeys"] == [{"Name": "order_date", "Type": "string"}]
    assert sales["StorageDescriptor"]["Location"] == f"s3://{bucket}/raw-data/sales/"
    assert sales["Parameters"]["classification"] == "csv"
    assert sales["Parameters"]["skip.header.line.count"] == "1"
    assert sales["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    )
    assert sales["StorageDescriptor"]["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert partitions(aws, database, "raw_sales") == {
        ("2024-01-15",): f"s3://{bucket}/raw-data/sales/order_date=2024-01-15/",
        ("2024-01-16",): f"s3://{bucket}/raw-data/sales/order_date=2024-01-16/",
    }

    customers = tables["raw_customers"]
    assert columns(customers) == [
        ("customer_id", "string"),
        ("name", "string"),
        ("active", "boolean"),
    ]
    assert customers["PartitionKeys"] == [{"Name": "snapshot_date", "Type": "string"}]
    serde = customers["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert serde["Parameters"]["separatorChar"] == ","

    metrics = aws.glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert metrics["TablesCreated"] == 2
    assert metrics["TablesUpdated"] == 0
    assert metrics["LastRuntimeSeconds"] > 0
    crawls = aws.glue.list_crawls(CrawlerName=name)["Crawls"]
    assert [c["State"] for c in crawls] == ["COMPLETED"]


def test_recrawl_updates_schema_and_adds_new_partitions(aws: Aws, raw_data: str) -> None:
    bucket = raw_data
    name, database = create_crawler(aws, bucket)
    aws.glue.start_crawler(Name=name)
    wait_for_crawler(aws, name)
    aws.s3.put_object(
        Bucket=bucket,
        Key="raw-data/sales/order_date=2024-01-17/orders.csv",
        Body=(SALES_HEADER.strip() + ",channel\n" + "4,C2,1,3.5,2024-01-17,web\n").encode(),
    )

    aws.glue.start_crawler(Name=name)
    crawler = wait_for_crawler(aws, name)

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    sales = aws.glue.get_table(DatabaseName=database, Name="raw_sales")["Table"]
    assert columns(sales)[-1] == ("channel", "string")
    assert sales["VersionId"] == "2"
    assert sorted(partitions(aws, database, "raw_sales")) == [
        ("2024-01-15",),
        ("2024-01-16",),
        ("2024-01-17",),
    ]
    metrics = aws.glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"]) == (0, 1)


def test_start_update_while_running_are_refused_then_crawl_completes(
    aws: Aws, raw_data: str, paused_crawls: CrawlPause
) -> None:
    name, database = create_crawler(aws, raw_data)
    aws.glue.start_crawler(Name=name)
    assert aws.glue.get_crawler(Name=name)["Crawler"]["State"] == "RUNNING"

    with pytest.raises(ClientError) as second_start:
        aws.glue.start_crawler(Name=name)
    assert second_start.value.response["Error"]["Code"] == "CrawlerRunningException"
    with pytest.raises(ClientError) as update:
        aws.glue.update_crawler(Name=name, TablePrefix="other_")
    assert update.value.response["Error"]["Code"] == "CrawlerRunningException"
    assert aws.glue.list_crawls(CrawlerName=name)["Crawls"][0]["State"] == "RUNNING"
    assert aws.glue.get_crawler(Name=name)["Crawler"]["State"] == "RUNNING"  # ListCrawls no-op

    paused_crawls.release()
    crawler = wait_for_crawler(aws, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert len(aws.glue.get_tables(DatabaseName=database)["TableList"]) == 2


def test_stop_crawler_cancels_the_crawl(aws: Aws, raw_data: str, paused_crawls: CrawlPause) -> None:
    name, database = create_crawler(aws, raw_data)
    aws.glue.start_crawler(Name=name)
    assert paused_crawls.reached.wait(30)  # held mid-crawl, so the stop lands in flight
    aws.glue.stop_crawler(Name=name)
    assert aws.glue.get_crawler(Name=name)["Crawler"]["State"] == "STOPPING"
    paused_crawls.release()
    crawler = wait_for_crawler(aws, name)
    assert crawler["LastCrawl"]["Status"] == "CANCELLED"
    with pytest.raises(ClientError):
        aws.glue.get_tables(DatabaseName=database)  # cancelled before the catalog writes


def test_failed_crawl_reports_error(aws: Aws, bucket: str) -> None:
    name = unique("crawler")
    aws.glue.create_crawler(
        Name=name,
        Role=ROLE_ARN,
        DatabaseName="db_missing_bucket",
        Targets={"S3Targets": [{"Path": "s3://no-such-bucket-here/data/"}]},
    )
    aws.glue.start_crawler(Name=name)
    crawler = wait_for_crawler(aws, name)
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert "NoSuchBucket" in crawler["LastCrawl"]["ErrorMessage"]


def test_update_crawler_and_exclusions(aws: Aws, raw_data: str) -> None:
    bucket = raw_data
    name, database = create_crawler(aws, bucket)
    aws.glue.update_crawler(
        Name=name,
        TablePrefix="v2_",
        Targets={
            "S3Targets": [
                {"Path": f"s3://{bucket}/raw-data/", "Exclusions": ["customers/**"]},
            ]
        },
    )
    updated = aws.glue.get_crawler(Name=name)["Crawler"]
    assert updated["TablePrefix"] == "v2_"
    assert updated["Version"] == 2
    aws.glue.start_crawler(Name=name)
    wait_for(
        lambda: aws.glue.get_crawler(Name=name)["Crawler"],
        lambda c: c["State"] == "READY",
    )
    names = [t["Name"] for t in aws.glue.get_tables(DatabaseName=database)["TableList"]]
    assert names == ["v2_sales"]


def test_the_stacks_raw_crawler_keeps_one_table_per_dataset_and_skips_writer_litter(
    aws: Aws, raw_data: str
) -> None:
    """The raw crawler as the stack defines it (its exclusions and its pinned table level)."""
    bucket = raw_data
    defined = raw_crawler_definition(local_config(bucket=bucket))
    litter = [
        "raw-data/sales/order_date=2024-01-15/_temporary/0/part-0.csv",
        "raw-data/sales/order_date=2024-01-15/.spark-staging-1/part-0.csv",
        "raw-data/sales/order_date=2024-01-16_$folder$",
        # Not a partition folder: Glue's grouping could make it a table of its own.
        "raw-data/sales/2024/stray.csv",
    ]
    for key in litter:
        aws.s3.put_object(Bucket=bucket, Key=key, Body=SALES_HEADER.encode() + b"9,C9,1,1,x\n")
    name, database = create_crawler(
        aws, bucket, Configuration=defined["Configuration"], Targets=defined["Targets"]
    )
    aws.glue.start_crawler(Name=name)
    assert wait_for_crawler(aws, name)["LastCrawl"]["Status"] == "SUCCEEDED"
    tables = {t["Name"]: t for t in aws.glue.get_tables(DatabaseName=database)["TableList"]}
    assert sorted(tables) == ["raw_customers", "raw_sales"]
    assert set(partitions(aws, database, "raw_sales")) == {("2024-01-15",), ("2024-01-16",)}
    locations = partitions(aws, database, "raw_sales").values()
    assert all("_temporary" not in loc and "staging" not in loc for loc in locations)
