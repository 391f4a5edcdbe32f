"""Empty DataFrames that cost no Spark task."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType


def empty_frame(spark: SparkSession, schema: StructType | str) -> DataFrame:
    """No rows, no partitions. `createDataFrame([], schema)` has partitions, and a task that
    reads one starts a Python worker process: about 0.7 s the first time in a fresh driver."""
    return spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)
