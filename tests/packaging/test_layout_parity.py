"""The DAG side's bucket layout (sales_etl.layout) and the Glue job's (LakeLayout) agree.

Glue cannot import plugins/, so the layout is written twice; these keys are where the DAG,
the Lambda and the job meet.
"""

from __future__ import annotations

from datetime import date

from sales_etl.layout import (
    PROCESSED_TABLES,
    RAW_CUSTOMERS_PREFIX,
    manifest_key,
    processed_partition_prefix,
    quarantine_partition_prefix,
    s3_uri,
    sales_partition_prefix,
)
from sales_job.contract import LakeLayout

BUCKET = "sales-etl-parity"
DAY = date(2024, 1, 15)
LAKE = LakeLayout(s3_uri(BUCKET).rstrip("/"))


def key(uri: str) -> str:
    """The key of an s3:// URI in the bucket; a folder's key ends with '/'."""
    prefix = s3_uri(BUCKET)
    assert uri.startswith(prefix), uri
    return uri.removeprefix(prefix)


def test_raw_inputs_and_outputs_have_the_same_keys() -> None:
    day = DAY.isoformat()
    assert key(LAKE.sales_partition(DAY)) + "/" == sales_partition_prefix(day)
    assert key(LAKE.customers_root) + "/" == RAW_CUSTOMERS_PREFIX
    assert key(LAKE.quarantine_partition(DAY)) + "/" == quarantine_partition_prefix(day)
    assert key(LAKE.manifest(DAY)) == manifest_key(day)


def test_every_processed_table_has_the_same_partition_keys() -> None:
    glue_partitions = {
        name.removesuffix("_partition")
        for name in dir(LakeLayout)
        if name.endswith("_partition") and name not in ("sales_partition", "quarantine_partition")
    }
    assert glue_partitions == set(PROCESSED_TABLES)
    for table in PROCESSED_TABLES:
        glue_key = key(getattr(LAKE, f"{table}_partition")(DAY)) + "/"
        assert glue_key == processed_partition_prefix(table, DAY.isoformat()), table
