"""The lake layout: the DAG side's keys and the Glue job's URIs name the same objects."""

from __future__ import annotations

from datetime import date

import pytest

from sales_contract.layout import (
    PROCESSED_PARTITION_COLUMNS,
    PROCESSED_TABLES,
    LakeLayout,
    customer_snapshot_prefix,
    manifest_key,
    processed_partition_prefix,
    quarantine_partition_prefix,
    s3_uri,
    sales_partition_prefix,
    sales_ready_key,
)
from sales_contract.processed_tables import (
    PROCESSED_TABLE_DECLARATIONS,
    glue_table_input,
    is_version_name,
    version_name,
    version_prefix,
)

DAY = date(2024, 1, 15)
LAKE = LakeLayout("s3://bucket")


def test_keys_of_one_day() -> None:
    assert sales_partition_prefix("2024-01-15") == "raw-data/sales/order_date=2024-01-15/"
    assert customer_snapshot_prefix("2024-01-15") == (
        "raw-data/customers/snapshot_date=2024-01-15/"
    )
    assert quarantine_partition_prefix("2024-01-15") == "quarantine/sales/order_date=2024-01-15/"
    assert manifest_key("2024-01-15") == "manifests/run_date=2024-01-15/manifest.json"
    assert processed_partition_prefix("customer_metrics", "2024-01-15") == (
        "processed-data/customer_metrics/as_of_date=2024-01-15/"
    )


def test_the_ready_key_is_the_marker_or_any_csv() -> None:
    assert sales_ready_key("2024-01-15", "_SUCCESS").endswith("order_date=2024-01-15/_SUCCESS")
    assert sales_ready_key("2024-01-15", None).endswith("order_date=2024-01-15/*.csv")


def test_uris_are_the_keys_under_the_base_without_a_trailing_slash() -> None:
    day = DAY.isoformat()
    assert LAKE.sales_partition(DAY) + "/" == s3_uri("bucket", sales_partition_prefix(day))
    assert LAKE.customer_snapshot(DAY) + "/" == s3_uri("bucket", customer_snapshot_prefix(day))
    assert LAKE.quarantine_partition(DAY) + "/" == s3_uri(
        "bucket", quarantine_partition_prefix(day)
    )
    assert LAKE.manifest(DAY) == s3_uri("bucket", manifest_key(day))
    for table in PROCESSED_TABLES:
        assert LAKE.table_partition(table, DAY) + "/" == s3_uri(
            "bucket", processed_partition_prefix(table, day)
        )
    assert LAKE.customer_metrics_partition(DAY) == LAKE.table_partition("customer_metrics", DAY)


def test_a_local_lake_gets_the_same_paths() -> None:
    local = LakeLayout("file:///tmp/lake")
    assert local.daily_sales_partition(DAY) == (
        "file:///tmp/lake/processed-data/daily_sales/order_date=2024-01-15"
    )


def test_version_folders_are_never_partition_columns_or_hidden():
    name = version_name("0123456789ab")
    assert name == "run-0123456789ab" and is_version_name(name)
    assert "=" not in name and not name.startswith(("_", "."))
    assert version_prefix("daily_sales", "2024-01-15", name) == (
        "processed-data/daily_sales/order_date=2024-01-15/run-0123456789ab/"
    )
    for bad in ("a=b", "../x", "", "x/y", "backup", "0123456789AB"):
        with pytest.raises(ValueError, match="cannot name a version folder"):
            version_name(bad)
    for foreign in ("backup", "run=1", "_temporary", "run-", "run-old", "run-0123456789abc"):
        assert not is_version_name(foreign)


def test_each_table_input_is_the_declared_columns_partition_and_parquet_storage():
    for table, declared in PROCESSED_TABLE_DECLARATIONS.items():
        location = f"s3://b/processed-data/{table}/"
        table_input = glue_table_input(table, location)
        storage = table_input["StorageDescriptor"]
        assert table_input["Name"] == table
        assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
            (c.name, c.type) for c in declared.columns
        ]
        assert table_input["PartitionKeys"] == [
            {"Name": PROCESSED_PARTITION_COLUMNS[table], "Type": "date"}
        ]
        assert storage["Location"] == location
        assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
