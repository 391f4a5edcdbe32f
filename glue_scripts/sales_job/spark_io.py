"""Spark reads and writes: session settings, parsed lines, the snapshot's customers, the day's
checked lines (cached, later copies of an order_id quarantined), the quarantine's partition
overwrite and the processed tables' new versions."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import date

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from sales_job.contract import CUSTOMER_COLUMNS
from sales_job.csv_lines import (
    LINE_KIND_ROW,
    POSITION_COLUMNS,
    HeaderPlan,
    first_content_line,
    header_hint,
    parse_lines,
    plan_header,
    read_lines,
)
from sales_job.frames import empty_frame
from sales_job.lake_fs import Entry, LakeFs
from sales_job.lake_listing import Snapshot
from sales_job.publishing.versions import write_version
from sales_job.py4j_lookups import bind_classes_pyspark_looks_up
from sales_job.run_context import RunContext
from sales_job.validation import (
    FIRST_COPIES_SCHEMA,
    customer_row_is_usable,
    first_copies,
    mark_duplicates,
    repeated_id_hashes,
    select_customers,
)

EMPTY_CUSTOMERS_DDL = "customer_id STRING, name STRING, status STRING"
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
MAX_HASH_FILTER = 10_000  # literals in one IN filter
# Each processed table's rows are written sorted by these (deterministic reruns).
SORT_COLUMNS = {
    "daily_sales": ("region",),
    "customer_daily": ("customer_id",),
    "customer_metrics": ("customer_id",),
}


def configure_session(spark: SparkSession) -> None:
    bind_classes_pyspark_looks_up(spark)
    # Overwrite replaces only the partitions present in the written data.
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    # With concurrent writers the writer adds no sort of its own by partition column, which
    # would make the optimizer drop our sort (each write holds one partition value anyway).
    spark.conf.set("spark.sql.maxConcurrentOutputFileWriters", "1")
    # The day's checked lines are cached once and read by every later step. Compressing the
    # cache cost more CPU than computing the lines (benchmarks/README.md); memory is cheaper.
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")


def size_shuffles(ctx: RunContext, inputs: Sequence[Entry]) -> None:
    """Shuffle partitions sized to the day's input: one per 64 MiB, at least one per core.

    Adaptive execution would find such sizes at run time, but it runs each stage as a Spark job
    of its own, and builds a cache in a job of its own before the first step that reads it can
    start: on a day of 1,000,000 orders that cost about 2 s of 24 (benchmarks/README.md).
    Every other table a run reads back holds a row per customer, about a snapshot's size.
    """
    input_bytes = sum(e.size for e in inputs)
    wanted = math.ceil(input_bytes / SHUFFLE_PARTITION_BYTES)
    spark = ctx.spark
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    spark.conf.set(
        "spark.sql.shuffle.partitions", str(max(wanted, spark.sparkContext.defaultParallelism))
    )


def read_parsed_lines(
    ctx: RunContext,
    file_uris: Sequence[str],
    header: Sequence[str],
    hints: dict[str, str] | None = None,
) -> DataFrame:
    """parse_lines over read_lines of files of one folder, with each file's header plan.
    `hints` gets file name -> header_hint for each file whose header uses another delimiter."""
    max_bytes = ctx.args.max_line_bytes
    plans = _header_plans(ctx.fs, file_uris, header, max_bytes)
    if hints is not None:
        hints.update({name: hint for name, plan in plans.items() if (hint := header_hint(plan))})
    return parse_lines(read_lines(ctx.spark, file_uris), plans, header, max_bytes)


def _header_plans(
    fs: LakeFs, file_uris: Sequence[str], header: Sequence[str], max_line_bytes: int
) -> dict[str, HeaderPlan]:
    """Each file's header, from its first non-blank line: a few kilobytes read on the driver."""
    plans = {}
    for uri in file_uris:
        with closing(fs.lines(uri, max_line_bytes)) as lines:
            plans[fs.name(uri)] = plan_header(first_content_line(lines), header)
    return plans


def without_later_copies(ctx: RunContext, checked: DataFrame, files: Sequence[Entry]) -> DataFrame:
    """check_rows' lines, cached, with every later copy of an order_id quarantined.

    The cache keeps a line's raw text only if the line is rejected (only those are written,
    to the quarantine): raw lines are most of a day's bytes. A day that repeats an order_id
    (rare: a file delivered twice) needs the raw text of rows that passed every other check,
    so it reads its files once more, into a cache with every raw line. The first copies are
    held on the driver; a day that repeats none skips that join on every later read.
    """
    rejected_text = F.when(F.col("reason").isNotNull(), F.col("raw_line"))
    lines = ctx.cache(checked.withColumn("raw_line", rejected_text), files)
    hashes = [row["_id_hash"] for row in repeated_id_hashes(lines).collect()]
    if not hashes:
        return lines
    lines.unpersist()
    lines = ctx.cache(checked, files)
    # A day that repeats many ids (a file delivered twice) is checked without the hash filter.
    copies = first_copies(lines, hashes if len(hashes) <= MAX_HASH_FILTER else None).collect()
    if not copies:
        return lines
    return mark_duplicates(lines, ctx.spark.createDataFrame(copies, FIRST_COPIES_SCHEMA))


def load_customers(ctx: RunContext, snapshot: Snapshot | None) -> DataFrame:
    """The snapshot's customers; the manifest gets its row and customer counts."""
    if snapshot is None or not snapshot.files:
        return empty_frame(ctx.spark, EMPTY_CUSTOMERS_DDL)
    totals, customers = snapshot_customers(ctx, snapshot)
    ctx.report.snapshot = {
        "snapshot_date": snapshot.snapshot_date.isoformat(),
        "rows_in": totals["rows_in"],
        "customers": totals["customers"],
    }
    return customers


def snapshot_customers(ctx: RunContext, snapshot: Snapshot) -> tuple[Row, DataFrame]:
    """The snapshot's counts (rows_in, customers, usable_rows) and its customers, cached.

    The file is read once, for the counts; the customers are computed once, for the check,
    customer_metrics and every rebuild. The counts tell whether any customer_id is listed
    twice; if none is, keeping each one's first row needs no sort.
    """
    parsed = read_parsed_lines(ctx, [e.uri for e in snapshot.files], CUSTOMER_COLUMNS)
    parsed = ctx.cache(parsed, snapshot.files)
    usable = F.when(customer_row_is_usable(), F.col("customer_id"))
    [totals] = parsed.agg(
        F.count(F.when(F.col("line_kind") == LINE_KIND_ROW, 1)).alias("rows_in"),
        F.count_distinct(usable).alias("customers"),
        F.count(usable).alias("usable_rows"),
    ).collect()
    ids_unique = totals["usable_rows"] == totals["customers"]
    customers = select_customers(parsed, ids_unique=ids_unique)
    return totals, ctx.cache(customers, snapshot.files)


def side_by_side(*steps: Callable[[], None]) -> None:
    """Run independent steps in threads of their own, so Spark runs their jobs side by side.

    Each table is written as one file, by one task: alone, such a stage leaves every other
    core idle. Spark computes a cached partition once even when two jobs need it at the same
    time. Once every step has ended, the first failure (in argument order) is raised.
    """
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    for future in futures:
        future.result()


def overwrite_partition(
    fs: LakeFs, df: DataFrame, partition_uri: str, sort_columns: Sequence[str], *, empty: bool
) -> None:
    """Replace exactly one partition with one sorted Parquet file (deterministic reruns).

    The table is the partition's folder's parent (LakeLayout: `<table>/<column>=<date>`), and
    the partition column `df`'s last. Writing no rows would leave the old partition in
    place, so an empty result deletes it.
    """
    if empty:
        fs.delete(partition_uri)
        return
    table_root, _partition = partition_uri.rsplit("/", 1)
    partition_column = df.columns[-1]
    with spark_step(df.sparkSession, f"write {table_root.rsplit('/', 1)[-1]}"):
        (
            df.coalesce(1)  # one file per partition, no extra shuffle
            .sortWithinPartitions(partition_column, *sort_columns)
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(partition_column)
            .parquet(table_root)
        )


def write_table_day(ctx: RunContext, table: str, df: DataFrame, day: date) -> None:
    """``table``'s rows of ``day`` as this run's new version of that partition (unpublished)."""
    with spark_step(df.sparkSession, f"write {table} {day}"):
        folder = ctx.version_folder(table, day)
        write_version(ctx.tables, df, table, day, folder, SORT_COLUMNS[table])


@contextmanager
def spark_step(spark: SparkSession, name: str) -> Iterator[None]:
    """Name the Spark jobs a step runs (the Spark UI and event log show it): where time goes."""
    context = spark.sparkContext
    context.setJobDescription(f"sales_etl: {name}")
    try:
        yield
    finally:
        context.setJobDescription(None)  # type: ignore[arg-type]
