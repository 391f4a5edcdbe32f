"""Where local Spark drivers find their class archive, and the JVM options that use it.

``local/spark_class_archive.py`` records the archive (``make venv`` runs it): Java 17's
class-data sharing, the classes one Glue job run loaded. A driver started with
``driver_java_options`` maps them instead of finding, loading and verifying each again. The
JVM ignores an archive that is missing or does not match its build and class path.
"""

from __future__ import annotations

import sys
from pathlib import Path

ARCHIVE = Path(sys.prefix) / "spark-classes.jsa"
# The quick JIT tier alone halves a short-lived local JVM's start (tiny data, short runs).
QUICK_JIT = "-XX:TieredStopAtLevel=1"
# Recording lists every class it cannot keep (signed jars, old class files) as a warning.
QUIET_CDS = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")


def driver_java_options() -> str:
    """``spark.driver.extraJavaOptions`` for a local driver: the quick JIT, and the archive
    when there is one (Spark splits these options on spaces: a path with one is left out)."""
    if not ARCHIVE.is_file() or any(c.isspace() or c in "'\"" for c in str(ARCHIVE)):
        return QUICK_JIT
    return " ".join([QUICK_JIT, f"-XX:SharedArchiveFile={ARCHIVE}", *QUIET_CDS])
