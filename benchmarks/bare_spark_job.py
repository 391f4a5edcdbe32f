"""The baseline for the contract-price benchmark: the same three outputs, no contract.

    python benchmarks/bare_spark_job.py --lake /tmp/lake --run_date 2024-01-01 --out /tmp/bare
    python benchmarks/bare_spark_job.py --startup-only     # an empty Spark start-up

What a minimal PySpark job does with one day of the lake: read the day's CSV with a fixed
schema (Spark's own header handling), join the customer snapshot, and write daily_sales,
customer_daily and customer_metrics as Parquet partitions. No line numbers, no quarantine, no
duplicate check, no reconciliation, no manifest: the price of those is what the benchmark
shows. It writes to its own --out folder, never into the lake.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

SALES_DDL = (
    "order_id STRING, customer_id STRING, product_id STRING, quantity INT, "
    "price DECIMAL(10,2), order_date DATE, region STRING"
)
CUSTOMERS_DDL = (
    "customer_id STRING, name STRING, email STRING, registration_date DATE, status STRING"
)


def run(spark: SparkSession, lake: str, run_date: str, out: str) -> None:
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    sales = (
        spark.read.schema(SALES_DDL)
        .option("header", True)
        .csv(f"{lake}/raw-data/sales/order_date={run_date}")
    )
    customers = (
        spark.read.schema(CUSTOMERS_DDL)
        .option("header", True)
        .csv(f"{lake}/raw-data/customers")  # the benchmark lake holds one snapshot
        .select("customer_id", "name", "status")
    )
    orders = sales.join(customers, "customer_id").withColumn(
        "amount", (F.col("quantity") * F.col("price")).cast("decimal(18,2)")
    )
    day = F.lit(run_date).cast("date")
    daily = orders.groupBy("region").agg(
        F.sum("amount").alias("daily_revenue"),
        F.count(F.lit(1)).alias("daily_orders"),
        F.countDistinct("customer_id").alias("unique_customers"),
    )
    _write(daily.withColumn("order_date", day), f"{out}/daily_sales", "order_date")
    per_customer = orders.groupBy("customer_id", "name", "status").agg(
        F.sum("amount").alias("spent"), F.count(F.lit(1)).alias("orders")
    )
    _write(per_customer.withColumn("order_date", day), f"{out}/customer_daily", "order_date")
    # The first day of the lake: its metrics are its own day's totals.
    metrics = per_customer.select(
        "customer_id",
        "name",
        "status",
        F.col("spent").alias("total_spent"),
        F.col("orders").alias("total_orders"),
        F.round(F.col("spent") / F.col("orders"), 2).alias("avg_order_value"),
    )
    _write(metrics.withColumn("as_of_date", day), f"{out}/customer_metrics", "as_of_date")


def _write(df, path: str, partition_column: str) -> None:  # type: ignore[no-untyped-def]
    df.coalesce(1).write.mode("overwrite").partitionBy(partition_column).parquet(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake")
    parser.add_argument("--run_date")
    parser.add_argument("--out")
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("bare_spark_job").getOrCreate()
    try:
        if not args.startup_only:
            if not (args.lake and args.run_date and args.out):
                parser.error("--lake, --run_date and --out are required")
            run(spark, args.lake, args.run_date, args.out)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
