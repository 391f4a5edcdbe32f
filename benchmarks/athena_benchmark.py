"""Local Athena overhead: the same SQL through the endpoint's Athena API and directly in DuckDB.

30 days of ``daily_sales`` partitions (the declared table: Parquet, ``date`` partitions, each
at its own version folder) plus a sales table of ``--rows-per-day`` orders a day (default
20,000: the 1/10 scale of ``benchmarks/README.md``), Parquet too. Three queries: the recipe's
``SELECT * FROM <db>.daily_sales LIMIT 10``, revenue by region over the 30 days of
``daily_sales``, and revenue by region over the 600,000 orders. Each runs ``--repeats``
times through boto3 (start, poll, page the results) and as the same SQL on the same files
through views in one open DuckDB connection. The difference of the medians is the overhead
per query: API round trips and polling, catalog reads, listing, translation, building the
typed relations, result formatting and paging.

    .venv/bin/python benchmarks/athena_benchmark.py [--rows-per-day 20000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.endpoint import start_endpoint

DB = "bench"
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}
REGIONS = ["North", "South", "East", "West"]
QUERIES = {
    "recipe": "SELECT * FROM bench.daily_sales LIMIT 10",
    "revenue_by_region": (
        "SELECT region, sum(daily_revenue) AS revenue, sum(daily_orders) AS orders "
        "FROM bench.daily_sales WHERE order_date BETWEEN DATE '2024-01-01' AND DATE '2024-01-30' "
        "GROUP BY region ORDER BY region"
    ),
    "revenue_by_region_raw": (
        "SELECT region, sum(price * quantity) AS revenue FROM bench.sales "
        "GROUP BY region ORDER BY region"
    ),
}


def _bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _revenue(prices: list, qty: list, region: list, wanted: str) -> Decimal:
    rows = zip(prices, qty, region, strict=True)
    return sum((p * q for p, q, r in rows if r == wanted), Decimal(0))


def seed(aws, work: Path, days: int, rows_per_day: int) -> dict[str, list[Path]]:
    rng = random.Random(7)
    aws.s3.create_bucket(Bucket="bench")
    aws.s3.create_bucket(Bucket="bench-results")
    aws.glue.create_database(DatabaseInput={"Name": DB})
    local: dict[str, list[Path]] = {"daily_sales": [], "sales": []}
    schemas = {
        "daily_sales": [
            ("region", "string"),
            ("daily_revenue", "decimal(18,2)"),
            ("daily_orders", "bigint"),
        ],
        "sales": [
            ("order_id", "string"),
            ("region", "string"),
            ("quantity", "bigint"),
            ("price", "decimal(10,2)"),
        ],
    }
    for name, columns in schemas.items():
        aws.glue.create_table(
            DatabaseName=DB,
            TableInput={
                "Name": name,
                "PartitionKeys": [{"Name": "order_date", "Type": "date"}],
                "StorageDescriptor": {
                    **PARQUET,
                    "Columns": [{"Name": n, "Type": t} for n, t in columns],
                    "Location": f"s3://bench/processed/{name}/",
                },
            },
        )
    for d in range(days):
        day = f"2024-01-{d + 1:02d}" if d < 31 else f"2024-02-{d - 30:02d}"
        prices = [Decimal(rng.randint(100, 20000)) / 100 for _ in range(rows_per_day)]
        qty = [rng.randint(1, 5) for _ in range(rows_per_day)]
        region = [rng.choice(REGIONS) for _ in range(rows_per_day)]
        sales = pa.table(
            {
                "order_id": [f"{day}-{i}" for i in range(rows_per_day)],
                "region": region,
                "quantity": pa.array(qty, pa.int64()),
                "price": pa.array(prices, pa.decimal128(10, 2)),
            }
        )
        daily = pa.table(
            {
                "region": REGIONS,
                "daily_revenue": pa.array(
                    [_revenue(prices, qty, region, g) for g in REGIONS], pa.decimal128(18, 2)
                ),
                "daily_orders": pa.array([region.count(g) for g in REGIONS], pa.int64()),
            }
        )  # fmt: skip
        for name, table in (("daily_sales", daily), ("sales", sales)):
            folder = f"processed/{name}/order_date={day}/run-1/"
            body = _bytes(table)
            aws.s3.put_object(Bucket="bench", Key=f"{folder}part-0.parquet", Body=body)
            path = work / name / f"order_date={day}" / "part-0.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            local[name].append(path)
            aws.glue.create_partition(
                DatabaseName=DB,
                TableName=name,
                PartitionInput={
                    "Values": [day],
                    "StorageDescriptor": {**PARQUET, "Location": f"s3://bench/{folder}"},
                },
            )
    return local


def through_api(aws, sql: str) -> float:
    started = time.perf_counter()
    query_id = aws.athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": "s3://bench-results/q/"}
    )["QueryExecutionId"]
    while True:
        state = aws.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if state["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.005)
    assert state["Status"]["State"] == "SUCCEEDED", state["Status"]
    for _page in aws.athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        pass
    return time.perf_counter() - started


def direct_connection(files: dict[str, list[Path]]) -> duckdb.DuckDBPyConnection:
    """One DuckDB connection with the tables as views over the same Parquet files."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bench")
    for table, paths in files.items():
        listed = ", ".join(f"'{p}'" for p in paths)
        source = (
            f"read_parquet([{listed}], hive_partitioning=true, hive_types={{'order_date': DATE}})"
        )
        con.execute(f"CREATE VIEW bench.{table} AS SELECT * FROM {source}")
    return con


def direct(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    started = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with start_endpoint(warm_spark=False) as endpoint:
        from tests.support.endpoint import Aws

        aws = Aws(endpoint.clients)
        files = seed(aws, endpoint.work_dir / "bench-direct", args.days, args.rows_per_day)
        print(f"{args.days} days, {args.rows_per_day} orders a day, median of {args.repeats} runs")
        con = direct_connection(files)
        for name, sql in QUERIES.items():
            through_api(aws, sql)  # first run copies the objects into the endpoint's cache
            api = [through_api(aws, sql) for _ in range(args.repeats)]
            bare = [direct(con, sql) for _ in range(args.repeats)]
            api_ms, bare_ms = statistics.median(api) * 1000, statistics.median(bare) * 1000
            print(
                f"{name:22s} API median {api_ms:7.1f} ms   DuckDB direct {bare_ms:7.1f} ms   "
                f"overhead {api_ms - bare_ms:7.1f} ms"
            )


if __name__ == "__main__":
    main()
