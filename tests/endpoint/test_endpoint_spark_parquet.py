"""One real PySpark Glue job (CSV in, partitioned Parquet out), then a crawl of its output.

The Spark run is the slow part of this suite, so it runs once per module.
"""

from __future__ import annotations

import pytest

from tests.support.endpoint import (
    ROLE_ARN,
    Aws,
    create_job,
    glue_driver_messages,
    keys,
    unique,
    wait_for_crawler,
    wait_for_job_run,
)

SPARK_JOB = """
import sys
from pyspark.sql import SparkSession, functions as F

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    .config("spark.sql.shuffle.partitions", "1")
    .getOrCreate()
)
schema = "order_id LONG, customer_id STRING, region STRING, quantity INT, unit_price DOUBLE"
sales = (
    spark.read.option("header", True).schema(schema).csv(args["--raw_sales"])
    .withColumn("amount", F.col("quantity") * F.col("unit_price"))
)
daily = sales.groupBy("order_date", "region").agg(
    F.sum("amount").alias("daily_revenue"),
    F.count("*").alias("daily_orders"),
    F.countDistinct("customer_id").alias("unique_customers"),
)
customer_daily = sales.groupBy("order_date", "customer_id").agg(
    F.sum("amount").cast("decimal(12,2)").alias("spent"),
    F.count("*").alias("orders"),
    F.sum("quantity").cast("int").alias("items"),
    (F.count("*") > 1).alias("is_repeat"),
    F.to_date(F.lit(args["--run_date"])).alias("loaded_on"),
)
out = args["--processed"].rstrip("/")
daily.write.mode("overwrite").partitionBy("order_date").parquet(out + "/daily_sales")
customer_daily.write.mode("overwrite").partitionBy("order_date").parquet(out + "/customer_daily")
print(f"wrote {daily.count()} daily rows")
spark.stop()
"""

SALES = {
    "2024-01-15": "order_id,customer_id,region,quantity,unit_price\n"
    "1,C1,north,2,10.0\n2,C1,north,1,5.5\n3,C2,south,3,1.0\n",
    "2024-01-16": "order_id,customer_id,region,quantity,unit_price\n4,C2,south,1,2.25\n",
}


@pytest.fixture(scope="module")
def spark_run(aws: Aws) -> dict:
    bucket = unique("spark")
    aws.s3.create_bucket(Bucket=bucket)
    for day, body in SALES.items():
        key = f"raw-data/sales/order_date={day}/orders.csv"
        aws.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    job, _ = create_job(
        aws,
        bucket,
        SPARK_JOB,
        DefaultArguments={
            "--raw_sales": f"s3://{bucket}/raw-data/sales/",
            "--processed": f"s3://{bucket}/processed-data/",
            "--job-bookmark-option": "job-bookmark-disable",
        },
        WorkerType="G.1X",
        NumberOfWorkers=2,
    )
    run_id = aws.glue.start_job_run(JobName=job, Arguments={"--run_date": "2024-01-16"})["JobRunId"]
    run = wait_for_job_run(aws, job, run_id, timeout=240)
    return {"bucket": bucket, "job": job, "run_id": run_id, "run": run}


def test_spark_job_succeeds_and_its_parquet_lands_in_s3(aws: Aws, spark_run: dict) -> None:
    run, bucket = spark_run["run"], spark_run["bucket"]
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["ExecutionTime"] > 0
    written = keys(aws, bucket, "processed-data/")
    for table in ("daily_sales", "customer_daily"):
        for day in SALES:
            prefix = f"processed-data/{table}/order_date={day}/part-"
            assert any(k.startswith(prefix) and k.endswith(".parquet") for k in written), written
    assert not [k for k in written if k.endswith(".crc") or "_temporary" in k]
    assert "wrote 3 daily rows" in glue_driver_messages(
        aws, "/aws-glue/jobs/output", spark_run["run_id"]
    )


def test_crawler_catalogs_the_parquet_output(aws: Aws, spark_run: dict) -> None:
    bucket = spark_run["bucket"]
    name, database = unique("processed"), unique("processed_db").replace("-", "_")
    aws.glue.create_crawler(
        Name=name,
        Role=ROLE_ARN,
        DatabaseName=database,
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/processed-data/"}]},
    )
    aws.glue.start_crawler(Name=name)
    crawler = wait_for_crawler(aws, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"

    tables = {t["Name"]: t for t in aws.glue.get_tables(DatabaseName=database)["TableList"]}
    assert sorted(tables) == ["customer_daily", "daily_sales"]
    daily = tables["daily_sales"]
    assert [(c["Name"], c["Type"]) for c in daily["StorageDescriptor"]["Columns"]] == [
        ("region", "string"),
        ("daily_revenue", "double"),
        ("daily_orders", "bigint"),
        ("unique_customers", "bigint"),
    ]
    customer = tables["customer_daily"]
    assert [(c["Name"], c["Type"]) for c in customer["StorageDescriptor"]["Columns"]] == [
        ("customer_id", "string"),
        ("spent", "decimal(12,2)"),
        ("orders", "bigint"),
        ("items", "int"),
        ("is_repeat", "boolean"),
        ("loaded_on", "date"),
    ]
    for table in tables.values():
        assert table["PartitionKeys"] == [{"Name": "order_date", "Type": "string"}]
        assert table["Parameters"]["classification"] == "parquet"
        sd = table["StorageDescriptor"]
        assert sd["SerdeInfo"]["SerializationLibrary"] == (
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        )
        assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
        parts = aws.glue.get_partitions(DatabaseName=database, TableName=table["Name"])
        assert sorted(p["Values"][0] for p in parts["Partitions"]) == sorted(SALES)
    assert daily["Parameters"]["recordCount"] == "3"  # from the footers' num_rows
    metrics = aws.glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert metrics["TablesCreated"] == 2
