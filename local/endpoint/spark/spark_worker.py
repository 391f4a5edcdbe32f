"""A long-lived Python process that runs Glue job scripts one after another in one Spark driver.

Started by ``warm_spark.WarmSparkWorker`` as ``python spark_worker.py --control-fd N``: it never
imports the endpoint's own code. Each request arrives on the control socket with one file
descriptor, the run's output pipe; the worker points fds 1 and 2 at it, runs the
script as ``__main__`` with the run's argv, environment, working folder and import path (its
``--extra-py-files`` first), then restores everything, forgets the modules the run imported
from outside the Python installation (its staged files, so a changed script or library zip is
re-read next time, and anything found further down ``sys.path``, such as a working tree, so it
cannot stand in for a later run's library) and, once it has reported the run's exit status,
resets the Spark session's SQL state. Starting the JVM and PySpark once is what makes a local
Glue run take seconds instead of tens of them; with ``--warm-up`` the worker also runs a tiny
ETL before it reports ready, so the first run does not pay for loading Spark's code either.

Control messages are JSON: the worker sends ``{"ready": true}`` once it can take runs and
``{"returncode": N}`` after each run, with N as the exit status a fresh ``python script.py``
would have had.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import runpy
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

MAX_MESSAGE_BYTES = 1 << 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--warm-up", action="store_true", help="run a tiny ETL before runs")
    args = parser.parse_args(argv)
    del sys.path[0]  # this file's folder is not part of any job's import path
    control = socket.socket(fileno=args.control_fd)
    # The JVM must start before any run redirects fds 1 and 2: it would inherit the run's
    # pipes and hold them open, so the run's output would never end.
    _start_spark(warm_up=args.warm_up)
    control.send(json.dumps({"ready": True}).encode())
    while True:
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE_BYTES, 1)
        if not message:
            return 0  # the endpoint closed the channel: shut down
        returncode = run_script(json.loads(message), fds)
        control.send(json.dumps({"returncode": returncode}).encode())
        # Readying the session for the next run is not part of this one: a run arriving
        # meanwhile waits in the socket until the reset is done.
        _reset_spark()


def run_script(request: dict[str, Any], fds: list[int]) -> int:
    """Run one job script as a fresh ``python script.py ...`` would, in this process."""
    script = request["argv"][0]
    import_paths = [str(Path(script).parent), *request["python_path"]]
    loaded_before = set(sys.modules)
    saved_fds = _redirect_output(fds)
    saved_env, saved_argv, saved_path = dict(os.environ), sys.argv, list(sys.path)
    saved_cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    sys.path[:0] = import_paths  # first, as for a fresh process: the run's library wins
    os.chdir(request["cwd"])
    try:
        runpy.run_path(script, run_name="__main__")
        returncode = 0
    except SystemExit as exc:
        returncode = _exit_status(exc)
    except BaseException:  # what the interpreter would print before exiting with status 1
        traceback.print_exc()
        returncode = 1
    finally:
        _restore_output(saved_fds)
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        _forget_modules(import_paths, loaded_before)
    return returncode


def _redirect_output(fds: list[int]) -> tuple[int, int]:
    """Point fds 1 and 2 at the run's one pipe, so its lines keep the order they were written."""
    (pipe,) = fds
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(pipe, 1)
    os.dup2(pipe, 2)
    os.close(pipe)
    return saved


def _restore_output(saved: tuple[int, int]) -> None:
    """Point fds 1 and 2 back at the worker's log; the run's pipes then see end of file."""
    for stream in (sys.stdout, sys.stderr):
        # the reader may have gone away, or the script closed the stream
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    for target, fd in zip((1, 2), saved, strict=True):
        os.dup2(fd, target)
        os.close(fd)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message") prints it and exits with 1
    return 1


def _forget_modules(import_paths: list[str], loaded_before: set[str]) -> None:
    """Drop the modules the run imported from outside the Python installation, and the import
    caches of its staged files.

    Modules of the installation (PySpark, the standard library) stay: the run cannot have
    changed them, and importing them again would only cost time.
    """
    import zipimport

    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    installation = tuple(os.path.join(prefix, "") for prefix in prefixes)
    for name in set(sys.modules) - loaded_before:
        location = getattr(sys.modules[name], "__file__", None)
        if location and not location.startswith(installation):
            del sys.modules[name]
    # A package inside a zip has a finder of its own (``<zip>/<package>``) holding the zip's
    # old table of contents: a changed zip would be read at stale offsets.
    staged = tuple(import_paths)
    zip_contents = zipimport._zip_directory_cache  # type: ignore[attr-defined]
    for cache in (sys.path_importer_cache, zip_contents):
        for path in [p for p in cache if str(p).startswith(staged)]:
            del cache[path]


def _start_spark(*, warm_up: bool) -> None:
    """Start the driver; ``warm_up`` runs a tiny ETL so the first job finds code loaded."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("local-glue-warm-driver").getOrCreate()
    if warm_up:
        try:
            run_warm_up_etl(spark)
        except Exception:  # runs still get this driver, only a colder one; the log says why
            traceback.print_exc()
    _reset_spark()  # its first catalog listing takes 0.7 s: not in the first run


def run_warm_up_etl(spark: Any) -> None:
    """What a typical Glue ETL does, on a few rows: read text files and parse their lines as
    CSV, rank, join, aggregate, cache, union, and overwrite Parquet partitions.

    Each first use of an operation costs the driver class loading and compilation: paid here,
    while nothing waits, not by the first run.
    """
    import tempfile

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    with tempfile.TemporaryDirectory(prefix="spark-warm-up-") as folder:
        Path(folder, "day=2024-01-01").mkdir()
        Path(folder, "day=2024-01-01", "part.csv").write_text(
            'id,name,amount\n1,"a, b",1.50\n2,b,2.25\n2,b,2.25\nx,bad,\n'
        )
        lines = spark.read.text(str(Path(folder, "day=2024-01-01"))).select(
            "value",
            F.col("_metadata.file_name").alias("file"),
            F.monotonically_increasing_id().alias("line"),
        )
        fields = F.from_csv("value", "id INT, name STRING, amount DECIMAL(12,2)", {})
        parsed = lines.where(~F.col("value").startswith("id,")).select(
            "*", fields.alias("row"), F.split("value", ",").alias("parts")
        )
        rows = parsed.select(
            F.coalesce("row.id", F.lit(-1)).alias("id"),
            F.trim("row.name").alias("name"),
            F.when(F.size("parts") == 3, F.col("row.amount")).alias("amount"),
            F.xxhash64("value").alias("hash"),
            F.try_element_at("parts", F.lit(2)).alias("second"),
        ).persist()
        first = F.row_number().over(Window.partitionBy("id").orderBy("hash"))
        names = rows.select("id", "name", first.alias("n")).where("n = 1").drop("n")
        totals = (
            rows.join(F.broadcast(names), "id")
            .groupBy("id")
            .agg(F.sum("amount").alias("total"), F.count("*").alias("rows"), F.min("hash"))
            .withColumn("total", F.round("total", 2))
        )
        rows.agg(F.count_distinct("id"), F.count("*")).collect()
        out = str(Path(folder, "out"))
        history = totals.withColumn("day", F.lit("2024-01-01"))
        history.unionByName(history).write.mode("overwrite").option(
            "partitionOverwriteMode", "dynamic"
        ).partitionBy("day").parquet(out)
        spark.read.parquet(out).collect()
        rows.unpersist()


def _reset_spark() -> None:
    """Give the next run the session a fresh driver would have: no cache, views or SQL conf."""
    if "pyspark" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None or session.sparkContext._jsc is None:
        return
    session.catalog.clearCache()
    for table in session.catalog.listTables():
        if table.isTemporary:
            session.catalog.dropTempView(table.name)
    session.sql("RESET")


if __name__ == "__main__":
    sys.exit(main())
