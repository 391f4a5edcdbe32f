"""Glue job entry point: sales ETL for one day (--run_date) of the lake at --data_uri.

On Glue:  --run_date 2024-01-15 --data_uri s3://bucket --glue_database sales_etl
          [--max_quarantine_ratio 0.05]
          --extra-py-files s3://bucket/scripts/sales_etl_lib.zip (the sales_job package)
Locally:  python glue_scripts/sales_etl_job.py --run_date 2024-01-15 --data_uri /tmp/lake
          --glue_database sales_etl (with AWS_ENDPOINT_URL naming the local endpoint, whose
          tables' locations end like the lake's folders)

Exits non-zero (the exception) when the run fails; the manifest is written either way.
The transforms live in the sales_job package and never import awsglue.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from sales_job.args import resolve_job_args
from sales_job.daily_run import SalesEtlError, run_sales_etl
from sales_job.publishing.catalog import PartitionCatalog

# Outside Glue (no awsglue library: a laptop), Spark would bind the driver to the machine's
# address and serve its UI on *:4040 to the whole network. A local run stays on loopback.
LOCAL_SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


def spark_session() -> SparkSession:
    builder = SparkSession.builder.appName("sales_etl_job")
    if importlib.util.find_spec("awsglue") is None:
        for key, value in LOCAL_SPARK_CONF.items():
            builder = builder.config(key, value)
    return builder.getOrCreate()


def main(
    argv: Sequence[str] | None = None, catalog: PartitionCatalog | None = None
) -> dict[str, Any]:
    """Run the day; its partitions are published in ``catalog`` (default: --glue_database)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = resolve_job_args(sys.argv if argv is None else argv)
    spark = spark_session()
    try:
        manifest = run_sales_etl(spark, args, catalog)
    except SalesEtlError as exc:
        if exc.manifest is not None:
            print(json.dumps(exc.manifest, indent=2, sort_keys=True))
        raise
    print(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


if __name__ == "__main__":
    main()
