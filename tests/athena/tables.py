"""Small hand-written tables in the endpoint's S3 and Glue catalog, registered as a crawler
or the stack would (Parquet with partitions at their own locations, CSV with SerDe settings).

The raw sales rows here are the source of truth the tests compute expectations from, in
Python with ``Decimal``; ``daily_sales`` is written from them, per day, as the job would.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tests.athena.conftest import parquet_bytes
from tests.support.endpoint import Aws

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}
TEXT = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
}
LAZY = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"

# order_id, customer_id, region, quantity, price, order_ts
SALES = [
    ("o1", "c1", "North", 2, "29.99", "2024-01-15 09:30:00"),
    ("o2", "c2", "South", 1, "49.99", "2024-01-15 11:00:00"),
    ("o3", "c1", "North", 1, "10.01", "2024-01-16 08:15:00"),
    ("o4", "c3", "East", 3, "5.00", "2024-01-16 17:45:00"),
    ("o5", "c2", "South", 4, "12.50", "2024-01-17 12:00:00"),
    ("o6", "c4", "West", 1, "99.99", "2024-01-17 23:59:00"),
    ("o7", "c3", "North", 2, "0.50", "2024-02-01 10:00:00"),
]
CUSTOMERS = [("c1", "Ann, the first", "gold"), ("c2", "Bob", "silver"), ("c3", 'Cy "C"', "")]
DAYS = sorted({row[5][:10] for row in SALES})


def daily_sales_rows(day: str) -> list[dict[str, Any]]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: dict[str, int] = defaultdict(int)
    for _, _, region, qty, price, ts in SALES:
        if ts.startswith(day):
            revenue[region] += qty * Decimal(price)
            orders[region] += 1
    return [{"region": r, "revenue": revenue[r], "orders": orders[r]} for r in sorted(revenue)]


def create(aws: Aws, bucket: str, database: str) -> None:
    aws.s3.create_bucket(Bucket=bucket)
    aws.glue.create_database(DatabaseInput={"Name": database})
    _daily_sales(aws, bucket, database)
    _raw_sales(aws, bucket, database)
    _customers(aws, bucket, database)


def _table(aws: Aws, database: str, name: str, columns: list, location: str, **extra: Any) -> None:
    storage = {**extra.pop("storage"), "Columns": columns, "Location": location}
    aws.glue.create_table(
        DatabaseName=database,
        TableInput={"Name": name, "StorageDescriptor": storage, **extra},
    )


def _daily_sales(aws: Aws, bucket: str, database: str) -> None:
    columns = [
        {"Name": "region", "Type": "string"},
        {"Name": "revenue", "Type": "decimal(18,2)"},
        {"Name": "orders", "Type": "bigint"},
    ]
    location = f"s3://{bucket}/processed/daily_sales/"
    _table(
        aws, database, "daily_sales", columns, location, storage=PARQUET,
        PartitionKeys=[{"Name": "order_date", "Type": "string"}],
    )  # fmt: skip
    for day in DAYS:
        rows = daily_sales_rows(day)
        table = pa.table(
            {
                "region": [r["region"] for r in rows],
                "revenue": pa.array([r["revenue"] for r in rows], pa.decimal128(18, 2)),
                "orders": pa.array([r["orders"] for r in rows], pa.int64()),
            }
        )
        # Each partition at its own version folder, as published partitions are; a stale
        # version beside it must never be read.
        folder = f"processed/daily_sales/order_date={day}/run-2/"
        aws.s3.put_object(Bucket=bucket, Key=f"{folder}part-0.parquet", Body=parquet_bytes(table))
        aws.s3.put_object(Bucket=bucket, Key=f"{folder}_SUCCESS", Body=b"")
        stale = f"processed/daily_sales/order_date={day}/run-1/part-0.parquet"
        aws.s3.put_object(Bucket=bucket, Key=stale, Body=parquet_bytes(table))
        aws.glue.create_partition(
            DatabaseName=database,
            TableName="daily_sales",
            PartitionInput={
                "Values": [day],
                "StorageDescriptor": {
                    **PARQUET,
                    "Columns": columns,
                    "Location": f"s3://{bucket}/{folder}",
                },
            },
        )


def _raw_sales(aws: Aws, bucket: str, database: str) -> None:
    columns = [
        {"Name": "order_id", "Type": "string"},
        {"Name": "customer_id", "Type": "string"},
        {"Name": "region", "Type": "string"},
        {"Name": "quantity", "Type": "bigint"},
        {"Name": "price", "Type": "decimal(10,2)"},
        {"Name": "order_ts", "Type": "timestamp"},
    ]
    lines = ["order_id|customer_id|region|quantity|price|order_ts"]
    lines += ["|".join(str(v) for v in row) for row in SALES]
    body = ("\n".join(lines) + "\n").encode()
    aws.s3.put_object(Bucket=bucket, Key="raw/sales/all.psv", Body=body)
    serde = {"SerializationLibrary": LAZY, "Parameters": {"field.delim": "|"}}
    _table(
        aws, database, "raw_sales", columns, f"s3://{bucket}/raw/sales/",
        storage={**TEXT, "SerdeInfo": serde}, Parameters={"skip.header.line.count": "1"},
    )  # fmt: skip


def _customers(aws: Aws, bucket: str, database: str) -> None:
    columns = [
        {"Name": "customer_id", "Type": "string"},
        {"Name": "name", "Type": "string"},
        {"Name": "status", "Type": "string"},
    ]

    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    lines = ["customer_id,name,status"] + [",".join(map(quoted, row)) for row in CUSTOMERS]
    aws.s3.put_object(Bucket=bucket, Key="raw/customers/c.csv", Body="\n".join(lines).encode())
    serde = {
        "SerializationLibrary": OPEN_CSV,
        "Parameters": {"separatorChar": ",", "quoteChar": '"', "skip.header.line.count": "1"},
    }
    _table(
        aws, database, "raw_customers", columns, f"s3://{bucket}/raw/customers/",
        storage={**TEXT, "SerdeInfo": serde},
    )  # fmt: skip
