"""Py4J look-ups PySpark repeats on every call, made once per JVM."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

# PySpark looks these classes up by simple name over Py4J on every `F.*` call, column list and
# session look-up, and then the method by name: round trips whose JVM side tries the class name
# in each package PySpark imports, every miss a scan of every jar on the classpath. Bound once
# as attributes of the session's JVM view, with the static methods PySpark calls on
# `functions` and `PythonUtils` kept as they are first looked up, later look-ups stay in
# Python: 13% of a small run's wall time, 10% of its JVM CPU
# (benchmarks/pyspark_lookup_benchmark.py). Classes and methods do not change in a JVM's life.
CLASSES_PYSPARK_LOOKS_UP = ("functions", "PythonUtils", "SparkSession")
STATIC_METHOD_CLASSES = ("functions", "PythonUtils")  # never constructed (SparkSession is)


class StaticMethods:
    """A JVM class's static methods, each looked up over Py4J on first use only."""

    def __init__(self, java_class: Any) -> None:
        self._java_class = java_class

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._java_class, name)
        setattr(self, name, method)
        return method


def bind_classes_pyspark_looks_up(spark: SparkSession) -> None:
    jvm = spark.sparkContext._jvm
    for name in CLASSES_PYSPARK_LOOKS_UP:
        if name not in vars(jvm):
            java_class = getattr(jvm, name)
            bound = StaticMethods(java_class) if name in STATIC_METHOD_CLASSES else java_class
            setattr(jvm, name, bound)
