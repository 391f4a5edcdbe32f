"""The Glue job with PySpark's class look-ups bound once (``sales_job.py4j_lookups``) against
PySpark's default, a look-up by name over Py4J on every call: warm runs in one JVM.

    python -m benchmarks.pyspark_lookup_benchmark [--rounds 4]

Each round runs every day of the recipe's sample twice, once per variant, the variants' order
alternating from round to round. Reported per variant: the sums of wall time, of the JVM's CPU
time and of this process's CPU time, and the ratios bound / default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from pyspark.sql import SparkSession

from local.data.synthetic_sales import RECIPE_SALES, write_recipe_sample_lake
from local.endpoint.spark.class_archive import driver_java_options
from local.in_memory_catalog import InMemoryCatalog
from sales_job import py4j_lookups
from sales_job.args import validate_job_args
from sales_job.daily_run import run_sales_etl

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
BOUND = py4j_lookups.CLASSES_PYSPARK_LOOKS_UP


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def use_bindings(spark: SparkSession, bound: bool) -> None:
    """Bound: the job binds the classes as it starts. Default: it binds none, none are bound."""
    py4j_lookups.CLASSES_PYSPARK_LOOKS_UP = BOUND if bound else ()
    jvm = vars(spark.sparkContext._jvm)
    for name in BOUND:
        jvm.pop(name, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.extraJavaOptions", driver_java_options())
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    jvm_process = psutil.Process(spark.sparkContext._gateway.proc.pid)  # type: ignore[union-attr]
    lake = Path(tempfile.mkdtemp(prefix="pyspark-lookup-benchmark-"))
    write_recipe_sample_lake(lake)
    catalog = InMemoryCatalog(lake)
    days = sorted({row[5] for row in RECIPE_SALES})

    def run(day: str) -> None:
        job_args = validate_job_args({"run_date": day, "data_uri": str(lake)})
        run_sales_etl(spark, job_args, catalog)

    for day in days:  # warm-up, not reported
        run(day)
    totals: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    for round_number in range(args.rounds):
        for day in days:
            for bound in (True, False) if round_number % 2 else (False, True):
                use_bindings(spark, bound)
                before = (time.perf_counter(), cpu_seconds(jvm_process), time.process_time())
                run(day)
                after = (time.perf_counter(), cpu_seconds(jvm_process), time.process_time())
                totals[bound].append(
                    (after[0] - before[0], after[1] - before[1], after[2] - before[2])
                )
    use_bindings(spark, True)
    spark.stop()

    sums = {
        bound: [sum(column) for column in zip(*runs, strict=True)] for bound, runs in totals.items()
    }
    for bound, label in ((False, "looked up on every call"), (True, "bound once")):
        wall, jvm, python = sums[bound]
        median = statistics.median(run[0] for run in totals[bound])
        print(
            f"{label:<24} {len(totals[bound])} runs: wall {wall:6.1f} s (median {median:.2f} s), "
            f"JVM CPU {jvm:6.1f} s, Python CPU {python:5.1f} s"
        )
    ratios = [b / d for b, d in zip(sums[True], sums[False], strict=True)]
    print("bound / looked up: wall {:.2f}, JVM CPU {:.2f}, Python CPU {:.2f}".format(*ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
