"""What every step of one day's run shares: the session, the lake, the manifest being built
and the DataFrames the run has cached. `with RunContext.start(spark, args) as ctx:` releases
the caches when the block ends, however it ends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from sales_contract.layout import LakeLayout
from sales_job.args import JobArgs
from sales_job.lake_fs import Entry, LakeFs
from sales_job.manifest import ManifestBuilder

CACHE_PARTITION_BYTES = 16 * 1024 * 1024  # of raw CSV per cached partition


@dataclass(frozen=True)
class RunContext:
    spark: SparkSession
    fs: LakeFs
    layout: LakeLayout
    args: JobArgs
    report: ManifestBuilder  # filled in step by step, so a failure still reports what was learnt
    cached: list[DataFrame]

    @classmethod
    def start(cls, spark: SparkSession, args: JobArgs) -> RunContext:
        layout = LakeLayout(args.data_uri)
        report = ManifestBuilder(
            args.run_date, layout, args.max_quarantine_ratio, job_run_id=args.job_run_id
        )
        return cls(spark, LakeFs(spark), layout, args, report, [])

    @property
    def day(self) -> date:
        """The run date: the day whose partitions the run replaces."""
        return self.args.run_date

    def cache(self, df: DataFrame, files: Sequence[Entry]) -> DataFrame:
        """Persist `df` in as many partitions as its input size needs, so it is computed once
        and every later read of it runs that many tasks, whatever the plan's last shuffle had."""
        input_bytes = sum(e.size for e in files)
        wanted = math.ceil(input_bytes / CACHE_PARTITION_BYTES)
        partitions = max(1, min(wanted, 4 * self.spark.sparkContext.defaultParallelism))
        persisted = df.coalesce(partitions).persist(StorageLevel.MEMORY_AND_DISK)
        self.cached.append(persisted)
        return persisted

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *_exc: object) -> None:
        """Unpersist everything cached during the run, however it ended."""
        for df in self.cached:
            df.unpersist()
