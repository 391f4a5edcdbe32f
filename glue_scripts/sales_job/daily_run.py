"""One day's run: find inputs, classify, check, write the day's partitions and the manifest.

I/O lives here; the transforms it calls are pure. Order of work:
  1. list the sales partition and pick the latest customer snapshot <= run_date;
  2. read each file's header on the driver, then parse + check every sales line (cached: the
     files are read once, twice on a day that repeats an order id), find repeated order ids,
     count in one action;
  3. write the quarantine partition (always), then fail if inputs are missing, the day has
     fewer than min_rows rows or the quarantine ratio is too high, else write daily_sales,
     customer_daily and customer_metrics side by side, and rebuild every later
     customer_metrics day on it;
  4. write the manifest (also on failure), then return it or raise.
A failed run never writes the processed tables, so earlier good output stays untouched.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from sales_job.aggregates import (
    customer_daily,
    customer_metrics,
    customer_region_totals,
    daily_sales,
    quarantined_rows,
    valid_rows,
)
from sales_job.args import JobArgs
from sales_job.contract import CUSTOMER_COLUMNS, SALES_COLUMNS, LakeLayout
from sales_job.csv_lines import (
    LINE_KIND_ROW,
    POSITION_COLUMNS,
    HeaderPlan,
    first_content_line,
    parse_lines,
    plan_header,
    read_lines,
)
from sales_job.frames import empty_frame
from sales_job.lake_fs import Entry, LakeFs
from sales_job.manifest import ManifestBuilder, collect_line_counts, manifest_json
from sales_job.validation import (
    FIRST_COPIES_SCHEMA,
    check_rows,
    customer_row_is_usable,
    first_copies,
    mark_duplicates,
    repeated_id_hashes,
    select_customers,
)

log = logging.getLogger("sales_etl")

CUSTOMER_DAILY_HISTORY_DDL = "customer_id STRING, spent DECIMAL(18,2), orders BIGINT"
CUSTOMER_METRICS_CARRY_DDL = "customer_id STRING, total_spent DECIMAL(18,2), total_orders BIGINT"
EMPTY_CUSTOMERS_DDL = "customer_id STRING, name STRING, status STRING"
CACHE_PARTITION_BYTES = 16 * 1024 * 1024  # of raw CSV per cached partition
# Of input per shuffle partition: the target adaptive execution would coalesce to by default
# (spark.sql.adaptive.advisoryPartitionSizeInBytes).
SHUFFLE_PARTITION_BYTES = 64 * 1024 * 1024
# What the steps after the check read of a line (counts, duplicates, quarantine, the tables):
# the cache holds only these. Names and statuses are joined per customer, after summing.
CHECKED_COLUMNS = (
    *POSITION_COLUMNS,
    "raw_line",
    "line_kind",
    "reason",
    "order_id",
    "customer_id",
    "region",
    "amount",
)
MAX_ERROR_CHARS = 4000
MAX_HASH_FILTER = 10_000  # literals in one IN filter


class SalesEtlError(RuntimeError):
    """The run failed for a stated cause; the manifest (status failed) is already written."""

    def __init__(self, message: str, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.manifest = manifest


def _failure(day: date, cause: str) -> SalesEtlError:
    return SalesEtlError(f"sales ETL for run_date {day} failed: {cause}")


@dataclass(frozen=True)
class Snapshot:
    snapshot_date: date
    uri: str
    files: list[Entry]


def run_sales_etl(spark: SparkSession, args: JobArgs) -> dict[str, Any]:
    """Process args.run_date; return the manifest or raise SalesEtlError (manifest written)."""
    # Overwrite replaces only the partitions present in the written data.
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    # With concurrent writers the writer adds no sort of its own by partition column, which
    # would make the optimizer drop our sort (each write holds one partition value anyway).
    spark.conf.set("spark.sql.maxConcurrentOutputFileWriters", "1")
    # The day's checked lines are cached once and read by every later step. Compressing the
    # cache cost more CPU than computing the lines (benchmarks/README.md); memory is cheaper.
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
    layout = LakeLayout(args.data_uri)
    fs = LakeFs(spark)
    report = ManifestBuilder(
        args.run_date, layout, args.max_quarantine_ratio, job_run_id=args.job_run_id
    )
    cached: list[DataFrame] = []
    try:
        _process_day(spark, fs, layout, args, report, cached)
    except Exception as exc:
        message = str(exc) if isinstance(exc, SalesEtlError) else f"{type(exc).__name__}: {exc}"
        log.error("%s", message)
        # A JVM error carries its whole stack trace; the manifest keeps the head of it.
        manifest = report.build(error=message[:MAX_ERROR_CHARS])
        _write_manifest(fs, layout, args.run_date, manifest)
        if isinstance(exc, SalesEtlError):
            exc.manifest = manifest
        raise
    finally:
        for df in cached:
            df.unpersist()
    manifest = report.build()
    _write_manifest(fs, layout, args.run_date, manifest)
    return manifest


def _process_day(
    spark: SparkSession,
    fs: LakeFs,
    layout: LakeLayout,
    args: JobArgs,
    report: ManifestBuilder,
    cached: list[DataFrame],
) -> None:
    day = args.run_date
    snapshot = find_snapshot(fs, layout, day)
    report.customers_uri = snapshot.uri if snapshot else None
    sales_uri = layout.sales_partition(day)
    sales_files = [e for e in fs.list(sales_uri) if not e.is_dir]
    report.input_files = [(e.name, e.size) for e in sales_files]
    if not sales_files:
        fs.delete(layout.quarantine_partition(day))  # no rows, so no rejected rows either
        what = "contains no data files" if fs.exists(sales_uri) else "does not exist"
        raise _failure(day, f"no sales partition: {sales_uri} {what}")

    _size_shuffles(spark, [*sales_files, *(snapshot.files if snapshot else [])])
    with spark_step(spark, "read the customer snapshot"):
        customers = _load_customers(spark, fs, snapshot, report, cached)
    with spark_step(spark, "check the sales lines"):
        lines = read_parsed_lines(spark, fs, [e.uri for e in sales_files], SALES_COLUMNS)
        checked = check_rows(lines, customers, day).select(*CHECKED_COLUMNS)
        classified = _without_later_copies(spark, checked, sales_files, cached)
    with spark_step(spark, "count the lines"):
        counts, line_numbers = collect_line_counts(classified)
    report.counts = counts
    log.info("run_date %s: %s rows in, %s valid", day, counts.rows_in, counts.rows_valid)

    _overwrite_partition(
        fs,
        quarantined_rows(line_numbers.add_to(classified), day),
        layout.quarantine_root,
        layout.quarantine_partition(day),
        ("source_file", "line_number"),
        empty=counts.rows_quarantined == 0,
    )
    if counts.rows_in < args.min_rows:
        seen = ", ".join(f"{name} ({size} bytes)" for name, size in report.input_files)
        raise _failure(
            day,
            f"{counts.rows_in} data rows in {sales_uri}, at least {args.min_rows} required "
            f"(min_rows); files seen: {seen}; the day's processed partitions are unchanged",
        )
    if snapshot is None:
        raise _failure(
            day, f"no customer snapshot with snapshot_date <= {day} under {layout.customers_root}"
        )
    if not snapshot.files:
        raise _failure(day, f"customer snapshot {snapshot.uri} contains no data files")
    if not report.snapshot or not report.snapshot["customers"]:
        raise _failure(
            day,
            f"customer snapshot {snapshot.uri} has no valid customer rows "
            f"(expected header {','.join(CUSTOMER_COLUMNS)})",
        )
    if counts.quarantine_ratio > args.max_quarantine_ratio:
        raise _failure(
            day,
            f"{counts.rows_quarantined} of {counts.rows_in} rows in {sales_uri} were quarantined "
            f"(ratio {counts.quarantine_ratio:.4f} > max_quarantine_ratio "
            f"{args.max_quarantine_ratio}); reasons {counts.reasons}; "
            f"rejected rows are in {layout.quarantine_partition(day)}",
        )
    later = _later_metrics_snapshots(fs, layout, day)
    _write_processed(
        spark, fs, layout, day, classified, customers, counts.rows_valid, sales_files, cached
    )
    customers_by_snapshot = {snapshot.snapshot_date: customers}
    _rebuild_later_metrics(spark, fs, layout, later, customers_by_snapshot, report, cached)


def _size_shuffles(spark: SparkSession, inputs: Sequence[Entry]) -> None:
    """Shuffle partitions sized to the day's input: one per 64 MiB, at least one per core.

    Adaptive execution would find such sizes at run time, but it runs each stage as a Spark job
    of its own, and builds a cache in a job of its own before the first step that reads it can
    start: on a day of 1,000,000 orders that cost about 2 s of 24 (benchmarks/README.md).
    Every other table a run reads back holds a row per customer, about a snapshot's size.
    """
    input_bytes = sum(e.size for e in inputs)
    wanted = math.ceil(input_bytes / SHUFFLE_PARTITION_BYTES)
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    spark.conf.set(
        "spark.sql.shuffle.partitions", str(max(wanted, spark.sparkContext.defaultParallelism))
    )


def _without_later_copies(
    spark: SparkSession, checked: DataFrame, files: Sequence[Entry], cached: list[DataFrame]
) -> DataFrame:
    """The checked lines, cached, with every later copy of an order_id quarantined.

    The cache keeps a line's raw text only if the line is rejected (only those are written,
    to the quarantine): raw lines are most of a day's bytes. A day that repeats an order_id
    (rare: a file delivered twice) needs the raw text of rows that passed every other check,
    so it reads its files once more, into a cache with every raw line. The first copies are
    held on the driver; a day that repeats none skips that join on every later read.
    """
    rejected_text = F.when(F.col("reason").isNotNull(), F.col("raw_line"))
    lines = _cache(spark, checked.withColumn("raw_line", rejected_text), files, cached)
    hashes = [row["_id_hash"] for row in repeated_id_hashes(lines).collect()]
    if not hashes:
        return lines
    lines.unpersist()
    lines = _cache(spark, checked, files, cached)
    # A day that repeats many ids (a file delivered twice) is checked without the hash filter.
    copies = first_copies(lines, hashes if len(hashes) <= MAX_HASH_FILTER else None).collect()
    if not copies:
        return lines
    return mark_duplicates(lines, spark.createDataFrame(copies, FIRST_COPIES_SCHEMA))


def _load_customers(
    spark: SparkSession,
    fs: LakeFs,
    snapshot: Snapshot | None,
    report: ManifestBuilder,
    cached: list[DataFrame],
) -> DataFrame:
    """The snapshot's customers; the manifest gets its row and customer counts."""
    if snapshot is None or not snapshot.files:
        return empty_frame(spark, EMPTY_CUSTOMERS_DDL)
    totals, customers = _snapshot_customers(spark, fs, snapshot, cached)
    report.snapshot = {
        "snapshot_date": snapshot.snapshot_date.isoformat(),
        "rows_in": totals["rows_in"],
        "customers": totals["customers"],
    }
    return customers


def _snapshot_customers(
    spark: SparkSession, fs: LakeFs, snapshot: Snapshot, cached: list[DataFrame]
) -> tuple[Row, DataFrame]:
    """The snapshot's counts (rows_in, customers, usable_rows) and its customers, cached.

    The file is read once, for the counts; the customers are computed once, for the check,
    customer_metrics and every rebuild. The counts tell whether any customer_id is listed
    twice; if none is, keeping each one's first row needs no sort.
    """
    parsed = read_parsed_lines(spark, fs, [e.uri for e in snapshot.files], CUSTOMER_COLUMNS)
    parsed = _cache(spark, parsed, snapshot.files, cached)
    usable = F.when(customer_row_is_usable(), F.col("customer_id"))
    [totals] = parsed.agg(
        F.count(F.when(F.col("line_kind") == LINE_KIND_ROW, 1)).alias("rows_in"),
        F.count_distinct(usable).alias("customers"),
        F.count(usable).alias("usable_rows"),
    ).collect()
    ids_unique = totals["usable_rows"] == totals["customers"]
    customers = select_customers(parsed, ids_unique=ids_unique)
    return totals, _cache(spark, customers, snapshot.files, cached)


def read_parsed_lines(
    spark: SparkSession, fs: LakeFs, file_uris: Sequence[str], header: Sequence[str]
) -> DataFrame:
    """parse_lines over read_lines of files of one folder, with each file's header plan."""
    return parse_lines(read_lines(spark, file_uris), _header_plans(fs, file_uris, header), header)


def _header_plans(
    fs: LakeFs, file_uris: Sequence[str], header: Sequence[str]
) -> dict[str, HeaderPlan]:
    """Each file's header, from its first non-blank line: a few kilobytes read on the driver."""
    plans = {}
    for uri in file_uris:
        with closing(fs.lines(uri)) as lines:
            plans[fs.name(uri)] = plan_header(first_content_line(lines), header)
    return plans


def _write_processed(
    spark: SparkSession,
    fs: LakeFs,
    layout: LakeLayout,
    day: date,
    classified: DataFrame,
    customers: DataFrame,
    rows_valid: int,
    sales_files: Sequence[Entry],
    cached: list[DataFrame],
) -> None:
    no_rows = rows_valid == 0
    by_region = _cache(spark, customer_region_totals(valid_rows(classified)), sales_files, cached)
    history, has_history = _metrics_history(spark, fs, layout, day)
    _side_by_side(
        lambda: _overwrite_partition(
            fs,
            daily_sales(by_region, day),
            layout.daily_sales_root,
            layout.daily_sales_partition(day),
            ("region",),
            empty=no_rows,
        ),
        lambda: _overwrite_partition(
            fs,
            customer_daily(by_region, customers, day),
            layout.customer_daily_root,
            layout.customer_daily_partition(day),
            ("customer_id",),
            empty=no_rows,
        ),
        lambda: _write_metrics(
            fs,
            layout,
            day,
            # The day's totals per customer and region sum to its customer_daily rows.
            history.unionByName(by_region.select("customer_id", "spent", "orders")),
            customers,
            empty=no_rows and not has_history,
        ),
    )


def _side_by_side(*steps: Callable[[], None]) -> None:
    """Run independent steps in threads of their own, so Spark runs their jobs side by side.

    Each table is written as one file, by one task: alone, such a stage leaves every other
    core idle. Spark computes a cached partition once even when two jobs need it at the same
    time. Once every step has ended, the first failure (in argument order) is raised.
    """
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    for future in futures:
        future.result()


def _later_metrics_snapshots(
    fs: LakeFs, layout: LakeLayout, day: date
) -> list[tuple[date, Snapshot]]:
    """Each customer_metrics day after `day`, with the snapshot it is built with.

    Resolved before anything is written, so a day that cannot be rebuilt fails the run first.
    """
    later = []
    for as_of, _uri in _dated_dirs(fs, layout.customer_metrics_root, "as_of_date"):
        if as_of <= day:
            continue
        snapshot = find_snapshot(fs, layout, as_of)
        if snapshot is None or not snapshot.files:
            raise _failure(
                day,
                f"cannot rebuild customer_metrics as of {as_of}: no customer snapshot with "
                f"files on or before it under {layout.customers_root}",
            )
        later.append((as_of, snapshot))
    return later


def _rebuild_later_metrics(
    spark: SparkSession,
    fs: LakeFs,
    layout: LakeLayout,
    later: Sequence[tuple[date, Snapshot]],
    customers_by_snapshot: dict[date, DataFrame],
    report: ManifestBuilder,
    cached: list[DataFrame],
) -> None:
    """Rebuild every later customer_metrics day, in date order, on the one just written.

    Each builds on its predecessor plus that day's customer_daily partition (no raw sales),
    so a rerun or an out-of-order day leaves every later day as an in-order run would.
    """
    for as_of, snapshot in later:
        if snapshot.snapshot_date not in customers_by_snapshot:
            _totals, customers = _snapshot_customers(spark, fs, snapshot, cached)
            customers_by_snapshot[snapshot.snapshot_date] = customers
        history, has_history = _metrics_history(spark, fs, layout, as_of)
        own_day = layout.customer_daily_partition(as_of)
        has_own_day = fs.exists(own_day)
        if has_own_day:
            history = history.unionByName(
                spark.read.schema(CUSTOMER_DAILY_HISTORY_DDL).parquet(own_day)
            )
        _write_metrics(
            fs,
            layout,
            as_of,
            history,
            customers_by_snapshot[snapshot.snapshot_date],
            empty=not has_history and not has_own_day,
        )
        report.rebuilt_metrics.append(layout.customer_metrics_partition(as_of))
        log.info("rebuilt customer_metrics as of %s", as_of)


def _metrics_history(
    spark: SparkSession, fs: LakeFs, layout: LakeLayout, day: date
) -> tuple[DataFrame, bool]:
    """(customer_id, spent, orders) rows summing to customer_metrics just before `day`.

    That is the latest earlier metrics partition P plus the customer_daily days after P: it
    equals the sum over all days < D whenever P is exact, and reads one small partition
    instead of a history that grows every day. Never raw sales history. The flag says
    whether any such partition exists.
    """
    previous = latest_metrics_before(fs, layout, day)
    after = previous[0] if previous else date.min
    newer_dirs = [uri for d, uri in customer_daily_dirs_before(fs, layout, day) if d > after]
    history = empty_frame(spark, CUSTOMER_DAILY_HISTORY_DDL)
    if newer_dirs:
        earlier = spark.read.schema(CUSTOMER_DAILY_HISTORY_DDL).parquet(*newer_dirs)
        history = history.unionByName(earlier)
    if previous:
        carried = spark.read.schema(CUSTOMER_METRICS_CARRY_DDL).parquet(previous[1])
        history = history.unionByName(
            carried.select(
                "customer_id",
                F.col("total_spent").alias("spent"),
                F.col("total_orders").alias("orders"),
            )
        )
    return history, bool(newer_dirs) or previous is not None


def _write_metrics(
    fs: LakeFs,
    layout: LakeLayout,
    day: date,
    history: DataFrame,
    customers: DataFrame,
    *,
    empty: bool,
) -> None:
    _overwrite_partition(
        fs,
        customer_metrics(history, customers, day),
        layout.customer_metrics_root,
        layout.customer_metrics_partition(day),
        ("customer_id",),
        empty=empty,
    )


def find_snapshot(fs: LakeFs, layout: LakeLayout, day: date) -> Snapshot | None:
    """The latest snapshot_date=YYYY-MM-DD folder on or before `day`."""
    dated = _dated_dirs(fs, layout.customers_root, "snapshot_date")
    eligible = [(d, uri) for d, uri in dated if d <= day]
    if not eligible:
        return None
    snapshot_date, found_uri = max(eligible)
    files = [e for e in fs.list(found_uri) if not e.is_dir]
    return Snapshot(snapshot_date, layout.customer_snapshot(snapshot_date), files)


def customer_daily_dirs_before(fs: LakeFs, layout: LakeLayout, day: date) -> list[tuple[date, str]]:
    return [
        (d, uri) for d, uri in _dated_dirs(fs, layout.customer_daily_root, "order_date") if d < day
    ]


def latest_metrics_before(fs: LakeFs, layout: LakeLayout, day: date) -> tuple[date, str] | None:
    """The newest customer_metrics partition strictly before `day`, if any."""
    earlier = [
        (d, uri)
        for d, uri in _dated_dirs(fs, layout.customer_metrics_root, "as_of_date")
        if d < day
    ]
    return max(earlier) if earlier else None


def _dated_dirs(fs: LakeFs, root: str, column: str) -> list[tuple[date, str]]:
    found = []
    for entry in fs.list(root):
        key, _, value = entry.name.partition("=")
        if not entry.is_dir or key != column:
            continue
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            continue  # not a partition of ours; ignore rather than guess
        try:
            found.append((date.fromisoformat(value), entry.uri))
        except ValueError:
            continue
    return sorted(found)


def _cache(
    spark: SparkSession, df: DataFrame, files: Sequence[Entry], cached: list[DataFrame]
) -> DataFrame:
    """Persist `df` in as many partitions as its input size needs, so it is computed once
    and every later read of it runs that many tasks, whatever the plan's last shuffle had."""
    input_bytes = sum(e.size for e in files)
    wanted = math.ceil(input_bytes / CACHE_PARTITION_BYTES)
    partitions = max(1, min(wanted, 4 * spark.sparkContext.defaultParallelism))
    persisted = df.coalesce(partitions).persist(StorageLevel.MEMORY_AND_DISK)
    cached.append(persisted)
    return persisted


def _overwrite_partition(
    fs: LakeFs,
    df: DataFrame,
    table_root: str,
    partition_uri: str,
    sort_columns: Sequence[str],
    *,
    empty: bool,
) -> None:
    """Replace exactly one partition with one sorted Parquet file (deterministic reruns).

    Writing no rows would leave the old partition in place, so an empty result deletes it.
    """
    if empty:
        fs.delete(partition_uri)
        return
    partition_column = df.columns[-1]
    with spark_step(df.sparkSession, f"write {partition_uri.rsplit('/', 2)[-2]}"):
        (
            df.coalesce(1)  # one file per partition, no extra shuffle
            .sortWithinPartitions(partition_column, *sort_columns)
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(partition_column)
            .parquet(table_root)
        )


@contextmanager
def spark_step(spark: SparkSession, name: str) -> Iterator[None]:
    """Name the Spark jobs a step runs (the Spark UI and event log show it): where time goes."""
    context = spark.sparkContext
    context.setJobDescription(f"sales_etl: {name}")
    try:
        yield
    finally:
        context.setJobDescription(None)  # type: ignore[arg-type]


def _write_manifest(fs: LakeFs, layout: LakeLayout, day: date, manifest: dict[str, Any]) -> None:
    fs.write_text(layout.manifest(day), manifest_json(manifest))
