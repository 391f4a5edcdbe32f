"""The tests' Spark settings, speed only: for their session, a child run, a cluster.

The tests run the job hundreds of times on a few rows each, where compiling is most of a
JVM's work: the JVMs they start themselves compile hot code with the quick JIT tier only
(``QUICK_JIT``, as every local driver) and evaluate expressions without generating Java code
per query (``NO_CODEGEN``). The job's results do not depend on either: the cluster test
requires a run with code generated per query, as on Glue, to write the same bytes. The
endpoint's drivers do generate it: they run any script, and Spark's interpreted path cannot
decode some typed objects (``spark.catalog.listTables()`` fails without generated code).
"""

from __future__ import annotations

from collections.abc import Mapping

from local.endpoint.spark.class_archive import QUICK_JIT

NO_CODEGEN = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
# The same settings at Spark's defaults, as on Glue: code generated per query.
CODEGEN = {
    "spark.sql.codegen.wholeStage": "true",
    "spark.sql.codegen.factoryMode": "FALLBACK",
}

__all__ = ["CODEGEN", "NO_CODEGEN", "QUICK_JIT", "submit_conf_args", "system_properties"]


def submit_conf_args(conf: Mapping[str, str]) -> str:
    """``conf`` as spark-submit's ``--conf key=value`` arguments."""
    return " ".join(f"--conf {key}={value}" for key, value in conf.items())


def system_properties(conf: Mapping[str, str]) -> list[str]:
    """``conf`` as JVM ``-Dkey=value`` options, which a SparkConf reads as its defaults."""
    return [f"-D{key}={value}" for key, value in conf.items()]
