"""Record the class archive local Spark drivers start from, with one Glue job run on the demo lake.

The archive, the JVM options that use it and the recording itself are the endpoint's
(``local/endpoint/spark/class_archive.py``); the run recorded is this pipeline's Glue job, so it
lives here, outside the endpoint, which imports no pipeline code. ``make venv`` runs this
(about 25 s), so a stale archive is replaced with the venv.

    python -m local.spark_class_archive     # (re)build it
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from local.endpoint.spark.class_archive import ARCHIVE, record

RECORD_COMMAND = (sys.executable, "-m", "local.spark_class_archive", "--record")


def build(archive: Path = ARCHIVE) -> None:
    """Record the archive from one Glue job run on the demo lake, replacing any earlier one."""
    record(RECORD_COMMAND, archive)


def _record() -> None:
    """What a local driver does: start, then run the Glue job on the demo lake's day with bad
    rows (several files, a bad header), then on its first day (which rebuilds the later one)."""
    from pyspark.sql import SparkSession

    from local.data.demo_lake import write_demo_lake
    from local.in_memory_catalog import InMemoryCatalog
    from sales_job.args import validate_job_args
    from sales_job.daily_run import run_sales_etl

    spark = SparkSession.builder.appName("spark-class-archive").getOrCreate()
    with tempfile.TemporaryDirectory(prefix="spark-class-archive-") as folder:
        lake = Path(folder, "lake")
        days = write_demo_lake(lake)
        catalog = InMemoryCatalog(lake)  # publishing too, as a run on the endpoint does
        for day in (days[-1], days[0]):
            args = validate_job_args({"run_date": day, "data_uri": str(lake)})
            run_sales_etl(spark, args, catalog)
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
