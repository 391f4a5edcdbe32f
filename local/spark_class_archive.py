"""Record the class archive local Spark drivers start from (``local/endpoint/class_archive.py``).

A local Spark driver spends seconds finding, loading and verifying the same ten thousand or so
classes every time it starts. Java 17 can record them once (``-XX:ArchiveClassesAtExit``) and
map the record at later starts. ``make venv`` records one run of the Glue job on the demo lake
into the venv (about 25 s), so a stale archive is replaced with the venv.

    python -m local.spark_class_archive     # (re)build it
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local.endpoint.class_archive import ARCHIVE, QUICK_JIT, QUIET_CDS
from local.endpoint.glue_job_runner import local_spark_submit_args
from local.process_group import stop_process_group, wait_until_gone

RECORD_TIMEOUT_SECONDS = 600.0


def build(archive: Path = ARCHIVE) -> None:
    """Record the archive from one Glue job run on the demo lake, replacing any earlier one."""
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    java_options = " ".join([QUICK_JIT, f"-XX:ArchiveClassesAtExit={partial}", *QUIET_CDS])
    # The endpoint's Spark settings, recording instead of using the archive.
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_SUBMIT_ARGS": local_spark_submit_args(java_options),
    }
    with tempfile.TemporaryFile() as output:
        recorder = subprocess.Popen(
            [sys.executable, "-m", "local.spark_class_archive", "--record"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + RECORD_TIMEOUT_SECONDS
        try:
            returncode = recorder.wait(timeout=RECORD_TIMEOUT_SECONDS)
            # The JVM writes the archive as it exits, seconds after the Python process that
            # started it; one still running may not have finished writing it.
            finished = wait_until_gone(recorder.pid, deadline)
        finally:
            stop_process_group(recorder, grace=5.0, whole_group=True)
        if returncode != 0 or not finished or not partial.is_file():
            partial.unlink(missing_ok=True)
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise SystemExit(
                f"recording the Spark class archive failed (exit {returncode}):\n{tail}"
            )
    partial.replace(archive)


def _record() -> None:
    """What a local driver does: start, then run the Glue job on the demo lake's day with bad
    rows (several files, a bad header), then on its first day (which rebuilds the later one)."""
    from pyspark.sql import SparkSession

    from local.data.demo_lake import write_demo_lake
    from sales_job.args import validate_job_args
    from sales_job.daily_run import run_sales_etl

    spark = SparkSession.builder.appName("spark-class-archive").getOrCreate()
    with tempfile.TemporaryDirectory(prefix="spark-class-archive-") as folder:
        lake = Path(folder, "lake")
        days = write_demo_lake(lake)
        for day in (days[-1], days[0]):
            run_sales_etl(spark, validate_job_args({"run_date": day, "data_uri": str(lake)}))
    spark.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--record"]:
        _record()
    else:
        build()
        print(f"Spark class archive: {ARCHIVE} ({ARCHIVE.stat().st_size // 2**20} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
