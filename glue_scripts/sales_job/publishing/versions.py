"""Write-audit-publish of the processed tables.

A run never writes where a reader looks. Each table-day it produces goes to a new version
folder, ``<table>/<column>=<day>/run-<id>/`` (``sales_contract.processed_tables``); the
run then checks what it wrote against its counts (the audit), points each partition at its
new folder in the catalog (publish) and removes the versions nothing points at any more.
A run killed or failed before publishing changes nothing a reader sees; the earlier days it
reads (customer_daily, customer_metrics) are the published ones, or its own new versions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pyspark.sql import DataFrame, DataFrameReader
from pyspark.sql import functions as F

from sales_contract.layout import PROCESSED_TABLES
from sales_contract.processed_tables import is_version_name
from sales_job.lake_fs import LakeFs, literal_path
from sales_job.publishing.catalog import CatalogPaths, PartitionCatalog
from sales_job.publishing.fault_points import reached

log = logging.getLogger("sales_etl")

# What the pipeline wrote straight into a day's folder before versions existed: Spark's part
# files, its commit marker and checksums, and the staging folders of a dynamic overwrite.
_LEGACY_FILE_PREFIXES = ("part-", ".part-", "_SUCCESS", "._SUCCESS")
_LEGACY_DIR_PREFIX = ".spark-staging-"


@dataclass
class TableVersions:
    """The run's view of the processed tables: what is published and what it wrote."""

    version: str  # this run's version folder name
    paths: CatalogPaths
    published: dict[str, dict[date, str]]  # table -> day -> job path, as at the run's start
    written: dict[tuple[str, date], str] = field(default_factory=dict)  # -> version path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(
        cls, catalog: PartitionCatalog, table_roots: dict[str, str], version: str, *, s3: bool
    ) -> TableVersions:
        paths = CatalogPaths(catalog, table_roots, same_uris=s3)
        published = {
            table: {day: paths.to_job(table, loc) for day, loc in catalog.partitions(table).items()}
            for table in PROCESSED_TABLES
        }
        return cls(version, paths, published)

    def current(self, table: str) -> dict[date, str]:
        """Each day's folder to read: the run's own new version, else the published one."""
        found = dict(self.published[table])
        found.update({day: path for (t, day), path in self.written.items() if t == table})
        return found

    def record(self, table: str, day: date, path: str) -> bool:
        """Note a written version; True for the run's first."""
        with self._lock:
            self.written[(table, day)] = path
            return len(self.written) == 1


def write_version(
    versions: TableVersions, df: DataFrame, table: str, day: date, folder: str, sort: Sequence[str]
) -> None:
    """Write ``df`` (its partition column last) as one sorted Parquet file in ``folder``, a
    version folder no one reads yet; an empty ``df`` writes a file with no rows."""
    partition_column = df.columns[-1]
    (
        df.drop(partition_column)
        .coalesce(1)  # one file per partition, no extra shuffle
        .sortWithinPartitions(*sort)
        .write.mode("errorifexists")  # a version folder is written once
        .parquet(folder)
    )
    if versions.record(table, day, folder):
        reached("after_first_write")


def read_version(
    spark_reader: DataFrameReader, fs: LakeFs, folder: str, schema: str
) -> DataFrame | None:
    """The rows of one table-day folder: its files only (a folder of the earlier, unversioned
    layout may hold newer version folders too), None when it holds none."""
    files = [e.uri for e in fs.list(folder) if not e.is_dir]
    if not files:
        return None
    return spark_reader.schema(schema).parquet(*map(literal_path, files))


def audit(
    versions: TableVersions,
    spark_reader: DataFrameReader,
    fs: LakeFs,
    day: date,
    orders: int,
    revenue: Decimal,
) -> None:
    """The day's new daily_sales and customer_daily hold exactly the manifest's valid orders
    and revenue; else the run fails before publishing anything. One Spark job for both."""
    checks = {
        "daily_sales": ("daily_orders", "daily_revenue"),
        "customer_daily": ("orders", "spent"),
    }
    totals = None
    for table, (orders_column, money_column) in checks.items():
        schema = f"{orders_column} BIGINT, {money_column} DECIMAL(18,2)"
        rows = read_version(spark_reader, fs, versions.written[(table, day)], schema)
        if rows is None:  # no file at all: nothing to sum, the check below fails it
            continue
        summed = rows.agg(
            F.lit(table).alias("table"),
            F.coalesce(F.sum(orders_column), F.lit(0)).alias("orders"),
            F.coalesce(F.sum(money_column), F.lit(Decimal("0.00"))).alias("revenue"),
        )
        totals = summed if totals is None else totals.unionByName(summed)
    found = (
        {row["table"]: (row["orders"], row["revenue"]) for row in totals.collect()}
        if totals
        else {}
    )
    for table in checks:
        found_orders, found_revenue = found.get(table, (None, None))
        if (found_orders, found_revenue) != (orders, revenue):
            raise AuditError(
                f"{versions.written[(table, day)]} holds {found_orders} orders and revenue "
                f"{found_revenue}, the run counted {orders} valid orders and revenue {revenue}: "
                "nothing was published"
            )


class AuditError(RuntimeError):
    pass


def publish(versions: TableVersions, catalog: PartitionCatalog) -> dict[str, dict[str, str]]:
    """Point every partition the run wrote at its new version; the locations, per table."""
    reached("before_publish")
    published: dict[str, dict[str, str]] = {}
    for table in PROCESSED_TABLES:
        days = {day: path for (t, day), path in versions.written.items() if t == table}
        locations = {day: versions.paths.to_catalog(table, path) for day, path in days.items()}
        catalog.put_partitions(table, locations)
        published[table] = {day.isoformat(): loc for day, loc in sorted(locations.items())}
        log.info("published %s partition(s) of %s", len(locations), table)
    return published


def remove_superseded(versions: TableVersions, fs: LakeFs, day_folders: dict[tuple, str]) -> int:
    """In each published table-day's folder, remove every other version and the earlier
    layout's files: nothing points at them now. Nothing else in the folder is touched."""
    removed = 0
    for key, folder in day_folders.items():
        current = versions.written[key].rstrip("/").rsplit("/", 1)[-1]
        for entry in fs.list(folder, hidden=True):
            if entry.is_dir:
                ours = (is_version_name(entry.name) and entry.name != current) or (
                    entry.name.startswith(_LEGACY_DIR_PREFIX)
                )
            else:
                ours = entry.name.startswith(_LEGACY_FILE_PREFIXES)
            if ours:
                fs.delete(entry.uri)
                removed += 1
    return removed
