"""Start local Spark drivers fast: the class archive they map, and the settings that use it.

A local Spark driver spends seconds finding, loading and verifying the same ten thousand or so
classes every time it starts. Java 17 can record them once (``-XX:ArchiveClassesAtExit``,
class-data sharing) and map the record at later starts. ``record`` records one run of a
workload into ``ARCHIVE``, in the venv: ``make venv`` runs ``python -m
local.spark_class_archive``, which records one run of the Glue job on the demo lake (about
25 s; that workload is pipeline code, so it lives outside the endpoint), and a stale archive is
replaced with the venv. A driver started with ``driver_java_options`` maps the classes instead
of finding, loading and verifying each again; the JVM ignores an archive that is missing or
does not match its build and class path. ``local_spark_submit_args`` are every local driver's
settings: the endpoint's (Glue job runs, the warm driver) and the recording's.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from local.process_group import stop_process_group, wait_until_gone

ARCHIVE = Path(sys.prefix) / "spark-classes.jsa"
# The quick JIT tier alone halves a local JVM's start, and on a laptop's few rows it stays
# the cheaper one: the full JIT's compiler threads keep busy through hundreds of small runs.
QUICK_JIT = "-XX:TieredStopAtLevel=1"
# Recording lists every class it cannot keep (signed jars, old class files) as a warning.
QUIET_CDS = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")
RECORD_TIMEOUT_SECONDS = 600.0


def driver_java_options() -> str:
    """``spark.driver.extraJavaOptions`` for a local driver: the quick JIT, and the archive
    when there is one (Spark splits these options on spaces: a path with one is left out)."""
    if not ARCHIVE.is_file() or any(c.isspace() or c in "'\"" for c in str(ARCHIVE)):
        return QUICK_JIT
    return " ".join([QUICK_JIT, f"-XX:SharedArchiveFile={ARCHIVE}", *QUIET_CDS])


def local_spark_submit_args(java_options: str | None = None) -> str:
    """Laptop-sized Spark: no UI or progress bars, few shuffle partitions, and the driver's
    ``java_options`` (default: a JVM tuned to start fast, ``driver_java_options``)."""
    java_options = f"spark.driver.extraJavaOptions={java_options or driver_java_options()}"
    return (
        "--conf spark.ui.enabled=false --conf spark.ui.showConsoleProgress=false "
        "--conf spark.sql.shuffle.partitions=2 --conf spark.default.parallelism=2 "
        f"--conf {shlex.quote(java_options)} pyspark-shell"
    )


def record(workload: Sequence[str], archive: Path | None = None) -> None:
    """Record the archive from one run of ``workload`` (a command that starts a local Spark
    driver with ``PYSPARK_SUBMIT_ARGS``), replacing any earlier one."""
    archive = ARCHIVE if archive is None else archive
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
            list(workload),
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
