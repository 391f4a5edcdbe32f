"""A long-lived Python process that runs Glue job scripts one after another in one Spark driver.

Started by ``warm_spark.WarmSparkWorker`` as ``python spark_worker.py --control-fd N``: it never
imports the endpoint's own code. Each request arrives on the control socket with two file
descriptors, the run's stdout and stderr pipes; the worker points fds 1 and 2 at them, runs the
script as ``__main__`` with the run's argv, environment, working folder and import path, then
restores everything, forgets the modules the run imported from its staged files (so a changed
script or library zip is re-read next time) and resets the Spark session's SQL state. Starting
the JVM and PySpark once is what makes a local Glue run take seconds instead of tens of them.

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
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE_BYTES, 2)
        if not message:
            return 0  # the endpoint closed the channel: shut down
        returncode = run_script(json.loads(message), fds)
        control.send(json.dumps({"returncode": returncode}).encode())


def run_script(request: dict[str, Any], fds: list[int]) -> int:
    """Run one job script as a fresh ``python script.py ...`` would, in this process."""
    script = request["argv"][0]
    import_paths = [str(Path(script).parent), *request["python_path"]]
    saved_fds = _redirect_output(fds)
    saved_env, saved_argv, saved_path = dict(os.environ), sys.argv, list(sys.path)
    saved_cwd = os.getcwd()
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    sys.path[:0] = import_paths
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
        _forget_modules(import_paths)
        _reset_spark()
    return returncode


def _redirect_output(fds: list[int]) -> tuple[int, int]:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    for target, fd in zip((1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
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


def _forget_modules(import_paths: list[str]) -> None:
    """Drop modules loaded from the run's staged files, and the import caches for them."""
    import zipimport

    roots = tuple(import_paths)
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None) or ""
        if location.startswith(roots):
            del sys.modules[name]
    for path in import_paths:
        sys.path_importer_cache.pop(path, None)
        zipimport._zip_directory_cache.pop(path, None)  # type: ignore[attr-defined]


def _start_spark(*, warm_up: bool) -> None:
    """Start the driver; ``warm_up`` runs a tiny ETL so the first job finds code loaded."""
    import tempfile

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = SparkSession.builder.appName("local-glue-warm-driver").getOrCreate()
    if not warm_up:
        return
    with tempfile.TemporaryDirectory(prefix="spark-warm-up-") as folder:
        csv = Path(folder, "in.csv")
        csv.write_text("id,day,amount\n1,2024-01-01,1.50\n2,2024-01-01,2.25\nx,bad,\n")
        rows = spark.read.csv(
            str(csv), header=True, schema="id INT, day DATE, amount DECIMAL(12,2)"
        )
        summary = (
            rows.where(F.col("id").isNotNull())
            .join(rows.select("id"), "id")
            .groupBy("day")
            .agg(F.sum("amount").alias("total"), F.countDistinct("id").alias("ids"))
        )
        summary.write.mode("overwrite").partitionBy("day").parquet(str(Path(folder, "out")))
        spark.read.parquet(str(Path(folder, "out"))).collect()


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
