"""One day's run: find inputs, classify, check, write, audit and publish the day's partitions.

The run's story and its failure checks; listing the lake (lake_listing), Spark reads and
writes (spark_io) and customer_metrics history (metrics_history) live next door, every step
gets the one RunContext. Order of work:
  1. list the sales partition and pick the latest complete customer snapshot <= run_date
     (failing if either holds a sub-folder or a file name Hadoop cannot read);
  2. read each file's header on the driver, then parse + check every sales line (cached: the
     files are read once, twice on a day that repeats an order id), find repeated order ids,
     count in one action;
  3. write the quarantine partition (always), then fail if inputs are missing, the day has
     fewer than min_rows rows or the quarantine ratio is too high, else write new versions of
     daily_sales, customer_daily and customer_metrics side by side, and rebuild every later
     customer_metrics day on it (new versions too, unpublished);
  4. audit the new versions against the counts, point the catalog's partitions at them
     (publishing) and remove the versions they replace (publishing.py);
  5. write the manifest: "running" before the first write, then "succeeded" or "failed".
A run that fails or is killed before publishing changes nothing a reader of the catalog sees.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from sales_job.aggregates import (
    customer_daily,
    customer_region_totals,
    daily_sales,
    money_overflow,
    quarantined_rows,
    valid_rows,
)
from sales_job.args import JobArgs, JobArgumentError
from sales_job.contract import CUSTOMER_COLUMNS, MAX_MONEY, MONEY_SQL_TYPE, SALES_COLUMNS
from sales_job.lake_fs import Entry
from sales_job.lake_listing import (
    SKIP_SUB_FOLDER,
    SKIP_UNREADABLE,
    Folder,
    Snapshot,
    find_snapshot,
    folder_contents,
    metrics_days_after,
)
from sales_job.manifest import LineCounts, collect_line_counts, manifest_json
from sales_job.metrics_history import metrics_history, rebuild_later_metrics, write_metrics
from sales_job.publishing.catalog import GlueCatalog, PartitionCatalog
from sales_job.publishing.versions import audit, publish, remove_superseded
from sales_job.run_context import RunContext
from sales_job.spark_io import (
    CHECKED_COLUMNS,
    configure_session,
    load_customers,
    overwrite_partition,
    read_parsed_lines,
    side_by_side,
    size_shuffles,
    spark_step,
    without_later_copies,
    write_table_day,
)
from sales_job.validation import check_rows

log = logging.getLogger("sales_etl")

MAX_ERROR_CHARS = 4000


class SalesEtlError(RuntimeError):
    """The run failed for a stated cause; the manifest (status failed) is already written."""

    def __init__(self, message: str, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.manifest = manifest


def _failure(day: date, cause: str) -> SalesEtlError:
    return SalesEtlError(f"sales ETL for run_date {day} failed: {cause}")


def run_sales_etl(
    spark: SparkSession, args: JobArgs, catalog: PartitionCatalog | None = None
) -> dict[str, Any]:
    """Process args.run_date; return the manifest or raise SalesEtlError (manifest written).

    The day's partitions are published in ``catalog``: by default the Glue database
    ``--glue_database`` names.
    """
    if catalog is None:
        if not args.glue_database:
            raise JobArgumentError("missing required argument --glue_database")
        catalog = GlueCatalog.connect(args.glue_database)
    configure_session(spark)
    with RunContext.start(spark, args, catalog) as ctx:  # caches are released as it ends
        # Before the first write: a run killed from here on never reads as succeeded.
        _write_manifest(ctx, ctx.report.build(running=True))
        try:
            _process_day(ctx)
        except Exception as exc:
            message = str(exc) if isinstance(exc, SalesEtlError) else f"{type(exc).__name__}: {exc}"
            log.error("%s", message)
            # A JVM error carries its whole stack trace; the manifest keeps the head of it.
            manifest = ctx.report.build(error=message[:MAX_ERROR_CHARS])
            _write_manifest(ctx, manifest)
            if isinstance(exc, SalesEtlError):
                exc.manifest = manifest
            raise
    manifest = ctx.report.build()
    _write_manifest(ctx, manifest)
    return manifest


def _process_day(ctx: RunContext) -> None:
    """Steps 1 to 4 above; a stated cause of failure raises SalesEtlError."""
    day = ctx.day
    _ = ctx.tables  # what is published: a catalog that disagrees fails the run here
    snapshot = find_snapshot(ctx, day)
    ctx.report.customers_uri = snapshot.uri if snapshot else None
    sales_files = _sales_files(ctx)
    if snapshot:
        _require_readable(ctx, snapshot.uri, snapshot.folder)

    size_shuffles(ctx, [*sales_files, *(snapshot.files if snapshot else [])])
    with spark_step(ctx.spark, "read the customer snapshot"):
        customers = load_customers(ctx, snapshot)
    with spark_step(ctx.spark, "check the sales lines"):
        sales_uris = [e.uri for e in sales_files]
        lines = read_parsed_lines(ctx, sales_uris, SALES_COLUMNS, ctx.report.header_hints)
        checked = check_rows(lines, customers, day).select(*CHECKED_COLUMNS)
        classified = without_later_copies(ctx, checked, sales_files)
    with spark_step(ctx.spark, "count the lines"):
        counts, line_numbers = collect_line_counts(classified)
    ctx.report.counts = counts
    log.info("run_date %s: %s rows in, %s valid", day, counts.rows_in, counts.rows_valid)
    _require_listed(ctx, counts.files_read, sales_files)

    overwrite_partition(
        ctx.fs,
        quarantined_rows(line_numbers.add_to(classified), day),
        ctx.layout.quarantine_partition(day),
        ("source_file", "line_number"),
        empty=counts.rows_quarantined == 0,
    )
    snapshot = _check_day(ctx, counts, snapshot)
    later = _later_metrics_days(ctx)
    by_region = ctx.cache(customer_region_totals(valid_rows(classified)), sales_files)
    try:
        _write_processed(ctx, by_region, customers)
        rebuild_later_metrics(ctx, later, {snapshot.snapshot_date: customers})
    except Exception as exc:
        # A running total of customer_metrics too large to write: a stated cause, named.
        if cause := money_overflow(exc):
            raise _failure(day, f"{cause}; customer_metrics cannot hold it") from exc
        raise
    _publish(ctx, counts)


def _publish(ctx: RunContext, counts: LineCounts) -> None:
    """Audit the day's new versions, point the catalog at every version written, and remove
    the versions that replaced ones (and a killed run's leftovers) in those day folders."""
    started = time.monotonic()
    with spark_step(ctx.spark, "audit the new versions"):
        audit(ctx.tables, ctx.spark.read, ctx.fs, ctx.day, counts.rows_valid, counts.total_revenue)
    audited = time.monotonic()
    ctx.report.published = publish(ctx.tables, ctx.catalog)
    published = time.monotonic()
    folders = {
        (table, day): ctx.layout.table_partition(table, day) for table, day in ctx.tables.written
    }
    removed = remove_superseded(ctx.tables, ctx.fs, folders)
    log.info(
        "run_date %s: audit %.2f s, publishing %s partition(s) %.2f s, removing %s replaced "
        "version(s) %.2f s",
        ctx.day,
        audited - started,
        len(ctx.tables.written),
        published - audited,
        removed,
        time.monotonic() - published,
    )


def _sales_files(ctx: RunContext) -> list[Entry]:
    """The day's sales files (the manifest lists them and what it skipped); the run fails
    when there are none, or when the partition holds what the run cannot read."""
    sales_uri = ctx.layout.sales_partition(ctx.day)
    folder = folder_contents(ctx, sales_uri)
    files = folder.files
    ctx.report.input_files = [(e.name, e.size) for e in files]
    ctx.report.skipped_files = folder.skipped
    _require_readable(ctx, sales_uri, folder)
    if not files:
        ctx.fs.delete(ctx.layout.quarantine_partition(ctx.day))  # no rows, so none rejected
        what = "contains no data files" if ctx.fs.exists(sales_uri) else "does not exist"
        raise _failure(ctx.day, f"no sales partition: {sales_uri} {what}")
    return files


def _require_readable(ctx: RunContext, folder_uri: str, folder: Folder) -> None:
    """Fail, naming them, for what a folder holds that the run would otherwise not read:
    files in sub-folders (a second batch, a Spark-style `x.csv/` folder) and file names a
    Hadoop path cannot carry. Hidden entries are skipped, as Spark skips them."""
    if sub_folders := folder.names(SKIP_SUB_FOLDER):
        raise _failure(
            ctx.day,
            f"{folder_uri} holds sub-folders, whose files the job does not read: "
            f"{', '.join(sub_folders)}; move their files into {folder_uri} or remove them",
        )
    if unreadable := folder.names(SKIP_UNREADABLE):
        raise _failure(
            ctx.day,
            f"{folder_uri} holds files whose names a Hadoop path cannot carry (a ':'): "
            f"{', '.join(map(repr, unreadable))}; rename them",
        )


def _require_listed(ctx: RunContext, files_read: frozenset[str], listed: list[Entry]) -> None:
    """Lines came from exactly the listed files, each a line at least unless it is empty: no
    path was read as a glob of other files (read_lines escapes them; this proves it)."""
    unlisted = sorted(files_read - {e.name for e in listed})
    unread = [e.name for e in listed if e.size and e.name not in files_read]
    if unlisted or unread:
        raise _failure(
            ctx.day,
            f"the files read are not the files listed in {ctx.layout.sales_partition(ctx.day)}:"
            f" read but not listed {unlisted}, listed but not read {unread}",
        )


def _check_day(ctx: RunContext, counts: LineCounts, snapshot: Snapshot | None) -> Snapshot:
    """Fail for the first stated cause, checked in this order; else the snapshot to use."""
    day, args, layout = ctx.day, ctx.args, ctx.layout
    sales_uri = layout.sales_partition(day)
    if counts.rows_in < args.min_rows:
        seen = ", ".join(f"{name} ({size} bytes)" for name, size in ctx.report.input_files)
        raise _failure(
            day,
            f"{counts.rows_in} data rows in {sales_uri}, at least {args.min_rows} required "
            f"(min_rows); files seen: {seen}; the day's processed partitions are unchanged"
            + ctx.report.header_hint_text(),
        )
    if snapshot is None:
        skipped = "".join(
            f"; skipped {uri} ({why})" for uri, why in ctx.report.skipped_snapshots.items()
        )
        raise _failure(
            day,
            f"no customer snapshot with snapshot_date <= {day} under {layout.customers_root}"
            + skipped,
        )
    if not snapshot.files:
        raise _failure(day, f"customer snapshot {snapshot.uri} contains no data files")
    if not ctx.report.snapshot or not ctx.report.snapshot["customers"]:
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
            f"rejected rows are in {layout.quarantine_partition(day)}"
            + ctx.report.header_hint_text(),
        )
    # Amounts are positive, so no region's or customer's sum exceeds the day's total.
    if counts.total_revenue > Decimal(MAX_MONEY):
        raise _failure(
            day,
            f"total revenue {counts.total_revenue} of {sales_uri} is over the largest "
            f"{MONEY_SQL_TYPE} value {MAX_MONEY}: daily_sales and customer_daily cannot hold "
            "it; the day's processed partitions are unchanged",
        )
    return snapshot


def _later_metrics_days(ctx: RunContext) -> list[tuple[date, Snapshot]]:
    """Each customer_metrics day after the run's, with the snapshot it is rebuilt with.

    Resolved before anything is written, so a day that cannot be rebuilt fails the run first.
    """
    later = []
    for as_of in metrics_days_after(ctx, ctx.day):
        snapshot = find_snapshot(ctx, as_of)
        if snapshot is None or not snapshot.files:
            raise _failure(
                ctx.day,
                f"cannot rebuild customer_metrics as of {as_of}: no complete customer snapshot "
                f"with files on or before it under {ctx.layout.customers_root}",
            )
        _require_readable(ctx, snapshot.uri, snapshot.folder)
        later.append((as_of, snapshot))
    return later


def _write_processed(ctx: RunContext, by_region: DataFrame, customers: DataFrame) -> None:
    """New versions of daily_sales, customer_daily and customer_metrics of the day, written
    side by side (a day with no valid rows writes versions with no rows)."""
    day = ctx.day
    history = metrics_history(ctx, day)
    side_by_side(
        lambda: write_table_day(ctx, "daily_sales", daily_sales(by_region, day), day),
        lambda: write_table_day(
            ctx, "customer_daily", customer_daily(by_region, customers, day), day
        ),
        lambda: write_metrics(
            ctx,
            day,
            # The day's totals per customer and region sum to its customer_daily rows.
            history.unionByName(by_region.select("customer_id", "spent", "orders")),
            customers,
        ),
    )


def _write_manifest(ctx: RunContext, manifest: dict[str, Any]) -> None:
    ctx.fs.write_text(ctx.layout.manifest(ctx.day), manifest_json(manifest))
