"""What every step of one day's run shares: the session, the lake, the catalog and the
processed tables' versions, the manifest being built and the DataFrames the run has cached.
`with RunContext.start(spark, args, catalog) as ctx:` releases
the caches when the block ends, however it ends."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from sales_contract.layout import PROCESSED_TABLES, LakeLayout
from sales_contract.processed_tables import version_name
from sales_job.args import JobArgs
from sales_job.lake_fs import Entry, LakeFs
from sales_job.manifest import ManifestBuilder
from sales_job.publishing.catalog import PartitionCatalog
from sales_job.publishing.versions import TableVersions

CACHE_PARTITION_BYTES = 16 * 1024 * 1024  # of raw CSV per cached partition


@dataclass
class RunContext:
    spark: SparkSession
    fs: LakeFs
    layout: LakeLayout
    args: JobArgs
    report: ManifestBuilder  # filled in step by step, so a failure still reports what was learnt
    cached: list[DataFrame]
    catalog: PartitionCatalog | None  # None: a run that only classifies (tests of steps)
    version: str  # the folder name of every table-day this run writes: run-<12 hex digits>
    _tables: TableVersions | None = None

    @classmethod
    def start(
        cls, spark: SparkSession, args: JobArgs, catalog: PartitionCatalog | None = None
    ) -> RunContext:
        layout = LakeLayout(args.data_uri)
        # New for every run, even one that reuses a run id (the manifest names both).
        version = version_name(uuid.uuid4().hex[:12])
        report = ManifestBuilder(
            args.run_date,
            layout,
            args.max_quarantine_ratio,
            job_run_id=args.job_run_id,
            version=version,
        )
        return cls(spark, LakeFs(spark), layout, args, report, [], catalog, version)

    @property
    def tables(self) -> TableVersions:
        """What is published (read from the catalog on first use) and what the run wrote."""
        if self._tables is None:
            if self.catalog is None:
                raise RuntimeError("this run has no catalog to read or publish partitions in")
            roots = {table: self.layout.table_root(table) for table in PROCESSED_TABLES}
            s3 = self.args.data_uri.startswith("s3://")
            self._tables = TableVersions.load(self.catalog, roots, self.version, s3=s3)
        return self._tables

    def version_folder(self, table: str, day: date) -> str:
        """Where this run writes ``table``'s partition of ``day``."""
        return f"{self.layout.table_partition(table, day)}/{self.version}"

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
