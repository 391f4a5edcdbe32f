"""Benchmark the Glue sales job on local Spark: incrementality, bytes read, throughput.

    python -m benchmarks.glue_job_benchmark                       # 30 days x 200k orders/day
    python -m benchmarks.glue_job_benchmark --days 10 --orders-per-day 20000   # quicker

One run reports, for day 1 with no history ("alone") and day N with N-1 earlier days present
(raw and processed):
  (a) wall time of the job, and the ratio day N / day 1 (target <= 1.25);
  (b) bytes the run read from storage divided by that day's input bytes (its sales partition
      plus the customer snapshot; target <= 1.2). Storage bytes come from the Hadoop
      FileSystem counters that Spark's file scans report as inputMetrics.bytesRead; Spark's
      per-stage inputBytes (status store) is printed too, but it also counts reads of the
      job's own cached blocks, so it is not a storage figure;
  (c) rows/s (input rows per second of wall time).
Each measured run is repeated (idempotent reruns) and the median is shown, after one warm-up
run so JVM start-up and code generation are not charged to day 1. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from local.data.synthetic_sales import write_synthetic_lake
from local.in_memory_catalog import InMemoryCatalog
from sales_job.args import validate_job_args
from sales_job.daily_run import run_sales_etl

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

START = date(2024, 1, 1)


@dataclass
class Measurement:
    label: str
    days_present: int
    rows_in: int
    wall_s: float
    input_bytes: int
    storage_bytes_read: int
    spark_stage_input_bytes: int

    @property
    def read_ratio(self) -> float:
        return self.storage_bytes_read / self.input_bytes

    @property
    def rows_per_s(self) -> float:
        return self.rows_in / self.wall_s


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def storage_bytes_read(spark: SparkSession) -> int:
    stats = spark._jvm.org.apache.hadoop.fs.FileSystem.getAllStatistics()  # type: ignore[attr-defined]
    return sum(s.getBytesRead() for s in stats if s.getScheme() == "file")


def stage_input_bytes(spark: SparkSession) -> dict[tuple[int, int], int]:
    """(stage id, attempt) -> inputBytes, from Spark's own status store."""
    sc = spark.sparkContext
    no_quantiles = sc._gateway.new_array(sc._jvm.double, 0)  # type: ignore[attr-defined]
    stages = sc._jsc.sc().statusStore().stageList(None, False, False, no_quantiles, None)  # type: ignore[attr-defined]
    found = {}
    for i in range(stages.size()):
        stage = stages.apply(i)
        found[(stage.stageId(), stage.attemptId())] = stage.inputBytes()
    return found


@functools.cache
def lake_catalog(lake: Path) -> InMemoryCatalog:
    """The lake's catalog, kept across its runs: a run publishes its days' partitions there and
    reads the published history back."""
    return InMemoryCatalog(lake)


def measure_once(
    spark: SparkSession, lake: Path, day: date
) -> tuple[dict[str, Any], float, int, int]:
    args = validate_job_args(
        {"run_date": day.isoformat(), "data_uri": str(lake), "max_quarantine_ratio": "1"}
    )
    stages_before = stage_input_bytes(spark)
    storage_before = storage_bytes_read(spark)
    started = time.perf_counter()
    manifest = run_sales_etl(spark, args, lake_catalog(lake))
    wall = time.perf_counter() - started
    storage = storage_bytes_read(spark) - storage_before
    stages_after = stage_input_bytes(spark)
    spark_bytes = sum(v for k, v in stages_after.items() if k not in stages_before)
    return manifest, wall, storage, spark_bytes


def measure(
    spark: SparkSession, lake: Path, day: date, label: str, days_present: int, repeats: int
) -> Measurement:
    runs = [measure_once(spark, lake, day) for _ in range(repeats)]
    manifest = runs[0][0]
    snapshot = lake / "raw-data" / "customers"
    inputs = tree_size(lake / "raw-data" / "sales" / f"order_date={day.isoformat()}")
    return Measurement(
        label=label,
        days_present=days_present,
        rows_in=manifest["rows_in"],
        wall_s=statistics.median(r[1] for r in runs),
        input_bytes=inputs + tree_size(snapshot),
        storage_bytes_read=int(statistics.median(r[2] for r in runs)),
        spark_stage_input_bytes=int(statistics.median(r[3] for r in runs)),
    )


def build_session(master: str, shuffle_partitions: int | None) -> SparkSession:
    builder = (
        SparkSession.builder.master(master)
        .appName("glue-job-benchmark")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.retainedStages", "100000")
        .config("spark.ui.retainedJobs", "100000")
    )
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def print_table(rows: list[Measurement]) -> None:
    mb = 1024 * 1024
    header = (
        f"{'scenario':<28}{'days':>5}{'rows_in':>10}{'wall_s':>9}{'rows/s':>10}"
        f"{'input_MB':>10}{'read_MB':>9}{'read/in':>9}{'spark_in_MB':>13}"
    )
    print(header)
    print("-" * len(header))
    for m in rows:
        print(
            f"{m.label:<28}{m.days_present:>5}{m.rows_in:>10}{m.wall_s:>9.2f}"
            f"{m.rows_per_s:>10.0f}{m.input_bytes / mb:>10.2f}{m.storage_bytes_read / mb:>9.2f}"
            f"{m.read_ratio:>9.3f}{m.spark_stage_input_bytes / mb:>13.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="N: the day measured is day N")
    parser.add_argument("--orders-per-day", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--bad-row-rate", type=float, default=0.001)
    parser.add_argument("--repeats", type=int, default=3, help="measured runs per scenario")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=None, help="default: Spark's")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated lakes")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be >= 2")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="glue-job-benchmark-"))
    lake, alone, warmup = workdir / "lake", workdir / "alone", workdir / "warmup"
    for folder in (lake, alone, warmup):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        started = time.perf_counter()
        gen = dict(
            orders_per_day=args.orders_per_day,
            customers=args.customers,
            bad_row_rate=args.bad_row_rate,
            seed=7,
        )
        write_synthetic_lake(lake, start=START, days=args.days, **gen)
        write_synthetic_lake(alone, start=START, days=1, **gen)  # same bytes as lake's day 1
        write_synthetic_lake(warmup, start=START, days=1, **{**gen, "orders_per_day": 1000})
        generated_s = time.perf_counter() - started
        print(
            f"generated {args.days} days x {args.orders_per_day} orders, "
            f"{args.customers} customers in {generated_s:.1f}s under {workdir}",
            flush=True,
        )

        spark = build_session(args.master, args.shuffle_partitions)
        try:
            measure_once(spark, warmup, START)  # JVM warm-up, not reported
            first = measure(spark, alone, START, "day 1 alone", 1, args.repeats)
            started = time.perf_counter()
            for offset in range(args.days - 1):  # days 1..N-1 as a daily schedule would
                measure_once(spark, lake, START + timedelta(days=offset))
            backfill_s = time.perf_counter() - started
            last_day = START + timedelta(days=args.days - 1)
            label = f"day {args.days} ({args.days - 1} before)"
            last = measure(spark, lake, last_day, label, args.days, args.repeats)
            # A rerun of day 2 also rebuilds the customer_metrics of every later day.
            later_days = args.days - 2
            label = f"day 2 rerun ({later_days} after)"
            rerun = measure(spark, lake, START + timedelta(days=1), label, args.days, args.repeats)
        finally:
            spark.stop()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nprocessed days 1..{args.days - 1} once each in {backfill_s:.1f}s\n")
    print_table([first, last, rerun])
    beyond_input = last.storage_bytes_read - last.input_bytes
    print(
        f"\n(a) wall time day {args.days} / day 1: {last.wall_s / first.wall_s:.3f}"
        " (target <= 1.25)"
        f"\n(b) storage bytes read / day's input bytes: day 1 {first.read_ratio:.3f}, "
        f"day {args.days} {last.read_ratio:.3f} (target <= 1.2); beyond the day's input, "
        f"day {args.days} read {beyond_input / 1024:.0f} KiB more (the previous day's "
        "customer_metrics partition)"
        f"\n(c) rows/s: day 1 {first.rows_per_s:.0f}, day {args.days} {last.rows_per_s:.0f}"
        f"\n    spark_in_MB = Spark's stage inputBytes, which include re-reads of cached blocks"
        f"\n(d) rerun of day 2 / day 1: {rerun.wall_s / first.wall_s:.2f}, rebuilding "
        f"{later_days} later customer_metrics partitions, "
        f"{(rerun.wall_s - first.wall_s) / max(later_days, 1):.2f}s each beyond the day itself"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
