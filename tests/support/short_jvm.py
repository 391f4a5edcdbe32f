"""Settings for the short-lived Spark JVMs tests start (a child run, a cluster): speed only.

Such a JVM ends after a job or two, so it compiles its hot code with the quick JIT tier
(``QUICK_JIT``) and evaluates expressions without generating Java code per query to compile
(``NO_CODEGEN``). Spark's results do not depend on either.
"""

from __future__ import annotations

from collections.abc import Mapping

from local.endpoint.spark.class_archive import QUICK_JIT

NO_CODEGEN = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}

__all__ = ["NO_CODEGEN", "QUICK_JIT", "submit_conf_args", "system_properties"]


def submit_conf_args(conf: Mapping[str, str]) -> str:
    """``conf`` as spark-submit's ``--conf key=value`` arguments."""
    return " ".join(f"--conf {key}={value}" for key, value in conf.items())


def system_properties(conf: Mapping[str, str]) -> list[str]:
    """``conf`` as JVM ``-Dkey=value`` options, which a SparkConf reads as its defaults."""
    return [f"-D{key}={value}" for key, value in conf.items()]
